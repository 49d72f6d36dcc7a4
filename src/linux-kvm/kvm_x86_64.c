/*
 * kvm_x86_64.c: KVM on x86_64: boot registers, MSRs, VM-exit decoding (ABI §4); the CPUID
 * table is kvm_x86_64_cpuid.c's, the interrupt controllers kvm_x86_64_irq.c's.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "err.h"
#include "guest_virt.h"
#include "hypercall/hypercall.h"
#include "kvm_priv.h"
#include "log.h"
#include "vm.h"

const bool backend_has_pci = true;

/* Boot register values (ABI §4.2). */
#define BOOT_CR0 0x80000031ull /* PE | ET | NE | PG */
#define BOOT_CR4 0x20ull       /* PAE */
#define BOOT_EFER 0xD00ull     /* LME | LMA | NXE */
#define BOOT_RFLAGS 0x2ull     /* reserved bit 1; interrupts off */
#define BOOT_CS 0x08
#define BOOT_DS 0x10
#define BOOT_GDT_LIMIT 23 /* three descriptors */
#define MSR_IA32_MISC_ENABLE 0x1A0u

/* PCI configuration mechanism #1 ports: the core's iobus answers them. */
#define PCI_CONFIG_FIRST 0xCF8
#define PCI_CONFIG_LAST 0xCFF

/* --cpu-pm: the guest's MWAIT, HLT, PAUSE and C-state requests stay in the guest (ABI §4.1). */
static int enable_cpu_pm(struct backend_vm *vm)
{
    int have = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_DISABLE_EXITS);
    if (have <= 0 || (have & KVM_X86_DISABLE_VALID_EXITS) == 0) {
        return err_set("--cpu-pm: this host's KVM cannot let guests idle the CPU "
                       "(KVM_CAP_X86_DISABLE_EXITS is not available)");
    }
    struct kvm_enable_cap cap = {
        .cap = KVM_CAP_X86_DISABLE_EXITS,
        .args = {(uint64_t)have & KVM_X86_DISABLE_VALID_EXITS},
    };
    if (kvm_ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) != 0) {
        return err_set("--cpu-pm: KVM refused to disable idle exits: %s", strerror(errno));
    }
    log_debug("--cpu-pm: exits disabled for mask 0x%llx", (unsigned long long)cap.args[0]);
    return 0;
}

int kvm_arch_vm_init(struct backend_vm *vm)
{
    vm->arch = calloc(1, sizeof(struct kvm_x86_vm));
    if (vm->arch == NULL) {
        return err_set("out of memory creating the VM");
    }
    if (kvm_x86_irqchip_create(vm) != 0) {
        return -1;
    }
    if (vm->cfg->cpu_pm && enable_cpu_pm(vm) != 0) {
        return -1;
    }
    struct kvm_enable_cap cap = {
        .cap = KVM_CAP_X2APIC_API,
        .args = {KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK},
    };
    if (kvm_ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) != 0) {
        log_warn("KVM cannot enable the x2APIC API (%s); continuing without it", strerror(errno));
    }
    return 0;
}

int kvm_arch_vm_ready(struct backend_vm *vm)
{
    struct kvm_x86_vm *a = kvm_x86(vm);
    int khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
    a->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
    return kvm_x86_cpuid_build(vm, a);
}

void kvm_arch_vm_free(struct backend_vm *vm)
{
    struct kvm_x86_vm *a = kvm_x86(vm);
    if (a != NULL) {
        pthread_mutex_destroy(&a->ioapic_lock);
        free(a->cpuid);
        free(a);
        vm->arch = NULL;
    }
}

uint32_t backend_tsc_khz(struct backend_vm *vm)
{
    return kvm_x86(vm)->tsc_khz; /* KVM_GET_TSC_KHZ on vCPU 0, read in kvm_arch_vm_ready() */
}

/* A flat 4 GiB segment of the boot GDT (ABI §4.2). */
static void boot_segment(struct kvm_segment *s, uint16_t selector, uint8_t type, uint8_t l)
{
    memset(s, 0, sizeof(*s));
    s->base = 0;
    s->limit = 0xFFFFFFFF;
    s->selector = selector;
    s->type = type;
    s->present = 1;
    s->dpl = 0;
    s->db = 0;
    s->s = 1;
    s->l = l;
    s->g = 1;
}

int kvm_arch_vcpu_init(struct backend_vcpu *v, const struct layout *l)
{
    if (kvm_ioctl(v->fd, KVM_SET_CPUID2, kvm_x86(v->vm)->cpuid) != 0) {
        return err_set("KVM_SET_CPUID2 failed on vCPU %u: %s", v->id, strerror(errno));
    }
    /* Start from KVM's reset state: FS, GS, TR, LDT and IDT keep their reset values. */
    struct kvm_sregs sregs;
    if (kvm_ioctl(v->fd, KVM_GET_SREGS, &sregs) != 0) {
        return err_set("KVM_GET_SREGS failed on vCPU %u: %s", v->id, strerror(errno));
    }
    sregs.cr0 = BOOT_CR0;
    sregs.cr2 = 0;
    sregs.cr3 = l->pt_root;
    sregs.cr4 = BOOT_CR4;
    sregs.cr8 = 0;
    sregs.efer = BOOT_EFER;
    boot_segment(&sregs.cs, BOOT_CS, 11, 1); /* execute/read, accessed, 64-bit */
    boot_segment(&sregs.ds, BOOT_DS, 3, 0);  /* read/write, accessed */
    sregs.es = sregs.ds;
    sregs.ss = sregs.ds;
    sregs.gdt.base = l->gdt;
    sregs.gdt.limit = BOOT_GDT_LIMIT;
    if (kvm_ioctl(v->fd, KVM_SET_SREGS, &sregs) != 0) {
        return err_set("KVM_SET_SREGS failed on vCPU %u: %s", v->id, strerror(errno));
    }
    struct kvm_regs regs;
    memset(&regs, 0, sizeof(regs));
    regs.rip = l->entry;
    regs.rdi = l->boot_info;
    regs.rsi = v->id;
    regs.rsp = l->stack; /* the lowest stack address: the kernel adds 0x7FF0 itself */
    regs.rflags = BOOT_RFLAGS;
    if (kvm_ioctl(v->fd, KVM_SET_REGS, &regs) != 0) {
        return err_set("KVM_SET_REGS failed on vCPU %u: %s", v->id, strerror(errno));
    }
    /* With an in-kernel irqchip KVM parks APs in wait-for-SIPI; every vCPU starts at once. */
    struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
    if (kvm_ioctl(v->fd, KVM_SET_MP_STATE, &mp) != 0) {
        return err_set("KVM_SET_MP_STATE failed on vCPU %u: %s", v->id, strerror(errno));
    }
    /*
     * Only IA32_MISC_ENABLE = 1 (fast strings), which is all uhyve's MSR write achieves: its
     * second entry, IA32_APIC_BASE = 1, is rejected by KVM (reserved bit) and is not copied.
     */
    union { /* struct kvm_msrs ends in a flexible array: room for one entry behind it */
        struct kvm_msrs hdr;
        uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
    } msrs;
    memset(&msrs, 0, sizeof(msrs));
    msrs.hdr.nmsrs = 1;
    msrs.hdr.entries[0].index = MSR_IA32_MISC_ENABLE;
    msrs.hdr.entries[0].data = 1;
    if (kvm_ioctl(v->fd, KVM_SET_MSRS, &msrs) != 1) {
        log_warn("KVM did not accept IA32_MISC_ENABLE on vCPU %u; continuing", v->id);
    }
    return 0;
}

int backend_vcpu_pt_root(struct backend_vcpu *v, uint64_t *root)
{
    struct kvm_sregs sregs;
    if (kvm_ioctl(v->fd, KVM_GET_SREGS, &sregs) != 0) {
        return err_set("KVM_GET_SREGS failed on vCPU %u: %s", v->id, strerror(errno));
    }
    *root = sregs.cr3;
    return 0;
}

/* The guest's registers; on failure err_msg() is set. */
static int get_regs(struct backend_vcpu *v, struct kvm_regs *regs, struct kvm_sregs *sregs)
{
    if (kvm_ioctl(v->fd, KVM_GET_REGS, regs) != 0) {
        return err_set("KVM_GET_REGS failed on vCPU %u: %s", v->id, strerror(errno));
    }
    if (sregs != NULL && kvm_ioctl(v->fd, KVM_GET_SREGS, sregs) != 0) {
        return err_set("KVM_GET_SREGS failed on vCPU %u: %s", v->id, strerror(errno));
    }
    return 0;
}

static unsigned long long guest_rip(struct backend_vcpu *v)
{
    struct kvm_regs regs;
    return get_regs(v, &regs, NULL) == 0 ? regs.rip : 0;
}

/* Reads up to X86_INSN_MAX bytes at RIP (64-bit mode: CS base 0); returns how many were read. */
static size_t fetch_insn(struct backend_vcpu *v, const struct kvm_regs *regs,
                         const struct kvm_sregs *sregs, uint8_t *buf)
{
    const struct guest_mem *m = v->vm->mem;
    if (guest_virt_copy(m, sregs->cr3, regs->rip, buf, X86_INSN_MAX, false) == 0) {
        return X86_INSN_MAX;
    }
    size_t first =
        GUEST_PAGE_SIZE - (regs->rip & (GUEST_PAGE_SIZE - 1)); /* the next page may be unmapped */
    if (first < X86_INSN_MAX && guest_virt_copy(m, sregs->cr3, regs->rip, buf, first, false) == 0) {
        return first;
    }
    return 0;
}

/* "0f 0b .." or "(unreadable)". */
static void format_bytes(const uint8_t *b, size_t n, char *out, size_t cap)
{
    if (n == 0) {
        snprintf(out, cap, "(unreadable)");
        return;
    }
    size_t pos = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && pos + 4 < cap; i++) {
        pos += (size_t)snprintf(out + pos, cap - pos, i ? " %02x" : "%02x", b[i]);
    }
}

/*
 * True if the bytes look like an SSE/AVX/x87-state instruction: a VEX/EVEX prefix, or one of the
 * 0F-map opcode ranges that operate on XMM/MMX registers, MXCSR or the XSAVE state.
 */
static bool looks_like_simd(const uint8_t *b, size_t n)
{
    size_t i = 0;
    while (i < n && (b[i] == 0x66 || b[i] == 0xF2 || b[i] == 0xF3 || b[i] == 0x2E || b[i] == 0x36 ||
                     b[i] == 0x3E || b[i] == 0x26 || b[i] == 0x64 || b[i] == 0x65 || b[i] == 0x67 ||
                     b[i] == 0xF0)) {
        i++;
    }
    if (i < n && (b[i] & 0xF0) == 0x40) { /* REX */
        i++;
    }
    if (i >= n) {
        return false;
    }
    if (b[i] == 0xC4 || b[i] == 0xC5 || b[i] == 0x62) {
        return true;
    }
    if (b[i] != 0x0F || i + 1 >= n) {
        return false;
    }
    uint8_t op = b[i + 1];
    if ((op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2F) || (op >= 0x50 && op <= 0x7F) ||
        op == 0xC2 || (op >= 0xC4 && op <= 0xC6) || op >= 0xD0 || op == 0x38 || op == 0x3A) {
        return true;
    }
    if (op == 0xAE && i + 2 < n) { /* FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, XSAVE family */
        uint8_t modrm = b[i + 2];
        return (modrm >> 6) != 3 && ((modrm >> 3) & 7) != 7;
    }
    if (op == 0x01 && i + 2 < n) { /* XGETBV, XSETBV */
        return b[i + 2] == 0xD0 || b[i + 2] == 0xD1;
    }
    return false;
}

/* KVM could not emulate an instruction: emulate it ourselves if it is XGETBV/XSAVE/XRSTOR. */
static enum kvm_exit_action handle_emulation_failure(struct backend_vcpu *v)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (get_regs(v, &regs, &sregs) != 0) {
        return KVM_ACTION_FAIL;
    }
    uint8_t insn[X86_INSN_MAX];
    size_t n = fetch_insn(v, &regs, &sregs, insn);
    int r = kvm_x86_emulate(v, &regs, &sregs, insn, n);
    if (r > 0) {
        return KVM_ACTION_RESUME;
    }
    if (r < 0) {
        return KVM_ACTION_FAIL;
    }
    char bytes[64];
    format_bytes(insn, n, bytes, sizeof(bytes));
    err_set("KVM could not emulate the instruction at rip 0x%llx: bytes %s%s",
            (unsigned long long)regs.rip, bytes,
            looks_like_simd(insn, n)
                ? " (this host's KVM cannot run SSE/AVX instructions; hardware virtualization can)"
                : "");
    return KVM_ACTION_FAIL;
}

/* Port I/O: PCI configuration goes to the iobus, other OUTs are hypercalls, the rest is fatal. */
static enum kvm_exit_action handle_io(struct backend_vcpu *v, struct vcpu_exit *exit)
{
    struct kvm_run *run = v->run;
    unsigned port = run->io.port;
    uint64_t len = (uint64_t)run->io.size * run->io.count;
    uint64_t off = run->io.data_offset;
    if (off > v->vm->run_size || len > v->vm->run_size - off) {
        return err_set("KVM reported I/O data outside the kvm_run area (port 0x%x)", port);
    }
    uint8_t *data = (uint8_t *)run + off;
    if (kvm_x86_pic_pio(v->vm, port, run->io.direction == KVM_EXIT_IO_IN, data, len)) {
        return KVM_ACTION_RESUME;
    }
    bool pci = port >= PCI_CONFIG_FIRST && port <= PCI_CONFIG_LAST;
    if (pci && run->io.count == 1 &&
        iobus_pio(v->vm->bus, (uint16_t)port, run->io.direction == KVM_EXIT_IO_OUT, data,
                  run->io.size)) {
        return KVM_ACTION_RESUME;
    }
    if (run->io.direction == KVM_EXIT_IO_OUT) {
        if (pci) {
            return KVM_ACTION_RESUME; /* string or odd-sized configuration writes: ignored */
        }
        if (run->io.count != 1) {
            return err_set("guest used string I/O on port 0x%x", port);
        }
        if (run->io.size != 1 && run->io.size != 2 && run->io.size != 4) {
            return err_set("guest wrote %u bytes to port 0x%x", run->io.size, port);
        }
        exit->kind = VCPU_EXIT_HYPERCALL;
        exit->addr = port;
        if (hypercall_is_v2(port)) {
            struct kvm_regs regs;
            if (get_regs(v, &regs, NULL) != 0) {
                return KVM_ACTION_FAIL;
            }
            exit->data = regs.rdi;
        } else {
            uint32_t val = 0;
            memcpy(&val, data, run->io.size); /* the host is little-endian, like the guest */
            exit->data = val;
        }
        return KVM_ACTION_RETURN;
    }
    if (pci) {
        memset(data, 0xFF, len); /* string or odd-sized configuration reads: nothing answers */
        return KVM_ACTION_RESUME;
    }
    return err_set("guest read unknown I/O port 0x%x at rip 0x%llx", port, guest_rip(v));
}

/*
 * MMIO: device BARs go to the iobus; the legacy MP-table scan areas read as zeros (RAM not at 0);
 * the rest is fatal.
 */
static enum kvm_exit_action handle_mmio(struct backend_vcpu *v)
{
    struct kvm_run *run = v->run;
    uint64_t a = run->mmio.phys_addr;
    uint32_t len = run->mmio.len;
    if (len <= sizeof(run->mmio.data)) {
        int r = kvm_x86_ioapic_mmio(v->vm, a, run->mmio.is_write, run->mmio.data, len);
        if (r != 0) {
            return r > 0 ? KVM_ACTION_RESUME : KVM_ACTION_FAIL;
        }
    }
    if (len <= sizeof(run->mmio.data) &&
        iobus_mmio(v->vm->bus, a, run->mmio.is_write, run->mmio.data, len)) {
        return KVM_ACTION_RESUME;
    }
    bool scan = len <= sizeof(run->mmio.data) &&
                ((a >= 0x9F000 && a <= 0xA0000 - len) || (a >= 0xF0000 && a <= 0x100000 - len));
    if (!run->mmio.is_write && scan) {
        memset(run->mmio.data, 0, sizeof(run->mmio.data));
        return KVM_ACTION_RESUME;
    }
    return err_set("guest %s unmapped guest-physical address 0x%llx (%u bytes) at rip 0x%llx",
                   run->mmio.is_write ? "wrote to" : "read from", (unsigned long long)a, len,
                   guest_rip(v));
}

/* "rip 0x... (bytes: ...)" for a failure report. */
static void describe_rip(struct backend_vcpu *v, char *out, size_t cap)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (get_regs(v, &regs, &sregs) != 0) {
        snprintf(out, cap, "an unknown rip");
        return;
    }
    uint8_t insn[X86_INSN_MAX];
    char bytes[64];
    format_bytes(insn, fetch_insn(v, &regs, &sregs, insn), bytes, sizeof(bytes));
    snprintf(out, cap, "rip 0x%llx (bytes: %s)", (unsigned long long)regs.rip, bytes);
}

enum kvm_exit_action kvm_arch_handle_exit(struct backend_vcpu *v, struct vcpu_exit *exit)
{
    struct kvm_run *run = v->run;
    char where[128];
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        return handle_io(v, exit);
    case KVM_EXIT_MMIO:
        return handle_mmio(v);
    case KVM_EXIT_HLT:
        return KVM_ACTION_RESUME;
    case KVM_EXIT_IOAPIC_EOI:
        kvm_x86_ioapic_eoi(v->vm, run->eoi.vector);
        return KVM_ACTION_RESUME;
    case KVM_EXIT_DEBUG:
        return kvm_arch_debug_exit(v, exit);
    case KVM_EXIT_SHUTDOWN:
        describe_rip(v, where, sizeof(where));
        return err_set("guest triple fault (KVM shutdown) at %s", where);
    case KVM_EXIT_FAIL_ENTRY:
        describe_rip(v, where, sizeof(where));
        return err_set("KVM could not enter the guest (hardware entry failure reason 0x%llx) at %s",
                       (unsigned long long)run->fail_entry.hardware_entry_failure_reason, where);
    case KVM_EXIT_INTERNAL_ERROR:
        if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
            return handle_emulation_failure(v);
        }
        describe_rip(v, where, sizeof(where));
        return err_set("KVM internal error (suberror %u) on vCPU %u at %s", run->internal.suberror,
                       v->id, where);
    default:
        describe_rip(v, where, sizeof(where));
        return err_set("unhandled KVM exit reason %u at %s", run->exit_reason, where);
    }
}
