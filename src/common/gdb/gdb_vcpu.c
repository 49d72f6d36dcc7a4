/*
 * gdb_vcpu.c: how vCPU threads meet the debugger. A vCPU parks (on its own thread, as
 * Hypervisor.framework requires for register access) with its registers and page-table root
 * copied out; the server reads and changes those copies while the VM is stopped and releases
 * the vCPU with an action; the vCPU writes the registers back, sets its debug state and runs.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "arch.h"
#include "backend.h"
#include "err.h"
#include "gdb/gdb.h"
#include "gdb/gdb_priv.h"
#include "log.h"
#include "vm.h"

void gdb_notify(struct gdb *g)
{
    char c = 0;
    /* A full pipe already holds a wake-up: nothing is lost when this write fails. */
    while (write(g->wake[1], &c, 1) < 0 && errno == EINTR)
        ;
}

bool gdb_vcpu_must_park(struct gdb *g)
{
    return atomic_load_explicit(&g->halt, memory_order_acquire);
}

void gdb_vcpu_park(struct gdb *g, unsigned id, struct backend_vcpu *v, const struct vcpu_exit *e)
{
    struct gdb_cpu *c = &g->cpu[id];
    pthread_mutex_lock(&g->lock);
    if (g->ending) {
        pthread_mutex_unlock(&g->lock);
        return;
    }
    c->has_event = e != NULL;
    if (e)
        c->event = *e;
    c->regs_ok = backend_vcpu_get_regs(v, c->regs, arch_gdb.regs_size) == 0;
    if (!c->regs_ok)
        log_warn("gdb: vCPU %u: cannot read registers: %s", id, err_msg());
    c->root_ok = backend_vcpu_pt_root(v, &c->root) == 0;
    c->regs_dirty = false;
    c->action = GDB_ACT_STAY;
    c->state = GDB_CPU_PARKED;
    gdb_notify(g);
    while (!g->ending && c->action == GDB_ACT_STAY)
        pthread_cond_wait(&g->cond, &g->lock);
    enum gdb_action a = c->action;
    bool ending = g->ending, dirty = c->regs_dirty && c->regs_ok;
    struct vcpu_debug d = g->debug;
    d.step = a == GDB_ACT_STEP;
    c->action = GDB_ACT_STAY;
    c->has_event = false;
    c->state = GDB_CPU_RUNNING;
    /* Written back under the lock: the server changes regs only while this vCPU is parked. */
    if (!ending && dirty && backend_vcpu_set_regs(v, c->regs, arch_gdb.regs_size) != 0)
        log_warn("gdb: vCPU %u: cannot write registers: %s", id, err_msg());
    pthread_mutex_unlock(&g->lock);
    if (ending)
        return;
    if (backend_vcpu_set_debug(v, &d) != 0)
        log_warn("gdb: vCPU %u: cannot set breakpoints: %s", id, err_msg());
}

void gdb_vcpu_gone(struct gdb *g, unsigned id)
{
    pthread_mutex_lock(&g->lock);
    g->cpu[id].state = GDB_CPU_GONE;
    g->cpu[id].has_event = false;
    pthread_mutex_unlock(&g->lock);
    gdb_notify(g);
}

void gdb_vm_stopping(void *ctx)
{
    struct gdb *g = ctx;
    pthread_mutex_lock(&g->lock);
    g->ending = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
    gdb_notify(g);
}

bool gdb_ending(struct gdb *g)
{
    pthread_mutex_lock(&g->lock);
    bool e = g->ending;
    pthread_mutex_unlock(&g->lock);
    return e;
}

void gdb_halt_all(struct gdb *g)
{
    atomic_store_explicit(&g->halt, true, memory_order_release);
    struct vm *vm = g->vm;
    /* Under stop_lock, as vm_stop() kicks: a vCPU leaving vcpus[] is not kicked half-gone. */
    pthread_mutex_lock(&vm->stop_lock);
    for (unsigned i = 0; i < g->ncpus; i++) {
        struct backend_vcpu *v = atomic_load(&vm->vcpus[i]);
        if (v)
            backend_vcpu_kick(v);
    }
    pthread_mutex_unlock(&vm->stop_lock);
}

bool gdb_all_parked(struct gdb *g, int *event)
{
    bool all = true;
    int ev = -1;
    pthread_mutex_lock(&g->lock);
    for (unsigned i = 0; i < g->ncpus; i++) {
        const struct gdb_cpu *c = &g->cpu[i];
        if (c->state != GDB_CPU_PARKED && c->state != GDB_CPU_GONE)
            all = false;
        if (c->state == GDB_CPU_PARKED && c->has_event && ev < 0)
            ev = (int)i;
    }
    pthread_mutex_unlock(&g->lock);
    if (event)
        *event = ev;
    return all;
}

void gdb_release(struct gdb *g, const enum gdb_action *act)
{
    pthread_mutex_lock(&g->lock);
    atomic_store_explicit(&g->halt, false, memory_order_release);
    for (unsigned i = 0; i < g->ncpus; i++) {
        struct gdb_cpu *c = &g->cpu[i];
        c->has_event = false;
        if (c->state == GDB_CPU_PARKED && act[i] != GDB_ACT_STAY) {
            c->action = act[i];
            c->state = GDB_CPU_RUNNING; /* from now on, not the server's to read or change */
        }
    }
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}
