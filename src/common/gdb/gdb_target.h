/*
 * gdb_target.h: what the protocol core (gdb_proto.c) does to the VM, implemented over the real
 * vCPUs in gdb_target.c and by a fake in the unit tests. Every call is made by the server thread
 * while all vCPUs are parked (all-stop), except gdb_target_resume(), which ends that state.
 * Threads are numbered 1..n (vCPU id + 1), as GDB shows them.
 */
#ifndef CHYVE_GDB_TARGET_H
#define CHYVE_GDB_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gdb_target;

/* Number of threads (vCPUs) of the run, alive or not. */
unsigned gdb_target_threads(struct gdb_target *t);

/* Whether thread tid (1..n) is still running guest code (its vCPU has not left the run). */
bool gdb_target_alive(struct gdb_target *t, unsigned tid);

/* Copies thread tid's register file (arch_gdb.regs_size bytes) out / in. 0 or -1. */
int gdb_target_get_regs(struct gdb_target *t, unsigned tid, uint8_t *buf);
int gdb_target_set_regs(struct gdb_target *t, unsigned tid, const uint8_t *buf);

/*
 * Reads up to len bytes at guest-virtual va as thread tid sees memory; *got is how many could be
 * read (it stops at the first unmapped page). Returns 0 if *got > 0 or len == 0, else -1.
 */
int gdb_target_read(struct gdb_target *t, unsigned tid, uint64_t va, uint8_t *buf, size_t len,
                    size_t *got);

/* Writes all len bytes at guest-virtual va, or nothing. Returns 0 or -1. */
int gdb_target_write(struct gdb_target *t, unsigned tid, uint64_t va, const uint8_t *buf,
                     size_t len);

/*
 * Inserts (insert) or removes breakpoint/watchpoint `type` (GDB's Z type: 0 software, 1 hardware,
 * 2 write, 3 read, 4 access watchpoint) at addr with GDB's kind/length. Returns 0, or a negative
 * errno: -ENOTSUP (this host cannot), -ENOSPC (no slot left), -EINVAL (bad length or alignment),
 * -EFAULT (software breakpoint on memory that is not mapped).
 */
int gdb_target_breakpoint(struct gdb_target *t, int type, uint64_t addr, uint64_t kind,
                          bool insert);

/* Removes every breakpoint and watchpoint (detach). */
void gdb_target_clear_breakpoints(struct gdb_target *t);

/* The kernel's load offset (relocatable kernels are loaded at a random address), for qOffsets. */
uint64_t gdb_target_load_offset(struct gdb_target *t);

/* What each thread does when the VM resumes. */
enum gdb_action { GDB_ACT_STAY, GDB_ACT_CONTINUE, GDB_ACT_STEP };

/*
 * Resumes: thread tid (1..n) gets act[tid - 1]. Threads that step run alone: when any thread
 * steps, the ones told to continue stay parked too (scheduler-locked stepping).
 */
void gdb_target_resume(struct gdb_target *t, const enum gdb_action *act);

/* Ends the run as the debugger's `k` asks: the VM stops with a failure message. */
void gdb_target_kill(struct gdb_target *t);

#endif
