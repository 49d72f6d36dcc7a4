/*
 * gdb_priv.h: the state of one GDB stub, shared by its files: gdb_vcpu.c (vCPU threads park and
 * resume), gdb_target.c (what the debugger does to the stopped VM) and gdb_server.c (sockets and
 * the session). Not for the rest of the core, which uses gdb.h.
 */
#ifndef CHYVE_GDB_PRIV_H
#define CHYVE_GDB_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "gdb/gdb_proto.h"
#include "gdb/gdb_target.h"

#define GDB_REGS_MAX 1024 /* bytes: the largest arch_gdb.regs_size (aarch64: 788) */
#define GDB_SW_MAX 64     /* software breakpoints at once */

enum gdb_cpu_state {
    GDB_CPU_NEW,     /* its thread has not reached the stub yet */
    GDB_CPU_RUNNING, /* in the guest (or in a hypercall) */
    GDB_CPU_PARKED,  /* waiting in gdb_vcpu_park(): registers below are valid */
    GDB_CPU_GONE,    /* its thread has ended */
};

/* One vCPU as the stub sees it. Guarded by gdb.lock, except regs while the VM is stopped. */
struct gdb_cpu {
    enum gdb_cpu_state state;
    enum gdb_action action; /* set by the server to release a parked vCPU */
    bool has_event;         /* it parked because of a debug exit, described in event */
    struct vcpu_exit event;
    bool regs_ok, regs_dirty; /* regs read at park time / changed by the debugger */
    bool root_ok;
    uint64_t root; /* page-table root at park time, for memory accesses */
    uint8_t regs[GDB_REGS_MAX];
};

struct gdb_sw {
    uint64_t addr;
    uint8_t orig[4]; /* the bytes the breakpoint instruction replaces */
};

/* What gdb_target.h's functions get: the stub itself. */
struct gdb_target {
    struct gdb *g;
};

struct gdb {
    struct vm *vm;
    unsigned ncpus;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* parked vCPUs wait on it */
    atomic_bool halt;    /* running vCPUs must park (a stop, or the wait for the debugger) */
    bool ending;         /* the run is over: nobody parks any more (guarded by lock) */
    int wake[2];         /* pipe: vCPU threads and vm_stop tell the server something changed */
    struct backend_debug_caps caps;
    struct vcpu_debug debug; /* hardware breakpoints and watchpoints, for every vCPU */
    struct gdb_sw sw[GDB_SW_MAX];
    unsigned nsw;
    bool sw_patched; /* the breakpoint instructions are in guest memory (the VM runs) */
    uint16_t port;
    int listen[2];
    unsigned nlisten;
    pthread_t thread;
    bool thread_started;
    struct gdb_target target;
    struct gdb_cpu *cpu; /* ncpus entries */
};

/* gdb_vcpu.c, for the server: stop every running vCPU (kick them), idempotent. */
void gdb_halt_all(struct gdb *g);

/*
 * Whether every vCPU is parked or gone; *event (may be NULL) gets the lowest parked vCPU that has
 * a debug event, or -1.
 */
bool gdb_all_parked(struct gdb *g, int *event);

/* Releases parked vCPUs: vCPU i does act[i] (GDB_ACT_STAY: stays parked). Clears events. */
void gdb_release(struct gdb *g, const enum gdb_action *act);

/* Whether the run is ending (vm_stop was called). */
bool gdb_ending(struct gdb *g);

/* Tells the server thread that something changed (a vCPU parked or left, the run ends). */
void gdb_notify(struct gdb *g);

/* gdb_target.c, for the server: puts back the bytes under the software breakpoints. */
void gdb_sw_unpatch(struct gdb *g);

/* gdb_target.c: the stop reply for vCPU id's debug event (or a plain SIGTRAP without one). */
void gdb_stop_of(struct gdb *g, unsigned id, struct gdb_stop *st);

#endif
