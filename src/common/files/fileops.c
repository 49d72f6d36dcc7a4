/*
 * fileops.c: the file operations of the hypercalls (ABI §6.6) on a run's file state: guest path
 * -> file map -> host path beneath the mapping (resolve.c) or a virtual node, and the guest fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files/files_priv.h"
#include "files/resolve.h"
#include "host.h"

/* How a mapping's base directory is opened: a path handle, never followed through a symlink. */
#define BASE_DIR_FLAGS (host_dir_handle_flags() | O_NOFOLLOW | O_CLOEXEC)

/* The resolve.h operations, for below_host(). */
enum below_op { BELOW_OPEN, BELOW_STAT, BELOW_LSTAT, BELOW_UNLINK, BELOW_MKDIR };

/*
 * Runs a resolve.h operation on path `rest` below host node n, beneath its directory: the dir fd
 * bound at start-up, or, for a path that was not a directory when mapped, a fresh one. Returns
 * what the operation returns (an fd for BELOW_OPEN, else 0), or a negative host errno.
 */
static int below_host(const struct fm_node *n, const char *rest, enum below_op op, int flags,
                      unsigned mode, struct stat *st)
{
    int tmp = -1, base = n->dirfd;
    if (base < 0 && (base = tmp = openat(n->parentfd, n->base, BASE_DIR_FLAGS)) < 0)
        return -errno;
    int rc;
    switch (op) {
    case BELOW_OPEN:
        rc = resolve_open(base, rest, flags, mode);
        break;
    case BELOW_STAT:
    case BELOW_LSTAT:
        rc = resolve_stat(base, rest, op == BELOW_STAT, st);
        break;
    case BELOW_UNLINK:
        rc = resolve_unlink(base, rest);
        break;
    default:
        rc = resolve_mkdir(base, rest, mode);
        break;
    }
    if (tmp >= 0)
        close(tmp);
    return rc;
}

/* Turns a freshly opened host fd into a table entry: regular files and directories only. */
static int32_t host_entry(int fd, struct fd_entry *e)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return files_herr(-err);
    }
    if (S_ISREG(st.st_mode)) {
        int fl = fcntl(fd, F_GETFL);
        if (fl != -1)
            fcntl(fd, F_SETFL, fl & ~O_NONBLOCK); /* it was opened non-blocking: see open_at */
        e->kind = FD_HOST_FILE;
        e->host = fd;
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        e->dir = fdopendir(fd);
        if (!e->dir) {
            int err = errno;
            close(fd);
            return files_herr(-err);
        }
        e->kind = FD_HOST_DIR;
        return 0;
    }
    /* FIFOs, devices, sockets: opening them could block chyve or reach host hardware. */
    close(fd);
    return -H_EACCES;
}

/* Creates a file for an unmapped guest path in the temporary directory and maps it there. */
static int32_t create_temp(struct files *f, struct fm_node *from, const char *rest, int hf,
                           unsigned mode, struct fd_entry *e)
{
    int32_t q = tempquota_may_create(&f->quota);
    if (q != 0)
        return q;
    char name[32];
    tempdir_name(&f->tmp, 'f', name);
    int fd = openat(f->tmp.fd, name,
                    hf | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | f->create_flags, mode);
    if (fd < 0)
        return files_herr(-errno);
    int err = 0;
    struct fm_node *n = filemap_add_path(&f->map, from, rest, &err);
    if (n && !(n->base = strdup(name)))
        err = -H_ENOMEM;
    if (!n || err) {
        if (n)
            filemap_remove(&f->map, n);
        close(fd);
        unlinkat(f->tmp.fd, name, 0);
        return err;
    }
    n->kind = FM_HOST;
    n->parentfd = f->tmp.fd;
    n->temp = true;
    tempquota_created(&f->quota);
    int32_t rc = host_entry(fd, e);
    if (rc == 0 && e->kind == FD_HOST_FILE)
        tempquota_opened(&f->quota, e, NULL);
    return rc;
}

/*
 * Opens path `rest` below node n of the run directory (or n itself for ""), counting what it
 * creates or truncates against the run directory's limits.
 */
static int32_t open_temp(struct files *f, const struct fm_node *n, const char *rest, int hf,
                         unsigned mode, struct fd_entry *e)
{
    struct stat before;
    int rc = rest[0] ? below_host(n, rest, BELOW_LSTAT, 0, 0, &before)
             : fstatat(n->parentfd, n->base, &before, AT_SYMLINK_NOFOLLOW) == 0 ? 0
                                                                                : -errno;
    bool existed = rc == 0;
    if (!existed && (hf & O_CREAT) && (rc = tempquota_may_create(&f->quota)) != 0)
        return rc;
    int fd = rest[0] ? below_host(n, rest, BELOW_OPEN, hf, mode, NULL)
                     : openat(n->parentfd, n->base, hf | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return files_herr(rest[0] ? fd : -errno);
    if (!existed)
        tempquota_created(&f->quota);
    rc = host_entry(fd, e);
    if (rc == 0 && e->kind == FD_HOST_FILE)
        tempquota_opened(&f->quota, e, existed ? &before : NULL);
    return rc;
}

/* Opens what w points at (ABI §6.6 FileOpen) into e. */
static int32_t open_at(struct files *f, const struct fm_where *w, int hf, unsigned mode,
                       struct fd_entry *e)
{
    struct fm_node *n = w->node;
    /* Non-blocking, so a FIFO planted in a mapped directory cannot hang chyve in open(2). */
    int host_flags = hf | O_NONBLOCK | O_NOCTTY;
    if (w->rest[0]) {
        if (n->kind == FM_VIRT)
            return -H_ENOTDIR;
        if (n->kind == FM_DIR)
            return (hf & O_CREAT) ? create_temp(f, n, w->rest, hf, mode, e) : -H_ENOENT;
        if (n->temp)
            return open_temp(f, n, w->rest, host_flags, mode, e);
        int fd = below_host(n, w->rest, BELOW_OPEN, host_flags, mode, NULL);
        return fd < 0 ? files_herr(fd) : host_entry(fd, e);
    }
    bool excl = (hf & O_CREAT) && (hf & O_EXCL), rdonly = (hf & O_ACCMODE) == O_RDONLY;
    switch (n->kind) {
    case FM_DIR:
        if (n == &f->map.root)
            return -H_ENOENT; /* as uhyve: "/" itself is not a directory the guest can open */
        if (excl)
            return -H_EEXIST;
        if (!rdonly || (hf & O_CREAT))
            return -H_EISDIR;
        return files_virt_dir(&f->map, n, e);
    case FM_VIRT:
        if (excl)
            return -H_EEXIST;
        if (hf & O_DIRECTORY)
            return -H_ENOTDIR;
        if (!rdonly || (hf & O_TRUNC))
            return -H_EROFS;
        e->kind = FD_VIRT_FILE;
        e->data = n->data;
        e->size = n->size;
        return 0;
    case FM_HOST:
        break;
    }
    if (n->temp)
        return open_temp(f, n, "", host_flags, mode, e);
    int fd = n->dirfd >= 0
                 ? resolve_open(n->dirfd, "", host_flags, mode)
                 : openat(n->parentfd, n->base, host_flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return files_herr(n->dirfd >= 0 ? fd : -errno);
    return host_entry(fd, e);
}

/* Runs op on where guest path `path` leads, with the lock held. */
static int32_t with_path(struct files *f, const char *path,
                         int32_t (*op)(struct files *f, const struct fm_where *w, void *ctx),
                         void *ctx)
{
    char clean[FILEMAP_PATH_MAX];
    int32_t rc = filemap_clean(path, clean, sizeof(clean));
    if (rc != 0)
        return rc;
    if (!f)
        return -H_ENOENT; /* without file state nothing exists */
    pthread_mutex_lock(&f->lock);
    struct fm_where w;
    filemap_lookup(&f->map, clean, &w);
    rc = op(f, &w, ctx);
    pthread_mutex_unlock(&f->lock);
    return rc;
}

struct open_args {
    int hf;
    unsigned mode;
};

/* True if host open flags hf could change a file: refused below a read-only mapping. */
static bool writes(int hf)
{
    return (hf & O_ACCMODE) != O_RDONLY || (hf & (O_CREAT | O_TRUNC | O_APPEND));
}

/* Opens what w points at and enters it in the fd table: the new guest fd or -errno. */
static int32_t open_op(struct files *f, const struct fm_where *w, void *ctx)
{
    const struct open_args *a = ctx;
    if (fdtab_count(f->fds) >= FDTAB_MAX_OPEN)
        return -H_EMFILE; /* checked before anything is created */
    int hf = a->hf;
    bool ro = filemap_read_only(w->node);
    if (ro) {
        if (writes(hf))
            return -H_EROFS; /* even for a path that does not exist: nothing may be created */
        /* What is left is an access mode of O_RDONLY: the host fd is never a writable one. */
        hf = O_RDONLY | (hf & O_DIRECTORY);
    }
    struct fd_entry e = {.host = -1, .ro = ro};
    int32_t rc = open_at(f, w, hf, a->mode, &e);
    if (rc == 0 && (rc = fdtab_add(f->fds, &e)) < 0)
        rc = -H_EMFILE;
    if (rc < 0)
        fd_entry_release(&e);
    return rc;
}

int32_t files_open(struct files *f, const char *path, int32_t flags, int32_t mode)
{
    struct open_args a = {0, (unsigned)mode & 0777}; /* no set-id or sticky bits from a guest */
    int32_t rc = file_abi_open_flags(flags, &a.hf);
    return rc ? rc : with_path(f, path, open_op, &a);
}

int32_t files_close(struct files *f, int32_t fd)
{
    if (!f)
        return -H_EBADF;
    pthread_mutex_lock(&f->lock);
    struct fd_entry *e = fdtab_get(f->fds, fd);
    if (e)
        tempquota_closing(&f->quota, f->fds, e);
    int rc = fdtab_close(f->fds, fd);
    pthread_mutex_unlock(&f->lock);
    return rc < 0 ? -H_EBADF : rc > 0 ? -file_abi_errno(rc) : 0;
}

int64_t files_read(struct files *f, int32_t fd, uint8_t *buf, uint64_t len)
{
    struct fd_entry *e = files_fd_locked(f, fd);
    if (!e)
        return -H_EBADF;
    int64_t rc;
    if (e->kind == FD_HOST_FILE) {
        ssize_t n;
        do
            n = read(e->host, buf, (size_t)len);
        while (n < 0 && errno == EINTR);
        rc = n < 0 ? files_herr(-errno) : n;
    } else if (e->kind == FD_VIRT_FILE) {
        uint64_t n = e->pos < e->size ? e->size - e->pos : 0;
        if (n > len)
            n = len;
        memcpy(buf, e->data + e->pos, (size_t)n);
        e->pos += n;
        rc = (int64_t)n;
    } else {
        rc = -H_EISDIR;
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

int64_t files_write(struct files *f, int32_t fd, const uint8_t *buf, uint64_t len)
{
    struct fd_entry *e = files_fd_locked(f, fd);
    if (!e)
        return -H_EBADF;
    int64_t rc = 0;
    uint64_t size = 0;
    if (e->ro) {
        pthread_mutex_unlock(&f->lock);
        return -H_EROFS; /* from below a read-only mapping (its host fd is read-only too) */
    }
    if (e->kind == FD_HOST_FILE && e->temp &&
        (rc = tempquota_write_begin(&f->quota, e, &len, &size)) != 0) {
        pthread_mutex_unlock(&f->lock);
        return rc;
    }
    if (e->kind == FD_HOST_FILE) {
        uint64_t done = 0;
        while (done < len) { /* short writes are continued, as uhyve */
            ssize_t n = write(e->host, buf + done, (size_t)(len - done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                rc = done > 0 ? 0 : n < 0 ? files_herr(-errno) : -H_EIO;
                break;
            }
            done += (uint64_t)n;
        }
        if (rc == 0)
            rc = (int64_t)done;
        if (e->temp)
            tempquota_write_end(&f->quota, e, size);
    } else {
        rc = e->kind == FD_VIRT_FILE ? -H_EROFS : -H_EISDIR;
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

/* base + off into *out, or -H_EOVERFLOW if it does not fit in an i64. */
static int add_offset(int64_t base, int64_t off, int64_t *out)
{
    if ((off > 0 && base > INT64_MAX - off) || (off < 0 && base < INT64_MIN - off))
        return -H_EOVERFLOW;
    *out = base + off;
    return 0;
}

int64_t files_lseek(struct files *f, int32_t fd, int64_t offset, uint32_t whence)
{
    struct fd_entry *e = files_fd_locked(f, fd);
    if (!e)
        return -H_EBADF;
    int64_t rc, pos = 0;
    int hw;
    switch (e->kind) {
    case FD_HOST_FILE:
        rc = file_abi_whence(whence, &hw);
        if (rc == 0) {
            off_t r = lseek(e->host, (off_t)offset, hw);
            rc = r < 0 ? files_herr(-errno) : (int64_t)r;
        }
        break;
    case FD_VIRT_FILE:
        if (whence > 2)
            rc = -H_EINVAL;
        else if ((rc = add_offset(whence == 0   ? 0
                                  : whence == 1 ? (int64_t)e->pos
                                                : (int64_t)e->size,
                                  offset, &pos)) == 0)
            rc = pos < 0 ? -H_EINVAL : (int64_t)(e->pos = (uint64_t)pos);
        break;
    case FD_VIRT_DIR: /* the byte cursor of Getdents: SET or CUR, forward only (uhyve) */
        if (whence > 1 || offset < 0)
            rc = -H_EINVAL;
        else if ((rc = add_offset(whence == 0 ? 0 : (int64_t)e->pos, offset, &pos)) == 0)
            rc = (int64_t)(e->pos = (uint64_t)pos);
        break;
    case FD_HOST_DIR: /* a host stream can only be rewound */
        if (whence == 0 && offset == 0) {
            rewinddir(e->dir);
            e->pos = 0;
            e->pending = false;
            rc = 0;
        } else {
            rc = whence == 1 && offset == 0 ? (int64_t)e->pos : -H_EINVAL;
        }
        break;
    default:
        rc = -H_EBADF;
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

/* stat / lstat of what w points at. */
static int32_t stat_at(struct files *f, const struct fm_where *w, bool follow,
                       uint8_t attr[FILE_ATTR_SIZE])
{
    const struct fm_node *n = w->node;
    struct stat st;
    int rc;
    if (w->rest[0]) {
        if (n->kind != FM_HOST)
            return n->kind == FM_VIRT ? -H_ENOTDIR : -H_ENOENT;
        rc = below_host(n, w->rest, follow ? BELOW_STAT : BELOW_LSTAT, 0, 0, &st);
    } else if (n->kind != FM_HOST) {
        if (n == &f->map.root)
            return -H_ENOENT;
        file_abi_attr_virtual(n->kind == FM_DIR, n->size, attr);
        return 0;
    } else if (n->dirfd >= 0) {
        rc = fstat(n->dirfd, &st) == 0 ? 0 : -errno;
    } else {
        rc = fstatat(n->parentfd, n->base, &st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
    }
    if (rc != 0)
        return files_herr(rc);
    file_abi_attr(&st, attr);
    return 0;
}

struct stat_args {
    bool follow;
    uint8_t *attr;
};

static int32_t stat_op(struct files *f, const struct fm_where *w, void *ctx)
{
    const struct stat_args *a = ctx;
    return stat_at(f, w, a->follow, a->attr);
}

int32_t files_stat(struct files *f, const char *path, bool follow, uint8_t attr[FILE_ATTR_SIZE])
{
    struct stat_args a = {follow, attr};
    return with_path(f, path, stat_op, &a);
}

int32_t files_fstat(struct files *f, int32_t fd, uint8_t attr[FILE_ATTR_SIZE])
{
    struct fd_entry *e = files_fd_locked(f, fd);
    if (!e)
        return -H_EBADF;
    struct stat st;
    int32_t rc = 0;
    if (e->kind == FD_VIRT_FILE || e->kind == FD_VIRT_DIR)
        file_abi_attr_virtual(e->kind == FD_VIRT_DIR, e->size, attr);
    else if (fstat(e->kind == FD_HOST_DIR ? dirfd(e->dir) : e->host, &st) != 0)
        rc = files_herr(-errno);
    else
        file_abi_attr(&st, attr);
    pthread_mutex_unlock(&f->lock);
    return rc;
}

/* unlink of what w points at (ABI §6.6 FileUnlink, with chyve's deviations in decisions.md). */
static int32_t unlink_at(struct files *f, const struct fm_where *w, void *ctx)
{
    (void)ctx;
    struct fm_node *n = w->node;
    if (filemap_read_only(n))
        return -H_EROFS;
    if (w->rest[0]) {
        if (n->kind != FM_HOST)
            return n->kind == FM_VIRT ? -H_ENOTDIR : -H_ENOENT;
        struct stat st;
        bool counted = n->temp && below_host(n, w->rest, BELOW_LSTAT, 0, 0, &st) == 0;
        int rc = below_host(n, w->rest, BELOW_UNLINK, 0, 0, NULL);
        if (rc < 0)
            return files_herr(rc);
        if (counted)
            tempquota_unlinked(&f->quota, f->fds, &st);
        return 0;
    }
    switch (n->kind) {
    case FM_DIR:
        if (n == &f->map.root)
            return -H_ENOENT;
        if (n->child)
            return -H_ENOTEMPTY;
        filemap_remove(&f->map, n);
        return 0;
    case FM_VIRT:
        return -H_EROFS;
    case FM_HOST:
        break;
    }
    if (fm_host_dir(n))
        return -H_EISDIR;
    struct stat st;
    bool counted = n->temp && fstatat(n->parentfd, n->base, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (unlinkat(n->parentfd, n->base, 0) != 0)
        return files_herr(-errno);
    if (counted)
        tempquota_unlinked(&f->quota, f->fds, &st);
    if (n->temp)
        filemap_remove(&f->map, n); /* a mapping the guest made goes with its file */
    return 0;
}

int32_t files_unlink(struct files *f, const char *path)
{
    return with_path(f, path, unlink_at, NULL);
}

/* A directory for an unmapped guest path, in the temporary directory. */
static int32_t mkdir_temp(struct files *f, struct fm_node *from, const char *rest)
{
    int32_t q = tempquota_may_create(&f->quota);
    if (q != 0)
        return q;
    char name[32];
    tempdir_name(&f->tmp, 'd', name);
    if (mkdirat(f->tmp.fd, name, 0700) != 0)
        return files_herr(-errno);
    int err = 0;
    struct fm_node *n = filemap_add_path(&f->map, from, rest, &err);
    if (n && !(n->base = strdup(name)))
        err = -H_ENOMEM;
    if (!n || err) {
        if (n)
            filemap_remove(&f->map, n);
        unlinkat(f->tmp.fd, name, AT_REMOVEDIR);
        return err;
    }
    /* No fd is kept: below_host() opens it for each use, so directories cost no host fds. */
    n->kind = FM_HOST;
    n->parentfd = f->tmp.fd;
    n->temp = n->dir = true;
    tempquota_created(&f->quota);
    return 0;
}

/* mkdir of what w points at (ABI §6.6 Mkdir). */
static int32_t mkdir_at(struct files *f, const struct fm_where *w, void *ctx)
{
    (void)ctx;
    struct fm_node *n = w->node;
    if (filemap_read_only(n))
        return -H_EROFS; /* also for a path that exists (Linux would say EEXIST) */
    if (w->rest[0]) {
        if (n->kind == FM_VIRT)
            return -H_ENOTDIR;
        if (n->kind == FM_DIR)
            return mkdir_temp(f, n, w->rest);
        int32_t q = 0;
        if (n->temp && ((q = tempquota_may_mkdir(&f->quota, w->rest)) != 0 ||
                        (q = tempquota_may_create(&f->quota)) != 0))
            return q;
        int rc = below_host(n, w->rest, BELOW_MKDIR, 0, 0777, NULL);
        if (rc < 0)
            return files_herr(rc);
        if (n->temp)
            tempquota_created(&f->quota);
        return 0;
    }
    if (n->kind != FM_HOST || fm_host_dir(n))
        return -H_EEXIST;
    return mkdirat(n->parentfd, n->base, 0777) == 0 ? 0 : files_herr(-errno);
}

int32_t files_mkdir(struct files *f, const char *path)
{
    return with_path(f, path, mkdir_at, NULL);
}
