/* filedir.c: directory listings for the guest: virtual directory records and Getdents. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "files/files_priv.h"
#include "le.h"

/* The Hermit d_type of host node n (uhyve: its lstat type, REG if that fails). */
static uint8_t node_dtype(const struct fm_node *n)
{
    if (n->kind != FM_HOST)
        return n->kind == FM_DIR ? H_DT_DIR : H_DT_REG;
    if (fm_host_dir(n))
        return H_DT_DIR;
    struct stat st;
    if (fstatat(n->parentfd, n->base, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return H_DT_REG;
    return file_abi_dtype(st.st_mode);
}

static int cmp_node_name(const void *a, const void *b)
{
    return strcmp((*(struct fm_node *const *)a)->name, (*(struct fm_node *const *)b)->name);
}

uint64_t files_listings_built, files_records_scanned;
uint64_t files_listing_cap = FILES_LISTING_CAP;

/* Builds the listing of n's children, sorted by name, counted in m's total. */
static struct fm_listing *build_listing(struct filemap *m, const struct fm_node *n, int32_t *err)
{
    size_t count = 0;
    uint64_t total = 0;
    for (const struct fm_node *c = n->child; c; c = c->next, count++)
        total += file_abi_dirent_len(strlen(c->name));
    if (total > files_listing_cap || m->listing_bytes > files_listing_cap - total) {
        *err = -H_ENOMEM; /* listings kept alive by open fds are at their cap */
        return NULL;
    }
    struct fm_node **v = malloc((count ? count : 1) * sizeof(*v));
    struct fm_listing *l = malloc(sizeof(*l) + (size_t)total);
    if (!v || !l) {
        free(v);
        free(l);
        *err = -H_ENOMEM;
        return NULL;
    }
    count = 0;
    for (struct fm_node *c = n->child; c; c = c->next)
        v[count++] = (struct fm_node *)c;
    qsort(v, count, sizeof(*v), cmp_node_name);
    size_t off = 0;
    for (size_t i = 0; i < count; i++) {
        size_t len = file_abi_dirent_len(strlen(v[i]->name));
        file_abi_dirent(l->records + off, 1, (int64_t)(off + len), node_dtype(v[i]), v[i]->name);
        off += len;
    }
    free(v);
    l->refs = 1;
    l->size = total;
    l->total = &m->listing_bytes;
    m->listing_bytes += total;
    files_listings_built++;
    return l;
}

int32_t files_virt_dir(struct filemap *m, struct fm_node *n, struct fd_entry *e)
{
    int32_t err = 0;
    if (!n->listing && !(n->listing = build_listing(m, n, &err)))
        return err;
    n->listing->refs++;
    e->listing = n->listing;
    e->kind = FD_VIRT_DIR;
    e->size = n->listing->size;
    e->rec_at = 0;
    return 0;
}

/* Getdents of a virtual directory: whole records from the cursor on. */
static int32_t getdents_virt(struct fd_entry *e, uint8_t *buf, uint64_t len, uint64_t *written)
{
    if (e->pos >= e->size)
        return 0;
    const uint8_t *r = e->listing->records;
    /* The cursor must sit on a record boundary; the last one found is where the search starts. */
    uint64_t at = e->rec_at <= e->pos ? e->rec_at : 0, n = 0;
    for (; at < e->pos; files_records_scanned++)
        at += le16_get(r + at + 16);
    if (at != e->pos)
        return -H_EINVAL;
    while (at + n < e->size) {
        uint64_t rl = le16_get(r + at + n + 16);
        if (n + rl > len)
            break;
        n += rl;
        files_records_scanned++;
    }
    if (n == 0)
        return -H_EINVAL;
    memcpy(buf, r + at, (size_t)n);
    e->pos += n;
    e->rec_at = e->pos;
    *written = n;
    return 1;
}

/* Hermit d_type for a host readdir type. */
static uint8_t readdir_type(unsigned char t)
{
    switch (t) {
    case DT_DIR:
        return H_DT_DIR;
    case DT_REG:
        return H_DT_REG;
    case DT_LNK:
        return H_DT_LNK;
    case DT_FIFO:
        return 1;
    case DT_CHR:
        return 2;
    case DT_BLK:
        return 6;
    case DT_SOCK:
        return 12;
    default:
        return H_DT_UNKNOWN;
    }
}

/* Getdents of a host directory: entries from the stream, one held back if it did not fit. */
static int32_t getdents_host(struct fd_entry *e, uint8_t *buf, uint64_t len, uint64_t *written)
{
    uint64_t n = 0;
    for (;;) {
        if (!e->pending) {
            errno = 0;
            struct dirent *de = readdir(e->dir);
            if (!de) {
                if (errno != 0 && n == 0)
                    return files_herr(-errno);
                break;
            }
            e->pending = true;
            e->pending_ino = (uint64_t)de->d_ino;
            e->pending_type = readdir_type(de->d_type);
            snprintf(e->pending_name, sizeof(e->pending_name), "%s", de->d_name);
        }
        uint64_t r = file_abi_dirent_len(strlen(e->pending_name));
        if (n + r > len)
            break;
        file_abi_dirent(buf + n, e->pending_ino, (int64_t)(e->pos + n + r), e->pending_type,
                        e->pending_name);
        n += r;
        e->pending = false;
    }
    if (n == 0)
        return e->pending ? -H_EINVAL : 0;
    e->pos += n;
    *written = n;
    return 1;
}

int32_t files_getdents(struct files *f, int32_t fd, uint8_t *buf, uint64_t len, uint64_t *written)
{
    struct fd_entry *e = files_fd_locked(f, fd);
    if (!e)
        return -H_EBADF;
    int32_t rc = e->kind == FD_VIRT_DIR   ? getdents_virt(e, buf, len, written)
                 : e->kind == FD_HOST_DIR ? getdents_host(e, buf, len, written)
                                          : -H_EBADF;
    pthread_mutex_unlock(&f->lock);
    return rc;
}
