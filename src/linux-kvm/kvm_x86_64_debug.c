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
/* MXCSR bits above 15 are reserved: loading them faults (FXRSTOR #GP). */
#define X86_MXCSR_VALID 0xFFFFu

/* The KVM_GUESTDBG_* flags this KVM accepts (0 if it cannot say: then only the basic set). */
static uint64_t guest_debug_flags(const struct backend_vm *vm)
{
    int r = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG2);
    return r > 0 ? (uint64_t)r : 0;
}

int backend_vcpu_set_debug(struct backend_vcpu *v, const struct vcpu_debug *d)
{
    uint64_t dr[X86_DR_SLOTS], dr7;
    if (kvm_x86_dr_encode(d, dr, &dr7) != 0) {
        return -1;
    }
    struct kvm_guest_debug g;
    memset(&g, 0, sizeof(g));
    if (d->step || d->sw_breakpoints || d->nbp != 0) {
        g.control = KVM_GUESTDBG_ENABLE;
        if (d->step) {
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
    v->debug = *d;
    return 0;
}

/*
 * Sets RFLAGS.RF so that the next entry does not stop again on the execution breakpoint at RIP:
 * instruction breakpoints are faults, taken before the instruction runs; RF suppresses them for
 * one instruction and the CPU clears it afterwards.
 */
static int set_resume_flag(struct backend_vcpu *v)
{
    struct kvm_regs r;
    if (kvm_ioctl(v->fd, KVM_GET_REGS, &r) != 0) {
        return err_set("KVM_GET_REGS failed on vCPU %u: %s", v->id, strerror(errno));
    }
    r.rflags |= X86_RFLAGS_RF;
    if (kvm_ioctl(v->fd, KVM_SET_REGS, &r) != 0) {
        return err_set("KVM_SET_REGS failed on vCPU %u: %s", v->id, strerror(errno));
    }
    return 0;
}

enum kvm_exit_action kvm_arch_debug_exit(struct backend_vcpu *v, struct vcpu_exit *exit)
{
    const struct kvm_debug_exit_arch *a = &v->run->debug.arch;
    const struct vcpu_debug *d = &v->debug;
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
        exit->debug = DEBUG_STOP_SW_BREAKPOINT;
        return KVM_ACTION_RETURN;
    }
    if (a->exception != X86_VEC_DB) {
        return err_set("KVM_EXIT_DEBUG with unexpected vector %u on vCPU %u", a->exception, v->id);
    }
    uint64_t dr[X86_DR_SLOTS], dr7;
    int slot = -1;
    if (kvm_x86_dr_encode(d, dr, &dr7) == 0) {
        slot = kvm_x86_dr6_slot(a->dr6, dr7);
    }
    if (slot >= 0) {
        const struct debug_bp *b = &d->bp[slot];
        if (b->kind == DEBUG_BP_EXEC) {
            exit->debug = DEBUG_STOP_HW_BREAKPOINT;
            return set_resume_flag(v) == 0 ? KVM_ACTION_RETURN : KVM_ACTION_FAIL;
        }
        exit->debug = DEBUG_STOP_WATCH;
        exit->data = b->addr;
        return KVM_ACTION_RETURN;
    }
    if ((a->dr6 & X86_DR6_BS) && d->step) {
        exit->debug = DEBUG_STOP_STEP;
        return KVM_ACTION_RETURN;
    }
    /* A #DB nobody armed (stale state): go on, without stopping again on the same fault. */
    return set_resume_flag(v) == 0 ? KVM_ACTION_RESUME : KVM_ACTION_FAIL;
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
                    struct kvm_fpu *f)
{
    const char *what = NULL;
    if (kvm_ioctl(v->fd, KVM_GET_REGS, r) != 0) {
        what = "KVM_GET_REGS";
    } else if (kvm_ioctl(v->fd, KVM_GET_SREGS, s) != 0) {
        what = "KVM_GET_SREGS";
    } else if (kvm_ioctl(v->fd, KVM_GET_FPU, f) != 0) {
        what = "KVM_GET_FPU";
    }
    if (what != NULL) {
        return err_set("%s failed on vCPU %u: %s", what, v->id, strerror(errno));
    }
    return 0;
}

/* Writes KVM's register sets into a GDB register file (X86_GDB_REGS_SIZE bytes). */
static void regs_to_gdb(struct kvm_regs *r, struct kvm_sregs *s, const struct kvm_fpu *f,
                        uint8_t *buf)
{
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
        memcpy(buf + X86_GDB_OFF_ST(i), f->fpr[i], 10);
    }
    /* 64-bit FXSAVE layout: GDB's fiseg/foseg hold the upper halves of the 64-bit pointers. */
    uint32_t fp[8] = {
        f->fcw,
        f->fsw,
        kvm_x86_ftw_expand(f->ftwx, f->fsw, f->fpr),
        (uint32_t)(f->last_ip >> 32),
        (uint32_t)f->last_ip,
        (uint32_t)(f->last_dp >> 32),
        (uint32_t)f->last_dp,
        f->last_opcode & X86_FOP_MASK,
    };
    for (unsigned i = 0; i < 8; i++) {
        le32_put(buf + X86_GDB_OFF_FPCTL(i), fp[i]);
    }
    for (unsigned i = 0; i < 16; i++) {
        memcpy(buf + X86_GDB_OFF_XMM(i), f->xmm[i], 16);
    }
    le32_put(buf + X86_GDB_OFF_MXCSR, f->mxcsr);
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
    struct kvm_fpu f;
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
                       struct kvm_fpu *f)
{
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
        memcpy(f->fpr[i], buf + X86_GDB_OFF_ST(i), 10); /* bytes 10..15 stay reserved */
    }
    f->fcw = (uint16_t)le32_get(buf + X86_GDB_OFF_FPCTL(0));
    f->fsw = (uint16_t)le32_get(buf + X86_GDB_OFF_FPCTL(1));
    f->ftwx = kvm_x86_ftw_abridge((uint16_t)le32_get(buf + X86_GDB_OFF_FPCTL(2)));
    f->last_ip =
        (uint64_t)le32_get(buf + X86_GDB_OFF_FPCTL(3)) << 32 | le32_get(buf + X86_GDB_OFF_FPCTL(4));
    f->last_dp =
        (uint64_t)le32_get(buf + X86_GDB_OFF_FPCTL(5)) << 32 | le32_get(buf + X86_GDB_OFF_FPCTL(6));
    f->last_opcode = (uint16_t)(le32_get(buf + X86_GDB_OFF_FPCTL(7)) & X86_FOP_MASK);
    for (unsigned i = 0; i < 16; i++) {
        memcpy(f->xmm[i], buf + X86_GDB_OFF_XMM(i), 16);
    }
    uint32_t mxcsr = le32_get(buf + X86_GDB_OFF_MXCSR);
    if (mxcsr & ~X86_MXCSR_VALID) {
        return err_set("mxcsr 0x%x sets reserved bits", mxcsr);
    }
    f->mxcsr = mxcsr;
    return 0;
}

int backend_vcpu_set_regs(struct backend_vcpu *v, const uint8_t *buf, size_t len)
{
    if (len < X86_GDB_REGS_SIZE) {
        return err_set("register buffer of %zu bytes; x86_64 needs %u", len, X86_GDB_REGS_SIZE);
    }
    struct kvm_regs r, r0;
    struct kvm_sregs s, s0;
    struct kvm_fpu f, f0;
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
        kvm_ioctl(v->fd, KVM_SET_FPU, &f) != 0) {
        return err_set("KVM_SET_FPU failed on vCPU %u: %s", v->id, strerror(errno));
    }
    return 0;
}
