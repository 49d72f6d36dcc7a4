/*
 * fuzz_x86_emul.c: the x86_64 KVM backend's XGETBV/XSAVE/XRSTOR emulator (kvm_x86_64_emul.c,
 * kvm_x86_emulate()) with hostile instruction bytes, registers, page tables and XSAVE areas.
 * That file is compiled into this target with -Dioctl=fuzz_kvm_ioctl: its KVM ioctls come here
 * and are answered from a fake vCPU (XCR0, the XSAVE buffer, the registers and the events KVM
 * would take, including an injected #PF), so no /dev/kvm is needed and the emulator runs
 * unchanged.
 * Input (little endian): 0-14 the bytes at RIP, 15 how many of them were fetched (mod 16);
 * 16 XCR0; 24 RAX, 32 RCX, 40 RDX, 48 RBX, 56 RSI, 64 RDI, 72 RIP; 80 CR0, 88 CR3, 96 CR4,
 * 104 EFER; 112 flags (bit 0 CS.L, bit 1 KVM_CAP_XSAVE2 with an 8 KiB buffer, bit 2 an exception
 * already pending, bits 4-7 make the XCRS / GET_XSAVE / SET_XSAVE / SET_REGS ioctls fail); 113-144
 * the CPUID 0xD sub-leaves 2-9 as (size, offset) pairs of 16 bits; the rest is 64 KiB of guest RAM
 * at 0.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "guest_mem.h"
#include "kvm_priv.h"
#include "log.h"

#define RAM (64u << 10)
#define HEADER 145
#define XSAVE2_SIZE 8192
#define NCOMP 8

static struct guest_mem mem;
static struct backend_vm *vm;
static struct kvm_x86_vm xvm;
static struct kvm_cpuid2 *cpuid; /* NCOMP entries */
static uint64_t xcr0;
static unsigned fail;     /* bit 0 XCRS, 1 GET_XSAVE, 2 SET_XSAVE, 3 SET_REGS */
static int xsave2;        /* KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) */
static size_t xsave_size; /* the buffer the emulator must pass */
static bool pending;      /* KVM_GET_VCPU_EVENTS reports an exception not yet delivered */
static struct kvm_regs set_regs;
static int nset_regs, nset_xsave, nset_sregs, nset_events;
static uint8_t injected; /* the vector KVM_SET_VCPU_EVENTS injected */

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int fuzz_kvm_ioctl(int fd, unsigned long req, ...);

/* The requests kvm_x86_64_emul.c makes, as KVM answers them. */
int fuzz_kvm_ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (req == KVM_CHECK_EXTENSION) {
        if (fd != vm->vm_fd || (long)(uintptr_t)arg != KVM_CAP_XSAVE2)
            abort();
        return xsave2;
    }
    if (fd != vm->vcpus[0].fd)
        abort(); /* every other request goes to the vCPU */
    if (req == KVM_GET_XCRS) {
        if (fail & 1)
            return errno = EIO, -1;
        struct kvm_xcrs *x = arg;
        memset(x, 0, sizeof(*x));
        x->nr_xcrs = 1;
        x->xcrs[0].xcr = 0;
        x->xcrs[0].value = xcr0;
        return 0;
    }
    if (req == KVM_GET_XSAVE || req == KVM_GET_XSAVE2) {
        if ((req == KVM_GET_XSAVE2) != (xsave2 > 0))
            abort();
        if (fail & 2)
            return errno = EIO, -1;
        uint8_t *b = arg;
        for (size_t i = 0; i < xsave_size; i++) /* every byte written: ASan checks the size */
            b[i] = (uint8_t)(i * 13 + 7);
        memset(b + 512, 0, 64);
        b[512] = (uint8_t)xcr0; /* XSTATE_BV: the enabled legacy and AVX parts are in use */
        return 0;
    }
    if (req == KVM_SET_XSAVE) {
        const volatile uint8_t *b = arg;
        uint8_t sum = 0;
        for (size_t i = 0; i < xsave_size; i++) /* KVM reads the whole buffer */
            sum ^= b[i];
        (void)sum;
        nset_xsave++;
        return fail & 4 ? (errno = EINVAL, -1) : 0;
    }
    if (req == KVM_SET_REGS) {
        memcpy(&set_regs, arg, sizeof(set_regs));
        nset_regs++;
        return fail & 8 ? (errno = EIO, -1) : 0;
    }
    if (req == KVM_GET_VCPU_EVENTS) {
        struct kvm_vcpu_events *ev = arg;
        memset(ev, 0, sizeof(*ev));
        ev->exception.pending = pending;
        ev->exception.nr = pending ? 13 : 0;
        return 0;
    }
    if (req == KVM_SET_SREGS) {
        nset_sregs++;
        return 0;
    }
    if (req == KVM_SET_VCPU_EVENTS) {
        const struct kvm_vcpu_events *ev = arg;
        if (ev->exception.injected || ev->exception.pending)
            injected = ev->exception.nr;
        nset_events++;
        return 0;
    }
    abort(); /* a request the emulator has no business making */
}

static void setup(void)
{
    log_threshold = LOG_ERROR;
    if (guest_mem_init(&mem, 0, RAM) != 0)
        abort();
    vm = calloc(1, sizeof(*vm) + sizeof(struct backend_vcpu));
    if (!vm)
        abort();
    vm->mem = &mem;
    vm->kvm_fd = 100;
    vm->vm_fd = 101;
    vm->ncpus = 1;
    vm->arch = &xvm;
    vm->vcpus[0].vm = vm;
    vm->vcpus[0].fd = 102;
    cpuid = calloc(1, sizeof(*cpuid) + NCOMP * sizeof(cpuid->entries[0]));
    if (!cpuid)
        abort();
    xvm.cpuid = cpuid;
    xvm.cpuid_cap = NCOMP;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        setup();
        ready = 1;
    }
    if (size < HEADER)
        return 0;
    uint8_t insn[X86_INSN_MAX];
    memcpy(insn, data, X86_INSN_MAX);
    size_t n = data[15] % 16;
    xcr0 = le(data + 16, 8);
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    memset(&regs, 0, sizeof(regs));
    memset(&sregs, 0, sizeof(sregs));
    regs.rax = le(data + 24, 8);
    regs.rcx = le(data + 32, 8);
    regs.rdx = le(data + 40, 8);
    regs.rbx = le(data + 48, 8);
    regs.rsi = le(data + 56, 8);
    regs.rdi = le(data + 64, 8);
    regs.rip = le(data + 72, 8);
    regs.r8 = 0x1000;
    regs.r13 = 0x2040;
    sregs.cr0 = le(data + 80, 8);
    sregs.cr3 = le(data + 88, 8);
    sregs.cr4 = le(data + 96, 8);
    sregs.efer = le(data + 104, 8);
    uint8_t flags = data[112];
    sregs.cs.l = flags & 1;
    xsave2 = flags & 2 ? XSAVE2_SIZE : 0;
    xsave_size = xsave2 ? XSAVE2_SIZE : sizeof(struct kvm_xsave);
    pending = flags & 4;
    fail = flags >> 4;
    cpuid->nent = NCOMP;
    for (unsigned i = 0; i < NCOMP; i++) {
        struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
        memset(e, 0, sizeof(*e));
        e->function = 0xD;
        e->index = 2 + i;
        e->eax = (uint32_t)le(data + 113 + 4 * i, 2);
        e->ebx = (uint32_t)le(data + 115 + 4 * i, 2);
    }
    uint8_t *ram = guest_mem_ptr(&mem, 0, RAM);
    size_t rest = size - HEADER;
    memset(ram, 0, RAM);
    memcpy(ram, data + HEADER, rest < RAM ? rest : RAM);
    nset_regs = nset_xsave = nset_sregs = nset_events = 0;
    injected = 0;

    struct kvm_regs before = regs;
    int r = kvm_x86_emulate(&vm->vcpus[0], &regs, &sregs, insn, n);
    if (r < -1 || r > 1)
        abort();
    if (r == 1 && regs.rip == before.rip) {
        /* a fault the CPU would raise: #PF injected, RIP left at the instruction */
        if (nset_regs || nset_events != 1 || injected != 14)
            abort();
    } else if (r == 1) {
        /* emulated: RIP moved past an instruction no longer than the bytes fetched */
        uint64_t moved = regs.rip - before.rip;
        if (moved > n || nset_regs != 1 || memcmp(&set_regs, &regs, sizeof(regs)) || nset_events)
            abort();
    } else if (r == 0) {
        /* not ours: untouched, nothing loaded into the vCPU */
        if (memcmp(&before, &regs, sizeof(regs)) != 0 || nset_regs || nset_xsave || nset_sregs ||
            nset_events)
            abort();
    }
    return 0;
}
