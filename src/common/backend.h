/*
 * backend.h: what the common core needs from the hypervisor. Declared here, implemented once per
 * OS backend (src/linux-kvm, src/macos-hvf); meson compiles exactly one implementation.
 * The backend hides every non-hypercall exit it can handle itself (PCI probes, HLT, MP-table
 * scans, instruction emulation) and hands the core only hypercalls, kicks and failures.
 */
#ifndef CHYVE_BACKEND_H
#define CHYVE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "iobus.h"
#include "loader/layout.h"

struct backend_vm;   /* opaque, backend-private */
struct backend_vcpu; /* opaque, backend-private */

/* Per-backend constants for the boot info / FDT. */
extern const bool backend_has_pci; /* boot info has_pci: 1 on KVM, 0 on HVF */

struct vm_config;

/*
 * Starts, in a thread of the backend's own, work that needs no VM and can be slow on some hosts
 * (KVM x86_64: the supported-CPUID query, ~0.5 ms where every CPUID traps to an outer
 * hypervisor), so that it overlaps chyve's own set-up. Optional: backend_vm_create() does that
 * work itself when it was not started or failed. The thread runs with every signal blocked and
 * has ended once backend_vm_create() or backend_warm_up_end() returns. Call from the main thread
 * at most once per run, before any thread is confined.
 */
void backend_warm_up(void);

/* Waits for backend_warm_up()'s thread, if any, and drops what it found if nobody took it. */
void backend_warm_up_end(void);

/*
 * Creates the VM with cfg->ncpus vCPUs-to-be and maps all of guest RAM m into it (on aarch64 minus
 * the hypercall trap window), honouring the backend's options in cfg (e.g. pit, cpu_pm). Port and
 * MMIO accesses the backend does not handle itself go to bus (which outlives the VM). Errors
 * name the cause: no /dev/kvm, no permission, unsupported host, unsupported option.
 * Returns 0 with *out set, or -1 with err_msg() set.
 */
int backend_vm_create(struct guest_mem *m, const struct vm_config *cfg, struct iobus *bus,
                      struct backend_vm **out);

/*
 * Sets the level of device interrupt line `line` (x86_64: IOAPIC pin; aarch64: GIC SPI number,
 * INTID 32 + line). Callable from any thread once the VM exists. Returns 0 or -1 with err_msg().
 */
int backend_irq_line(struct backend_vm *vm, unsigned line, bool level);

/* Host TSC frequency the guest will see in kHz, or 0 if unknown (HVF). Call after vm_create. */
uint32_t backend_tsc_khz(struct backend_vm *vm);

/*
 * Creates and initialises vCPU `id` (0 .. ncpus-1) with the boot register state for layout l
 * (entry, boot info in RDI/X0, id in RSI/X1, stack, page-table root). Must be called on the thread
 * that will run the vCPU (Hypervisor.framework requires it). Returns 0 or -1 with err_msg().
 */
int backend_vcpu_create(struct backend_vm *vm, unsigned id, const struct layout *l,
                        struct backend_vcpu **out);

enum vcpu_exit_kind {
    VCPU_EXIT_HYPERCALL, /* addr/data below are valid; call backend_vcpu_run again to resume */
    VCPU_EXIT_KICKED,    /* backend_vcpu_kick() interrupted the run */
    VCPU_EXIT_FAILED,    /* the guest cannot go on: err_msg() holds one line (reason, pc, bytes) */
    VCPU_EXIT_DEBUG,     /* a debug stop armed by backend_vcpu_set_debug(): see `debug` */
};

/* Why a vCPU stopped for the debugger (VCPU_EXIT_DEBUG). */
enum debug_stop {
    DEBUG_STOP_STEP,          /* one instruction was single-stepped */
    DEBUG_STOP_SW_BREAKPOINT, /* the guest executed arch_gdb.bp_insn at addr */
    DEBUG_STOP_HW_BREAKPOINT, /* a hardware execution breakpoint at addr */
    DEBUG_STOP_WATCH,         /* a data watchpoint fired; the data address is in `data` */
};

struct vcpu_exit {
    enum vcpu_exit_kind kind;
    uint64_t addr; /* hypercall address: x86 port number, aarch64 IPA - guest_base */
    uint64_t data; /* v1: the 32-bit OUT value / X8; v2 (hypercall_is_v2(addr)): RDI / X8 */
                   /* DEBUG: addr is the guest-virtual PC; data the watched address (WATCH) */
    enum debug_stop debug; /* DEBUG only */
};

/*
 * Runs the vCPU until the next exit the core must see. Handles other exits internally.
 * Called only on the vCPU's own thread. Always fills *exit; returns 0 (or -1 on FAILED).
 */
int backend_vcpu_run(struct backend_vcpu *v, struct vcpu_exit *exit);

/*
 * Reads the vCPU's current page-table root (CR3 / TTBR0_EL1) for arch_virt_to_phys(). Only during
 * a hypercall, on the vCPU's thread. Returns 0 or -1 with err_msg().
 */
int backend_vcpu_pt_root(struct backend_vcpu *v, uint64_t *root);

/*
 * Makes the vCPU's current or next backend_vcpu_run() return VCPU_EXIT_KICKED promptly.
 * Callable from any thread, at any time after backend_vcpu_create() returned.
 */
void backend_vcpu_kick(struct backend_vcpu *v);

/* Exits a backend handled by itself, counted per vCPU for --stats. */
enum vcpu_stat {
    VCPU_STAT_IO_IN,  /* port reads (PCI probes) */
    VCPU_STAT_IO_OUT, /* port writes that are not hypercalls */
    VCPU_STAT_MMIO_READ,
    VCPU_STAT_MMIO_WRITE,
    VCPU_STAT_HLT,
    VCPU_STAT_EMULATED, /* instructions the backend emulated (e.g. XSAVE on software KVM) */
    VCPU_STAT_OTHER,
    VCPU_STAT_COUNT
};

/* Copies vCPU v's counters (since creation) into counts. Callable on v's thread. */
void backend_vcpu_stats(struct backend_vcpu *v, uint64_t counts[VCPU_STAT_COUNT]);

/*
 * Debugging, for the GDB stub (gdb/). Addresses are guest-virtual. What the host can do is probed
 * once per VM; the stub refuses what is missing with caps.missing as the reason.
 */
struct backend_debug_caps {
    unsigned hw_breakpoints; /* hardware execution breakpoint slots (0: none) */
    unsigned hw_watchpoints; /* data watchpoint slots (0: none) */
    bool hw_shared;          /* breakpoints and watchpoints share one set of slots (x86 DR0-3) */
    bool sw_breakpoints;     /* arch_gdb.bp_insn patched into guest memory stops the vCPU */
    bool single_step;
    const char *missing; /* static text: why something above is missing on this host, or NULL */
};

/*
 * Fills *caps for this VM's host. May run a throw-away probe VM (a few ms), so it is called once,
 * before any vCPU runs, and only when a debugger is asked for. Returns 0 or -1 with err_msg().
 */
int backend_debug_probe(struct backend_vm *vm, struct backend_debug_caps *caps);

enum debug_bp_kind {
    DEBUG_BP_EXEC,      /* hardware execution breakpoint (len: the instruction length, or 1) */
    DEBUG_WATCH_WRITE,  /* data watchpoints on [addr, addr + len) */
    DEBUG_WATCH_READ,   /* (x86 cannot watch reads alone: the stub maps it to ACCESS or refuses) */
    DEBUG_WATCH_ACCESS, /* reads and writes */
};

struct debug_bp {
    uint64_t addr;
    uint64_t len;
    enum debug_bp_kind kind;
};

#define VCPU_DEBUG_MAX_BP 16

/* The debug state of one vCPU: all breakpoints, watchpoints and the step flag at once. */
struct vcpu_debug {
    bool step; /* the next run executes one instruction (interrupts blocked if possible) */
    bool sw_breakpoints; /* bp_insn traps stop with DEBUG_STOP_SW_BREAKPOINT */
    unsigned nbp;        /* hardware slots used in bp[], within backend_debug_caps */
    struct debug_bp bp[VCPU_DEBUG_MAX_BP];
};

/*
 * Replaces vCPU v's debug state for its next backend_vcpu_run() calls; an all-zero state turns
 * debugging off. On v's thread. Returns 0, or -1 with err_msg() (e.g. more slots than the host
 * has, a length or alignment the hardware cannot watch).
 */
int backend_vcpu_set_debug(struct backend_vcpu *v, const struct vcpu_debug *d);

/*
 * Reads or writes vCPU v's whole register file in GDB's order and sizes (arch_gdb.regs_size
 * bytes, little endian, the layout of arch_gdb's target description). On v's thread, between
 * runs. Return 0 or -1 with err_msg().
 */
int backend_vcpu_get_regs(struct backend_vcpu *v, uint8_t *buf, size_t len);
int backend_vcpu_set_regs(struct backend_vcpu *v, const uint8_t *buf, size_t len);

/* Release a vCPU (on its own thread) and the VM (after all vCPUs are destroyed). */
void backend_vcpu_destroy(struct backend_vcpu *v);
void backend_vm_destroy(struct backend_vm *vm);

#endif
