/* readfile.c: one checked whole-file read (see readfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"

enum readfile_error readfile(const char *path, uint64_t max, uint8_t **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return READFILE_OPEN;
    enum readfile_error rc = READFILE_OK;
    struct stat st;
    uint8_t *b = NULL;
    size_t size = 0, got = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = READFILE_NOT_REGULAR;
    } else if ((uint64_t)st.st_size > max || (uint64_t)st.st_size >= SIZE_MAX) {
        rc = READFILE_TOO_LARGE;
    } else {
        size = (size_t)st.st_size;
        b = malloc(size + 1);
        rc = b ? READFILE_OK : READFILE_NO_MEMORY;
    }
    while (rc == READFILE_OK && got < size) {
        ssize_t n = read(fd, b + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            rc = READFILE_READ;
            break;
        }
        got += (size_t)n;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    if (rc != READFILE_OK) {
        free(b);
        return rc;
    }
    b[size] = '\0';
    *buf = b;
    *len = size;
    return READFILE_OK;
}
