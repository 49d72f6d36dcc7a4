/*
 * fuzz_fdtable.c: the guest fd table (fdtable.c) under any sequence of opens, lookups and closes,
 * checked against a model: numbers start at 3 and only grow, at most FDTAB_MAX_OPEN are open,
 * a closed or never-issued number finds nothing, and a close releases the host fd at once.
 * Input: one operation per byte; bits 0-1: 0 open (bits 2-3 the kind: host file, host
 * directory, image file, image directory), 1 close and 2 look up (bits 2-7 pick an issued
 * number, counted back from the newest; 63 = a number from the next byte, as a hostile guest
 * passes), 3 open 64 image files at once (to reach the limit).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files/fdtable.h"
#include "fuzz.h"

#define ISSUED_MAX (4096 * 64 + 16)

static int32_t issued[ISSUED_MAX]; /* every number handed out, in order */
static bool is_open[ISSUED_MAX];
static int host_of[ISSUED_MAX]; /* host fd of FD_HOST_FILE entries, else -1 */
static size_t nissued;
static unsigned nopen;
static const uint8_t image_bytes[16] = "image file bytes";

/* Opens one entry of kind k; checks the number it got. */
static void open_one(struct fdtab *t, unsigned k)
{
    struct fd_entry e;
    memset(&e, 0, sizeof(e));
    e.kind = (enum fd_kind)k;
    e.host = -1;
    if (k == FD_HOST_FILE) {
        e.host = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (e.host < 0)
            abort();
    } else if (k == FD_HOST_DIR) {
        e.dir = opendir("/");
        if (!e.dir)
            abort();
    } else if (k == FD_VIRT_FILE) {
        e.data = image_bytes;
        e.size = sizeof(image_bytes);
    } else {
        static uint64_t listing_total; /* what every live listing adds up to (filemap's count) */
        e.listing = calloc(1, sizeof(*e.listing) + 24);
        if (!e.listing)
            abort();
        e.listing->refs = 1;
        e.listing->size = 24;
        e.listing->total = &listing_total;
        listing_total += 24;
        e.size = 24;
    }
    e.pos = nissued; /* a tag: lookups must find this entry's copy */
    int32_t fd = fdtab_add(t, &e);
    if (fd < 0) {
        if (nopen < FDTAB_MAX_OPEN)
            abort(); /* refused below the limit */
        fd_entry_release(&e);
        return;
    }
    int32_t want = nissued ? issued[nissued - 1] + 1 : FDTAB_FIRST;
    if (nopen >= FDTAB_MAX_OPEN || fd != want)
        abort();
    issued[nissued] = fd;
    is_open[nissued] = true;
    host_of[nissued] = e.host;
    nissued++;
    nopen++;
}

/* The model's index of guest fd `fd`, or -1 if it was never issued. */
static long index_of(int32_t fd)
{
    if (nissued == 0 || fd < FDTAB_FIRST || fd > issued[nissued - 1])
        return -1;
    return fd - FDTAB_FIRST; /* numbers are issued without gaps */
}

static void check_get(struct fdtab *t, int32_t fd)
{
    long i = index_of(fd);
    struct fd_entry *e = fdtab_get(t, fd);
    if (i >= 0 && is_open[i]) {
        if (!e || e->pos != (uint64_t)i)
            abort();
    } else if (e) {
        abort(); /* a stale or never-issued number reached an entry */
    }
}

static void close_one(struct fdtab *t, int32_t fd)
{
    long i = index_of(fd);
    int r = fdtab_close(t, fd);
    if (i >= 0 && is_open[i]) {
        if (r != 0)
            abort();
        is_open[i] = false;
        nopen--;
        if (host_of[i] >= 0 && fcntl(host_of[i], F_GETFD) != -1)
            abort(); /* the host fd outlived its guest fd */
    } else if (r != -1) {
        abort();
    }
    check_get(t, fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fdtab *t;
    if (fdtab_create(&t) != 0)
        abort();
    nissued = 0;
    nopen = 0;
    for (size_t i = 0; i < size && nissued + 64 < ISSUED_MAX; i++) {
        unsigned op = data[i] & 3, arg = data[i] >> 2;
        if (op == 0) {
            open_one(t, arg & 3);
        } else if (op == 3) {
            for (unsigned k = 0; k < 64; k++)
                open_one(t, FD_VIRT_FILE);
        } else {
            int32_t fd;
            if (arg == 63 && i + 1 < size)
                fd = (int32_t)(data[++i] * 0x01010101u); /* 0, -1, 0x7f7f7f7f, ... */
            else
                fd = nissued > arg ? issued[nissued - 1 - arg] : (int32_t)arg;
            if (op == 1)
                close_one(t, fd);
            else
                check_get(t, fd);
        }
        if (fdtab_count(t) != nopen)
            abort();
    }
    fdtab_destroy(t);
    return 0;
}
