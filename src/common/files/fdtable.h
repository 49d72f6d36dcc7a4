/*
 * fdtable.h: the guest's file descriptors: the numbers the guest sees (never a host fd number)
 * and what each stands for. A hard limit of FDTAB_MAX_OPEN open descriptors; numbers start at 3
 * and are never reused (ABI §6.5), so a stale fd cannot reach a file opened later.
 */
#ifndef CHYVE_FDTABLE_H
#define CHYVE_FDTABLE_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>

#include "files/filemap.h"

#define FDTAB_MAX_OPEN 1024 /* open guest fds at a time; one more open gets EMFILE */
#define FDTAB_FIRST 3       /* 0, 1, 2 are the console and stdin, outside the table */

enum fd_kind {
    FD_HOST_FILE, /* a host file (host fd) */
    FD_HOST_DIR,  /* a host directory (directory stream) */
    FD_VIRT_FILE, /* a read-only file of a Hermit image (bytes in memory) */
    FD_VIRT_DIR,  /* a directory of the guest's file map (its shared listing) */
};

/* One open guest fd. */
struct fd_entry {
    enum fd_kind kind;
    int host;                   /* FD_HOST_FILE: the host fd; otherwise -1 */
    DIR *dir;                   /* FD_HOST_DIR: the stream, owning its host fd */
    const uint8_t *data;        /* FD_VIRT_FILE: the file's bytes (owned by the image) */
    struct fm_listing *listing; /* FD_VIRT_DIR: the children's records (one reference) */
    uint64_t size;              /* bytes in data or the listing */
    uint64_t pos;               /* file offset, or directory byte cursor */
    uint64_t rec_at;            /* FD_VIRT_DIR: a record boundary <= pos, where a scan starts */
    bool ro;                    /* opened below a read-only mapping: writes get EROFS */
    /* FD_HOST_FILE: a file in the run directory, counted against its limits (tempquota.h) */
    bool temp;
    uint64_t dev, ino;
    /* FD_HOST_DIR: an entry read from the stream that did not fit the last Getdents buffer */
    bool pending;
    uint64_t pending_ino;
    uint8_t pending_type;
    char pending_name[256];
};

struct fdtab;

/* An empty table. Returns 0, or -1 with err_msg() set. */
int fdtab_create(struct fdtab **out);

/*
 * Takes over e (copied; its host resources now belong to the table) and returns the new guest
 * fd, or -1 if FDTAB_MAX_OPEN fds are open or the numbers ran out (then e is left to the caller).
 */
int32_t fdtab_add(struct fdtab *t, const struct fd_entry *e);

/* The open entry of guest fd `fd`, or NULL (any value is safe to pass). */
struct fd_entry *fdtab_get(struct fdtab *t, int32_t fd);

/*
 * Closes guest fd `fd` and releases its host resources. Returns 0, -1 if fd is not open, or the
 * positive host errno of a failing close(2) (the fd is gone either way).
 */
int fdtab_close(struct fdtab *t, int32_t fd);

/* Number of open run-directory files (fd_entry.temp) that are inode ino of device dev. */
unsigned fdtab_count_temp(const struct fdtab *t, uint64_t dev, uint64_t ino);

/* Number of open guest fds. */
unsigned fdtab_count(const struct fdtab *t);

/* Releases the host resources of an entry that never made it into a table. */
void fd_entry_release(struct fd_entry *e);

/* Closes every open fd and frees the table; NULL is fine. */
void fdtab_destroy(struct fdtab *t);

#endif
