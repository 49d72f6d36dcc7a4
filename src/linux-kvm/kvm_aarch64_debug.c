/*
 * kvm_aarch64_debug.c: guest debugging on KVM arm64: the probe, KVM_SET_GUEST_DEBUG with
 * hardware breakpoints and watchpoints (DBGBCR/DBGWCR encodings), KVM_EXIT_DEBUG decoding, and
 * the GDB register file (gdb_regs.h) through ONE_REG.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "arch.h"
#include "err.h"
#include "gdb_regs.h"
#include "kvm_priv.h"

/* ONE_REG ids: core registers are numbered in 32-bit words of struct kvm_regs. */
#define CORE_ID(size, word) (KVM_REG_ARM64 | (size) | KVM_REG_ARM_CORE | (uint64_t)(word))
#define REG_X(n) CORE_ID(KVM_REG_SIZE_U64, KVM_REG_ARM_CORE_REG(regs.regs[0]) + 2 * (n))
#define REG_SP_EL0 CORE_ID(KVM_REG_SIZE_U64, KVM_REG_ARM_CORE_REG(regs.sp))
#define REG_SP_EL1 CORE_ID(KVM_REG_SIZE_U64, KVM_REG_ARM_CORE_REG(sp_el1))
#define REG_PC CORE_ID(KVM_REG_SIZE_U64, KVM_REG_ARM_CORE_REG(regs.pc))
#define REG_PSTATE CORE_ID(KVM_REG_SIZE_U64, KVM_REG_ARM_CORE_REG(regs.pstate))
#define REG_V(n) CORE_ID(KVM_REG_SIZE_U128, KVM_REG_ARM_CORE_REG(fp_regs.vregs[0]) + 4 * (n))
#define REG_FPSR CORE_ID(KVM_REG_SIZE_U32, KVM_REG_ARM_CORE_REG(fp_regs.fpsr))
#define REG_FPCR CORE_ID(KVM_REG_SIZE_U32, KVM_REG_ARM_CORE_REG(fp_regs.fpcr))

/* PSTATE (SPSR layout): M[0] selects SP_ELx over SP_EL0, M[3:2] is the exception level. */
#define PSTATE_SP_ELX 1u
#define PSTATE_EL(p) (((p) >> 2) & 3u)

/* ESR_ELx exception classes (ESR[31:26]) of the debug exceptions KVM reports. */
#define EC_BREAKPOINT_LOW 0x30
#define EC_BREAKPOINT_CUR 0x31
#define EC_SOFTWARE_STEP_LOW 0x32
#define EC_SOFTWARE_STEP_CUR 0x33
#define EC_WATCHPOINT_LOW 0x34
#define EC_WATCHPOINT_CUR 0x35
#define EC_BRK64 0x3C

/*
 * DBGBCR<n>_EL1 / DBGWCR<n>_EL1 fields (Arm ARM D13): E enables the slot; PMC (PAC for
 * watchpoints) 0b11 matches at EL1 and EL0 with HMC = 0 and SSC = 0; BCR.BAS must be 0b1111 for
 * an AArch64 instruction, BT = 0 (unlinked address match); WCR.LSC 0b01 loads, 0b10 stores,
 * 0b11 both; WCR.BAS selects the watched bytes of the doubleword at DBGWVR.
 */
#define DBG_E 1u
#define DBG_PMC_EL1_EL0 (3u << 1)
#define DBGBCR_BAS_A64 (0xFu << 5)
#define DBGWCR_LSC(x) ((uint64_t)(x) << 3)
#define DBGWCR_BAS(x) ((uint64_t)(x) << 5)
#define LSC_LOAD 1u
#define LSC_STORE 2u

/* How many slots KVM offers for cap, within what struct kvm_guest_debug_arch holds. */
static unsigned slots(struct backend_vm *vm, long cap)
{
    int n = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, cap);
    if (n <= 0) {
        return 0;
    }
    unsigned max =
        KVM_ARM_MAX_DBG_REGS < VCPU_DEBUG_MAX_BP ? KVM_ARM_MAX_DBG_REGS : VCPU_DEBUG_MAX_BP;
    return (unsigned)n < max ? (unsigned)n : max;
}

int backend_debug_probe(struct backend_vm *vm, struct backend_debug_caps *caps)
{
    memset(caps, 0, sizeof(*caps));
    if (ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG) <= 0) {
        caps->missing = "this host's KVM has no guest debugging (KVM_CAP_SET_GUEST_DEBUG)";
        return 0;
    }
    caps->sw_breakpoints = true;
    caps->single_step = true;
    caps->hw_breakpoints = slots(vm, KVM_CAP_GUEST_DEBUG_HW_BPS);
    caps->hw_watchpoints = slots(vm, KVM_CAP_GUEST_DEBUG_HW_WPS);
    if (caps->hw_breakpoints == 0 || caps->hw_watchpoints == 0) {
        caps->missing = "this host's KVM reports no hardware breakpoint or watchpoint slots";
    }
    return 0;
}

static struct kvm_a64_vcpu_debug *vdbg(const struct backend_vcpu *v)
{
    return &kvm_a64(v->vm)->dbg[v->id];
}

static int get_one(struct backend_vcpu *v, uint64_t id, void *val)
{
    struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)val};
    return kvm_ioctl(v->fd, KVM_GET_ONE_REG, &r);
}

static int set_one(struct backend_vcpu *v, uint64_t id, const void *val)
{
    struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)val};
    return kvm_ioctl(v->fd, KVM_SET_ONE_REG, &r);
}

/* Whether va can be a DBGBVR/DBGWVR value: bits [63:53] repeat bit 52 (RESS). */
static bool va_ok(uint64_t va)
{
    uint64_t top = va >> 52;
    return top == 0 || top == 0xFFF;
}

/*
 * Encodes debug state d into g, leaving out an execution breakpoint at `skip` when skip_on (the
 * step-over of a breakpoint the vCPU stands on) and then single-stepping. Returns 0, or -1 with
 * err_msg() for state the hardware cannot have.
 */
static int encode(struct backend_vcpu *v, const struct vcpu_debug *d, bool skip_on, uint64_t skip,
                  struct kvm_guest_debug *g)
{
    struct backend_debug_caps caps;
    backend_debug_probe(v->vm, &caps);
    memset(g, 0, sizeof(*g));
    if (d->nbp > VCPU_DEBUG_MAX_BP) {
        return err_set("%u hardware breakpoints and watchpoints asked for, at most %u", d->nbp,
                       VCPU_DEBUG_MAX_BP);
    }
    unsigned nb = 0, nw = 0;
    for (unsigned i = 0; i < d->nbp; i++) {
        const struct debug_bp *b = &d->bp[i];
        if (!va_ok(b->addr)) {
            return err_set("0x%llx is not an aarch64 virtual address", (unsigned long long)b->addr);
        }
        if (b->kind == DEBUG_BP_EXEC) {
            if (b->addr & 3) {
                return err_set("hardware breakpoint at 0x%llx: aarch64 instructions are 4-byte "
                               "aligned",
                               (unsigned long long)b->addr);
            }
            if (nb == caps.hw_breakpoints) {
                return err_set("this host has %u hardware breakpoint slots", caps.hw_breakpoints);
            }
            if (skip_on && b->addr == skip) {
                continue; /* one slot unused while stepping over it */
            }
            g->arch.dbg_bvr[nb] = b->addr;
            g->arch.dbg_bcr[nb] = DBG_E | DBG_PMC_EL1_EL0 | DBGBCR_BAS_A64;
            nb++;
            continue;
        }
        unsigned lsc;
        switch (b->kind) {
        case DEBUG_WATCH_WRITE:
            lsc = LSC_STORE;
            break;
        case DEBUG_WATCH_READ:
            lsc = LSC_LOAD;
            break;
        case DEBUG_WATCH_ACCESS:
            lsc = LSC_LOAD | LSC_STORE;
            break;
        default:
            return err_set("unknown breakpoint kind %d", (int)b->kind);
        }
        if (!arch_gdb_watch_ok(b->addr, b->len)) {
            return err_set("cannot watch %llu bytes at 0x%llx: aarch64 watches 1 to 8 bytes "
                           "inside one aligned doubleword",
                           (unsigned long long)b->len, (unsigned long long)b->addr);
        }
        if (nw == caps.hw_watchpoints) {
            return err_set("this host has %u hardware watchpoint slots", caps.hw_watchpoints);
        }
        uint64_t bas = ((1u << b->len) - 1) << (b->addr & 7);
        g->arch.dbg_wvr[nw] = b->addr & ~7ull;
        g->arch.dbg_wcr[nw] = DBG_E | DBG_PMC_EL1_EL0 | DBGWCR_LSC(lsc) | DBGWCR_BAS(bas);
        nw++;
    }
    bool step = d->step || skip_on;
    if (step || d->sw_breakpoints || d->nbp > 0) {
        g->control = KVM_GUESTDBG_ENABLE;
        g->control |= step ? KVM_GUESTDBG_SINGLESTEP : 0;
        g->control |= d->sw_breakpoints ? KVM_GUESTDBG_USE_SW_BP : 0;
        g->control |= d->nbp > 0 ? KVM_GUESTDBG_USE_HW : 0;
    }
    return 0;
}

/* Whether d arms an execution breakpoint at pc. */
static bool exec_bp_at(const struct vcpu_debug *d, uint64_t pc)
{
    for (unsigned i = 0; i < d->nbp && i < VCPU_DEBUG_MAX_BP; i++) {
        if (d->bp[i].kind == DEBUG_BP_EXEC && d->bp[i].addr == pc) {
            return true;
        }
    }
    return false;
}

/*
 * Gives KVM vCPU v's state d, stepping over a breakpoint at the PC the vCPU stopped at if it is
 * still there and d still arms it. Records d as v->debug. Returns 0 or -1 with err_msg().
 */
static int install(struct backend_vcpu *v, const struct vcpu_debug *d)
{
    struct kvm_a64_vcpu_debug *s = vdbg(v);
    uint64_t pc;
    if (s->at_bp && (get_one(v, REG_PC, &pc) != 0 || pc != s->bp_pc)) {
        s->at_bp = false; /* it ran on (without debug exits) or its PC was set */
    }
    bool skip_on = s->at_bp && exec_bp_at(d, s->bp_pc);
    struct kvm_guest_debug g;
    if (encode(v, d, skip_on, s->bp_pc, &g) != 0) {
        return -1;
    }
    if (kvm_ioctl(v->fd, KVM_SET_GUEST_DEBUG, &g) != 0) {
        return err_set("KVM_SET_GUEST_DEBUG on vCPU %u failed: %s", v->id, strerror(errno));
    }
    if (d != &v->debug) {
        v->debug = *d;
    }
    s->stepping_over = skip_on;
    return 0;
}

int backend_vcpu_set_debug(struct backend_vcpu *v, const struct vcpu_debug *d)
{
    return install(v, d);
}

/* Stops v for the debugger with the given reason; addr is the PC. */
static enum kvm_exit_action stop(struct vcpu_exit *exit, enum debug_stop why, uint64_t pc,
                                 uint64_t data)
{
    exit->kind = VCPU_EXIT_DEBUG;
    exit->debug = why;
    exit->addr = pc;
    exit->data = data;
    return KVM_ACTION_RETURN;
}

/* Whether d arms any watchpoint. */
static bool any_watch(const struct vcpu_debug *d)
{
    for (unsigned i = 0; i < d->nbp && i < VCPU_DEBUG_MAX_BP; i++) {
        if (d->bp[i].kind != DEBUG_BP_EXEC) {
            return true;
        }
    }
    return false;
}

enum kvm_exit_action kvm_arch_debug_exit(struct backend_vcpu *v, struct vcpu_exit *exit)
{
    unsigned ec = v->run->debug.arch.hsr >> 26;
    uint64_t far = v->run->debug.arch.far;
    struct kvm_a64_vcpu_debug *s = vdbg(v);
    uint64_t pc;
    if (get_one(v, REG_PC, &pc) != 0) {
        return err_set("cannot read the PC of vCPU %u after a debug exit: %s", v->id,
                       strerror(errno));
    }
    bool stepped_over = s->stepping_over;
    s->at_bp = false;
    if (stepped_over && install(v, &v->debug) != 0) {
        return KVM_ACTION_FAIL; /* arms the breakpoint just stepped over again */
    }
    switch (ec) {
    case EC_SOFTWARE_STEP_LOW:
    case EC_SOFTWARE_STEP_CUR:
        if (v->debug.step) {
            return stop(exit, DEBUG_STOP_STEP, pc, 0);
        }
        return KVM_ACTION_RESUME; /* the step-over's own step, or a stale one */
    case EC_BRK64:
        /* A BRK traps before it executes: the PC is the instruction's address. */
        if (v->debug.sw_breakpoints) {
            return stop(exit, DEBUG_STOP_SW_BREAKPOINT, pc, 0);
        }
        break;
    case EC_BREAKPOINT_LOW:
    case EC_BREAKPOINT_CUR:
        if (exec_bp_at(&v->debug, pc)) {
            s->at_bp = true;
            s->bp_pc = pc;
            /* The next run steps over it, however the state is (re)set until then. */
            if (install(v, &v->debug) != 0) {
                return KVM_ACTION_FAIL;
            }
            return stop(exit, DEBUG_STOP_HW_BREAKPOINT, pc, 0);
        }
        break;
    case EC_WATCHPOINT_LOW:
    case EC_WATCHPOINT_CUR:
        /* The access has not happened; the PC is the accessing instruction (GDB steps it). */
        if (any_watch(&v->debug)) {
            return stop(exit, DEBUG_STOP_WATCH, pc, far);
        }
        break;
    default:
        return err_set("unexpected debug exit (ESR 0x%x, class 0x%x) on vCPU %u at pc 0x%llx",
                       v->run->debug.arch.hsr, ec, v->id, (unsigned long long)pc);
    }
    return KVM_ACTION_RESUME; /* a stop nobody armed (any longer) */
}

/* The ONE_REG id of GDB's sp for PSTATE p: the stack pointer the vCPU is using. */
static uint64_t sp_id(uint64_t pstate)
{
    return PSTATE_EL(pstate) == 1 && (pstate & PSTATE_SP_ELX) ? REG_SP_EL1 : REG_SP_EL0;
}

/* One register of the file and its ONE_REG id; sp is resolved against PSTATE by the caller. */
static uint64_t reg_id(unsigned n)
{
    if (n <= A64_GDB_X(30)) {
        return REG_X(n);
    }
    if (n == A64_GDB_PC) {
        return REG_PC;
    }
    if (n >= A64_GDB_V(0) && n <= A64_GDB_V(31)) {
        return REG_V(n - A64_GDB_V(0));
    }
    return n == A64_GDB_FPSR ? REG_FPSR : REG_FPCR;
}

int backend_vcpu_get_regs(struct backend_vcpu *v, uint8_t *buf, size_t len)
{
    if (len < A64_GDB_REGS_SIZE) {
        return err_set("register buffer of %zu bytes, need %d", len, A64_GDB_REGS_SIZE);
    }
    uint64_t pstate;
    if (get_one(v, REG_PSTATE, &pstate) != 0) {
        return err_set("cannot read PSTATE of vCPU %u: %s", v->id, strerror(errno));
    }
    uint32_t cpsr = (uint32_t)pstate;
    memcpy(buf + A64_GDB_OFF_CPSR, &cpsr, sizeof(cpsr));
    for (unsigned n = 0; n < A64_GDB_NREGS; n++) {
        if (n == A64_GDB_CPSR) {
            continue;
        }
        uint64_t id = n == A64_GDB_SP ? sp_id(pstate) : reg_id(n);
        uint8_t val[16]; /* ONE_REG writes the register's size; the host is little endian */
        if (get_one(v, id, val) != 0) {
            return err_set("cannot read GDB register %u of vCPU %u: %s", n, v->id, strerror(errno));
        }
        memcpy(buf + arch_gdb.reg_off[n], val, arch_gdb.reg_size[n]);
    }
    return 0;
}

int backend_vcpu_set_regs(struct backend_vcpu *v, const uint8_t *buf, size_t len)
{
    if (len < A64_GDB_REGS_SIZE) {
        return err_set("register buffer of %zu bytes, need %d", len, A64_GDB_REGS_SIZE);
    }
    uint64_t old_pstate;
    if (get_one(v, REG_PSTATE, &old_pstate) != 0) {
        return err_set("cannot read PSTATE of vCPU %u: %s", v->id, strerror(errno));
    }
    /* cpsr is PSTATE's low half; the upper half is kept. KVM refuses invalid modes. */
    uint32_t cpsr;
    memcpy(&cpsr, buf + A64_GDB_OFF_CPSR, sizeof(cpsr));
    uint64_t pstate = (old_pstate & ~0xFFFFFFFFull) | cpsr;
    if (set_one(v, REG_PSTATE, &pstate) != 0) {
        return err_set("cannot set PSTATE of vCPU %u to 0x%llx: %s", v->id,
                       (unsigned long long)pstate, strerror(errno));
    }
    for (unsigned n = 0; n < A64_GDB_NREGS; n++) {
        if (n == A64_GDB_CPSR) {
            continue;
        }
        uint64_t id = n == A64_GDB_SP ? sp_id(pstate) : reg_id(n);
        uint8_t val[16];
        memcpy(val, buf + arch_gdb.reg_off[n], arch_gdb.reg_size[n]);
        if (set_one(v, id, val) != 0) {
            return err_set("cannot set GDB register %u of vCPU %u: %s", n, v->id, strerror(errno));
        }
    }
    /* A PC moved away from a breakpoint being stepped over: arm it again instead. */
    return vdbg(v)->at_bp ? install(v, &v->debug) : 0;
}
