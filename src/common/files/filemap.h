/*
 * filemap.h: the guest's file namespace (ABI §9.6): a tree of guest paths whose nodes are
 * virtual directories, host paths (--file-mapping, or what the guest created in the run's
 * temporary directory) and read-only files of a Hermit image. Paths below a mapped host
 * directory are not in the tree: they are resolved on the host, beneath that directory.
 */
#ifndef CHYVE_FILEMAP_H
#define CHYVE_FILEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FILEMAP_PATH_MAX 4096   /* guest paths, NUL included */
#define FILEMAP_MAX_NODES 65536 /* nodes in the tree; creating more gets ENOSPC */

/*
 * The Dirent64 records of one virtual directory's children, built on its first open and shared
 * by every fd open on it; a change to the children makes the next open build a new one, while
 * fds opened before keep theirs. Reference-counted; the bytes of all listings alive are
 * counted in *total.
 */
struct fm_listing {
    unsigned refs;
    uint64_t size; /* bytes in records */
    uint64_t *total;
    uint8_t records[];
};

/* Drops one reference to l (NULL is fine), freeing it with the last. */
void fm_listing_put(struct fm_listing *l);

enum fm_kind {
    FM_DIR,  /* a virtual directory (holds other nodes) */
    FM_HOST, /* a host file or directory */
    FM_VIRT, /* a read-only file of a Hermit image */
};

struct fm_node {
    char *name; /* one component ("" for the root) */
    struct fm_node *parent;
    struct fm_node *child; /* first child (siblings in no particular order) */
    struct fm_node *next, *prev;
    struct fm_node *hnext; /* next in the map's hash chain (lookup by parent and name) */
    enum fm_kind kind;
    /* FM_HOST */
    int dirfd;    /* the host directory itself, if it was one when mapped; else -1 */
    int parentfd; /* the directory holding the host path; -1 for the host root */
    char *base;   /* the host path's name inside parentfd */
    char *host;   /* the absolute host path (messages, sandbox) */
    bool temp;    /* in the run's temporary directory (parentfd is not owned) */
    bool dir;     /* a directory the guest made there: opened when used, so it pins no fd */
    bool ro;      /* mapped with ":ro": nothing at or below it may change (filemap_read_only) */
    /* FM_DIR: the listing of its children, or NULL until an open needs it */
    struct fm_listing *listing;
    /* FM_VIRT */
    const uint8_t *data;
    uint64_t size;
};

struct filemap {
    struct fm_node root;
    unsigned nodes;
    uint64_t listing_bytes;   /* records in all listings alive (the map's and open fds') */
    struct fm_node **buckets; /* hash table of all nodes but the root, by (parent, name) */
    size_t nbuckets;
    char **mounts; /* NULL-terminated, built by filemap_mounts() */
};

/* Where a guest path leads: the deepest node on it and the components below that node. */
struct fm_where {
    struct fm_node *node;
    const char *rest; /* "" if the path names node itself, else "a/b" (points into path) */
};

/* True if n is a host directory (a mapped one, or one the guest made in the run directory). */
static inline bool fm_host_dir(const struct fm_node *n)
{
    return n->kind == FM_HOST && (n->dirfd >= 0 || n->dir);
}

void filemap_init(struct filemap *m);

/* Frees every node and closes the host fds the map owns. */
void filemap_fini(struct filemap *m);

/*
 * Cleans a guest path lexically into out[0, cap): relative to "/", repeated '/' and "."
 * dropped, ".." folded (never above "/"). Returns 0, -H_EINVAL if it is not UTF-8 or empty,
 * -H_ENAMETOOLONG if a component exceeds 255 bytes or the result does not fit.
 */
int filemap_clean(const char *path, char *out, size_t cap);

/* A --file-mapping split into its parts: spans of the spec string, not NUL-terminated. */
struct fm_spec {
    const char *host, *guest;
    size_t host_len, guest_len;
    bool ro; /* the third part was "ro" */
};

/*
 * Splits --file-mapping `spec` "HOST:GUEST[:MODE]" at its first two ':' (HOST and GUEST not
 * empty). MODE is "ro" (read-only) or "rw" (the default, also without a third part, as uhyve);
 * anything else after the second ':' is refused, so a typo never maps a path writable. Returns
 * 0 with *out set, or -1 with a one-line err_msg() naming the spec (and the mode).
 */
int filemap_spec(const char *spec, struct fm_spec *out);

/*
 * Adds a --file-mapping "HOST:GUEST[:ro|:rw]" (filemap_spec). HOST is made canonical (realpath);
 * a writable mapping's HOST may be missing if its parent directory exists, a read-only one's
 * must exist. Returns 0, or -1 with err_msg() naming the mapping (bad syntax or mode, duplicate
 * guest path, path below a mapped file, bad host path).
 */
int filemap_map_host(struct filemap *m, const char *spec);

/*
 * True if nothing may change at or below node n: the innermost host mapping holding n (n itself
 * or its nearest FM_HOST ancestor) is read-only. A writable mapping nested inside a read-only one
 * is writable in its own subtree; virtual directories between them are read-only. Image files
 * (FM_VIRT) are read-only by their own rules and are not covered here.
 */
bool filemap_read_only(const struct fm_node *n);

/* Adds read-only file `path` (any form, cleaned here) with data[0, size). 0 or -1 + err_msg(). */
int filemap_add_virtual(struct filemap *m, const char *path, const uint8_t *data, uint64_t size);

/* Finds where the clean guest path leads (never fails: at worst the root and the whole path). */
void filemap_lookup(struct filemap *m, const char *clean, struct fm_where *w);

/*
 * Creates the components of rest (relative, clean) below `from` as virtual directories and
 * returns the last one, for the caller to turn into what it needs. NULL with *err = -H_ENOSPC
 * (node limit), -H_ENOTDIR (from is not a directory), -H_ENAMETOOLONG or -H_ENOMEM.
 */
struct fm_node *filemap_add_path(struct filemap *m, struct fm_node *from, const char *rest,
                                 int *err);

/* Removes childless node n (not the root) from the map and frees it. */
void filemap_remove(struct filemap *m, struct fm_node *n);

/* Writes n's guest path into buf[0, cap) ("/" for the root); false if it does not fit. */
bool filemap_path(const struct fm_node *n, char *buf, size_t cap);

/* Calls fn for every node below the root, parents before children. */
void filemap_for_each(struct filemap *m, void (*fn)(struct fm_node *n, void *ctx), void *ctx);

/*
 * The mount points for the FDT's /uhyve,mounts (ABI §9.6): every guest path of a host directory,
 * and every directory directly holding a mapped host file or an image file, the root excepted.
 * Sorted, NULL-terminated, owned by the map. NULL (with err_msg()) if memory runs out.
 */
const char *const *filemap_mounts(struct filemap *m);

#endif
