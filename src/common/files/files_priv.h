/* files_priv.h: the state behind files.h, for files.c (lifecycle), fileops.c and filedir.c. */
#ifndef CHYVE_FILES_PRIV_H
#define CHYVE_FILES_PRIV_H

#include <errno.h>
#include <pthread.h>

#include "files/fdtable.h"
#include "files/filemap.h"
#include "files/files.h"
#include "files/tempdir.h"
#include "files/tempquota.h"
#include "loader/image.h"

struct files {
    pthread_mutex_t lock; /* every operation holds it: vCPUs share map, table and cursors */
    struct filemap map;
    struct fdtab *fds;
    struct tempdir tmp;
    struct image *img;      /* the Hermit image whose files the map shows, or NULL */
    int create_flags;       /* O_DIRECT / O_SYNC for files created in the temporary directory */
    struct tempquota quota; /* what the guest holds in the temporary directory, and its limits */
};

/* A negative host errno as a negative Hermit errno; leaving a mapping (EXDEV) is EACCES. */
static inline int32_t files_herr(int neg)
{
    return neg == -EXDEV ? -H_EACCES : -file_abi_errno(-neg);
}

/*
 * Looks up guest fd `fd` and takes f's lock; NULL (lock not held) if f is NULL or fd not open
 * (files.c, which owns the lock and the table).
 */
struct fd_entry *files_fd_locked(struct files *f, int32_t fd);

/*
 * Fills e as a virtual-directory fd of n (of map m): a reference to n's listing, built if n has
 * none (filedir.c). -H_ENOMEM when the listings alive would exceed files_listing_cap.
 */
int32_t files_virt_dir(struct filemap *m, struct fm_node *n, struct fd_entry *e);

/* Bytes of directory listings alive at a time, for all fds and directories of a run. */
#define FILES_LISTING_CAP (64ull << 20)

/* Test hooks (filedir.c): the cap in force, listings built, records stepped over by Getdents. */
extern uint64_t files_listing_cap;
extern uint64_t files_listings_built, files_records_scanned;

#endif
