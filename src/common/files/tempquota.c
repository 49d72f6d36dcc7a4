/* tempquota.c: counting what the guest keeps in the run directory against its limits. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "files/fdtable.h"
#include "files/file_abi.h"
#include "files/tempquota.h"
#include "vm_config.h"

void tempquota_init(struct tempquota *q, uint64_t max_bytes, uint32_t max_entries,
                    uint32_t max_depth)
{
    memset(q, 0, sizeof(*q));
    q->max_bytes = max_bytes ? max_bytes : VM_TEMPDIR_MAX_SIZE;
    q->max_entries = max_entries ? max_entries : VM_TEMPDIR_MAX_FILES;
    q->max_depth = max_depth ? max_depth : VM_TEMPDIR_MAX_DEPTH;
}

int32_t tempquota_may_create(const struct tempquota *q)
{
    return q->entries < q->max_entries ? 0 : -H_EDQUOT;
}

int32_t tempquota_may_mkdir(const struct tempquota *q, const char *rest)
{
    uint64_t depth = 1; /* the top-level directory itself */
    if (rest[0]) {
        depth++;
        for (const char *p = rest; *p; p++)
            depth += *p == '/';
    }
    return depth <= q->max_depth ? 0 : -H_ENAMETOOLONG;
}

void tempquota_created(struct tempquota *q)
{
    q->entries++;
}

/* Takes n bytes off the count (never below zero). */
static void release(struct tempquota *q, uint64_t n)
{
    q->bytes = n < q->bytes ? q->bytes - n : 0;
}

void tempquota_unlinked(struct tempquota *q, const struct fdtab *t, const struct stat *st)
{
    if (q->entries > 0)
        q->entries--;
    /* An open file keeps its blocks until its last fd is closed: tempquota_closing(). */
    if (S_ISREG(st->st_mode) &&
        fdtab_count_temp(t, (uint64_t)st->st_dev, (uint64_t)st->st_ino) == 0)
        release(q, (uint64_t)st->st_size);
}

void tempquota_opened(struct tempquota *q, struct fd_entry *e, const struct stat *before)
{
    struct stat st;
    e->temp = true;
    if (fstat(e->host, &st) != 0)
        return;
    e->dev = (uint64_t)st.st_dev;
    e->ino = (uint64_t)st.st_ino;
    if (before && before->st_ino == st.st_ino && before->st_dev == st.st_dev &&
        st.st_size < before->st_size)
        release(q, (uint64_t)(before->st_size - st.st_size)); /* O_TRUNC */
}

int32_t tempquota_write_begin(struct tempquota *q, const struct fd_entry *e, uint64_t *len,
                              uint64_t *size)
{
    struct stat st;
    if (fstat(e->host, &st) != 0)
        return -file_abi_errno(errno);
    *size = (uint64_t)st.st_size;
    int fl = fcntl(e->host, F_GETFL);
    off_t pos = fl != -1 && (fl & O_APPEND) ? st.st_size : lseek(e->host, 0, SEEK_CUR);
    if (pos < 0)
        return -file_abi_errno(errno);
    uint64_t end = (uint64_t)pos + *len,
             room = q->bytes < q->max_bytes ? q->max_bytes - q->bytes : 0;
    if (end < (uint64_t)pos)
        end = UINT64_MAX;
    uint64_t growth = end > *size ? end - *size : 0;
    if (growth > room) {
        uint64_t cut = growth - room;
        if (cut >= *len)
            return -H_EDQUOT;
        *len -= cut;
    }
    return 0;
}

void tempquota_write_end(struct tempquota *q, const struct fd_entry *e, uint64_t size)
{
    struct stat st;
    if (fstat(e->host, &st) == 0 && (uint64_t)st.st_size > size)
        q->bytes += (uint64_t)st.st_size - size;
}

void tempquota_closing(struct tempquota *q, const struct fdtab *t, const struct fd_entry *e)
{
    struct stat st;
    if (e->temp && fstat(e->host, &st) == 0 && st.st_nlink == 0 &&
        fdtab_count_temp(t, e->dev, e->ino) == 1)
        release(q, (uint64_t)st.st_size);
}
