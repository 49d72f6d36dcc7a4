/* readfile.h: opening and reading whole regular host files (the kernel, configuration files). */
#ifndef CHYVE_READFILE_H
#define CHYVE_READFILE_H

#include <stddef.h>
#include <stdint.h>

/* Why readfile() failed; the caller words the message. */
enum readfile_error {
    READFILE_OK = 0,
    READFILE_OPEN,        /* open(2) failed: errno says why */
    READFILE_NOT_REGULAR, /* not a regular file (a directory, a FIFO, ...) */
    READFILE_TOO_LARGE,   /* larger than the caller's maximum */
    READFILE_NO_MEMORY,
    READFILE_READ, /* read(2) failed (errno) or the file ended early (errno 0) */
};

/*
 * Reads all of the regular file at path, at most max bytes, into a malloc'd buffer that has one
 * NUL byte after the data (so a text file is a C string). Returns READFILE_OK with *buf (the
 * caller frees it) and *len set, or the reason with nothing allocated. errno is left as the
 * failing call set it.
 */
enum readfile_error readfile(const char *path, uint64_t max, uint8_t **buf, size_t *len);

/*
 * readfile()'s first half: opens path read-only and close-on-exec if it is a regular file of at
 * most max bytes. Returns READFILE_OK with *fd (the caller closes it) and *size (fstat's), or
 * the reason (OPEN, NOT_REGULAR, TOO_LARGE) with nothing left open.
 */
enum readfile_error readfile_open(const char *path, uint64_t max, int *fd, uint64_t *size);

/*
 * readfile()'s second half: reads the first `size` bytes of fd (pread from offset 0, whatever
 * the file position) into a malloc'd buffer with one NUL byte after them. READFILE_OK with *buf
 * and *len, or READFILE_NO_MEMORY / READFILE_READ (errno 0: the file ended early).
 */
enum readfile_error readfile_fd(int fd, uint64_t size, uint8_t **buf, size_t *len);

#endif
