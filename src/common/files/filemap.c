/* filemap.c: the guest's file namespace: path cleaning, the mapping tree, lookups, mount points. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "files/file_abi.h"
#include "files/filemap.h"
#include "host.h"
#include "loader/utf8.h"

#define NAME_MAX_GUEST 255

static char root_name[1]; /* "", the root's name: filemap_fini() frees only the children */

void filemap_init(struct filemap *m)
{
    memset(m, 0, sizeof(*m));
    m->root.name = root_name;
    m->root.kind = FM_DIR;
    m->root.dirfd = m->root.parentfd = -1;
}

void fm_listing_put(struct fm_listing *l)
{
    if (l && --l->refs == 0) {
        *l->total -= l->size;
        free(l);
    }
}

/* The children of n changed: its listing no longer shows them. */
static void drop_listing(struct fm_node *n)
{
    fm_listing_put(n->listing);
    n->listing = NULL;
}

static void node_free(struct fm_node *n)
{
    drop_listing(n);
    while (n->child) {
        struct fm_node *c = n->child;
        n->child = c->next;
        node_free(c);
    }
    if (n->dirfd >= 0)
        close(n->dirfd);
    if (n->parentfd >= 0 && !n->temp)
        close(n->parentfd);
    free(n->base);
    free(n->host);
    free(n->name);
    free(n);
}

void filemap_fini(struct filemap *m)
{
    while (m->root.child) {
        struct fm_node *c = m->root.child;
        m->root.child = c->next;
        node_free(c);
    }
    drop_listing(&m->root);
    free(m->buckets);
    if (m->mounts) {
        for (char **p = m->mounts; *p; p++)
            free(*p);
        free(m->mounts);
    }
    filemap_init(m);
}

int filemap_clean(const char *path, char *out, size_t cap)
{
    if (!path[0] || !utf8_valid(path, strlen(path)))
        return -H_EINVAL;
    if (cap < 2)
        return -H_ENAMETOOLONG;
    size_t len = 0;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.')) {
            p += n;
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--; /* the '/' before the dropped component */
            p += n;
            continue;
        }
        if (n > NAME_MAX_GUEST || len + 1 + n + 1 > cap)
            return -H_ENAMETOOLONG;
        out[len++] = '/';
        memcpy(out + len, p, n);
        len += n;
        p += n;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    return 0;
}

/* Hash of (parent, name): FNV-1a over the name, mixed with the parent's address. */
static size_t hash(const struct fm_node *parent, const char *name, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)(uintptr_t)parent * 0x9E3779B97F4A7C15ull);
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)name[i]) * 0x100000001b3ull;
    return (size_t)(h ^ (h >> 29));
}

/* The child of n named name[0, len), or NULL: one hash lookup, however many siblings. */
static struct fm_node *child_named(const struct filemap *m, const struct fm_node *n,
                                   const char *name, size_t len)
{
    if (!m->nbuckets)
        return NULL;
    for (struct fm_node *c = m->buckets[hash(n, name, len) & (m->nbuckets - 1)]; c; c = c->hnext)
        if (c->parent == n && strlen(c->name) == len && memcmp(c->name, name, len) == 0)
            return c;
    return NULL;
}

/* Puts c into the hash table, growing it (to keep chains short) when it fills up. */
static bool hash_insert(struct filemap *m, struct fm_node *c)
{
    if (m->nodes + 1 > m->nbuckets) {
        size_t nb = m->nbuckets ? m->nbuckets * 4 : 256;
        struct fm_node **b = calloc(nb, sizeof(*b));
        if (!b)
            return false;
        for (size_t i = 0; i < m->nbuckets; i++) {
            for (struct fm_node *x = m->buckets[i], *next; x; x = next) {
                next = x->hnext;
                size_t k = hash(x->parent, x->name, strlen(x->name)) & (nb - 1);
                x->hnext = b[k];
                b[k] = x;
            }
        }
        free(m->buckets);
        m->buckets = b;
        m->nbuckets = nb;
    }
    size_t k = hash(c->parent, c->name, strlen(c->name)) & (m->nbuckets - 1);
    c->hnext = m->buckets[k];
    m->buckets[k] = c;
    return true;
}

void filemap_lookup(struct filemap *m, const char *clean, struct fm_where *w)
{
    struct fm_node *n = &m->root;
    const char *p = clean;
    while (*p == '/')
        p++;
    while (*p) {
        size_t len = strcspn(p, "/");
        struct fm_node *c = child_named(m, n, p, len);
        if (!c)
            break;
        n = c;
        p += len;
        while (*p == '/')
            p++;
    }
    w->node = n;
    w->rest = p;
}

/* True if nodes may be added below n: a virtual directory, or a host path that is a directory. */
static bool holds_children(const struct fm_node *n)
{
    return n->kind == FM_DIR || fm_host_dir(n);
}

/* Links a new virtual-directory child `name` into n's children and the hash table. */
static struct fm_node *add_child(struct filemap *m, struct fm_node *n, const char *name, size_t len,
                                 int *err)
{
    if (m->nodes >= FILEMAP_MAX_NODES) {
        *err = -H_ENOSPC;
        return NULL;
    }
    struct fm_node *c = calloc(1, sizeof(*c));
    if (!c || !(c->name = strndup(name, len))) {
        free(c);
        *err = -H_ENOMEM;
        return NULL;
    }
    c->kind = FM_DIR;
    c->dirfd = c->parentfd = -1;
    c->parent = n;
    if (!hash_insert(m, c)) {
        free(c->name);
        free(c);
        *err = -H_ENOMEM;
        return NULL;
    }
    drop_listing(n);
    c->next = n->child;
    if (n->child)
        n->child->prev = c;
    n->child = c;
    m->nodes++;
    return c;
}

struct fm_node *filemap_add_path(struct filemap *m, struct fm_node *from, const char *rest,
                                 int *err)
{
    struct fm_node *n = from;
    for (const char *p = rest; *p;) {
        size_t len = strcspn(p, "/");
        if (len > NAME_MAX_GUEST) {
            *err = -H_ENAMETOOLONG;
            return NULL;
        }
        if (!holds_children(n)) {
            *err = -H_ENOTDIR;
            return NULL;
        }
        struct fm_node *c = child_named(m, n, p, len);
        if (!c && !(c = add_child(m, n, p, len, err)))
            return NULL;
        n = c;
        p += len;
        while (*p == '/')
            p++;
    }
    return n;
}

void filemap_remove(struct filemap *m, struct fm_node *n)
{
    if (n == &m->root || n->child)
        return;
    drop_listing(n->parent);
    if (n->prev)
        n->prev->next = n->next;
    else
        n->parent->child = n->next;
    if (n->next)
        n->next->prev = n->prev;
    struct fm_node **at =
        &m->buckets[hash(n->parent, n->name, strlen(n->name)) & (m->nbuckets - 1)];
    while (*at != n)
        at = &(*at)->hnext;
    *at = n->hnext;
    n->next = NULL;
    node_free(n);
    m->nodes--;
}

/* Where a new node for guest path `clean` goes (checked for duplicates and files above it). */
static struct fm_node *place(struct filemap *m, const char *clean, const char *what)
{
    if (strcmp(clean, "/") == 0) {
        err_set("%s: cannot map onto the guest root '/'", what);
        return NULL;
    }
    struct fm_where w;
    filemap_lookup(m, clean, &w);
    /* An existing virtual directory may become a mapped host directory (checked by the caller). */
    if (!w.rest[0] && w.node->kind != FM_DIR) {
        err_set("%s: guest path '%s' is mapped twice", what, clean);
        return NULL;
    }
    int e = 0;
    struct fm_node *n = filemap_add_path(m, w.node, w.rest, &e);
    if (!n) {
        if (e == -H_ENOTDIR)
            err_set("%s: guest path '%s' lies below a mapped file", what, clean);
        else
            err_set("%s: too many mapped paths or out of memory", what);
    }
    return n;
}

/* The canonical absolute form of host path `in`; it may be missing if its parent exists. */
static char *canonical_host(const char *in, const char *spec)
{
    char *r = realpath(in, NULL);
    if (r || errno != ENOENT) {
        if (!r)
            err_set("file mapping '%s': host path '%s': %s", spec, in, strerror(errno));
        return r;
    }
    const char *slash = strrchr(in, '/');
    const char *base = slash ? slash + 1 : in;
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
        err_set("file mapping '%s': host path '%s' does not exist", spec, in);
        return NULL;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - in) : 1, slash ? in : ".");
    if (slash == in)
        strcpy(dir, "/");
    char *rd = realpath(dir, NULL);
    struct stat st;
    if (!rd || stat(rd, &st) != 0 || !S_ISDIR(st.st_mode)) {
        free(rd);
        err_set("file mapping '%s': neither host path '%s' nor its directory exists", spec, in);
        return NULL;
    }
    size_t n = strlen(rd) + strlen(base) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s%s%s", rd, strcmp(rd, "/") ? "/" : "", base);
    free(rd);
    if (!out)
        err_set("out of memory");
    return out;
}

/* Opens what node n needs for host path n->host (canonical): its dir fd and/or parent + name. */
static int open_host(struct fm_node *n, const char *spec)
{
    struct stat st;
    if (stat(n->host, &st) == 0 && S_ISDIR(st.st_mode)) {
        n->dirfd = open(n->host, host_dir_handle_flags() | O_CLOEXEC);
        if (n->dirfd < 0)
            return err_set("file mapping '%s': cannot open '%s': %s", spec, n->host,
                           strerror(errno));
    }
    if (strcmp(n->host, "/") == 0)
        return 0; /* the host root has no parent; dirfd serves every operation */
    const char *slash = strrchr(n->host, '/');
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%.*s", slash == n->host ? 1 : (int)(slash - n->host), n->host);
    n->parentfd = open(dir, host_dir_handle_flags() | O_CLOEXEC);
    n->base = strdup(slash + 1);
    if (n->parentfd < 0 || !n->base)
        return err_set("file mapping '%s': cannot open '%s': %s", spec, dir, strerror(errno));
    return 0;
}

int filemap_spec(const char *spec, struct fm_spec *out)
{
    const char *c1 = strchr(spec, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || c1 == spec || !c1[1] || c2 == c1 + 1)
        return err_set("invalid file mapping '%s': expected HOST:GUEST or HOST:GUEST:ro", spec);
    out->host = spec;
    out->host_len = (size_t)(c1 - spec);
    out->guest = c1 + 1;
    out->guest_len = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
    out->ro = false;
    if (!c2)
        return 0;
    /* uhyve ignores a third part; chyve gives it a meaning, so only the two modes pass */
    const char *mode = c2 + 1;
    if (!strcmp(mode, "ro"))
        out->ro = true;
    else if (!*mode)
        return err_set("invalid file mapping '%s': empty mode after GUEST (expected ro or rw)",
                       spec);
    else if (strcmp(mode, "rw") != 0)
        return err_set("invalid file mapping '%s': unknown mode '%s' (expected ro or rw)", spec,
                       mode);
    return 0;
}

int filemap_map_host(struct filemap *m, const char *spec)
{
    struct fm_spec sp;
    if (filemap_spec(spec, &sp) != 0)
        return -1;
    char host[PATH_MAX], guest[FILEMAP_PATH_MAX], gin[FILEMAP_PATH_MAX];
    if (sp.host_len >= sizeof(host))
        return err_set("file mapping '%s': host path too long", spec);
    snprintf(host, sizeof(host), "%.*s", (int)sp.host_len, sp.host);
    if (sp.guest_len >= sizeof(gin))
        return err_set("file mapping '%s': guest path too long", spec);
    snprintf(gin, sizeof(gin), "%.*s", (int)sp.guest_len, sp.guest);
    if (filemap_clean(gin, guest, sizeof(guest)) != 0)
        return err_set("file mapping '%s': invalid guest path '%s'", spec, gin);

    char *canon = canonical_host(host, spec);
    if (!canon)
        return -1;
    /* A missing host path is one the guest may create: never through a read-only mapping. */
    struct stat st;
    if (sp.ro && stat(canon, &st) != 0) {
        err_set("file mapping '%s': host path '%s' does not exist (a read-only mapping needs an "
                "existing file or directory)",
                spec, canon);
        free(canon);
        return -1;
    }
    struct fm_node *n = place(m, guest, spec);
    if (!n) {
        free(canon);
        return -1;
    }
    n->kind = FM_HOST;
    n->host = canon;
    n->ro = sp.ro;
    if (open_host(n, spec) != 0)
        return -1; /* the half-made node is freed with the map */
    if (n->dirfd < 0 && n->child)
        return err_set("file mapping '%s': '%s' is not a directory but paths below it are mapped",
                       spec, n->host);
    return 0;
}

bool filemap_read_only(const struct fm_node *n)
{
    for (; n; n = n->parent)
        if (n->kind == FM_HOST)
            return n->ro;
    return false;
}

int filemap_add_virtual(struct filemap *m, const char *path, const uint8_t *data, uint64_t size)
{
    char clean[FILEMAP_PATH_MAX];
    if (filemap_clean(path, clean, sizeof(clean)) != 0)
        return err_set("image file '%s': invalid path", path);
    struct fm_node *n = place(m, clean, "image file");
    if (!n)
        return -1;
    if (n->child)
        return err_set("image file '%s' is also a directory of the image", clean);
    n->kind = FM_VIRT;
    n->data = data;
    n->size = size;
    return 0;
}

bool filemap_path(const struct fm_node *n, char *buf, size_t cap)
{
    if (cap < 2)
        return false;
    if (!n->parent) {
        strcpy(buf, "/");
        return true;
    }
    /* Components are collected from the leaf up, then written in order. */
    size_t len = 0;
    for (const struct fm_node *p = n; p->parent; p = p->parent)
        len += 1 + strlen(p->name);
    if (len + 1 > cap)
        return false;
    buf[len] = '\0';
    for (const struct fm_node *p = n; p->parent; p = p->parent) {
        size_t k = strlen(p->name);
        len -= k;
        memcpy(buf + len, p->name, k);
        buf[--len] = '/';
    }
    return true;
}

static void for_each_below(struct fm_node *n, void (*fn)(struct fm_node *, void *), void *ctx)
{
    for (struct fm_node *c = n->child; c; c = c->next) {
        fn(c, ctx);
        for_each_below(c, fn, ctx);
    }
}

void filemap_for_each(struct filemap *m, void (*fn)(struct fm_node *n, void *ctx), void *ctx)
{
    for_each_below(&m->root, fn, ctx);
}

/* Collects mount points: see filemap_mounts(). */
struct mount_list {
    char **v;
    size_t n, cap;
    bool failed;
};

static void add_mount(struct mount_list *l, const struct fm_node *dir)
{
    char path[FILEMAP_PATH_MAX];
    if (!dir->parent || !filemap_path(dir, path, sizeof(path)))
        return; /* the root is never a mount point */
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], path))
            return;
    if (l->n + 2 > l->cap) {
        size_t cap = l->cap * 2 + 8;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            l->failed = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(path)))
        l->failed = true;
    else
        l->n++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void mount_visit(struct fm_node *n, void *ctx)
{
    if (fm_host_dir(n))
        add_mount(ctx, n);
    else if ((n->kind == FM_HOST && !n->temp) || n->kind == FM_VIRT)
        add_mount(ctx, n->parent);
}

const char *const *filemap_mounts(struct filemap *m)
{
    if (m->mounts) {
        for (char **p = m->mounts; *p; p++)
            free(*p);
        free(m->mounts);
        m->mounts = NULL;
    }
    struct mount_list l = {NULL, 0, 0, false};
    filemap_for_each(m, mount_visit, &l);
    if (l.failed || !(l.v || (l.v = calloc(1, sizeof(char *))))) {
        for (size_t i = 0; i < l.n; i++)
            free(l.v[i]);
        free(l.v);
        err_set("out of memory for the mount list");
        return NULL;
    }
    qsort(l.v, l.n, sizeof(*l.v), cmp_str);
    l.v[l.n] = NULL;
    m->mounts = l.v;
    return (const char *const *)m->mounts;
}
