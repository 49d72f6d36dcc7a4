/*
 * kvm_aarch64.c: KVM on arm64: vCPU init (preferred target, PSCI, vPMU), in-kernel vGICv3,
 * boot registers through ONE_REG, hypercalls as MMIO exits from the trap window (ABI §5.5).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "aarch64.h"
#include "aarch64_boot.h"
#include "err.h"
#include "hypercall/hypercall.h"
#include "kvm_priv.h"
#include "log.h"

/* No PCI host bridge is described in the FDT, so there is no bus to probe. */
const bool backend_has_pci = false;

/* ONE_REG ids of the registers chyve sets or reads. */
#define CORE_REG(name)                                                                             \
    (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(name))
#define REG_PC CORE_REG(regs.pc)
#define REG_PSTATE CORE_REG(regs.pstate)
#define REG_SP_EL1 CORE_REG(sp_el1)
#define REG_X(n) CORE_REG(regs.regs[n])
#define REG_MPIDR_EL1 ARM64_SYS_REG(3, 0, 0, 0, 5)
#define REG_ID_AA64MMFR0_EL1 ARM64_SYS_REG(3, 0, 0, 7, 0)
#define REG_SCTLR_EL1 ARM64_SYS_REG(3, 0, 1, 0, 0)
#define REG_CPACR_EL1 ARM64_SYS_REG(3, 0, 1, 0, 2)
#define REG_TTBR0_EL1 ARM64_SYS_REG(3, 0, 2, 0, 0)
#define REG_TTBR1_EL1 ARM64_SYS_REG(3, 0, 2, 0, 1)
#define REG_TCR_EL1 ARM64_SYS_REG(3, 0, 2, 0, 2)
#define REG_MDSCR_EL1 ARM64_SYS_REG(2, 0, 0, 2, 2)
#define REG_MAIR_EL1 ARM64_SYS_REG(3, 0, 10, 2, 0)

uint64_t kvm_aarch64_trap_window(void)
{
    long page = sysconf(_SC_PAGESIZE);
    uint64_t p = page > 0 ? (uint64_t)page : 4096;
    /* A memory slot starts on a host page; the layout keeps boot data out of a 64 KiB page too. */
    return LAYOUT_TRAP_WINDOW > p ? LAYOUT_TRAP_WINDOW : p;
}

static int get_reg(struct backend_vcpu *v, uint64_t id, uint64_t *val)
{
    struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)val};
    return kvm_ioctl(v->fd, KVM_GET_ONE_REG, &r);
}

static int set_reg(struct backend_vcpu *v, uint64_t id, uint64_t val)
{
    struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)&val};
    return kvm_ioctl(v->fd, KVM_SET_ONE_REG, &r);
}

int kvm_arch_vm_init(struct backend_vm *vm)
{
    struct kvm_a64_vm *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return err_set("out of memory creating the VM");
    }
    a->gic_fd = -1;
    vm->arch = a;
    a->dbg = calloc(vm->ncpus, sizeof(*a->dbg));
    if (a->dbg == NULL) {
        return err_set("out of memory creating the VM");
    }
    if (vm->ncpus * A64_GICR_STRIDE > A64_GICR_SIZE) {
        return err_set("%u vCPUs do not fit the GICv3 redistributor range", vm->ncpus);
    }
    /* Accesses KVM cannot decode (pairs, writeback) exit with their address instead of ENOSYS. */
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_NISV_TO_USER) > 0) {
        struct kvm_enable_cap cap = {.cap = KVM_CAP_ARM_NISV_TO_USER};
        if (kvm_ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) != 0) {
            log_debug("KVM_CAP_ARM_NISV_TO_USER: %s", strerror(errno));
        }
    }
    return 0;
}

/* Sets one attribute of a KVM device (vGIC) or vCPU (vPMU); names `what` on failure. */
static int set_attr(int fd, uint32_t group, uint64_t attr, const void *val, const char *what)
{
    struct kvm_device_attr da = {.group = group, .attr = attr, .addr = (uint64_t)(uintptr_t)val};
    if (kvm_ioctl(fd, KVM_SET_DEVICE_ATTR, &da) != 0) {
        return err_set("cannot set up %s: %s", what, strerror(errno));
    }
    return 0;
}

/* The in-kernel GICv3 at the FDT's addresses; initialised once every vCPU exists (ABI §5.5). */
static int create_vgic(struct backend_vm *vm)
{
    struct kvm_create_device cd = {.type = KVM_DEV_TYPE_ARM_VGIC_V3};
    if (kvm_ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd) != 0) {
        return err_set("KVM cannot create an in-kernel GICv3 (%s); chyve needs a GICv3 host",
                       strerror(errno));
    }
    kvm_a64(vm)->gic_fd = (int)cd.fd;
    uint64_t dist = A64_GICD_BASE, redist = A64_GICR_BASE;
    uint32_t nirqs = A64_GIC_NR_IRQS;
    if (set_attr((int)cd.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist,
                 "the GICv3 distributor") != 0 ||
        set_attr((int)cd.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist,
                 "the GICv3 redistributors") != 0 ||
        set_attr((int)cd.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nirqs, "the GICv3 IRQ count") != 0 ||
        set_attr((int)cd.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL,
                 "the GICv3") != 0) {
        return -1;
    }
    return 0;
}

/* KVM_ARM_VCPU_INIT on every vCPU with the preferred target, PSCI 0.2 and, if offered, the vPMU. */
static int init_vcpus(struct backend_vm *vm, bool *pmu)
{
    struct kvm_vcpu_init init;
    memset(&init, 0, sizeof(init));
    if (kvm_ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) != 0) {
        return err_set("KVM_ARM_PREFERRED_TARGET failed: %s", strerror(errno));
    }
    init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
    /* Hermit writes PMU registers during boot; with a vPMU they never trap (ABI §5.4). */
    *pmu = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PMU_V3) > 0;
    if (*pmu) {
        init.features[0] |= 1u << KVM_ARM_VCPU_PMU_V3;
    }
    for (unsigned i = 0; i < vm->ncpus; i++) {
        if (kvm_ioctl(vm->vcpus[i].fd, KVM_ARM_VCPU_INIT, &init) != 0) {
            return err_set("KVM_ARM_VCPU_INIT failed on vCPU %u: %s", i, strerror(errno));
        }
    }
    return 0;
}

/* The vPMU's overflow interrupt; after the vGIC is initialised, as KVM requires. */
static int init_pmu(struct backend_vm *vm)
{
    int irq = 16 + A64_PPI_PMU;
    for (unsigned i = 0; i < vm->ncpus; i++) {
        if (set_attr(vm->vcpus[i].fd, KVM_ARM_VCPU_PMU_V3_CTRL, KVM_ARM_VCPU_PMU_V3_IRQ, &irq,
                     "the vPMU interrupt") != 0 ||
            set_attr(vm->vcpus[i].fd, KVM_ARM_VCPU_PMU_V3_CTRL, KVM_ARM_VCPU_PMU_V3_INIT, NULL,
                     "the vPMU") != 0) {
            return -1;
        }
    }
    return 0;
}

int kvm_arch_vm_ready(struct backend_vm *vm)
{
    bool pmu = false;
    if (init_vcpus(vm, &pmu) != 0 || create_vgic(vm) != 0 || (pmu && init_pmu(vm) != 0)) {
        return -1;
    }
    struct kvm_a64_vm *a = kvm_a64(vm);
    if (get_reg(&vm->vcpus[0], REG_ID_AA64MMFR0_EL1, &a->mmfr0) != 0) {
        return err_set("cannot read ID_AA64MMFR0_EL1: %s", strerror(errno));
    }
    if (A64_MMFR0_TGRAN4(a->mmfr0) != 0) {
        /* FEAT_LPA2 reports 1; KVM does not let the VMM hide it (ABI §5.4). */
        log_warn("this CPU reports ID_AA64MMFR0_EL1.TGran4 = %u (FEAT_LPA2): Hermit kernels up "
                 "to 0.13 assert TGran4 == 0 and will panic at boot",
                 (unsigned)A64_MMFR0_TGRAN4(a->mmfr0));
    }
    return 0;
}

void kvm_arch_vm_free(struct backend_vm *vm)
{
    struct kvm_a64_vm *a = kvm_a64(vm);
    if (a != NULL) {
        if (a->gic_fd >= 0) {
            close(a->gic_fd);
        }
        free(a->dbg);
        free(a);
        vm->arch = NULL;
    }
}

uint32_t backend_tsc_khz(struct backend_vm *vm)
{
    (void)vm; /* the guest reads CNTFRQ_EL0; there is no TSC (no /hermit,tsc, cpu_freq 0) */
    return 0;
}

int kvm_arch_vcpu_init(struct backend_vcpu *v, const struct layout *l)
{
    uint64_t cpacr;
    if (get_reg(v, REG_CPACR_EL1, &cpacr) != 0) {
        return err_set("cannot read CPACR_EL1 of vCPU %u: %s", v->id, strerror(errno));
    }
    struct aarch64_boot_regs r;
    aarch64_boot_regs(l, v->id, A64_MMFR0_PARANGE(kvm_a64(v->vm)->mmfr0), cpacr, &r);
    const struct {
        uint64_t id;
        uint64_t val;
        const char *name;
    } regs[] = {
        {REG_PC, r.pc, "PC"},
        {REG_PSTATE, r.pstate, "PSTATE"},
        {REG_SP_EL1, r.sp_el1, "SP_EL1"},
        {REG_X(0), r.x0, "X0"},
        {REG_X(1), r.x1, "X1"},
        {REG_MAIR_EL1, r.mair_el1, "MAIR_EL1"},
        {REG_TCR_EL1, r.tcr_el1, "TCR_EL1"},
        {REG_TTBR0_EL1, r.ttbr0_el1, "TTBR0_EL1"},
        {REG_TTBR1_EL1, r.ttbr1_el1, "TTBR1_EL1"},
        {REG_CPACR_EL1, r.cpacr_el1, "CPACR_EL1"},
        {REG_MDSCR_EL1, r.mdscr_el1, "MDSCR_EL1"},
        {REG_SCTLR_EL1, r.sctlr_el1, "SCTLR_EL1"},
        {REG_MPIDR_EL1, r.mpidr_el1, "MPIDR_EL1"},
    };
    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
        if (set_reg(v, regs[i].id, regs[i].val) != 0) {
            return err_set("cannot set %s of vCPU %u to 0x%llx: %s", regs[i].name, v->id,
                           (unsigned long long)regs[i].val, strerror(errno));
        }
    }
    return 0;
}

int backend_vcpu_pt_root(struct backend_vcpu *v, uint64_t *root)
{
    if (get_reg(v, REG_TTBR0_EL1, root) != 0) {
        return err_set("cannot read TTBR0_EL1 of vCPU %u: %s", v->id, strerror(errno));
    }
    return 0;
}

/* The guest's PC for error messages (0 if it cannot be read). */
static unsigned long long guest_pc(struct backend_vcpu *v)
{
    uint64_t pc = 0;
    return get_reg(v, REG_PC, &pc) == 0 ? pc : 0;
}

/*
 * MMIO: a 64-bit store into the trap window is a hypercall (address = IPA - guest_base, data =
 * the stored X8; KVM has already stepped past the store). Anything else touches memory chyve
 * does not have, which a Hermit kernel never does: fatal.
 */
int backend_irq_line(struct backend_vm *vm, unsigned line, bool level)
{
    struct kvm_irq_level irq = {
        .irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | (32 + line),
        .level = level ? 1 : 0,
    };
    if (kvm_ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) != 0) {
        return err_set("KVM_IRQ_LINE for SPI %u failed: %s", line, strerror(errno));
    }
    return 0;
}

static enum kvm_exit_action handle_mmio(struct backend_vcpu *v, struct vcpu_exit *exit)
{
    struct kvm_run *run = v->run;
    uint64_t ipa = run->mmio.phys_addr, base = v->vm->mem->base;
    uint32_t len = run->mmio.len;
    bool in_window = ipa >= base && ipa - base < LAYOUT_TRAP_WINDOW;
    if (in_window && run->mmio.is_write && len == 8) {
        uint64_t data;
        memcpy(&data, run->mmio.data, sizeof(data)); /* little-endian host and guest */
        exit->kind = VCPU_EXIT_HYPERCALL;
        exit->addr = ipa - base;
        exit->data = data;
        return KVM_ACTION_RETURN;
    }
    if (in_window && run->mmio.is_write) {
        return err_set("guest made a %u-byte store to hypercall address 0x%llx at pc 0x%llx "
                       "(hypercalls are 64-bit stores of X8)",
                       len, (unsigned long long)(ipa - base), guest_pc(v));
    }
    if (!in_window && len <= sizeof(run->mmio.data) &&
        iobus_mmio(v->vm->bus, ipa, run->mmio.is_write, run->mmio.data, len)) {
        return KVM_ACTION_RESUME; /* a device register or the PCI configuration window */
    }
    return err_set("guest %s unmapped guest-physical address 0x%llx (%u bytes) at pc 0x%llx",
                   run->mmio.is_write ? "wrote to" : "read from", (unsigned long long)ipa, len,
                   guest_pc(v));
}

/* PSCI SYSTEM_OFF / RESET and crashes: the guest ended without an Exit hypercall. */
static enum kvm_exit_action handle_system_event(struct backend_vcpu *v)
{
    unsigned type = v->run->system_event.type;
    switch (type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        return err_set("guest powered off through PSCI SYSTEM_OFF at pc 0x%llx without an Exit "
                       "hypercall, so its exit code is unknown",
                       guest_pc(v));
    case KVM_SYSTEM_EVENT_RESET:
        return err_set("guest asked for a reset through PSCI SYSTEM_RESET at pc 0x%llx; chyve "
                       "does not reboot guests",
                       guest_pc(v));
    default:
        return err_set("guest raised KVM system event %u at pc 0x%llx", type, guest_pc(v));
    }
}

enum kvm_exit_action kvm_arch_handle_exit(struct backend_vcpu *v, struct vcpu_exit *exit)
{
    const struct kvm_run *run = v->run;
    switch (run->exit_reason) {
    case KVM_EXIT_MMIO:
        return handle_mmio(v, exit);
    case KVM_EXIT_SYSTEM_EVENT:
        return handle_system_event(v);
    case KVM_EXIT_DEBUG:
        return kvm_arch_debug_exit(v, exit);
    case KVM_EXIT_ARM_NISV:
        return err_set("guest accessed guest-physical address 0x%llx at pc 0x%llx with an "
                       "instruction KVM cannot forward (load/store pair or writeback; ISS 0x%llx)",
                       (unsigned long long)run->arm_nisv.fault_ipa, guest_pc(v),
                       (unsigned long long)run->arm_nisv.esr_iss);
    case KVM_EXIT_FAIL_ENTRY:
        return err_set("KVM could not enter the guest (reason 0x%llx) at pc 0x%llx",
                       (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
                       guest_pc(v));
    case KVM_EXIT_INTERNAL_ERROR:
        return err_set("KVM internal error (suberror %u) on vCPU %u at pc 0x%llx",
                       run->internal.suberror, v->id, guest_pc(v));
    default:
        return err_set("unhandled KVM exit reason %u at pc 0x%llx", run->exit_reason, guest_pc(v));
    }
}

/* Nothing here is slow enough before the VM exists to be worth a thread (backend.h). */
void backend_warm_up(void) {}

void backend_warm_up_end(void) {}
