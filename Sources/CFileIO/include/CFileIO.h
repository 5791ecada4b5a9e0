/* File calls the Swift code needs that the Glibc module does not export (GNU extensions). */
#ifndef CFILEIO_H
#define CFILEIO_H

#include <stdint.h>

/* Starts writeback of the dirty pages of fd in [offset, offset + count) without waiting for it
   (sync_file_range SYNC_FILE_RANGE_WRITE on Linux; a no-op elsewhere). Durability still needs fsync.
   Returns 0 or -1 with errno set. */
int cf_start_writeback(int fd, int64_t offset, int64_t count);

/* Turns direct I/O (O_DIRECT: writes go from the caller's buffer to the device, bypassing the page cache)
   on or off for fd. Returns 0, or -1 with errno set when the file system or platform has no direct I/O. */
int cf_set_direct_io(int fd, int enabled);

#endif
