/* Byte-level helpers of the core target: file calls the Glibc module does not export (GNU extensions),
   a CRC-32 with a carry-less-multiply path chosen at run time, and IEEE half <-> f32 conversion. */
#ifndef CBYTES_H
#define CBYTES_H

#include <stddef.h>
#include <stdint.h>

/* zlib's crc32(crc, data, count): the CRC-32 of the bytes behind crc (0 for none) followed by data;
   PCLMULQDQ folding on x86-64 CPUs that have it (~10x zlib's tables), zlib otherwise. */
uint32_t cb_crc32(uint32_t crc, const void *data, size_t count);

/* Starts writeback of the dirty pages of fd in [offset, offset + count) without waiting for it
   (sync_file_range SYNC_FILE_RANGE_WRITE on Linux; a no-op elsewhere). Durability still needs fsync.
   Returns 0 or -1 with errno set. */
int cb_start_writeback(int fd, int64_t offset, int64_t count);

/* Turns direct I/O (O_DIRECT: writes go from the caller's buffer to the device, bypassing the page cache)
   on or off for fd. Returns 0, or -1 with errno set when the file system or platform has no direct I/O. */
int cb_set_direct_io(int fd, int enabled);

/* dst[i] = (float)src[i] for IEEE half-precision bit patterns src. */
void cb_f16_to_f32(const uint16_t *src, float *dst, size_t count);

/* dst[i] = IEEE half-precision bits of src[i], rounded to nearest even. */
void cb_f32_to_f16(const float *src, uint16_t *dst, size_t count);

#endif
