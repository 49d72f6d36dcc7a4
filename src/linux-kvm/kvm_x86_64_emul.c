/*
 * kvm_x86_64_emul.c: emulates XGETBV, XSAVE and XRSTOR for KVMs that cannot (nested, software-only
 * KVM reports an emulation failure for them); the state comes from KVM_GET_XCRS / KVM_GET_XSAVE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "err.h"
#include "guest_virt.h"
#include "kvm_priv.h"
#include "log.h"

#define CR0_TS (1ull << 3)
#define CR4_OSXSAVE (1ull << 18)
#define EFER_LMA (1ull << 10)

/* The standard (non-compacted) XSAVE format, SDM vol. 1 §13.4. */
#define XS_FCW 0
#define XS_FSW 2
#define XS_FTW 4
#define XS_MXCSR 24
#define XS_MXCSR_MASK 28
#define XS_X87_END 24 /* x87 part: bytes 0-23 and 32-159 */
#define XS_ST0 32
#define XS_XMM0 160
#define XS_XMM_END 416
#define XS_HEADER 512 /* XSTATE_BV (8), XCOMP_BV (8), reserved (48) */
#define XS_MIN 576
#define XCOMP_BV_COMPACT (1ull << 63)
#define MXCSR_DEFAULT_MASK 0xFFBFu

#define XF_X87 1ull
#define XF_SSE 2ull
#define XF_AVX 4ull

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
 * Offset and size of XSAVE state component i (i >= 2) in the standard format, from the CPUID
 * table the guest sees (leaf 0xD, sub-leaf i). 0, or -1 if the component is unknown.
 */
static int xsave_layout(const struct backend_vm *vm, unsigned i, uint32_t *offset, uint32_t *size)
{
    const struct kvm_cpuid2 *c = kvm_x86(vm)->cpuid;
    int k = kvm_x86_cpuid_index(c, 0xD, i);
    if (k < 0 || c->entries[k].eax == 0) {
        return -1;
    }
    *size = c->entries[k].eax;
    *offset = c->entries[k].ebx;
    return 0;
}

/*
 * Bytes of the standard-format area that components `mask` occupy (at least legacy + header),
 * checking each component i >= 2 against the CPUID layout and KVM's buffer size.
 */
static int area_extent(struct backend_vcpu *v, uint64_t mask, size_t kvm_size, size_t *extent)
{
    size_t end = XS_MIN;
    for (unsigned i = 2; i < 63; i++) {
        if (!(mask & (1ull << i))) {
            continue;
        }
        uint32_t off, size;
        if (xsave_layout(v->vm, i, &off, &size) != 0 || off < XS_MIN ||
            (uint64_t)off + size > kvm_size) {
            return err_set("XSAVE state component %u has no usable layout on this host", i);
        }
        if (off + size > end) {
            end = off + size;
        }
    }
    *extent = end;
    return 0;
}

/* XSAVE: the vCPU's components in RFBM go to the guest area (SDM vol. 1 §13.7). */
static int emulate_xsave(struct backend_vcpu *v, const struct kvm_sregs *s, uint64_t ea,
                         uint64_t rfbm, const uint8_t *k, size_t ksize)
{
    size_t ext;
    if (area_extent(v, rfbm, ksize, &ext) != 0) {
        return -1;
    }
    uint8_t *area = malloc(ext);
    if (area == NULL) {
        return err_set("out of memory for the XSAVE area");
    }
    int r = guest_virt_copy(v->vm->mem, s->cr3, ea, area, ext, false);
    if (r == 0) {
        if (rfbm & XF_X87) {
            memcpy(area, k, XS_X87_END);
            memcpy(area + XS_ST0, k + XS_ST0, XS_XMM0 - XS_ST0);
        }
        if (rfbm & (XF_SSE | XF_AVX)) {
            memcpy(area + XS_MXCSR, k + XS_MXCSR, 8); /* MXCSR and MXCSR_MASK */
        }
        if (rfbm & XF_SSE) {
            memcpy(area + XS_XMM0, k + XS_XMM0, XS_XMM_END - XS_XMM0);
        }
        for (unsigned i = 2; i < 63; i++) {
            uint32_t off, size;
            if ((rfbm & (1ull << i)) && xsave_layout(v->vm, i, &off, &size) == 0) {
                memcpy(area + off, k + off, size);
            }
        }
        uint64_t bv = get64(area + XS_HEADER);
        put64(area + XS_HEADER, (bv & ~rfbm) | (get64(k + XS_HEADER) & rfbm));
        r = guest_virt_copy(v->vm->mem, s->cr3, ea, area, ext, true);
    }
    free(area);
    return r;
}

/* XRSTOR (standard form): components in RFBM come from the guest area or their initial state. */
static int emulate_xrstor(struct backend_vcpu *v, const struct kvm_sregs *s, uint64_t ea,
                          uint64_t rfbm, uint64_t xcr0, uint8_t *k, size_t ksize)
{
    uint8_t hdr[XS_MIN];
    if (guest_virt_copy(v->vm->mem, s->cr3, ea, hdr, sizeof(hdr), false) != 0) {
        return -1;
    }
    uint64_t bv = get64(hdr + XS_HEADER), comp = get64(hdr + XS_HEADER + 8);
    if (comp & XCOMP_BV_COMPACT) {
        return err_set("guest XRSTOR of a compacted XSAVE area at 0x%llx is not emulated by chyve",
                       (unsigned long long)ea);
    }
    if (comp != 0 || get64(hdr + XS_HEADER + 16) != 0) {
        return err_set("guest XRSTOR area at 0x%llx has reserved header bytes set (the CPU would "
                       "raise #GP)",
                       (unsigned long long)ea);
    }
    if (bv & ~xcr0) {
        return err_set("guest XRSTOR area at 0x%llx has XSTATE_BV 0x%llx outside XCR0 0x%llx (the "
                       "CPU would raise #GP)",
                       (unsigned long long)ea, (unsigned long long)bv, (unsigned long long)xcr0);
    }
    size_t ext;
    if (area_extent(v, rfbm & bv, ksize, &ext) != 0) {
        return -1;
    }
    uint8_t *area = malloc(ext);
    if (area == NULL) {
        return err_set("out of memory for the XSAVE area");
    }
    if (guest_virt_copy(v->vm->mem, s->cr3, ea, area, ext, false) != 0) {
        free(area);
        return -1;
    }
    if (rfbm & (XF_SSE | XF_AVX)) {
        uint32_t mask = get32(k + XS_MXCSR_MASK), mxcsr = get32(area + XS_MXCSR);
        if (mask == 0) {
            mask = MXCSR_DEFAULT_MASK;
        }
        if (mxcsr & ~mask) {
            free(area);
            return err_set("guest XRSTOR loads MXCSR 0x%x with reserved bits (the CPU would "
                           "raise #GP)",
                           mxcsr);
        }
        memcpy(k + XS_MXCSR, &mxcsr, 4); /* loaded whatever XSTATE_BV[2:1] say */
    }
    if (rfbm & XF_X87) {
        if (bv & XF_X87) {
            memcpy(k, area, XS_X87_END);
            memcpy(k + XS_ST0, area + XS_ST0, XS_XMM0 - XS_ST0);
        } else { /* initial x87 state: FCW 0x037F, everything else 0 (FTW 0 = all empty) */
            memset(k, 0, XS_X87_END);
            memset(k + XS_ST0, 0, XS_XMM0 - XS_ST0);
            k[XS_FCW] = 0x7F;
            k[XS_FCW + 1] = 0x03;
        }
    }
    if (rfbm & XF_SSE) {
        if (bv & XF_SSE) {
            memcpy(k + XS_XMM0, area + XS_XMM0, XS_XMM_END - XS_XMM0);
        } else {
            memset(k + XS_XMM0, 0, XS_XMM_END - XS_XMM0);
        }
    }
    for (unsigned i = 2; i < 63; i++) {
        uint32_t off, size;
        if (!(rfbm & (1ull << i)) || xsave_layout(v->vm, i, &off, &size) != 0 ||
            (uint64_t)off + size > ksize) {
            continue;
        }
        if (bv & (1ull << i)) {
            memcpy(k + off, area + off, size);
        } else {
            memset(k + off, 0, size);
        }
    }
    free(area);
    uint64_t kbv = (get64(k + XS_HEADER) & ~rfbm) | (bv & rfbm);
    /* KVM takes MXCSR only with SSE or AVX marked present; zeroed XMMs equal the SSE init state. */
    if (rfbm & (XF_SSE | XF_AVX)) {
        kbv |= XF_SSE;
    }
    put64(k + XS_HEADER, kbv);
    if (kvm_ioctl(v->fd, KVM_SET_XSAVE, k) != 0) {
        return err_set("cannot load the FPU state of vCPU %u (KVM_SET_XSAVE: %s)", v->id,
                       strerror(errno));
    }
    return 0;
}

/* XSAVE / XRSTOR: checks what the CPU checks first, then moves the state. */
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
    int rc = x->op == OP_XSAVE ? emulate_xsave(v, s, x->ea, rfbm, k, ksize)
                               : emulate_xrstor(v, s, x->ea, rfbm, xcr0, k, ksize);
    free(k);
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
    } else if (emulate_xsave_family(v, regs, sregs, &x) != 0) {
        return -1;
    }
    regs->rip += x.len;
    if (kvm_ioctl(v->fd, KVM_SET_REGS, regs) != 0) {
        return err_set("KVM_SET_REGS failed on vCPU %u: %s", v->id, strerror(errno));
    }
    return 1;
}
