/* kvm_priv.h: state shared by the Linux KVM backend files, and the per-architecture hooks. */
#ifndef CHYVE_KVM_PRIV_H
#define CHYVE_KVM_PRIV_H

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "backend.h"
#include "guest_mem.h"
#if defined(__x86_64__)
#include "ioapic.h"
#endif

/*
 * A hardware execution breakpoint reported at `pc` (slot `slot`) is a fault: resuming stops on it
 * again before the instruction runs. The debug code then executes that one instruction with the
 * slot disabled (`stepping`) and re-arms it.
 */
struct kvm_debug_resume {
    bool armed; /* the last debug stop was the execution breakpoint below */
    bool stepping;
    unsigned slot;
    uint64_t pc;
};

/* One vCPU. Lives inside its backend_vm, so a late kick never touches freed memory. */
struct backend_vcpu {
    struct backend_vm *vm;
    unsigned id;
    int fd;                          /* -1 once destroyed */
    struct kvm_run *run;             /* shared with the kernel; unmapped with the VM */
    pthread_t thread;                /* the thread that called backend_vcpu_create(); kick target */
    atomic_bool kicked;              /* a kick is pending; consumed by backend_vcpu_run() */
    atomic_bool alive;               /* `thread` is valid and the vCPU not destroyed */
    atomic_uint kickers;             /* kicks in flight; destroy waits for them to finish */
    uint64_t stats[VCPU_STAT_COUNT]; /* exits handled in the backend, by kind */
    struct vcpu_debug debug;         /* as last set by backend_vcpu_set_debug() */
    struct kvm_debug_resume resume;  /* stepping over a reported breakpoint (kvm_<arch>_debug.c) */
};

/* One VM: the KVM fds, the guest RAM it maps, and its vCPUs. */
struct backend_vm {
    const struct guest_mem *mem;
    const struct vm_config *cfg; /* the run's options (pit, cpu_pm ...) */
    struct iobus *bus;           /* the emulated devices: unclaimed port and MMIO accesses */
    int kvm_fd;
    int vm_fd;
    size_t run_size; /* KVM_GET_VCPU_MMAP_SIZE */
    unsigned ncpus;
    void *arch; /* per-architecture VM state (e.g. the CPUID table) */
    struct backend_vcpu vcpus[];
};

/* What the architecture's exit handler wants the run loop to do next. */
enum kvm_exit_action {
    KVM_ACTION_FAIL = -1,  /* stop: err_msg() says why (the value err_set() returns) */
    KVM_ACTION_RESUME = 0, /* handled; enter the guest again */
    KVM_ACTION_RETURN = 1, /* *exit is filled; hand it to the core */
};

/* ioctl() retried while it fails with EINTR or EAGAIN. */
static inline int kvm_ioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do {
        r = ioctl(fd, req, arg);
    } while (r == -1 && (errno == EINTR || errno == EAGAIN));
    return r;
}

/*
 * Architecture hooks, implemented in kvm_<arch>.c. kvm_arch_vm_init runs after guest RAM is mapped
 * and before any vCPU exists (irqchip); kvm_arch_vm_ready after all vCPU fds exist (CPUID table).
 * Both return 0 or -1 with err_msg() set. kvm_arch_vm_free releases vm->arch.
 */
int kvm_arch_vm_init(struct backend_vm *vm);
int kvm_arch_vm_ready(struct backend_vm *vm);
void kvm_arch_vm_free(struct backend_vm *vm);

/* Sets the boot register state of vCPU v for layout l (on v's thread). 0 or -1 with err_msg(). */
int kvm_arch_vcpu_init(struct backend_vcpu *v, const struct layout *l);

/* Handles the exit described by v->run after KVM_RUN returned 0. */
enum kvm_exit_action kvm_arch_handle_exit(struct backend_vcpu *v, struct vcpu_exit *exit);

/*
 * Handles KVM_EXIT_DEBUG (kvm_<arch>_debug.c, with backend_debug_probe, backend_vcpu_set_debug
 * and the register file): fills *exit as VCPU_EXIT_DEBUG, or resumes a stop nobody asked for.
 */
enum kvm_exit_action kvm_arch_debug_exit(struct backend_vcpu *v, struct vcpu_exit *exit);

#if defined(__aarch64__)
/*
 * Bytes at the start of guest RAM that kvm.c maps as a separate read-only slot, so that guest
 * stores there exit as MMIO: the hypercall trap window (LAYOUT_TRAP_WINDOW, rounded up to the
 * host page size). Implemented in kvm_aarch64.c.
 */
uint64_t kvm_aarch64_trap_window(void);
#define KVM_TRAP_WINDOW() kvm_aarch64_trap_window()

/*
 * Per-vCPU state of kvm_aarch64_debug.c. A hardware breakpoint stops before its instruction, and
 * an armed one would stop there again at once: the next run steps over it with that breakpoint
 * off, then arms it again.
 */
struct kvm_a64_vcpu_debug {
    uint64_t bp_pc;     /* where the vCPU stopped at a hardware breakpoint */
    bool at_bp;         /* it is still there (not run or moved since) */
    bool stepping_over; /* KVM has the step-over state, not `debug` as set */
};

/* Per-VM arm64 state (vm->arch), owned by kvm_aarch64.c. */
struct kvm_a64_vm {
    int gic_fd;                     /* the vGICv3 device */
    uint64_t mmfr0;                 /* ID_AA64MMFR0_EL1 as the vCPUs see it */
    struct kvm_a64_vcpu_debug *dbg; /* ncpus entries */
};

static inline struct kvm_a64_vm *kvm_a64(const struct backend_vm *vm)
{
    return vm->arch;
}
#else
#define KVM_TRAP_WINDOW() 0ull /* x86_64 hypercalls are port I/O: all of RAM is one slot */
#endif

#if defined(__x86_64__)
/* Longest x86 instruction. */
#define X86_INSN_MAX 15

/* Per-VM x86 state (vm->arch): the CPUID table every vCPU gets (ABI §4.3) and the TSC rate. */
struct kvm_x86_vm {
    struct kvm_cpuid2 *cpuid;
    uint32_t cpuid_cap; /* entries allocated */
    uint32_t tsc_khz;
    /*
     * KVM_CAP_SPLIT_IRQCHIP (docs/decisions.md "Interrupt controllers"): the local APICs are in
     * KVM, the IOAPIC is `ioapic` here and the PIC ports are ignored. Without it (--pit, or a
     * KVM without the capability) KVM has the whole irqchip and the rest is unused.
     */
    bool split;
    pthread_mutex_t ioapic_lock; /* vCPU threads (MMIO, EOI) and device threads (lines) */
    struct ioapic ioapic;
    struct ioapic_msi routes[IOAPIC_PINS]; /* the MSI routes KVM has, for the EOI exits */
    bool routed[IOAPIC_PINS];
};

/*
 * Builds a's CPUID table (kvm_x86_64_cpuid.c): KVM's supported set, from the warm-up thread when
 * it has it, adjusted per ABI §4.3 (hypervisor and timing leaves, brand, TSC kHz from a).
 * Returns 0 or -1 with err_msg().
 */
int kvm_x86_cpuid_build(struct backend_vm *vm, struct kvm_x86_vm *a);

static inline struct kvm_x86_vm *kvm_x86(const struct backend_vm *vm)
{
    return vm->arch;
}

/*
 * The interrupt controllers (kvm_x86_64_irq.c). kvm_x86_irqchip_create runs in kvm_arch_vm_init,
 * before any vCPU: 0 or -1 with err_msg(). On a vCPU's exit: kvm_x86_pic_pio claims the PIC ports
 * under a split irqchip (true: handled); kvm_x86_ioapic_mmio claims the IOAPIC window (1:
 * handled, 0: not the IOAPIC, -1: err_msg() set); kvm_x86_ioapic_eoi takes KVM_EXIT_IOAPIC_EOI.
 */
int kvm_x86_irqchip_create(struct backend_vm *vm);
bool kvm_x86_pic_pio(struct backend_vm *vm, unsigned port, bool in, uint8_t *data, uint64_t len);
int kvm_x86_ioapic_mmio(struct backend_vm *vm, uint64_t gpa, bool write, uint8_t *data,
                        unsigned len);
void kvm_x86_ioapic_eoi(struct backend_vm *vm, uint8_t vector);

/* The index of CPUID entry (function, index) in c, or -1. */
static inline int kvm_x86_cpuid_index(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t index)
{
    for (uint32_t i = 0; i < c->nent; i++) {
        if (c->entries[i].function == fn && c->entries[i].index == index) {
            return (int)i;
        }
    }
    return -1;
}

/*
 * Emulates the instruction at RIP after KVM reported an emulation failure, if it is one chyve
 * emulates (XGETBV, XSAVE[64], XRSTOR[64]); insn holds the n bytes read at RIP. Returns 1 if it
 * was emulated (RIP advanced), 0 if it is not such an instruction, -1 with err_msg() if it is one
 * but the guest used it in a way a CPU would fault on or chyve cannot emulate.
 */
int kvm_x86_emulate(struct backend_vcpu *v, struct kvm_regs *regs, const struct kvm_sregs *sregs,
                    const uint8_t *insn, size_t n);
#endif

#endif
