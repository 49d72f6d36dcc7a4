/*
 * kvm_x86_64_debug_probe.c: finds out what KVM_SET_GUEST_DEBUG really delivers on this host by
 * running a throw-away real-mode VM (one page of RAM, no irqchip) through a single step, a
 * hardware execution breakpoint, a resume with RFLAGS.RF, a write watchpoint and an int3 (ABI §13:
 * nested software KVM steps and stops on execution breakpoints but drops watchpoints and fails
 * int3).
 */
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "kvm_priv.h"
#include "kvm_x86_64_debug_bits.h"
#include "log.h"

#define PROBE_RAM 4096u
#define PROBE_DATA 0x100u /* the byte the watched store writes */

/* The probe guest (16-bit real mode, CS = DS = 0): addresses of its instructions. */
#define AT_STEP 0x0  /* nop: single-stepped, stops at AT_BP */
#define AT_BP 0x2    /* nop under the execution breakpoint (DR0) */
#define AT_STORE 0x3 /* mov [PROBE_DATA], al under the write watchpoint (DR1) */
#define AT_HLT 0x6
#define AT_INT3 0x7
static const uint8_t probe_code[] = {
    0x90,             /* 0: nop */
    0x90,             /* 1: nop */
    0x90,             /* 2: nop */
    0xA2, 0x00, 0x01, /* 3: mov [0x100], al */
    0xF4,             /* 6: hlt */
    0xCC,             /* 7: int3 */
    0xF4,             /* 8: hlt */
};

/* One throw-away VM with one vCPU. */
struct probe {
    int vm_fd;
    int vcpu_fd;
    struct kvm_run *run;
    size_t run_size;
    uint8_t *ram;
};

static void probe_free(struct probe *p)
{
    if (p->run != NULL) {
        munmap(p->run, p->run_size);
    }
    if (p->vcpu_fd >= 0) {
        close(p->vcpu_fd);
    }
    if (p->vm_fd >= 0) {
        close(p->vm_fd); /* no io-bus registrations: closes without the 16 ms wait (ABI §12) */
    }
    if (p->ram != NULL) {
        munmap(p->ram, PROBE_RAM);
    }
}

/* Creates the probe VM from the backend's /dev/kvm fd, with the vCPU at IP 0 in real mode. */
static int probe_create(const struct backend_vm *vm, struct probe *p)
{
    memset(p, 0, sizeof(*p));
    p->vm_fd = p->vcpu_fd = -1;
    p->run_size = vm->run_size;
    p->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0UL);
    if (p->vm_fd < 0) {
        return err_set("debug probe: KVM_CREATE_VM failed: %s", strerror(errno));
    }
    void *ram = mmap(NULL, PROBE_RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ram == MAP_FAILED) {
        return err_set("debug probe: out of memory");
    }
    p->ram = ram;
    memset(p->ram, 0xF4, PROBE_RAM); /* hlt everywhere: a stray jump ends the probe */
    memcpy(p->ram, probe_code, sizeof(probe_code));
    struct kvm_userspace_memory_region region = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = PROBE_RAM,
        .userspace_addr = (uint64_t)(uintptr_t)p->ram,
    };
    if (kvm_ioctl(p->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) != 0) {
        return err_set("debug probe: cannot map its RAM: %s", strerror(errno));
    }
    p->vcpu_fd = ioctl(p->vm_fd, KVM_CREATE_VCPU, 0UL);
    if (p->vcpu_fd < 0) {
        return err_set("debug probe: KVM_CREATE_VCPU failed: %s", strerror(errno));
    }
    void *run = mmap(NULL, p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->vcpu_fd, 0);
    if (run == MAP_FAILED) {
        return err_set("debug probe: cannot map kvm_run: %s", strerror(errno));
    }
    p->run = run;
    struct kvm_sregs s;
    if (kvm_ioctl(p->vcpu_fd, KVM_GET_SREGS, &s) != 0) {
        return err_set("debug probe: KVM_GET_SREGS failed: %s", strerror(errno));
    }
    s.cs.base = 0;
    s.cs.selector = 0;
    s.ds.base = 0;
    s.ds.selector = 0;
    if (kvm_ioctl(p->vcpu_fd, KVM_SET_SREGS, &s) != 0) {
        return err_set("debug probe: KVM_SET_SREGS failed: %s", strerror(errno));
    }
    return 0;
}

/* Sets RIP (and RFLAGS: reserved bit 1, plus RF if rf) of the probe vCPU. */
static int probe_set_ip(struct probe *p, uint64_t rip, bool rf)
{
    struct kvm_regs r;
    memset(&r, 0, sizeof(r));
    r.rip = rip;
    r.rflags = X86_RFLAGS_FIXED1 | (rf ? X86_RFLAGS_RF : 0);
    if (kvm_ioctl(p->vcpu_fd, KVM_SET_REGS, &r) != 0) {
        return err_set("debug probe: KVM_SET_REGS failed: %s", strerror(errno));
    }
    return 0;
}

/* Arms KVM_SET_GUEST_DEBUG with control and the hardware slots of d (may be NULL). */
static int probe_debug(struct probe *p, uint32_t control, const struct vcpu_debug *d)
{
    struct kvm_guest_debug g;
    memset(&g, 0, sizeof(g));
    g.control = control;
    if (d != NULL) {
        uint64_t dr[X86_DR_SLOTS], dr7;
        if (kvm_x86_dr_encode(d, dr, &dr7) != 0) {
            return -1;
        }
        memcpy(g.arch.debugreg, dr, sizeof(dr));
        g.arch.debugreg[7] = dr7;
    }
    if (kvm_ioctl(p->vcpu_fd, KVM_SET_GUEST_DEBUG, &g) != 0) {
        return err_set("debug probe: KVM_SET_GUEST_DEBUG 0x%x failed: %s", control,
                       strerror(errno));
    }
    return 0;
}

/* What one KVM_RUN of the probe ended with. */
struct probe_stop {
    uint32_t reason; /* KVM_EXIT_*, or ~0u if KVM_RUN failed */
    uint32_t vector; /* DEBUG only */
    uint64_t pc;
    uint64_t dr6;
};

static struct probe_stop probe_run(struct probe *p)
{
    struct probe_stop st = {.reason = ~0u};
    if (kvm_ioctl(p->vcpu_fd, KVM_RUN, NULL) != 0) {
        return st;
    }
    st.reason = p->run->exit_reason;
    if (st.reason == KVM_EXIT_DEBUG) {
        st.vector = p->run->debug.arch.exception;
        st.pc = p->run->debug.arch.pc;
        st.dr6 = p->run->debug.arch.dr6;
    }
    return st;
}

static bool is_db(const struct probe_stop *st, uint64_t dr6_bit, uint64_t pc)
{
    return st->reason == KVM_EXIT_DEBUG && st->vector == 1 && (st->dr6 & dr6_bit) && st->pc == pc;
}

/* Runs the probe guest and fills *caps; -1 with err_msg() only if an ioctl outside KVM_RUN fails.
 */
static int probe_guest(struct probe *p, struct backend_debug_caps *caps)
{
    /* 1. A single step over the nop at AT_STEP: #DB with DR6.BS, pc at the next byte. */
    if (probe_set_ip(p, AT_STEP, false) != 0 ||
        probe_debug(p, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP, NULL) != 0) {
        return -1;
    }
    struct probe_stop st = probe_run(p);
    caps->single_step = is_db(&st, X86_DR6_BS, AT_STEP + 1);

    /* 2. An execution breakpoint (DR0) at AT_BP and a write watchpoint (DR1) on PROBE_DATA. */
    struct vcpu_debug d = {
        .nbp = 2,
        .bp = {{.addr = AT_BP, .len = 1, .kind = DEBUG_BP_EXEC},
               {.addr = PROBE_DATA, .len = 1, .kind = DEBUG_WATCH_WRITE}},
    };
    if (probe_set_ip(p, AT_STEP + 1, false) != 0 ||
        probe_debug(p, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, &d) != 0) {
        return -1;
    }
    st = probe_run(p);
    bool hw_hit = is_db(&st, X86_DR6_B(0), AT_BP);

    /*
     * 3. Resume with RFLAGS.RF set: real hardware runs on to the store; nested software KVM stops
     * on the breakpoint again (the backend steps over it instead: kvm_x86_64_debug.c). Then the
     * store under the watchpoint, which traps after it (pc at the hlt), and the hlt.
     */
    bool rf = false, watched = false, halted = false;
    if (hw_hit) {
        if (probe_set_ip(p, AT_BP, true) != 0) {
            return -1;
        }
        st = probe_run(p);
        rf = !is_db(&st, X86_DR6_B(0), AT_BP);
        if (!rf) {
            /* Without RF: only the watchpoint, now in slot 0, from the store on. */
            d.nbp = 1;
            d.bp[0] = d.bp[1];
            if (probe_set_ip(p, AT_STORE, false) != 0 ||
                probe_debug(p, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, &d) != 0) {
                return -1;
            }
            st = probe_run(p);
        }
        watched = is_db(&st, X86_DR6_B(rf ? 1 : 0), AT_HLT);
        if (watched) {
            st = probe_run(p);
        }
        halted = st.reason == KVM_EXIT_HLT;
    }
    caps->hw_breakpoints = hw_hit && halted ? X86_DR_SLOTS : 0;
    caps->hw_watchpoints = watched && halted ? X86_DR_SLOTS : 0;
    caps->hw_shared = true;

    /* 4. An int3 with USE_SW_BP: KVM must report vector 3 with pc at the int3 itself. */
    if (probe_set_ip(p, AT_INT3, false) != 0 ||
        probe_debug(p, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP, NULL) != 0) {
        return -1;
    }
    st = probe_run(p);
    caps->sw_breakpoints = st.reason == KVM_EXIT_DEBUG && st.vector == 3 && st.pc == AT_INT3;
    log_debug("debug probe: step %d, hw breakpoint %d (RFLAGS.RF honoured %d), watchpoint %d, "
              "int3 %d (last exit %u, vector %u, pc 0x%llx)",
              caps->single_step, hw_hit, rf, watched, caps->sw_breakpoints, st.reason, st.vector,
              (unsigned long long)st.pc);
    return 0;
}

/* Why some of caps is missing, as static text (NULL if nothing is). */
static const char *missing_text(const struct backend_debug_caps *c)
{
    bool sw = c->sw_breakpoints, watch = c->hw_watchpoints != 0;
    if (!c->single_step || c->hw_breakpoints == 0) {
        return "this KVM does not stop guests for single-steps or hardware breakpoints as it "
               "should (the debug probe failed)";
    }
    if (!sw && !watch) {
        return "this KVM does not deliver int3 or data watchpoints (nested software KVM): use "
               "hardware breakpoints (hbreak) and single-steps";
    }
    if (!sw) {
        return "this KVM does not deliver int3 to the debugger: use hardware breakpoints (hbreak)";
    }
    if (!watch) {
        return "this KVM does not fire data watchpoints";
    }
    return NULL;
}

int backend_debug_probe(struct backend_vm *vm, struct backend_debug_caps *caps)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(caps, 0, sizeof(*caps));
    struct probe p;
    int r = probe_create(vm, &p);
    if (r == 0) {
        r = probe_guest(&p, caps);
    }
    probe_free(&p);
    if (r != 0) {
        memset(caps, 0, sizeof(*caps));
        return -1;
    }
    caps->missing = missing_text(caps);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    log_debug("debug probe took %.2f ms: %s",
              (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
              caps->missing ? caps->missing : "everything works");
    return 0;
}
