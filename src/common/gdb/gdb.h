/*
 * gdb.h: the GDB remote stub of one run, as vm.c sees it. The stub listens on 127.0.0.1 and ::1,
 * holds every vCPU before its first instruction until a debugger has attached, and serves it from
 * a thread of its own (gdb_server.c). vCPU threads meet it through gdb_vcpu_*() (gdb_vcpu.c):
 * they park while the debugger holds the VM and resume with the debug state it set.
 */
#ifndef CHYVE_GDB_H
#define CHYVE_GDB_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu_exit;
struct backend_vcpu;
struct gdb;

/*
 * Probes what the host can debug and opens the listeners on port `port`; says on stderr that it
 * waits for the debugger. Before any vCPU runs. Returns 0 with *out set, or -1 with err_msg().
 */
int gdb_open(struct vm *vm, uint16_t port, struct gdb **out);

/* Starts the server thread. Returns 0 or -1 with err_msg(). */
int gdb_start(struct gdb *g);

/*
 * Ends the session when the run is over: tells the debugger how the guest ended (W or X), joins
 * the server thread and closes every socket. Call after all vCPU threads have ended; NULL is fine.
 */
void gdb_close(struct gdb *g);

/* True when vCPU threads must call gdb_vcpu_park() before they run the guest again. Cheap. */
bool gdb_vcpu_must_park(struct gdb *g);

/*
 * Parks vCPU `id` (on its own thread) until the debugger resumes it or the run ends; e is the
 * VCPU_EXIT_DEBUG exit that stopped it, or NULL for a halt. Applies the registers and the debug
 * state the debugger set before it returns.
 */
void gdb_vcpu_park(struct gdb *g, unsigned id, struct backend_vcpu *v, const struct vcpu_exit *e);

/* vCPU `id` has left the run (its thread ends); the debugger no longer waits for it. */
void gdb_vcpu_gone(struct gdb *g, unsigned id);

/* The run is ending (vm_stop): releases parked vCPUs and wakes the server. Any thread. */
void gdb_vm_stopping(void *g);

#endif
