/*
 * tempquota.h: the limits of the run directory (docs/decisions.md "Run directory limits"): how
 * many files and directories the guest has there, how many bytes they hold, how deep its
 * directories nest. Over a limit the guest gets an errno (EDQUOT, ENAMETOOLONG), chyve goes on.
 * Callers hold the files lock.
 */
#ifndef CHYVE_TEMPQUOTA_H
#define CHYVE_TEMPQUOTA_H

#include <stdint.h>
#include <sys/stat.h>

struct fdtab;
struct fd_entry;

struct tempquota {
    uint64_t bytes, max_bytes; /* sizes of the files (holes included), and their limit */
    uint32_t entries, max_entries;
    uint32_t max_depth; /* directories nested below the run directory */
};

/* Sets the limits (0: the VM_TEMPDIR_* default) with nothing used yet. */
void tempquota_init(struct tempquota *q, uint64_t max_bytes, uint32_t max_entries,
                    uint32_t max_depth);

/* 0 if one more entry fits, else -H_EDQUOT. */
int32_t tempquota_may_create(const struct tempquota *q);

/*
 * 0 if a directory at `rest` (clean, relative, "" = the top one) below a top-level directory
 * of the run directory stays within the depth limit, else -H_ENAMETOOLONG.
 */
int32_t tempquota_may_mkdir(const struct tempquota *q, const char *rest);

/* An entry was created / one of type and size st was unlinked (open fds in t keep its bytes). */
void tempquota_created(struct tempquota *q);
void tempquota_unlinked(struct tempquota *q, const struct fdtab *t, const struct stat *st);

/*
 * An open of an existing file (st before the open) left it as fd `fd` (truncated, maybe): its
 * bytes follow. Also marks e as a run-directory file.
 */
void tempquota_opened(struct tempquota *q, struct fd_entry *e, const struct stat *before);

/*
 * Before a write of *len bytes to run-directory file e: cuts *len to what fits (0 if nothing
 * does: then -H_EDQUOT) and records the size before in *size. Returns 0 or -errno.
 */
int32_t tempquota_write_begin(struct tempquota *q, const struct fd_entry *e, uint64_t *len,
                              uint64_t *size);

/* After that write: the file's growth is counted. */
void tempquota_write_end(struct tempquota *q, const struct fd_entry *e, uint64_t size);

/* Before e is closed: an unlinked file's bytes are released with its last fd in t. */
void tempquota_closing(struct tempquota *q, const struct fdtab *t, const struct fd_entry *e);

#endif
