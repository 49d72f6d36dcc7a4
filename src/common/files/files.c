/* files.c: a run's file state: creation, Hermit images, mounts, isolation, fd lookup, teardown. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "files/files_priv.h"
#include "files/sandbox.h"
#include "host.h"
#include "log.h"

/* How the sandbox rules' files are opened: as handles, never read. */
#define RULE_OPEN_FLAGS (host_path_handle_flags() | O_NOFOLLOW | O_CLOEXEC)

/* Lets the table's fds and chyve's own fit under RLIMIT_NOFILE, where the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    rlim_t want = FDTAB_MAX_OPEN + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_debug("cannot raise the open-file limit: %s", strerror(errno));
}

/* The writable user mappings, sorted by host path: what can still change a read-only one's. */
struct writable {
    const struct fm_node **v;
    size_t n;
};

static void count_writable(struct fm_node *n, void *ctx)
{
    struct writable *w = ctx;
    if (n->kind == FM_HOST && !n->temp && !n->ro) {
        if (w->v)
            w->v[w->n] = n;
        w->n++;
    }
}

static int cmp_host(const void *a, const void *b)
{
    return strcmp((*(const struct fm_node *const *)a)->host,
                  (*(const struct fm_node *const *)b)->host);
}

/* The writable mapping whose host path is p[0, len) ("/" for len 0), or NULL. */
static const struct fm_node *writable_at(const struct writable *w, const char *p, size_t len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%.*s", len ? (int)len : 1, len ? p : "/");
    struct fm_node key = {.host = path};
    const struct fm_node *k = &key, **hit = bsearch(&k, w->v, w->n, sizeof(*w->v), cmp_host);
    return hit ? *hit : NULL;
}

/*
 * Warns once about read-only mapping n if a writable mapping reaches its host path: the same
 * path, or a directory above it. Allowed (the user asked for both, and Landlock's rules add up
 * the same way), but the guest can change those files there. One lookup per component of n's
 * path, so the cost stays proportional to the mappings' text.
 */
static void warn_overlap(struct fm_node *n, void *ctx)
{
    const struct writable *w = ctx;
    if (n->kind != FM_HOST || !n->ro)
        return;
    const struct fm_node *rw = writable_at(w, n->host, strlen(n->host));
    for (size_t i = strlen(n->host); !rw && i-- > 0;)
        if (n->host[i] == '/' && (rw = writable_at(w, n->host, i)) && rw->dirfd < 0)
            rw = NULL; /* a file cannot hold n */
    char g1[FILEMAP_PATH_MAX], g2[FILEMAP_PATH_MAX];
    if (rw && filemap_path(n, g1, sizeof(g1)) && filemap_path(rw, g2, sizeof(g2)))
        log_warn("file mapping of '%s' at '%s' is read-only, but the guest can change it through "
                 "the writable mapping of '%s' at '%s'",
                 n->host, g1, rw->host, g2);
}

static void warn_overlaps(struct filemap *m)
{
    struct writable w = {NULL, 0};
    filemap_for_each(m, count_writable, &w);
    if (w.n == 0 || !(w.v = malloc(w.n * sizeof(*w.v))))
        return; /* nothing writable, or no memory for a warning */
    w.n = 0;
    filemap_for_each(m, count_writable, &w);
    qsort(w.v, w.n, sizeof(*w.v), cmp_host);
    filemap_for_each(m, warn_overlap, &w);
    free(w.v);
}

int files_create(const struct vm_config *cfg, struct files **out)
{
    *out = NULL;
    struct files *f = calloc(1, sizeof(*f));
    if (!f)
        return err_set("out of memory");
    pthread_mutex_init(&f->lock, NULL);
    filemap_init(&f->map);
    f->tmp.parent = f->tmp.fd = -1;
    if (fdtab_create(&f->fds) != 0)
        goto fail;
    for (size_t i = 0; i < cfg->nfile_maps; i++)
        if (filemap_map_host(&f->map, cfg->file_maps[i]) != 0)
            goto fail;
    warn_overlaps(&f->map);
    if (tempdir_create(&f->tmp, cfg->tempdir) != 0)
        goto fail;
    tempquota_init(&f->quota, cfg->tempdir_max_size, cfg->tempdir_max_files,
                   cfg->tempdir_max_depth);
    if (cfg->io_direct && host_direct_io_flag() == 0)
        log_warn("--io-mode host=direct: this host has no O_DIRECT; ignored");
    else if (cfg->io_direct)
        f->create_flags |= host_direct_io_flag();
    if (cfg->io_sync)
        f->create_flags |= O_SYNC;
    raise_fd_limit();
    *out = f;
    return 0;
fail:
    files_destroy(f);
    return -1;
}

int files_add_image(struct files *f, const uint8_t *gz, size_t len, const char *name,
                    const struct vm_config *cfg, const struct vm_config **run,
                    const uint8_t **kernel, size_t *kernel_len)
{
    if (f->img)
        return err_set("only one Hermit image per run");
    struct image *img = calloc(1, sizeof(*img));
    if (!img)
        return err_set("out of memory");
    if (image_open(gz, len, name, img) != 0) {
        free(img);
        return -1;
    }
    f->img = img;
    for (size_t i = 0; i < img->nentries; i++) {
        const struct tar_entry *e = &img->entries[i];
        if (!e->dir && filemap_add_virtual(&f->map, e->name, e->data, e->size) != 0)
            return err_prefix("Hermit image '%s': ", name);
    }
    if (image_apply(img, cfg, run) != 0)
        return err_prefix("Hermit image '%s': ", name);
    *kernel = img->kernel;
    *kernel_len = img->kernel_len;
    log_info("Hermit image '%s': kernel '%s' (%zu bytes), %zu entries", name, img->cfg.kernel,
             img->kernel_len, img->nentries);
    return 0;
}

const char *const *files_mounts(struct files *f)
{
    return f ? filemap_mounts(&f->map) : NULL;
}

/* Rules for the sandbox, with the fds opened only for it. */
struct rules {
    struct sandbox_rule r[FILEMAP_MAX_NODES / 16];
    int own[FILEMAP_MAX_NODES / 16]; /* fd to close afterwards, or -1 */
    size_t n;
    bool full;
    unsigned mapped; /* user mappings seen */
};

static void add_rule(struct rules *rs, int fd, enum sandbox_access a, const char *what, bool own)
{
    if (rs->n == sizeof(rs->r) / sizeof(rs->r[0])) {
        rs->full = true;
        if (own)
            close(fd);
        return;
    }
    rs->r[rs->n] = (struct sandbox_rule){fd, a, what};
    rs->own[rs->n++] = own ? fd : -1;
}

/*
 * A mapped host path: a directory allows everything beneath it; an existing file itself, and its
 * removal from its directory (the guest may unlink it); a missing file its directory (where the
 * guest may create it). A read-only mapping allows reading only: its directory's files and
 * listings, or its file (it exists: filemap_map_host refuses a missing one); never its parent.
 */
static void rule_for_node(struct fm_node *n, void *ctx)
{
    struct rules *rs = ctx;
    if (n->kind != FM_HOST || n->temp)
        return;
    rs->mapped++;
    struct stat st;
    if (n->ro) {
        if (n->dirfd >= 0) {
            add_rule(rs, n->dirfd, SANDBOX_TREE_READ, n->host, false);
        } else if (fstatat(n->parentfd, n->base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            int fd = openat(n->parentfd, n->base, RULE_OPEN_FLAGS);
            if (fd >= 0)
                add_rule(rs, fd, S_ISDIR(st.st_mode) ? SANDBOX_TREE_READ : SANDBOX_READ, n->host,
                         true);
        }
        return;
    }
    if (n->dirfd >= 0) {
        add_rule(rs, n->dirfd, SANDBOX_TREE, n->host, false);
    } else if (fstatat(n->parentfd, n->base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        int fd = openat(n->parentfd, n->base, RULE_OPEN_FLAGS);
        if (fd >= 0)
            add_rule(rs, fd, S_ISDIR(st.st_mode) ? SANDBOX_TREE : SANDBOX_FILE, n->host, true);
        if (!S_ISDIR(st.st_mode))
            add_rule(rs, n->parentfd, SANDBOX_REMOVE_FILE, n->host, false);
    } else {
        add_rule(rs, n->parentfd, SANDBOX_TREE, n->host, false);
    }
}

int files_isolate(struct files *f, const struct vm_config *cfg)
{
    if (cfg->isolation == VM_ISOLATION_NONE)
        return 0;
    /* Not calloc(): its memset would touch all ~80 KiB of slots where a run fills a few. */
    struct rules *rs = malloc(sizeof(*rs));
    if (!rs)
        return err_set("out of memory");
    rs->n = 0;
    rs->full = false;
    rs->mapped = 0;
    filemap_for_each(&f->map, rule_for_node, rs);
    add_rule(rs, f->tmp.fd, SANDBOX_TREE, "the temporary directory", false);
    add_rule(rs, f->tmp.parent, SANDBOX_REMOVE_DIR, "the temporary directory's parent", false);
    if (cfg->stats_file) {
        int fd = open(cfg->stats_file, RULE_OPEN_FLAGS);
        if (fd >= 0)
            add_rule(rs, fd, SANDBOX_FILE, cfg->stats_file, true);
    }
    if (cfg->net && strncmp(cfg->net, "user", 4) == 0) {
        /* libslirp reads the host's resolver list each time the guest asks its DNS proxy */
        int fd = open("/etc/resolv.conf", RULE_OPEN_FLAGS);
        if (fd >= 0)
            add_rule(rs, fd, SANDBOX_READ, "/etc/resolv.conf", true);
    }
    int rc = rs->full ? err_set("file isolation: too many mapped paths (at most %zu)",
                                sizeof(rs->r) / sizeof(rs->r[0]) - 3)
                      : sandbox_apply(cfg->isolation, rs->r, rs->n, rs->mapped > 0);
    for (size_t i = 0; i < rs->n; i++)
        if (rs->own[i] >= 0)
            close(rs->own[i]);
    free(rs);
    return rc;
}

struct fd_entry *files_fd_locked(struct files *f, int32_t fd)
{
    if (!f)
        return NULL;
    pthread_mutex_lock(&f->lock);
    struct fd_entry *e = fdtab_get(f->fds, fd);
    if (!e)
        pthread_mutex_unlock(&f->lock);
    return e;
}

void files_destroy(struct files *f)
{
    if (!f)
        return;
    fdtab_destroy(f->fds);
    filemap_fini(&f->map);
    tempdir_remove(&f->tmp);
    if (f->img) {
        image_free(f->img);
        free(f->img);
    }
    pthread_mutex_destroy(&f->lock);
    free(f);
}
