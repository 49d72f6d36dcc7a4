/*
 * fuzz_gdb_proto.c: gdb_proto_handle(), the GDB protocol core, with the packets of a hostile
 * debugger, against a fake target of 4 threads (which are alive, and what breakpoints return,
 * come from the input) with 12 KiB of memory at virtual 0x10000.
 * Input: byte 0 = alive mask (bits 0-3) and breakpoint result (bits 4-6: 0, -ENOTSUP, -ENOSPC,
 * -EINVAL, -EFAULT); then packets, each a 2-byte little-endian length and that many payload bytes
 * (as gdb_rx delivers them, escapes undone). After a packet that resumes the VM, the next byte is
 * the stopping thread and reason of the stop reply.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "fuzz.h"
#include "gdb/gdb_packet.h"
#include "gdb/gdb_proto.h"
#include "gdb/gdb_target.h"

#define NTHREADS 4
#define MEM_VA 0x10000u
#define MEM_LEN 0x3000u
#define REGS_MAX 4096

struct gdb_target {
    bool alive[NTHREADS];
    uint8_t regs[NTHREADS][REGS_MAX];
    uint8_t mem[MEM_LEN];
    int bp_result;
    bool running; /* resumed: no call but a stop may come until the stop reply */
};

static struct gdb_target T;
static struct gdb_session S;
static uint8_t pkt[GDB_PACKET_MAX + 1];

/* Every call but gdb_target_threads() names a thread or is made while the VM is stopped. */
static void stopped(const struct gdb_target *t)
{
    if (t->running)
        abort();
}

unsigned gdb_target_threads(struct gdb_target *t)
{
    (void)t;
    return NTHREADS;
}

bool gdb_target_alive(struct gdb_target *t, unsigned tid)
{
    return tid >= 1 && tid <= NTHREADS && t->alive[tid - 1];
}

int gdb_target_get_regs(struct gdb_target *t, unsigned tid, uint8_t *buf)
{
    stopped(t);
    if (!gdb_target_alive(t, tid))
        return -1;
    memcpy(buf, t->regs[tid - 1], arch_gdb.regs_size);
    return 0;
}

int gdb_target_set_regs(struct gdb_target *t, unsigned tid, const uint8_t *buf)
{
    stopped(t);
    if (!gdb_target_alive(t, tid))
        return -1;
    memcpy(t->regs[tid - 1], buf, arch_gdb.regs_size);
    return 0;
}

int gdb_target_read(struct gdb_target *t, unsigned tid, uint64_t va, uint8_t *buf, size_t len,
                    size_t *got)
{
    stopped(t);
    (void)tid;
    *got = 0;
    if (va < MEM_VA || va - MEM_VA >= MEM_LEN)
        return len ? -1 : 0;
    size_t n = MEM_LEN - (size_t)(va - MEM_VA);
    *got = n < len ? n : len;
    memcpy(buf, t->mem + (va - MEM_VA), *got);
    return *got || !len ? 0 : -1;
}

int gdb_target_write(struct gdb_target *t, unsigned tid, uint64_t va, const uint8_t *buf,
                     size_t len)
{
    stopped(t);
    (void)tid;
    if (va < MEM_VA || va - MEM_VA > MEM_LEN || len > MEM_LEN - (va - MEM_VA))
        return -1;
    memcpy(t->mem + (va - MEM_VA), buf, len);
    return 0;
}

int gdb_target_breakpoint(struct gdb_target *t, int type, uint64_t addr, uint64_t kind, bool insert)
{
    stopped(t);
    (void)addr;
    (void)kind;
    (void)insert;
    if (type < 0 || type > 4)
        abort(); /* the core passes only the Z types it accepted */
    return t->bp_result;
}

void gdb_target_clear_breakpoints(struct gdb_target *t)
{
    stopped(t);
}

uint64_t gdb_target_load_offset(struct gdb_target *t)
{
    (void)t;
    return 0x200000;
}

void gdb_target_resume(struct gdb_target *t, const enum gdb_action *act)
{
    stopped(t);
    for (unsigned i = 0; i < NTHREADS; i++)
        if (act[i] != GDB_ACT_STAY && act[i] != GDB_ACT_CONTINUE && act[i] != GDB_ACT_STEP)
            abort();
    t->running = true;
}

void gdb_target_kill(struct gdb_target *t)
{
    stopped(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int bp_results[8] = {0, -ENOTSUP, -ENOSPC, -EINVAL, -EFAULT, 0, 0, 0};
    if (size < 1 || arch_gdb.regs_size > REGS_MAX)
        return 0;
    memset(&T, 0, sizeof(T));
    for (unsigned i = 0; i < NTHREADS; i++) {
        T.alive[i] = (data[0] >> i) & 1;
        memset(T.regs[i], 0x11 * (int)(i + 1), sizeof(T.regs[i]));
    }
    T.bp_result = bp_results[(data[0] >> 4) & 7];
    for (size_t k = 0; k < MEM_LEN; k++)
        T.mem[k] = (uint8_t)k;
    struct gdb_stop first = {.tid = 1, .signal = 5, .why = GDB_WHY_SIGNAL};
    gdb_session_init(&S, &first);

    size_t i = 1;
    while (i + 2 <= size) {
        size_t len = (size_t)data[i] | (size_t)data[i + 1] << 8;
        i += 2;
        if (len > size - i)
            len = size - i;
        if (len > GDB_PACKET_MAX)
            len = GDB_PACKET_MAX;
        memcpy(pkt, data + i, len);
        pkt[len] = 0;
        i += len;
        enum gdb_verdict v = gdb_proto_handle(&S, &T, pkt, len);
        if (S.len > GDB_PACKET_MAX)
            abort();
        if (v == GDB_KILL || v == GDB_DETACH)
            break;
        if (v == GDB_RESUMED) {
            if (!T.running)
                abort();
            /* the stop: a thread (valid or not) and one of the reasons */
            uint8_t b = i < size ? data[i++] : 0;
            struct gdb_stop st = {.tid = 1 + (b & 3u),
                                  .signal = b & 0x80 ? 2 : 5,
                                  .why = (enum gdb_why)((b >> 2) % 7),
                                  .addr = MEM_VA + b};
            T.running = false;
            gdb_proto_stop_reply(&S, &st);
        } else if (T.running) {
            abort(); /* resumed, but the core did not say so */
        }
        if (S.len > GDB_PACKET_MAX)
            abort();
    }
    gdb_proto_exit_reply(&S, (data[0] & 0x80) != 0, 3);
    return 0;
}
