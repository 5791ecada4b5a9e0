#define _GNU_SOURCE
#include "CBytes.h"

#include <errno.h>
#include <fcntl.h>

int cb_start_writeback(int fd, int64_t offset, int64_t count) {
#ifdef __linux__
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    (void)offset;
    (void)count;
    return 0;
#endif
}

int cb_set_direct_io(int fd, int enabled) {
#ifdef O_DIRECT
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, enabled ? (flags | O_DIRECT) : (flags & ~O_DIRECT));
#else
    (void)fd;
    (void)enabled;
    errno = EINVAL;
    return -1;
#endif
}
