/*
 * kvm_x86_64_debug.c: debugging on KVM x86_64: KVM_SET_GUEST_DEBUG from a vcpu_debug, the
 * KVM_EXIT_DEBUG decoding, and the GDB register file (gdb_regs.h) over KVM's register ioctls.
 * The capability probe is in kvm_x86_64_debug_probe.c.
 */
#include <string.h>

#include "err.h"
#include "gdb_regs.h"
#include "kvm_priv.h"
#include "kvm_x86_64_debug_bits.h"
#include "le.h"

/* KVM_EXIT_DEBUG vectors (ABI §13). */
#define X86_VEC_DB 1
#define X86_VEC_BP 3

/* GDB's x87 instruction opcode register holds the 11 low bits of the opcode. */
#define X86_FOP_MASK 0x7FFu
/*
 * The x87/SSE state comes from KVM_GET_XSAVE, whose first 512 bytes have the FXSAVE layout
 * (Intel SDM vol. 1, table 10-2): KVM_GET_FPU leaves MXCSR out (it reads 0 and writes are lost).
 */
#define FX_FCW 0
#define FX_FSW 2
#define FX_FTWX 4 /* abridged tag byte */
#define FX_FOP 6
#define FX_FIP 8  /* 64-bit instruction pointer */
#define FX_FDP 16 /* 64-bit data pointer */
#define FX_MXCSR 24
#define FX_MXCSR_MASK 28 /* the MXCSR bits this CPU accepts (0: the default 0xFFBF) */
#define FX_ST 32         /* ST(0)..ST(7), 16 bytes each */
#define FX_XMM 160       /* XMM0..XMM15, 16 bytes each */
#define MXCSR_MASK_DEFAULT 0xFFBFu
#define XS_XSTATE_BV 512 /* XSAVE header: components present; x87 is bit 0, SSE bit 1 */
#define XS_X87_SSE 0x3ull

/* The KVM_GUESTDBG_* flags this KVM accepts (0 if it cannot say: then only the basic set). */
static uint64_t guest_debug_flags(const struct backend_vm *vm)
{
    int r = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG2);
    return r > 0 ? (uint64_t)r : 0;
}

/*
 * Loads debug state d into KVM, with hardware slot `skip` (if below d->nbp) disabled and
 * single-stepping forced on when `step` (the step over a reported breakpoint).
 */
static int apply_debug(struct backend_vcpu *v, const struct vcpu_debug *d, unsigned skip, bool step)
{
    uint64_t dr[X86_DR_SLOTS], dr7;
    if (kvm_x86_dr_encode(d, dr, &dr7) != 0) {
        return -1;
    }
    if (skip < d->nbp) {
        dr7 &= ~(X86_DR7_G(skip) | 0xFull << X86_DR7_RW_SHIFT(skip));
    }
    struct kvm_guest_debug g;
    memset(&g, 0, sizeof(g));
    step = step || d->step;
    if (step || d->sw_breakpoints || d->nbp != 0) {
        g.control = KVM_GUESTDBG_ENABLE;
        if (step) {
            g.control |= KVM_GUESTDBG_SINGLESTEP;
            /* Without BLOCKIRQ a step may land in a pending interrupt's handler. */
            if (guest_debug_flags(v->vm) & KVM_GUESTDBG_BLOCKIRQ) {
                g.control |= KVM_GUESTDBG_BLOCKIRQ;
            }
        }
        if (d->sw_breakpoints) {
            g.control |= KVM_GUESTDBG_USE_SW_BP;
        }
        if (d->nbp != 0) {
            g.control |= KVM_GUESTDBG_USE_HW_BP;
            memcpy(g.arch.debugreg, dr, sizeof(dr));
            g.arch.debugreg[7] = dr7;
        }
    }
    if (kvm_ioctl(v->fd, KVM_SET_GUEST_DEBUG, &g) != 0) {
        return err_set("KVM_SET_GUEST_DEBUG (control 0x%x) failed on vCPU %u: %s", g.control, v->id,
                       strerror(errno));
    }
    return 0;
}

int backend_vcpu_set_debug(struct backend_vcpu *v, const struct vcpu_debug *d)
{
    if (apply_debug(v, d, X86_DR_SLOTS, false) != 0) {
        return -1;
    }
    v->debug = *d;
    /* A step over that was under way is cancelled; the breakpoint it started from is kept. */
    v->resume.stepping = false;
    return 0;
}

/* Reports a debug stop; remembers it if it is an execution breakpoint (to step over it later). */
static enum kvm_exit_action report(struct backend_vcpu *v, struct vcpu_exit *exit,
                                   enum debug_stop why, int slot)
{
    exit->debug = why;
    v->resume.armed = why == DEBUG_STOP_HW_BREAKPOINT;
    v->resume.slot = slot < 0 ? 0 : (unsigned)slot;
    v->resume.pc = exit->addr;
    return KVM_ACTION_RETURN;
}

/* The slot of d whose condition caused this #DB, or -1; `off` (if a slot) is disabled in KVM. */
static int hit_slot(const struct vcpu_debug *d, uint64_t dr6, unsigned off)
{
    uint64_t dr[X86_DR_SLOTS], dr7;
    if (kvm_x86_dr_encode(d, dr, &dr7) != 0) {
        return -1;
    }
    if (off < d->nbp) {
        dr7 &= ~(X86_DR7_G(off) | 0xFull << X86_DR7_RW_SHIFT(off));
    }
    return kvm_x86_dr6_slot(dr6, dr7);
}

enum kvm_exit_action kvm_arch_debug_exit(struct backend_vcpu *v, struct vcpu_exit *exit)
{
    const struct kvm_debug_exit_arch *a = &v->run->debug.arch;
    const struct vcpu_debug *d = &v->debug;
    struct kvm_debug_resume *r = &v->resume;
    exit->kind = VCPU_EXIT_DEBUG;
    exit->addr = a->pc; /* KVM reports the linear RIP; chyve's guests have CS base 0 */
    exit->data = 0;
    if (a->exception == X86_VEC_BP) {
        /*
         * KVM intercepts #BP before delivery: RIP (and pc) is the int3 itself, not the byte after
         * it, which is what GDB wants; once GDB restores the byte, resuming re-executes it.
         */
        if (!d->sw_breakpoints) {
            return err_set("vCPU %u stopped on an int3 at 0x%llx, but software breakpoints are "
                           "off",
                           v->id, (unsigned long long)a->pc);
        }
        return report(v, exit, DEBUG_STOP_SW_BREAKPOINT, -1);
    }
    if (a->exception != X86_VEC_DB) {
        return err_set("KVM_EXIT_DEBUG with unexpected vector %u on vCPU %u", a->exception, v->id);
    }
    int slot = hit_slot(d, a->dr6, r->stepping ? r->slot : X86_DR_SLOTS);
    if (r->stepping) {
        /* The instruction under the breakpoint ran: re-arm everything as the stub set it. */
        r->stepping = false;
        r->armed = false;
        if (apply_debug(v, d, X86_DR_SLOTS, false) != 0) {
            return KVM_ACTION_FAIL;
        }
        if (slot < 0 && !d->step) {
            return KVM_ACTION_RESUME;
        }
    } else if (slot >= 0 && r->armed && (unsigned)slot == r->slot && a->pc == r->pc &&
               d->bp[slot].kind == DEBUG_BP_EXEC) {
        /*
         * Resumed on the breakpoint just reported: it faulted again before its instruction ran.
         * Run that one instruction with the slot off. (RFLAGS.RF is meant for this, but nested
         * software KVM does not honour it at VM entry; this works on every host.)
         */
        r->stepping = true;
        return apply_debug(v, d, (unsigned)slot, true) == 0 ? KVM_ACTION_RESUME : KVM_ACTION_FAIL;
    }
    if (slot >= 0) {
        const struct debug_bp *b = &d->bp[slot];
        if (b->kind == DEBUG_BP_EXEC) {
            return report(v, exit, DEBUG_STOP_HW_BREAKPOINT, slot);
        }
        exit->data = b->addr;
        return report(v, exit, DEBUG_STOP_WATCH, slot);
    }
    if ((a->dr6 & X86_DR6_BS) && d->step) {
        return report(v, exit, DEBUG_STOP_STEP, -1);
    }
    /* A #DB nobody armed (a step trap of a state since replaced): go on. */
    return KVM_ACTION_RESUME;
}

/* The GDB order of the general registers, as fields of struct kvm_regs. */
static __u64 *gpr_field(struct kvm_regs *r, unsigned gdb_index)
{
    __u64 *const f[16] = {&r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp, &r->rsp,
                          &r->r8,  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15};
    return f[gdb_index];
}

/* Segment registers in GDB order: cs ss ds es fs gs. */
static struct kvm_segment *seg_field(struct kvm_sregs *s, unsigned gdb_index)
{
    struct kvm_segment *const f[6] = {&s->cs, &s->ss, &s->ds, &s->es, &s->fs, &s->gs};
    return f[gdb_index];
}

/* Reads the three KVM register sets that make up the GDB register file. */
static int read_all(struct backend_vcpu *v, struct kvm_regs *r, struct kvm_sregs *s,
                    struct kvm_xsave *f)
{
    const char *what = NULL;
    if (kvm_ioctl(v->fd, KVM_GET_REGS, r) != 0) {
        what = "KVM_GET_REGS";
    } else if (kvm_ioctl(v->fd, KVM_GET_SREGS, s) != 0) {
        what = "KVM_GET_SREGS";
    } else if (kvm_ioctl(v->fd, KVM_GET_XSAVE, f) != 0) {
        what = "KVM_GET_XSAVE";
    }
    if (what != NULL) {
        return err_set("%s failed on vCPU %u: %s", what, v->id, strerror(errno));
    }
    return 0;
}

/* Writes KVM's register sets into a GDB register file (X86_GDB_REGS_SIZE bytes). */
static void regs_to_gdb(struct kvm_regs *r, struct kvm_sregs *s, const struct kvm_xsave *xs,
                        uint8_t *buf)
{
    const uint8_t *fx = (const uint8_t *)xs->region;
    memset(buf, 0, X86_GDB_REGS_SIZE);
    for (unsigned i = 0; i < 16; i++) {
        le64_put(buf + X86_GDB_OFF_GPR(i), *gpr_field(r, i));
    }
    le64_put(buf + X86_GDB_OFF_RIP, r->rip);
    le32_put(buf + X86_GDB_OFF_EFLAGS, (uint32_t)r->rflags);
    for (unsigned i = 0; i < 6; i++) {
        le32_put(buf + X86_GDB_OFF_SEG(i), seg_field(s, i)->selector);
    }
    for (unsigned i = 0; i < 8; i++) {
        memcpy(buf + X86_GDB_OFF_ST(i), fx + FX_ST + 16 * i, 10);
    }
    /* 64-bit FXSAVE layout: GDB's fiseg/foseg hold the upper halves of the 64-bit pointers. */
    uint32_t fp[8] = {
        le16_get(fx + FX_FCW),
        le16_get(fx + FX_FSW),
        kvm_x86_ftw_expand(fx[FX_FTWX], le16_get(fx + FX_FSW), fx + FX_ST),
        le32_get(fx + FX_FIP + 4),
        le32_get(fx + FX_FIP),
        le32_get(fx + FX_FDP + 4),
        le32_get(fx + FX_FDP),
        le16_get(fx + FX_FOP) & X86_FOP_MASK,
    };
    for (unsigned i = 0; i < 8; i++) {
        le32_put(buf + X86_GDB_OFF_FPCTL(i), fp[i]);
    }
    for (unsigned i = 0; i < 16; i++) {
        memcpy(buf + X86_GDB_OFF_XMM(i), fx + FX_XMM + 16 * i, 16);
    }
    le32_put(buf + X86_GDB_OFF_MXCSR, le32_get(fx + FX_MXCSR));
    le64_put(buf + X86_GDB_OFF_FS_BASE, s->fs.base);
    le64_put(buf + X86_GDB_OFF_GS_BASE, s->gs.base);
}

int backend_vcpu_get_regs(struct backend_vcpu *v, uint8_t *buf, size_t len)
{
    if (len < X86_GDB_REGS_SIZE) {
        return err_set("register buffer of %zu bytes; x86_64 needs %u", len, X86_GDB_REGS_SIZE);
    }
    struct kvm_regs r;
    struct kvm_sregs s;
    struct kvm_xsave f;
    if (read_all(v, &r, &s, &f) != 0) {
        return -1;
    }
    regs_to_gdb(&r, &s, &f, buf);
    return 0;
}

/*
 * Applies a GDB register file to KVM's register sets. Refuses what would make the next VM entry
 * fail or fault in the host: a changed segment selector (KVM would keep the old descriptor),
 * a non-canonical RIP or segment base, reserved MXCSR bits. Reserved RFLAGS bits are dropped.
 */
static int gdb_to_regs(const uint8_t *buf, struct kvm_regs *r, struct kvm_sregs *s,
                       struct kvm_xsave *xs)
{
    uint8_t *fx = (uint8_t *)xs->region;
    for (unsigned i = 0; i < 16; i++) {
        *gpr_field(r, i) = le64_get(buf + X86_GDB_OFF_GPR(i));
    }
    uint64_t rip = le64_get(buf + X86_GDB_OFF_RIP);
    if (!kvm_x86_canonical(rip)) {
        return err_set("rip 0x%llx is not a canonical address", (unsigned long long)rip);
    }
    r->rip = rip;
    r->rflags = kvm_x86_rflags_from_gdb(le32_get(buf + X86_GDB_OFF_EFLAGS));
    for (unsigned i = 0; i < 6; i++) {
        if (le32_get(buf + X86_GDB_OFF_SEG(i)) != seg_field(s, i)->selector) {
            return err_set("changing segment selectors is not supported (register %u)",
                           X86_GDB_CS + i);
        }
    }
    uint64_t fs_base = le64_get(buf + X86_GDB_OFF_FS_BASE);
    uint64_t gs_base = le64_get(buf + X86_GDB_OFF_GS_BASE);
    if (!kvm_x86_canonical(fs_base) || !kvm_x86_canonical(gs_base)) {
        return err_set("fs_base/gs_base must be canonical addresses");
    }
    s->fs.base = fs_base;
    s->gs.base = gs_base;
    for (unsigned i = 0; i < 8; i++) {
        memcpy(fx + FX_ST + 16 * i, buf + X86_GDB_OFF_ST(i), 10); /* 10..15 stay reserved */
    }
    le16_put(fx + FX_FCW, (uint16_t)le32_get(buf + X86_GDB_OFF_FPCTL(0)));
    le16_put(fx + FX_FSW, (uint16_t)le32_get(buf + X86_GDB_OFF_FPCTL(1)));
    fx[FX_FTWX] = kvm_x86_ftw_abridge((uint16_t)le32_get(buf + X86_GDB_OFF_FPCTL(2)));
    le32_put(fx + FX_FIP + 4, le32_get(buf + X86_GDB_OFF_FPCTL(3)));
    le32_put(fx + FX_FIP, le32_get(buf + X86_GDB_OFF_FPCTL(4)));
    le32_put(fx + FX_FDP + 4, le32_get(buf + X86_GDB_OFF_FPCTL(5)));
    le32_put(fx + FX_FDP, le32_get(buf + X86_GDB_OFF_FPCTL(6)));
    le16_put(fx + FX_FOP, (uint16_t)(le32_get(buf + X86_GDB_OFF_FPCTL(7)) & X86_FOP_MASK));
    for (unsigned i = 0; i < 16; i++) {
        memcpy(fx + FX_XMM + 16 * i, buf + X86_GDB_OFF_XMM(i), 16);
    }
    uint32_t mxcsr = le32_get(buf + X86_GDB_OFF_MXCSR);
    uint32_t mask = le32_get(fx + FX_MXCSR_MASK);
    if (mask == 0) {
        mask = MXCSR_MASK_DEFAULT;
    }
    if (mxcsr & ~mask) { /* KVM would refuse them; a CPU faults on them */
        return err_set("mxcsr 0x%x sets bits this CPU does not have (mask 0x%x)", mxcsr, mask);
    }
    le32_put(fx + FX_MXCSR, mxcsr);
    /* Components marked absent are loaded as their init state: mark both present. */
    le64_put(fx + XS_XSTATE_BV, le64_get(fx + XS_XSTATE_BV) | XS_X87_SSE);
    return 0;
}

int backend_vcpu_set_regs(struct backend_vcpu *v, const uint8_t *buf, size_t len)
{
    if (len < X86_GDB_REGS_SIZE) {
        return err_set("register buffer of %zu bytes; x86_64 needs %u", len, X86_GDB_REGS_SIZE);
    }
    struct kvm_regs r, r0;
    struct kvm_sregs s, s0;
    struct kvm_xsave f, f0;
    if (read_all(v, &r0, &s0, &f0) != 0) {
        return -1;
    }
    /* A register GDB did not change must come back bit for bit: only write what differs. */
    uint8_t cur[X86_GDB_REGS_SIZE];
    regs_to_gdb(&r0, &s0, &f0, cur);
    if (memcmp(cur, buf, X86_GDB_REGS_SIZE) == 0) {
        return 0;
    }
    r = r0;
    s = s0;
    f = f0;
    if (gdb_to_regs(buf, &r, &s, &f) != 0) {
        return -1;
    }
    if (memcmp(buf, cur, X86_GDB_OFF_SEG(0)) != 0 && kvm_ioctl(v->fd, KVM_SET_REGS, &r) != 0) {
        return err_set("KVM_SET_REGS failed on vCPU %u: %s", v->id, strerror(errno));
    }
    if (memcmp(buf + X86_GDB_OFF_FS_BASE, cur + X86_GDB_OFF_FS_BASE, 16) != 0 &&
        kvm_ioctl(v->fd, KVM_SET_SREGS, &s) != 0) {
        return err_set("KVM_SET_SREGS failed on vCPU %u: %s", v->id, strerror(errno));
    }
    if (memcmp(buf + X86_GDB_OFF_ST(0), cur + X86_GDB_OFF_ST(0),
               X86_GDB_OFF_FS_BASE - X86_GDB_OFF_ST(0)) != 0 &&
        kvm_ioctl(v->fd, KVM_SET_XSAVE, &f) != 0) {
        return err_set("KVM_SET_XSAVE failed on vCPU %u: %s", v->id, strerror(errno));
    }
    return 0;
}
