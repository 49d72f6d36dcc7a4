/*
 * resolve.c: host path operations confined beneath a directory fd: the host's confined open
 * (host_open_beneath: openat2(RESOLVE_BENEATH) on Linux), and a portable component-by-component
 * walk (O_NOFOLLOW, symlinks expanded by hand) wherever the host has none.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files/resolve.h"
#include "host.h"

#define MAX_LINKS 40   /* like the kernel's limit */
#define WALK_PATH 8192 /* the remaining path, symlink targets included */
#define WALK_DEPTH 256 /* directories between root and the current one */
#define NAME_CAP 256   /* one component + NUL */

bool resolve_force_walk;

/* How the walk opens the directories it passes through: as handles (O_PATH where it exists). */
#define DIR_OPEN_FLAGS (host_dir_handle_flags() | O_NOFOLLOW | O_CLOEXEC)

/* ---- the host's confined open --------------------------------------------------------- */

/* host_open_beneath (openat2 on Linux) unless the test hook asks for the walk. */
static int beneath_open(int root, const char *rel, int flags, unsigned mode)
{
    if (resolve_force_walk)
        return HOST_UNAVAILABLE;
    return host_open_beneath(root, *rel ? rel : ".", flags, mode);
}

/* ---- the portable walk ------------------------------------------------------------------- */

/* State of one walk: the directory reached so far and how to get back to it from root. */
struct walk {
    int root;
    int dir; /* current directory: root, or an fd owned by the walk */
    size_t depth;
    char names[WALK_DEPTH][NAME_CAP]; /* components from root to dir */
    char path[WALK_PATH];             /* what is left to resolve */
    int links;
};

static void walk_set_dir(struct walk *w, int fd)
{
    if (w->dir != w->root)
        close(w->dir);
    w->dir = fd;
}

/*
 * Goes up one level. The parent is reopened from root through the remembered names (each with
 * O_NOFOLLOW), never through "..", so a directory moved during the walk cannot lead outside.
 */
static int walk_up(struct walk *w)
{
    if (w->depth == 0)
        return -EXDEV;
    w->depth--;
    walk_set_dir(w, w->root);
    for (size_t i = 0; i < w->depth; i++) {
        int fd = openat(w->dir, w->names[i], DIR_OPEN_FLAGS);
        if (fd < 0)
            return -errno;
        walk_set_dir(w, fd);
    }
    return 0;
}

/* Cuts the next component (not "" or ".") off the front of w->path into c; false at the end. */
static bool next_component(struct walk *w, char c[NAME_CAP], int *err)
{
    char *p = w->path;
    for (;;) {
        while (*p == '/')
            p++;
        if (*p == '\0') {
            w->path[0] = '\0';
            return false;
        }
        size_t n = strcspn(p, "/");
        if (n == 1 && p[0] == '.') {
            p += 1;
            continue;
        }
        if (n >= NAME_CAP) {
            *err = -ENAMETOOLONG;
            return false;
        }
        memcpy(c, p, n);
        c[n] = '\0';
        memmove(w->path, p + n, strlen(p + n) + 1);
        return true;
    }
}

/* True if w->path holds no further component other than "." (so c was the last one). */
static bool at_end(const struct walk *w)
{
    for (const char *p = w->path; *p;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n > 0 && !(n == 1 && p[0] == '.'))
            return false;
        p += n;
    }
    return true;
}

/* Replaces the symlink c (in w->dir) by its target in front of the rest of the path. */
static int expand_link(struct walk *w, const char *c)
{
    if (++w->links > MAX_LINKS)
        return -ELOOP;
    char target[WALK_PATH];
    ssize_t n = readlinkat(w->dir, c, target, sizeof(target) - 1);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -ENOENT;
    target[n] = '\0';
    if (target[0] == '/')
        return -EXDEV; /* absolute links would leave root */
    size_t rest = strlen(w->path);
    if ((size_t)n + 1 + rest + 1 > sizeof(w->path))
        return -ENAMETOOLONG;
    memmove(w->path + n + 1, w->path, rest + 1);
    memcpy(w->path, target, (size_t)n);
    w->path[n] = '/';
    return 0;
}

/*
 * Resolves every component of w->path but the last, and the last one too while it is a symlink
 * and `follow` is set. On success w->dir is the directory holding the final name, copied to
 * last ("" when the path ends at a directory itself, e.g. "" or "a/..").
 */
static int walk_resolve(struct walk *w, bool follow, char last[NAME_CAP])
{
    char c[NAME_CAP];
    int err = 0;
    last[0] = '\0';
    while (next_component(w, c, &err)) {
        if (strcmp(c, "..") == 0) {
            int rc = walk_up(w);
            if (rc != 0)
                return rc;
            continue;
        }
        bool final = at_end(w);
        if (final && !follow) {
            memcpy(last, c, NAME_CAP);
            return 0;
        }
        struct stat st;
        if (fstatat(w->dir, c, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT && final) {
                memcpy(last, c, NAME_CAP); /* may be created by the caller */
                return 0;
            }
            return -errno;
        }
        if (S_ISLNK(st.st_mode)) {
            int rc = expand_link(w, c);
            if (rc != 0)
                return rc;
            continue;
        }
        if (final) {
            memcpy(last, c, NAME_CAP);
            return 0;
        }
        if (!S_ISDIR(st.st_mode))
            return -ENOTDIR;
        if (w->depth == WALK_DEPTH)
            return -ENAMETOOLONG;
        int fd = openat(w->dir, c, DIR_OPEN_FLAGS); /* a symlink swapped in now fails here */
        if (fd < 0)
            return -errno;
        memcpy(w->names[w->depth++], c, NAME_CAP);
        walk_set_dir(w, fd);
    }
    return err;
}

/* Starts a walk of rel beneath root (heap-allocated: the state is ~70 KiB). */
static struct walk *walk_begin(int root, const char *rel, int *err)
{
    if (rel[0] == '/') {
        *err = -EXDEV;
        return NULL;
    }
    if (strlen(rel) >= WALK_PATH) {
        *err = -ENAMETOOLONG;
        return NULL;
    }
    struct walk *w = malloc(sizeof(*w));
    if (!w) {
        *err = -ENOMEM;
        return NULL;
    }
    w->root = w->dir = root;
    w->depth = 0;
    w->links = 0;
    strcpy(w->path, rel);
    return w;
}

static void walk_end(struct walk *w)
{
    if (w) {
        walk_set_dir(w, w->root);
        free(w);
    }
}

static int walk_open(int root, const char *rel, int flags, unsigned mode)
{
    int rc;
    struct walk *w = walk_begin(root, rel, &rc);
    if (!w)
        return rc;
    /* O_CREAT|O_EXCL never follows a final symlink (POSIX: it exists, EEXIST). */
    bool follow = !(flags & O_NOFOLLOW) && !((flags & O_CREAT) && (flags & O_EXCL));
    char last[NAME_CAP];
    rc = walk_resolve(w, follow, last);
    if (rc == 0) {
        /* O_NOFOLLOW: a final component turned into a symlink since the check fails (ELOOP). */
        int fd = openat(w->dir, last[0] ? last : ".", flags | O_NOFOLLOW | O_CLOEXEC, mode);
        rc = fd < 0 ? -errno : fd;
    }
    walk_end(w);
    return rc;
}

/* Runs op(dir, name) on the resolved final component of rel (never following it). */
static int walk_at(int root, const char *rel, bool follow, int (*op)(int, const char *, void *),
                   void *ctx)
{
    int rc;
    struct walk *w = walk_begin(root, rel, &rc);
    if (!w)
        return rc;
    char last[NAME_CAP];
    rc = walk_resolve(w, follow, last);
    if (rc == 0)
        rc = op(w->dir, last, ctx);
    walk_end(w);
    return rc;
}

/* ---- operations -------------------------------------------------------------------------- */

int resolve_open(int root, const char *rel, int flags, unsigned mode)
{
    int fd = beneath_open(root, rel, flags, mode);
    return fd == HOST_UNAVAILABLE ? walk_open(root, rel, flags, mode) : fd;
}

static int stat_op(int dir, const char *name, void *ctx)
{
    int rc = name[0] ? fstatat(dir, name, ctx, AT_SYMLINK_NOFOLLOW) : fstat(dir, ctx);
    return rc == 0 ? 0 : -errno;
}

int resolve_stat(int root, const char *rel, bool follow, struct stat *st)
{
    int fd = beneath_open(root, rel, host_path_handle_flags() | (follow ? 0 : O_NOFOLLOW), 0);
    if (fd != HOST_UNAVAILABLE) {
        if (fd < 0)
            return fd;
        int rc = fstat(fd, st) == 0 ? 0 : -errno;
        close(fd);
        return rc;
    }
    return walk_at(root, rel, follow, stat_op, st);
}

/*
 * Opens the directory holding rel's last component beneath root with the host's confined open
 * and runs op on (that directory, last component). HOST_UNAVAILABLE if the host has none.
 */
static int beneath_parent_op(int root, const char *rel, int (*op)(int, const char *, void *),
                             void *ctx)
{
    const char *slash = strrchr(rel, '/');
    const char *name = slash ? slash + 1 : rel;
    if (*name == '\0')
        return rel[0] ? -EINVAL : op(root, "", ctx); /* "" is root itself; "a/" is not clean */
    char parent[WALK_PATH];
    size_t plen = slash ? (size_t)(slash - rel) : 0;
    if (plen >= sizeof(parent))
        return -ENAMETOOLONG;
    memcpy(parent, rel, plen);
    parent[plen] = '\0';
    int dir = beneath_open(root, parent, host_dir_handle_flags(), 0);
    if (dir < 0)
        return dir; /* HOST_UNAVAILABLE too: the caller walks */
    int rc = op(dir, name, ctx);
    close(dir);
    return rc;
}

static int unlink_op(int dir, const char *name, void *ctx)
{
    (void)ctx;
    if (!name[0] || strcmp(name, "..") == 0)
        return -EISDIR;
    return unlinkat(dir, name, 0) == 0 ? 0 : -errno;
}

int resolve_unlink(int root, const char *rel)
{
    int rc = beneath_parent_op(root, rel, unlink_op, NULL);
    return rc == HOST_UNAVAILABLE ? walk_at(root, rel, false, unlink_op, NULL) : rc;
}

static int mkdir_op(int dir, const char *name, void *ctx)
{
    if (!name[0] || strcmp(name, "..") == 0)
        return -EEXIST;
    return mkdirat(dir, name, *(unsigned *)ctx & 07777) == 0 ? 0 : -errno;
}

int resolve_mkdir(int root, const char *rel, unsigned mode)
{
    int rc = beneath_parent_op(root, rel, mkdir_op, &mode);
    return rc == HOST_UNAVAILABLE ? walk_at(root, rel, false, mkdir_op, &mode) : rc;
}
