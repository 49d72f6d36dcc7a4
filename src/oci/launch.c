/* launch.c: spec and context turned into chyve's command line (launch.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "launch.h"

/* A growing argv. */
struct vec {
    char **v;
    size_t n, cap;
    bool oom;
};

/* Appends a printf-formatted word (remembering an allocation failure for the end). */
static void add(struct vec *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct vec *a, const char *fmt, ...)
{
    if (a->oom)
        return;
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        char **v = realloc(a->v, cap * sizeof(*v));
        if (!v) {
            a->oom = true;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&a->v[a->n], fmt, ap);
    va_end(ap);
    if (rc < 0) {
        a->oom = true;
        return;
    }
    a->v[++a->n] = NULL;
}

void oci_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* chyve splits a mapping at its first ':': a host path holding one cannot be said. */
static int check_mapping_path(const char *p, const char *what)
{
    if (strchr(p, ':'))
        return err_set("%s '%s' holds a ':', which a chyve file mapping cannot express", what, p);
    return 0;
}

/*
 * What the symlink name in the rootfs (rootfd) leads to as the container sees it: resolved
 * inside the rootfs (an absolute target or ".." never leaves it), as a host path in buf.
 * Returns 0, 1 if it leads nowhere there (dangling, a loop), or -1 with err_msg().
 */
static int rootfs_link(int rootfd, const char *root, const char *name, char *buf, size_t len)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, rootfd, name, &how, sizeof(how));
    if (fd < 0) {
        if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
            return 1;
        return err_set("cannot follow the symlink %s/%s: %s", root, name, strerror(errno));
    }
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buf, len);
    close(fd);
    if (n <= 0 || (size_t)n >= len)
        return err_set("cannot name what the symlink %s/%s leads to", root, name);
    buf[n] = '\0';
    return 0;
}

/*
 * --file-mapping ROOT/NAME:/NAME for each top-level entry of the rootfs. chyve resolves a
 * mapping's host path on the host, so a symlink is mapped as what it leads to in the rootfs:
 * as it is, ROOT/lib -> / would give the guest the host's root.
 */
static int map_rootfs(struct vec *a, const struct oci_spec *s)
{
    if (check_mapping_path(s->root, "the rootfs") != 0)
        return -1;
    DIR *d = opendir(s->root);
    if (!d)
        return err_set("cannot list the rootfs %s: %s", s->root, strerror(errno));
    unsigned n = 0;
    struct dirent *e;
    int rc = 0;
    while ((errno = 0, e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (++n > OCI_ROOT_ENTRIES_MAX) {
            rc = err_set("the rootfs %s has more than %d top-level entries", s->root,
                         OCI_ROOT_ENTRIES_MAX);
            break;
        }
        if (strchr(e->d_name, ':'))
            continue; /* not expressible; such a name is not one a Hermit guest looks up */
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = err_set("cannot stat %s/%s: %s", s->root, e->d_name, strerror(errno));
            break;
        }
        const char *ro = s->root_ro ? ":ro" : "";
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            int r = rootfs_link(dirfd(d), s->root, e->d_name, target, sizeof(target));
            if (r < 0) {
                rc = -1;
                break;
            }
            if (r == 0 && !strchr(target, ':')) {
                add(a, "--file-mapping");
                add(a, "%s:/%s%s", target, e->d_name, ro);
            }
            continue;
        }
        add(a, "--file-mapping");
        add(a, "%s/%s:/%s%s", s->root, e->d_name, e->d_name, ro);
    }
    if (rc == 0 && errno)
        rc = err_set("cannot list the rootfs %s: %s", s->root, strerror(errno));
    closedir(d);
    return rc;
}

int oci_launch_argv(const struct oci_spec *s, const struct oci_launch *l, char ***argv)
{
    *argv = NULL;
    struct vec a = {0};
    add(&a, "%s", l->chyve);
    add(&a, "--start-fifo");
    add(&a, "%s", l->fifo);
    add(&a, "--tempdir");
    add(&a, "%s", l->tempdir);
    if (s->mem_limit) {
        uint64_t mem = s->mem_limit & ~((2ull << 20) - 1);
        if (mem < OCI_MEM_MIN) {
            oci_argv_free(a.v);
            return err_set("the memory limit of %" PRIu64 " bytes is below chyve's smallest "
                           "guest (16MiB)",
                           s->mem_limit);
        }
        add(&a, "--memory-size");
        add(&a, "%" PRIu64, mem);
    }
    if (s->cpus) {
        add(&a, "--cpu-count");
        add(&a, "%u", s->cpus);
    }
    if (map_rootfs(&a, s) != 0) {
        oci_argv_free(a.v);
        return -1;
    }
    for (size_t i = 0; i < s->nmounts; i++) {
        const struct oci_mount *m = &s->mounts[i];
        if (check_mapping_path(m->source, "the mount source") != 0 ||
            check_mapping_path(m->dest, "the mount destination") != 0) {
            oci_argv_free(a.v);
            return -1;
        }
        add(&a, "--file-mapping");
        add(&a, "%s:%s%s", m->source, m->dest, m->ro ? ":ro" : "");
    }
    for (size_t i = 0; i < s->nenv; i++) {
        add(&a, "--env");
        add(&a, "%s", s->env[i]);
    }
    if (l->net) {
        add(&a, "--net");
        add(&a, "tap:%s", l->net->tap);
        add(&a, "--mac");
        add(&a, "%s", l->net->mac);
        add(&a, "--env");
        add(&a, "%s", l->net->ip);
        add(&a, "--env");
        add(&a, "%s", l->net->mask);
        if (l->net->gateway) {
            add(&a, "--env");
            add(&a, "%s", l->net->gateway);
        }
    }
    add(&a, "--");
    add(&a, "%s", l->kernel);
    if (s->nargs > 1) {
        add(&a, "--");
        for (size_t i = 1; i < s->nargs; i++)
            add(&a, "%s", s->args[i]);
    }
    if (a.oom) {
        oci_argv_free(a.v);
        return err_set("out of memory");
    }
    *argv = a.v;
    return 0;
}
