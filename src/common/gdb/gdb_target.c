/*
 * gdb_target.c: gdb_target.h over the real VM. Called by the server thread while every vCPU is
 * parked, so the register copies and guest memory are its own. Software breakpoints are written
 * into guest memory only while the VM runs (patched at resume, restored at the next stop): the
 * debugger's memory reads never see them and a detach leaves the guest's code as it was.
 */
#include <errno.h>
#include <string.h>

#include "arch.h"
#include "gdb/gdb_priv.h"
#include "gdb/gdb_target.h"
#include "guest_virt.h"
#include "vm.h"

static struct gdb *G(struct gdb_target *t)
{
    return t->g;
}

unsigned gdb_target_threads(struct gdb_target *t)
{
    return G(t)->ncpus;
}

bool gdb_target_alive(struct gdb_target *t, unsigned tid)
{
    struct gdb *g = G(t);
    return tid >= 1 && tid <= g->ncpus && g->cpu[tid - 1].state == GDB_CPU_PARKED;
}

int gdb_target_get_regs(struct gdb_target *t, unsigned tid, uint8_t *buf)
{
    if (!gdb_target_alive(t, tid) || !G(t)->cpu[tid - 1].regs_ok)
        return -1;
    memcpy(buf, G(t)->cpu[tid - 1].regs, arch_gdb.regs_size);
    return 0;
}

int gdb_target_set_regs(struct gdb_target *t, unsigned tid, const uint8_t *buf)
{
    if (!gdb_target_alive(t, tid) || !G(t)->cpu[tid - 1].regs_ok)
        return -1;
    struct gdb_cpu *c = &G(t)->cpu[tid - 1];
    memcpy(c->regs, buf, arch_gdb.regs_size);
    c->regs_dirty = true;
    return 0;
}

/* The page-table root thread tid sees memory through, or -1. */
static int root_of(struct gdb *g, unsigned tid, uint64_t *root)
{
    if (tid < 1 || tid > g->ncpus || !g->cpu[tid - 1].root_ok)
        return -1;
    *root = g->cpu[tid - 1].root;
    return 0;
}

struct collect {
    uint8_t *buf;
    size_t got;
};

static int collect(void *ctx, uint8_t *p, uint64_t n)
{
    struct collect *c = ctx;
    memcpy(c->buf + c->got, p, (size_t)n);
    c->got += (size_t)n;
    return 0;
}

int gdb_target_read(struct gdb_target *t, unsigned tid, uint64_t va, uint8_t *buf, size_t len,
                    size_t *got)
{
    struct gdb *g = G(t);
    uint64_t root;
    *got = 0;
    if (len == 0)
        return 0;
    if (root_of(g, tid, &root) != 0)
        return -1;
    if (va + len < va) /* wraps: read up to the top of the address space */
        len = (size_t)(0 - va);
    struct collect c = {buf, 0};
    guest_virt_for_each(&g->vm->mem, root, va, len, collect, &c); /* stops at a hole */
    *got = c.got;
    return c.got > 0 ? 0 : -1;
}

int gdb_target_write(struct gdb_target *t, unsigned tid, uint64_t va, const uint8_t *buf,
                     size_t len)
{
    struct gdb *g = G(t);
    uint64_t root;
    if (root_of(g, tid, &root) != 0 || va + len < va)
        return -1;
    if (guest_virt_copy(&g->vm->mem, root, va, (void *)(uintptr_t)buf, len, true) != 0)
        return -1;
    /* A write over a software breakpoint changes what it restores. */
    for (unsigned i = 0; i < g->nsw; i++) {
        struct gdb_sw *s = &g->sw[i];
        for (unsigned k = 0; k < arch_gdb.bp_len; k++)
            if (s->addr + k >= va && s->addr + k - va < len)
                s->orig[k] = buf[s->addr + k - va];
    }
    return 0;
}

/* The first thread whose page tables can be used to patch code. */
static int any_root(struct gdb *g, uint64_t *root)
{
    for (unsigned i = 1; i <= g->ncpus; i++)
        if (root_of(g, i, root) == 0)
            return 0;
    return -1;
}

static int sw_breakpoint(struct gdb *g, uint64_t addr, uint64_t kind, bool insert)
{
    unsigned i = 0;
    while (i < g->nsw && g->sw[i].addr != addr)
        i++;
    if (!insert) {
        if (i < g->nsw)
            g->sw[i] = g->sw[--g->nsw];
        return 0;
    }
    if (!g->caps.sw_breakpoints)
        return -ENOTSUP;
    if (kind != arch_gdb.bp_len)
        return -EINVAL;
    if (i < g->nsw)
        return 0; /* already there */
    if (g->nsw == GDB_SW_MAX)
        return -ENOSPC;
    uint64_t root;
    struct gdb_sw s = {.addr = addr};
    if (any_root(g, &root) != 0 ||
        guest_virt_copy(&g->vm->mem, root, addr, s.orig, arch_gdb.bp_len, false) != 0)
        return -EFAULT;
    g->sw[g->nsw++] = s;
    return 0;
}

/* Writes (patch) or removes the breakpoint instructions; a page that went away is skipped. */
static void sw_apply(struct gdb *g, bool patch)
{
    uint64_t root;
    if (any_root(g, &root) != 0)
        return;
    for (unsigned i = 0; i < g->nsw; i++) {
        uint8_t bytes[4];
        memcpy(bytes, patch ? arch_gdb.bp_insn : g->sw[i].orig, arch_gdb.bp_len);
        guest_virt_copy(&g->vm->mem, root, g->sw[i].addr, bytes, arch_gdb.bp_len, true);
    }
}

void gdb_sw_unpatch(struct gdb *g)
{
    if (g->sw_patched)
        sw_apply(g, false);
    g->sw_patched = false;
}

static enum debug_bp_kind hw_kind(int type)
{
    return type == 1   ? DEBUG_BP_EXEC
           : type == 2 ? DEBUG_WATCH_WRITE
           : type == 3 ? DEBUG_WATCH_READ
                       : DEBUG_WATCH_ACCESS;
}

static int hw_breakpoint(struct gdb *g, int type, uint64_t addr, uint64_t len, bool insert)
{
    struct vcpu_debug *d = &g->debug;
    enum debug_bp_kind k = hw_kind(type);
    bool exec = k == DEBUG_BP_EXEC;
    if (exec)
        len = len ? len : 1;
    unsigned i = 0;
    while (i < d->nbp && !(d->bp[i].kind == k && d->bp[i].addr == addr && d->bp[i].len == len))
        i++;
    if (!insert) {
        if (i < d->nbp) {
            memmove(&d->bp[i], &d->bp[i + 1], (d->nbp - i - 1) * sizeof(d->bp[0]));
            d->nbp--;
        }
        return 0;
    }
    unsigned slots = exec ? g->caps.hw_breakpoints : g->caps.hw_watchpoints;
    if (slots == 0)
        return -ENOTSUP;
    if (k == DEBUG_WATCH_READ && !arch_gdb.read_watch)
        return -ENOTSUP; /* GDB then offers awatch; an access watchpoint is not what was asked */
    if (!exec && !arch_gdb_watch_ok(addr, len))
        return -EINVAL;
    if (i < d->nbp)
        return 0;
    unsigned used = 0;
    for (unsigned j = 0; j < d->nbp; j++)
        if (g->caps.hw_shared || (d->bp[j].kind == DEBUG_BP_EXEC) == exec)
            used++;
    if (used >= slots || d->nbp == VCPU_DEBUG_MAX_BP)
        return -ENOSPC;
    d->bp[d->nbp++] = (struct debug_bp){addr, len, k};
    return 0;
}

int gdb_target_breakpoint(struct gdb_target *t, int type, uint64_t addr, uint64_t kind, bool insert)
{
    struct gdb *g = G(t);
    if (type == 0)
        return sw_breakpoint(g, addr, kind, insert);
    if (type < 1 || type > 4)
        return -EINVAL;
    return hw_breakpoint(g, type, addr, kind, insert);
}

void gdb_target_clear_breakpoints(struct gdb_target *t)
{
    struct gdb *g = G(t);
    gdb_sw_unpatch(g);
    g->nsw = 0;
    memset(&g->debug, 0, sizeof(g->debug));
}

uint64_t gdb_target_load_offset(struct gdb_target *t)
{
    const struct vm *vm = G(t)->vm;
    return vm->kernel.relocatable ? vm->layout.kernel_start - vm->kernel.first_vaddr : 0;
}

void gdb_target_resume(struct gdb_target *t, const enum gdb_action *act)
{
    struct gdb *g = G(t);
    enum gdb_action a[VM_MAX_CPUS];
    bool step = false;
    for (unsigned i = 0; i < g->ncpus; i++)
        step = step || act[i] == GDB_ACT_STEP;
    for (unsigned i = 0; i < g->ncpus; i++)
        a[i] = step && act[i] != GDB_ACT_STEP ? GDB_ACT_STAY : act[i];
    g->debug.sw_breakpoints = g->nsw > 0;
    if (g->nsw > 0 && !g->sw_patched) {
        sw_apply(g, true);
        g->sw_patched = true;
    }
    gdb_release(g, a);
}

void gdb_target_kill(struct gdb_target *t)
{
    vm_stop(G(t)->vm, 0, "killed by the debugger");
}

void gdb_stop_of(struct gdb *g, unsigned id, struct gdb_stop *st)
{
    const struct gdb_cpu *c = &g->cpu[id];
    *st = (struct gdb_stop){.tid = id + 1, .signal = 5, .why = GDB_WHY_SIGNAL};
    if (!c->has_event)
        return;
    switch (c->event.debug) {
    case DEBUG_STOP_STEP:
        st->why = GDB_WHY_STEP;
        break;
    case DEBUG_STOP_SW_BREAKPOINT:
        st->why = GDB_WHY_SWBREAK;
        break;
    case DEBUG_STOP_HW_BREAKPOINT:
        st->why = GDB_WHY_HWBREAK;
        break;
    case DEBUG_STOP_WATCH:
        st->why = GDB_WHY_AWATCH;
        st->addr = c->event.data;
        for (unsigned i = 0; i < g->debug.nbp; i++) {
            const struct debug_bp *b = &g->debug.bp[i];
            if (b->kind != DEBUG_BP_EXEC && c->event.data >= b->addr &&
                c->event.data - b->addr < b->len) {
                st->why = b->kind == DEBUG_WATCH_WRITE  ? GDB_WHY_WATCH
                          : b->kind == DEBUG_WATCH_READ ? GDB_WHY_RWATCH
                                                        : GDB_WHY_AWATCH;
                st->addr = b->addr; /* GDB matches the address it asked for */
                break;
            }
        }
        break;
    }
}
