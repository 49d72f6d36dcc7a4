/* fdtable.c: the guest fd table: a fixed number of slots, numbers that only grow. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "files/fdtable.h"

struct fdtab {
    int32_t next;                /* the number the next open gets */
    unsigned count;              /* open fds */
    int32_t num[FDTAB_MAX_OPEN]; /* guest fd of each slot (0 = free) */
    struct fd_entry *slot[FDTAB_MAX_OPEN];
    /*
     * The farthest any open fd sits from its home slot: a lookup probes no further, so a miss
     * costs max_dist + 1 comparisons instead of FDTAB_MAX_OPEN. It is 0 while numbers find their
     * home free, which they do unless an fd outlives FDTAB_MAX_OPEN newer ones.
     */
    unsigned max_dist;
};

int fdtab_create(struct fdtab **out)
{
    struct fdtab *t = calloc(1, sizeof(*t));
    if (!t)
        return err_set("out of memory for the guest fd table");
    t->next = FDTAB_FIRST;
    *out = t;
    return 0;
}

/* The slot a number hashes to; slots are probed from there, so lookups are usually one step. */
static unsigned home(int32_t fd)
{
    return (unsigned)fd % FDTAB_MAX_OPEN;
}

/* How many probes past its home slot s holds its fd. */
static unsigned dist(const struct fdtab *t, unsigned s)
{
    return (s + FDTAB_MAX_OPEN - home(t->num[s])) % FDTAB_MAX_OPEN;
}

int32_t fdtab_add(struct fdtab *t, const struct fd_entry *e)
{
    if (t->count >= FDTAB_MAX_OPEN || t->next == INT32_MAX)
        return -1;
    struct fd_entry *copy = malloc(sizeof(*copy));
    if (!copy)
        return -1;
    *copy = *e;
    int32_t fd = t->next++;
    for (unsigned s = home(fd);; s = (s + 1) % FDTAB_MAX_OPEN) {
        if (t->num[s] == 0) {
            t->num[s] = fd;
            t->slot[s] = copy;
            if (dist(t, s) > t->max_dist)
                t->max_dist = dist(t, s);
            break;
        }
    }
    t->count++;
    return fd;
}

/* The slot holding fd, or -1. */
static int find(const struct fdtab *t, int32_t fd)
{
    if (fd < FDTAB_FIRST || fd >= t->next)
        return -1;
    /* Deletions leave holes, so probing cannot stop at a free slot: it stops at max_dist. */
    for (unsigned i = 0, s = home(fd); i <= t->max_dist; i++, s = (s + 1) % FDTAB_MAX_OPEN)
        if (t->num[s] == fd)
            return (int)s;
    return -1;
}

struct fd_entry *fdtab_get(struct fdtab *t, int32_t fd)
{
    int s = find(t, fd);
    return s < 0 ? NULL : t->slot[s];
}

void fd_entry_release(struct fd_entry *e)
{
    if (e->host >= 0)
        close(e->host);
    if (e->dir)
        closedir(e->dir);
    fm_listing_put(e->listing);
    e->host = -1;
    e->dir = NULL;
    e->listing = NULL;
}

int fdtab_close(struct fdtab *t, int32_t fd)
{
    int s = find(t, fd);
    if (s < 0)
        return -1;
    struct fd_entry *e = t->slot[s];
    bool farthest = t->max_dist > 0 && dist(t, (unsigned)s) == t->max_dist;
    t->num[s] = 0;
    t->slot[s] = NULL;
    t->count--;
    if (farthest) { /* the bound may shrink: recompute it from the fds still open */
        t->max_dist = 0;
        for (unsigned i = 0; i < FDTAB_MAX_OPEN; i++)
            if (t->num[i] != 0 && dist(t, i) > t->max_dist)
                t->max_dist = dist(t, i);
    }
    int err = 0;
    if (e->host >= 0 && close(e->host) != 0 && errno != EINTR)
        err =
            errno; /* the fd is released even then (POSIX leaves it unspecified, Linux frees it) */
    e->host = -1;
    fd_entry_release(e);
    free(e);
    return err;
}

unsigned fdtab_count_temp(const struct fdtab *t, uint64_t dev, uint64_t ino)
{
    unsigned n = 0;
    for (unsigned s = 0; s < FDTAB_MAX_OPEN; s++)
        n += t->slot[s] && t->slot[s]->temp && t->slot[s]->dev == dev && t->slot[s]->ino == ino;
    return n;
}

unsigned fdtab_count(const struct fdtab *t)
{
    return t->count;
}

void fdtab_destroy(struct fdtab *t)
{
    if (!t)
        return;
    for (unsigned s = 0; s < FDTAB_MAX_OPEN; s++) {
        if (t->slot[s]) {
            fd_entry_release(t->slot[s]);
            free(t->slot[s]);
        }
    }
    free(t);
}
