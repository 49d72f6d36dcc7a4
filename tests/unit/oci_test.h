/* oci_test.h: helpers for chyve-oci's unit tests: scratch directories and files. */
#ifndef CHYVE_OCI_TEST_H
#define CHYVE_OCI_TEST_H

#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A new empty directory under /tmp, its path in buf (at least 64 bytes). */
static inline void oci_test_dir(char *buf, size_t len, const char *what)
{
    snprintf(buf, len, "/tmp/chyve-oci-%s-XXXXXX", what);
    cr_assert(mkdtemp(buf), "mkdtemp %s: %s", buf, strerror(errno));
}

/* rm -rf of path (a directory this test made; its name holds no quote). */
static inline void oci_test_rmrf(const char *path)
{
    if (!path[0])
        return;
    char *cmd;
    cr_assert(asprintf(&cmd, "rm -rf '%s'", path) > 0);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    free(cmd);
}

/* Writes len bytes of data to dir/name (created or truncated). */
static inline void oci_test_write(const char *dir, const char *name, const void *data, size_t len)
{
    char *p;
    cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert(fd >= 0, "open %s: %s", p, strerror(errno));
    cr_assert_eq(write(fd, data, len), (ssize_t)len, "write %s", p);
    close(fd);
    free(p);
}

/* Whether dir/name exists (a symlink is not followed). */
static inline bool oci_test_exists(const char *dir, const char *name)
{
    char *p;
    cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
    struct stat st;
    bool yes = lstat(p, &st) == 0;
    free(p);
    return yes;
}

#endif
