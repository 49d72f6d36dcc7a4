/*
 * kvm_x86_64_emul.c: emulates XGETBV, XSAVE and XRSTOR for KVMs that cannot (nested, software-only
 * KVM reports an emulation failure for them); the state comes from KVM_GET_XCRS / KVM_GET_XSAVE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "err.h"
#include "kvm_priv.h"
#include "log.h"
#include "x86_walk.h"
#include "xsave_area.h"

#define CR0_TS (1ull << 3)
#define CR4_OSXSAVE (1ull << 18)
#define EFER_LMA (1ull << 10)

#define CR0_WP (1ull << 16)
#define CR4_SMAP (1ull << 21)
#define RFLAGS_AC (1ull << 18)

#define XS_MXCSR_MASK 28 /* in the standard format (xsave_area.h has the rest) */
#define XCOMP_BV_COMPACT (1ull << 63)
#define MXCSR_DEFAULT_MASK 0xFFBFu

enum xop { OP_XGETBV, OP_XSAVE, OP_XRSTOR };

/* One decoded instruction. */
struct xinsn {
    enum xop op;
    size_t len;  /* bytes, for advancing RIP */
    bool rex_w;  /* XSAVE64 / XRSTOR64 */
    uint64_t ea; /* memory operand (linear = effective in 64-bit mode without FS/GS) */
};

/* General register `n` (ModRM/SIB numbering, REX-extended). */
static uint64_t gpr(const struct kvm_regs *r, unsigned n)
{
    const uint64_t regs[16] = {r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
                               r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15};
    return regs[n & 15];
}

/* Little-endian loads and stores in host buffers. */
static uint64_t get64(const uint8_t *b)
{
    uint64_t v;
    memcpy(&v, b, 8);
    return v;
}

static uint32_t get32(const uint8_t *b)
{
    uint32_t v;
    memcpy(&v, b, 4);
    return v;
}

static void put64(uint8_t *b, uint64_t v)
{
    memcpy(b, &v, 8);
}

/*
 * Decodes b[0..n) at rip. Returns 1 for an instruction emulated here, 0 for anything else, -1
 * (err_msg set) for XSAVE/XRSTOR in a form chyve does not emulate (prefixes other than REX).
 */
static int decode(const uint8_t *b, size_t n, const struct kvm_regs *r, struct xinsn *x)
{
    size_t i = 0;
    unsigned prefix = 0;
    while (i < n && (b[i] == 0x66 || b[i] == 0xF2 || b[i] == 0xF3 || b[i] == 0x2E || b[i] == 0x36 ||
                     b[i] == 0x3E || b[i] == 0x26 || b[i] == 0x64 || b[i] == 0x65 || b[i] == 0x67 ||
                     b[i] == 0xF0)) {
        prefix = b[i++];
    }
    uint8_t rex = 0;
    if (i < n && (b[i] & 0xF0) == 0x40) {
        rex = b[i++];
    }
    if (i + 3 > n || b[i] != 0x0F) {
        return 0;
    }
    uint8_t op = b[i + 1], modrm = b[i + 2];
    unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
    if (op == 0x01 && modrm == 0xD0) {
        if (prefix != 0) {
            return err_set("guest XGETBV with prefix 0x%02x is not emulated by chyve", prefix);
        }
        x->op = OP_XGETBV;
        x->len = i + 3;
        return 1;
    }
    if (op != 0xAE || mod == 3 || (reg != 4 && reg != 5)) {
        return 0;
    }
    x->op = reg == 4 ? OP_XSAVE : OP_XRSTOR;
    x->rex_w = (rex & 8) != 0;
    if (prefix != 0) {
        return err_set("guest %s with prefix 0x%02x is not emulated by chyve",
                       reg == 4 ? "XSAVE" : "XRSTOR", prefix);
    }
    i += 3;
    uint64_t ea = 0;
    bool rip_rel = false;
    if (rm == 4) { /* SIB */
        if (i >= n) {
            return 0;
        }
        uint8_t sib = b[i++];
        unsigned scale = sib >> 6, index = ((sib >> 3) & 7) | ((rex & 2u) << 2);
        unsigned base = sib & 7;
        if (index != 4) {
            ea += gpr(r, index) << scale;
        }
        if (base == 5 && mod == 0) {
            mod = 2; /* disp32, no base */
        } else {
            ea += gpr(r, base | ((rex & 1u) << 3));
        }
    } else if (rm == 5 && mod == 0) {
        rip_rel = true;
        mod = 2;
    } else {
        ea += gpr(r, rm | ((rex & 1u) << 3));
    }
    if (mod == 1) {
        if (i + 1 > n) {
            return 0;
        }
        ea += (uint64_t)(int64_t)(int8_t)b[i];
        i += 1;
    } else if (mod == 2) {
        if (i + 4 > n) {
            return 0;
        }
        ea += (uint64_t)(int64_t)(int32_t)get32(b + i);
        i += 4;
    }
    x->len = i;
    x->ea = rip_rel ? ea + r->rip + i : ea;
    return 1;
}

/* XCR0 of the vCPU. */
static int get_xcr0(struct backend_vcpu *v, uint64_t *xcr0)
{
    struct kvm_xcrs xcrs;
    memset(&xcrs, 0, sizeof(xcrs));
    if (kvm_ioctl(v->fd, KVM_GET_XCRS, &xcrs) != 0) {
        return err_set("cannot read XCR0 of vCPU %u (KVM_GET_XCRS: %s)", v->id, strerror(errno));
    }
    for (uint32_t i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++) {
        if (xcrs.xcrs[i].xcr == 0) {
            *xcr0 = xcrs.xcrs[i].value;
            return 0;
        }
    }
    return err_set("KVM_GET_XCRS returned no XCR0 for vCPU %u", v->id);
}

static int emulate_xgetbv(struct backend_vcpu *v, struct kvm_regs *r)
{
    uint32_t ecx = (uint32_t)r->rcx;
    if (ecx != 0) {
        return err_set("guest executed XGETBV with ECX=%u at rip 0x%llx; chyve emulates only XCR0",
                       ecx, (unsigned long long)r->rip);
    }
    uint64_t xcr0;
    if (get_xcr0(v, &xcr0) != 0) {
        return -1;
    }
    r->rax = (uint32_t)xcr0;
    r->rdx = xcr0 >> 32;
    return 0;
}

/* The vCPU's XSAVE state in KVM's standard-format buffer (*size bytes, caller frees). */
static uint8_t *get_xsave(struct backend_vcpu *v, size_t *size)
{
    int big = ioctl(v->vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
    *size = big > (int)sizeof(struct kvm_xsave) ? (size_t)big : sizeof(struct kvm_xsave);
    uint8_t *buf = calloc(1, *size);
    if (buf == NULL) {
        err_set("out of memory for the XSAVE state");
        return NULL;
    }
    unsigned long req = big > (int)sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE;
    if (kvm_ioctl(v->fd, req, buf) != 0) {
        err_set("cannot read the FPU state of vCPU %u (KVM_GET_XSAVE: %s)", v->id, strerror(errno));
        free(buf);
        return NULL;
    }
    return buf;
}

/*
 * The standard-format layout of the components in `mask` (i >= 2) from the CPUID table the guest
 * sees (leaf 0xD, sub-leaf i: EAX size, EBX offset); components it does not describe get size 0.
 */
static void get_layout(const struct backend_vm *vm, uint64_t mask, struct xsave_layout *lay)
{
    const struct kvm_cpuid2 *c = kvm_x86(vm)->cpuid;
    memset(lay, 0, sizeof(*lay));
    for (unsigned i = 2; i < 63; i++) {
        int k = (mask & (1ull << i)) ? kvm_x86_cpuid_index(c, 0xD, i) : -1;
        if (k >= 0) {
            lay->size[i] = c->entries[k].eax;
            lay->off[i] = c->entries[k].ebx;
        }
    }
}

/* How the vCPU's data accesses are checked: CPL, CR0.WP, CR4.SMAP with RFLAGS.AC. */
static unsigned access_of(const struct kvm_regs *r, const struct kvm_sregs *s, bool write)
{
    unsigned acc = write ? X86_ACC_WRITE : 0;
    if ((s->cs.selector & 3) == 3) {
        acc |= X86_ACC_USER;
    } else if ((s->cr4 & CR4_SMAP) && !(r->rflags & RFLAGS_AC)) {
        acc |= X86_ACC_SMAP;
    }
    if (s->cr0 & CR0_WP) {
        acc |= X86_ACC_WP;
    }
    return acc;
}

/*
 * Checks that ranges r[0, n) of the area at ea allow access `acc`. 0, 1 with *f (the first
 * faulting range's address), or -1 with err_msg().
 */
static int check_ranges(struct backend_vcpu *v, const struct kvm_sregs *s, uint64_t ea,
                        const struct xsave_range *r, int n, unsigned acc, struct x86_fault *f)
{
    for (int i = 0; i < n; i++) {
        int rc = x86_walk_copy(v->vm->mem, s->cr3, ea + r[i].off, NULL, r[i].len, acc, f);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/*
 * XSAVE (SDM vol. 1 §13.7): stores exactly the fields of the components in RFBM and XSTATE_BV,
 * field by field, so bytes the CPU leaves alone (416-511, the rest of the header, components
 * outside RFBM) keep whatever another vCPU writes there meanwhile. 0, 1 with *f, or -1.
 */
static int emulate_xsave(struct backend_vcpu *v, const struct kvm_regs *regs,
                         const struct kvm_sregs *s, uint64_t ea, uint64_t rfbm, uint8_t *k,
                         size_t ksize, struct x86_fault *f)
{
    struct xsave_layout lay;
    struct xsave_range r[XSAVE_MAX_RANGES];
    get_layout(v->vm, rfbm, &lay);
    int n = xsave_ranges(rfbm, true, &lay, (uint32_t)ksize, r);
    if (n < 0) {
        return -1;
    }
    unsigned acc = access_of(regs, s, true);
    int rc = check_ranges(v, s, ea, r, n, acc, f);
    for (int i = 0; rc == 0 && i < n; i++) {
        if (r[i].off != XSAVE_HEADER) {
            rc = x86_walk_copy(v->vm->mem, s->cr3, ea + r[i].off, k + r[i].off, r[i].len, acc, f);
            continue;
        }
        uint8_t b[8];
        rc = x86_walk_copy(v->vm->mem, s->cr3, ea + XSAVE_HEADER, b, 8, acc & ~X86_ACC_WRITE, f);
        if (rc == 0) {
            put64(b, (get64(b) & ~rfbm) | (get64(k + XSAVE_HEADER) & rfbm));
            rc = x86_walk_copy(v->vm->mem, s->cr3, ea + XSAVE_HEADER, b, 8, acc, f);
        }
    }
    return rc;
}

/*
 * XRSTOR (standard form, SDM vol. 1 §13.8): components in RFBM come from the guest area (only
 * the bytes they own are read, each checked as a read) or their initial state. 0, 1 with *f, -1.
 */
static int emulate_xrstor(struct backend_vcpu *v, const struct kvm_regs *regs,
                          const struct kvm_sregs *s, uint64_t ea, uint64_t rfbm, uint64_t xcr0,
                          uint8_t *k, size_t ksize, struct x86_fault *f)
{
    unsigned acc = access_of(regs, s, false);
    uint8_t hdr[XSAVE_MIN - XSAVE_HEADER];
    int rc = x86_walk_copy(v->vm->mem, s->cr3, ea + XSAVE_HEADER, hdr, sizeof(hdr), acc, f);
    if (rc != 0) {
        return rc;
    }
    uint64_t bv = get64(hdr), comp = get64(hdr + 8);
    if (comp & XCOMP_BV_COMPACT) {
        return err_set("guest XRSTOR of a compacted XSAVE area at 0x%llx is not emulated by chyve",
                       (unsigned long long)ea);
    }
    if (comp != 0 || get64(hdr + 16) != 0) {
        return err_set("guest XRSTOR area at 0x%llx has reserved header bytes set (the CPU would "
                       "raise #GP)",
                       (unsigned long long)ea);
    }
    if (bv & ~xcr0) {
        return err_set("guest XRSTOR area at 0x%llx has XSTATE_BV 0x%llx outside XCR0 0x%llx (the "
                       "CPU would raise #GP)",
                       (unsigned long long)ea, (unsigned long long)bv, (unsigned long long)xcr0);
    }
    struct xsave_layout lay;
    struct xsave_range r[XSAVE_MAX_RANGES + 1];
    get_layout(v->vm, rfbm & bv, &lay);
    int n = xsave_ranges(rfbm & bv, false, &lay, (uint32_t)ksize, r);
    if (n < 0) {
        return -1;
    }
    if ((rfbm & (XSAVE_SSE | XSAVE_AVX)) && !(rfbm & bv & (XSAVE_SSE | XSAVE_AVX))) {
        r[n++] = (struct xsave_range){XSAVE_MXCSR, 8}; /* loaded whatever XSTATE_BV says */
    }
    uint32_t ext = xsave_ranges_end(r, n);
    uint8_t *area = calloc(1, ext);
    if (area == NULL) {
        return err_set("out of memory for the XSAVE area");
    }
    rc = check_ranges(v, s, ea, r, n, acc, f);
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = x86_walk_copy(v->vm->mem, s->cr3, ea + r[i].off, area + r[i].off, r[i].len, acc, f);
    }
    if (rc != 0) {
        free(area);
        return rc;
    }
    if (rfbm & (XSAVE_SSE | XSAVE_AVX)) {
        uint32_t mask = get32(k + XS_MXCSR_MASK), mxcsr = get32(area + XSAVE_MXCSR);
        if (mask == 0) {
            mask = MXCSR_DEFAULT_MASK;
        }
        if (mxcsr & ~mask) {
            free(area);
            return err_set("guest XRSTOR loads MXCSR 0x%x with reserved bits (the CPU would "
                           "raise #GP)",
                           mxcsr);
        }
        memcpy(k + XSAVE_MXCSR, &mxcsr, 4);
    }
    if (rfbm & XSAVE_X87) {
        if (bv & XSAVE_X87) {
            memcpy(k, area, XSAVE_X87_END);
            memcpy(k + XSAVE_ST0, area + XSAVE_ST0, XSAVE_XMM0 - XSAVE_ST0);
        } else { /* initial x87 state: FCW 0x037F, everything else 0 (FTW 0 = all empty) */
            memset(k, 0, XSAVE_X87_END);
            memset(k + XSAVE_ST0, 0, XSAVE_XMM0 - XSAVE_ST0);
            k[XSAVE_FCW] = 0x7F;
            k[XSAVE_FCW + 1] = 0x03;
        }
    }
    if (rfbm & XSAVE_SSE) {
        if (bv & XSAVE_SSE) {
            memcpy(k + XSAVE_XMM0, area + XSAVE_XMM0, XSAVE_XMM_END - XSAVE_XMM0);
        } else {
            memset(k + XSAVE_XMM0, 0, XSAVE_XMM_END - XSAVE_XMM0);
        }
    }
    get_layout(v->vm, rfbm, &lay);
    for (unsigned i = 2; i < 63; i++) {
        uint32_t off = lay.off[i], size = lay.size[i];
        if (!(rfbm & (1ull << i)) || size == 0 || off < XSAVE_MIN || (uint64_t)off + size > ksize) {
            continue;
        }
        if (bv & (1ull << i)) {
            memcpy(k + off, area + off, size);
        } else {
            memset(k + off, 0, size);
        }
    }
    free(area);
    uint64_t kbv = (get64(k + XSAVE_HEADER) & ~rfbm) | (bv & rfbm);
    /* KVM takes MXCSR only with SSE or AVX marked present; zeroed XMMs equal the SSE init state. */
    if (rfbm & (XSAVE_SSE | XSAVE_AVX)) {
        kbv |= XSAVE_SSE;
    }
    put64(k + XSAVE_HEADER, kbv);
    if (kvm_ioctl(v->fd, KVM_SET_XSAVE, k) != 0) {
        return err_set("cannot load the FPU state of vCPU %u (KVM_SET_XSAVE: %s)", v->id,
                       strerror(errno));
    }
    return 0;
}

/*
 * Raises #PF with f's error code and CR2 in the vCPU, at the instruction (RIP not advanced), as
 * the CPU would: through KVM_SET_SREGS (CR2) and KVM_SET_VCPU_EVENTS (exception 14).
 */
static int inject_pf(struct backend_vcpu *v, const struct kvm_sregs *sregs, const char *name,
                     const struct x86_fault *f)
{
    struct kvm_vcpu_events ev;
    memset(&ev, 0, sizeof(ev));
    if (kvm_ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) != 0) {
        return err_set("cannot read the events of vCPU %u (KVM_GET_VCPU_EVENTS: %s)", v->id,
                       strerror(errno));
    }
    if (ev.exception.injected || ev.exception.pending) {
        return err_set("guest %s faults at 0x%llx while exception %u is being delivered (a "
                       "double fault chyve does not emulate)",
                       name, (unsigned long long)f->addr, ev.exception.nr);
    }
    struct kvm_sregs s = *sregs;
    s.cr2 = f->addr;
    if (kvm_ioctl(v->fd, KVM_SET_SREGS, &s) != 0) {
        return err_set("KVM_SET_SREGS failed on vCPU %u: %s", v->id, strerror(errno));
    }
    ev.flags = 0; /* only the exception, interrupt and NMI state, as read */
    ev.exception.injected = 1;
    ev.exception.nr = 14;
    ev.exception.has_error_code = 1;
    ev.exception.error_code = f->code;
    if (kvm_ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) != 0) {
        return err_set("cannot raise #PF in vCPU %u (KVM_SET_VCPU_EVENTS: %s)", v->id,
                       strerror(errno));
    }
    log_debug("vCPU %u: emulated %s raised #PF at 0x%llx (error code 0x%x)", v->id, name,
              (unsigned long long)f->addr, f->code);
    return 0;
}

/*
 * XSAVE / XRSTOR: checks what the CPU checks first, then moves the state. 0; 1 if the access
 * raised #PF in the guest instead (RIP stays); -1 with err_msg().
 */
static int emulate_xsave_family(struct backend_vcpu *v, const struct kvm_regs *r,
                                const struct kvm_sregs *s, const struct xinsn *x)
{
    const char *name =
        x->op == OP_XSAVE ? (x->rex_w ? "XSAVE64" : "XSAVE") : (x->rex_w ? "XRSTOR64" : "XRSTOR");
    if (!(s->efer & EFER_LMA) || !s->cs.l) {
        return err_set("guest %s outside 64-bit mode is not emulated by chyve", name);
    }
    if (s->cr0 & CR0_TS) {
        return err_set("guest %s with CR0.TS set at rip 0x%llx (the CPU would raise #NM, which "
                       "chyve does not inject)",
                       name, (unsigned long long)r->rip);
    }
    if (x->ea & 63) {
        return err_set("guest %s area 0x%llx is not 64-byte aligned (the CPU would raise #GP)",
                       name, (unsigned long long)x->ea);
    }
    uint64_t xcr0;
    if (get_xcr0(v, &xcr0) != 0) {
        return -1;
    }
    uint64_t rfbm = xcr0 & ((r->rdx << 32) | (uint32_t)r->rax);
    size_t ksize;
    uint8_t *k = get_xsave(v, &ksize);
    if (k == NULL) {
        return -1;
    }
    /*
     * The x87 bytes are copied in KVM's 64-bit layout even for the non-REX.W forms (which would
     * store FCS/FDS in bytes 12-13 and 20-21): a save/restore pair still round-trips exactly.
     */
    struct x86_fault f;
    int rc = x->op == OP_XSAVE ? emulate_xsave(v, r, s, x->ea, rfbm, k, ksize, &f)
                               : emulate_xrstor(v, r, s, x->ea, rfbm, xcr0, k, ksize, &f);
    free(k);
    if (rc == 1) {
        return inject_pf(v, s, name, &f) == 0 ? 1 : -1;
    }
    if (rc == 0) {
        log_debug("vCPU %u: emulated %s at rip 0x%llx (area 0x%llx, RFBM 0x%llx)", v->id, name,
                  (unsigned long long)r->rip, (unsigned long long)x->ea, (unsigned long long)rfbm);
    }
    return rc;
}

int kvm_x86_emulate(struct backend_vcpu *v, struct kvm_regs *regs, const struct kvm_sregs *sregs,
                    const uint8_t *insn, size_t n)
{
    struct xinsn x;
    memset(&x, 0, sizeof(x));
    int d = decode(insn, n, regs, &x);
    if (d <= 0) {
        return d;
    }
    if (!(sregs->cr4 & CR4_OSXSAVE)) {
        return err_set("guest used XGETBV/XSAVE/XRSTOR at rip 0x%llx with CR4.OSXSAVE clear (the "
                       "CPU would raise #UD)",
                       (unsigned long long)regs->rip);
    }
    if (x.op == OP_XGETBV) {
        if (emulate_xgetbv(v, regs) != 0) {
            return -1;
        }
        log_debug("vCPU %u: emulated XGETBV at rip 0x%llx (XCR0 0x%llx)", v->id,
                  (unsigned long long)regs->rip,
                  (unsigned long long)((regs->rdx << 32) | (uint32_t)regs->rax));
    } else {
        int rc = emulate_xsave_family(v, regs, sregs, &x);
        if (rc != 0) {
            return rc > 0 ? 1 : -1; /* a fault leaves RIP at the instruction */
        }
    }
    regs->rip += x.len;
    if (kvm_ioctl(v->fd, KVM_SET_REGS, regs) != 0) {
        return err_set("KVM_SET_REGS failed on vCPU %u: %s", v->id, strerror(errno));
    }
    return 1;
}
