/* readfile.c: one checked whole-file read (see readfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"

enum readfile_error readfile_open(const char *path, uint64_t max, int *fd, uint64_t *size)
{
    int f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return READFILE_OPEN;
    enum readfile_error rc = READFILE_OK;
    struct stat st;
    if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode))
        rc = READFILE_NOT_REGULAR;
    else if ((uint64_t)st.st_size > max || (uint64_t)st.st_size >= SIZE_MAX)
        rc = READFILE_TOO_LARGE;
    if (rc != READFILE_OK) {
        int saved = errno;
        close(f);
        errno = saved;
        return rc;
    }
    *fd = f;
    *size = (uint64_t)st.st_size;
    return READFILE_OK;
}

enum readfile_error readfile_fd(int fd, uint64_t size, uint8_t **buf, size_t *len)
{
    if (size >= SIZE_MAX)
        return READFILE_TOO_LARGE;
    size_t n = (size_t)size, got = 0;
    uint8_t *b = malloc(n + 1);
    if (!b)
        return READFILE_NO_MEMORY;
    while (got < n) {
        ssize_t r = pread(fd, b + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = 0;
            int saved = errno;
            free(b);
            errno = saved;
            return READFILE_READ;
        }
        got += (size_t)r;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return READFILE_OK;
}

enum readfile_error readfile(const char *path, uint64_t max, uint8_t **buf, size_t *len)
{
    int fd;
    uint64_t size;
    enum readfile_error rc = readfile_open(path, max, &fd, &size);
    if (rc != READFILE_OK)
        return rc;
    rc = readfile_fd(fd, size, buf, len);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}
