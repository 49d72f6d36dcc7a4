/* hvf.c: the Hypervisor.framework backend (Apple silicon): VM, guest RAM, GIC, vCPU creation. */
#include <inttypes.h>
#include <stdlib.h>

#include "../arch-aarch64/aarch64.h"
#include "../arch-aarch64/aarch64_boot.h"
#include "err.h"
#include "hvf_priv.h"
#include "log.h"
#include "vm.h"

const bool backend_has_pci = false;

/*
 * Creates the framework's GICv3 with the distributor and redistributors where the FDT says they
 * are (ABI §5.1). Must run after hv_vm_create and before the first vCPU exists. Hermit kernels
 * cannot run without a GIC, so a macOS without one (before 15) is a start-up error.
 */
static int create_gic(struct backend_vm *vm)
{
#if HVF_HAVE_GIC_API
    if (HVF_GIC_RUNTIME_AVAILABLE()) {
        size_t dist_size = 0, dist_align = 0, redist_size = 0, redist_align = 0;
        hv_return_t r = hv_gic_get_distributor_size(&dist_size);
        if (r == HV_SUCCESS)
            r = hv_gic_get_distributor_base_alignment(&dist_align);
        if (r == HV_SUCCESS)
            r = hv_gic_get_redistributor_region_size(&redist_size);
        if (r == HV_SUCCESS)
            r = hv_gic_get_redistributor_base_alignment(&redist_align);
        if (r != HV_SUCCESS)
            return err_set("cannot query the Hypervisor.framework GIC: %s", hvf_strerror(r));
        if (dist_size > A64_GICD_SIZE || dist_align == 0 || A64_GICD_BASE % dist_align)
            return err_set("the Hypervisor.framework GIC distributor (0x%zx bytes, aligned to "
                           "0x%zx) does not fit at 0x%llx+0x%llx",
                           dist_size, dist_align, A64_GICD_BASE, A64_GICD_SIZE);
        /* The FDT's range ends where the PCI ECAM window starts, below guest RAM. */
        if (redist_align == 0 || A64_GICR_BASE % redist_align || redist_size > A64_GICR_SIZE ||
            A64_GICR_BASE + redist_size > vm->guest_base)
            return err_set(
                "the Hypervisor.framework GIC redistributors (0x%zx bytes, aligned to "
                "0x%zx) do not fit the 0x%llx bytes at 0x%llx the device tree gives them",
                redist_size, redist_align, A64_GICR_SIZE, A64_GICR_BASE);
        hv_gic_config_t cfg = hv_gic_config_create();
        if (cfg == NULL)
            return err_set("cannot create a Hypervisor.framework GIC configuration");
        r = hv_gic_config_set_distributor_base(cfg, A64_GICD_BASE);
        if (r == HV_SUCCESS)
            r = hv_gic_config_set_redistributor_base(cfg, A64_GICR_BASE);
        if (r == HV_SUCCESS)
            r = hv_gic_create(cfg);
        os_release(cfg);
        if (r != HV_SUCCESS)
            return err_set("cannot create the Hypervisor.framework GIC: %s", hvf_strerror(r));
        return 0;
    }
#endif
    (void)vm;
    return err_set("this macOS has no Hypervisor.framework GIC (macOS 15 or later is needed), and "
                   "Hermit kernels need one");
}

/* Reads the vCPUs' ID_AA64MMFR0_EL1 from the default vCPU configuration: PARange, TGran4. */
static int read_id_regs(struct backend_vm *vm)
{
    vm->vcpu_config = hv_vcpu_config_create();
    if (vm->vcpu_config == NULL)
        return err_set("cannot create a Hypervisor.framework vCPU configuration");
    uint64_t mmfr0;
    hv_return_t r =
        hv_vcpu_config_get_feature_reg(vm->vcpu_config, HV_FEATURE_REG_ID_AA64MMFR0_EL1, &mmfr0);
    if (r != HV_SUCCESS)
        return err_set("cannot read ID_AA64MMFR0_EL1 for the vCPUs: %s", hvf_strerror(r));
    vm->parange = A64_MMFR0_PARANGE(mmfr0);
    /* ABI §5.4: Hermit kernels assert TGran4 == 0 (4 KiB pages, 48-bit addresses). */
    if (A64_MMFR0_TGRAN4(mmfr0) != 0)
        log_warn("this Mac's vCPUs report ID_AA64MMFR0_EL1.TGran4 = %u; Hermit kernels that "
                 "require 0 will panic at boot",
                 (unsigned)A64_MMFR0_TGRAN4(mmfr0));
    return 0;
}

int backend_vm_create(struct guest_mem *m, const struct vm_config *cfg, struct iobus *bus,
                      struct backend_vm **out)
{
    unsigned ncpus = cfg->ncpus;
    if (ncpus == 0 || ncpus > VM_MAX_CPUS)
        return err_set("a VM needs 1 to %d vCPUs, not %u", VM_MAX_CPUS, ncpus);
    if (m->size <= LAYOUT_TRAP_WINDOW)
        return err_set("guest RAM of %" PRIu64 " bytes leaves nothing above the hypercall window",
                       m->size);
    void *host = guest_mem_ptr(m, m->base, m->size);
    if (host == NULL)
        return err_set("guest RAM is not mapped on the host");
    struct backend_vm *vm = calloc(1, sizeof(*vm) + ncpus * sizeof(vm->vcpus[0]));
    if (vm == NULL)
        return err_set("out of memory creating the VM");
    vm->guest_base = m->base;
    vm->mem_size = m->size;
    vm->bus = bus;
    vm->ncpus = ncpus;
    for (unsigned i = 0; i < ncpus; i++) {
        vm->vcpus[i].vm = vm;
        vm->vcpus[i].id = i;
        atomic_init(&vm->vcpus[i].kicked, false);
        atomic_init(&vm->vcpus[i].alive, false);
        atomic_init(&vm->vcpus[i].kickers, 0);
    }

    hv_return_t r = hv_vm_create(NULL);
    if (r != HV_SUCCESS) {
        err_set("cannot create a Hypervisor.framework VM: %s", hvf_strerror(r));
        goto fail;
    }
    vm->created = true;
    r = hv_vm_map(host, m->base, m->size, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC);
    if (r != HV_SUCCESS) {
        err_set("cannot map %" PRIu64 " bytes of guest RAM at 0x%" PRIx64 " into the VM: %s",
                m->size, m->base, hvf_strerror(r));
        goto fail;
    }
    /* ABI §5.1: the first 16 KiB page traps every access; hypercalls are stores into it. */
    r = hv_vm_protect(m->base, LAYOUT_TRAP_WINDOW, 0);
    if (r != HV_SUCCESS) {
        err_set("cannot protect the hypercall window at 0x%" PRIx64 ": %s", m->base,
                hvf_strerror(r));
        goto fail;
    }
    if (create_gic(vm) != 0 || read_id_regs(vm) != 0)
        goto fail;
    *out = vm;
    return 0;
fail:
    backend_vm_destroy(vm);
    return -1;
}

uint32_t backend_tsc_khz(struct backend_vm *vm)
{
    (void)vm;
    return 0; /* kernels read CNTFRQ_EL0 themselves (ABI §5.1) */
}

/* Writes the ABI §5.2 boot state r into vCPU h. 0, or -1 naming the register that failed. */
static int set_boot_regs(hv_vcpu_t h, const struct aarch64_boot_regs *r)
{
    /* MPIDR_EL1 first: the framework's GIC picks a vCPU's redistributor by its affinity. */
    const struct {
        bool sys;     /* a system register (hv_sys_reg_t), else a general one (hv_reg_t) */
        uint32_t reg; /* either kind's number */
        const char *name;
        uint64_t value;
    } regs[] = {
        {true, HV_SYS_REG_MPIDR_EL1, "MPIDR_EL1", r->mpidr_el1},
        {true, HV_SYS_REG_SP_EL1, "SP_EL1", r->sp_el1},
        {true, HV_SYS_REG_MAIR_EL1, "MAIR_EL1", r->mair_el1},
        {true, HV_SYS_REG_TCR_EL1, "TCR_EL1", r->tcr_el1},
        {true, HV_SYS_REG_TTBR0_EL1, "TTBR0_EL1", r->ttbr0_el1},
        {true, HV_SYS_REG_TTBR1_EL1, "TTBR1_EL1", r->ttbr1_el1},
        {true, HV_SYS_REG_CPACR_EL1, "CPACR_EL1", r->cpacr_el1},
        {true, HV_SYS_REG_MDSCR_EL1, "MDSCR_EL1", r->mdscr_el1},
        {true, HV_SYS_REG_SCTLR_EL1, "SCTLR_EL1", r->sctlr_el1},
        {false, HV_REG_X0, "X0", r->x0},
        {false, HV_REG_X1, "X1", r->x1},
        {false, HV_REG_CPSR, "CPSR", r->pstate},
        {false, HV_REG_PC, "PC", r->pc},
    };
    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
        hv_return_t e = regs[i].sys
                            ? hv_vcpu_set_sys_reg(h, (hv_sys_reg_t)regs[i].reg, regs[i].value)
                            : hv_vcpu_set_reg(h, (hv_reg_t)regs[i].reg, regs[i].value);
        if (e != HV_SUCCESS)
            return err_set("cannot set %s to 0x%" PRIx64 ": %s", regs[i].name, regs[i].value,
                           hvf_strerror(e));
    }
    return 0;
}

int backend_vcpu_create(struct backend_vm *vm, unsigned id, const struct layout *l,
                        struct backend_vcpu **out)
{
    if (id >= vm->ncpus)
        return err_set("vCPU id %u out of range (VM has %u vCPUs)", id, vm->ncpus);
    struct backend_vcpu *v = &vm->vcpus[id];
    if (v->exit != NULL || atomic_load(&v->alive))
        return err_set("vCPU %u was already created", id);
    hv_vcpu_t h;
    hv_vcpu_exit_t *exit_info = NULL;
    hv_return_t r = hv_vcpu_create(&h, &exit_info, vm->vcpu_config);
    if (r != HV_SUCCESS || exit_info == NULL)
        return err_set("hv_vcpu_create failed for vCPU %u: %s", id, hvf_strerror(r));
    uint64_t cpacr;
    r = hv_vcpu_get_sys_reg(h, HV_SYS_REG_CPACR_EL1, &cpacr);
    if (r != HV_SUCCESS) {
        hv_vcpu_destroy(h);
        return err_set("cannot read CPACR_EL1 of vCPU %u: %s", id, hvf_strerror(r));
    }
    struct aarch64_boot_regs regs;
    aarch64_boot_regs(l, id, vm->parange, cpacr, &regs);
    if (set_boot_regs(h, &regs) != 0) {
        hv_vcpu_destroy(h);
        return -1;
    }
    v->handle = h;
    v->exit = exit_info;
    atomic_store(&v->alive, true);
    *out = v;
    return 0;
}

void backend_vm_destroy(struct backend_vm *vm)
{
    if (vm == NULL)
        return;
    if (vm->vcpu_config != NULL)
        os_release(vm->vcpu_config);
    if (vm->created)
        hv_vm_destroy();
    free(vm);
}

/* A device's SPI (INTID 32 + line) through the framework's GIC (macOS 15, as the GIC itself). */
int backend_irq_line(struct backend_vm *vm, unsigned line, bool level)
{
    (void)vm;
#if HVF_HAVE_GIC_API
    if (HVF_GIC_RUNTIME_AVAILABLE()) {
        hv_return_t r = hv_gic_set_spi(32 + line, level);
        if (r != HV_SUCCESS)
            return err_set("hv_gic_set_spi(%u) failed: %s", 32 + line, hvf_strerror(r));
        return 0;
    }
#endif
    (void)level;
    return err_set("device interrupt %u: this macOS has no Hypervisor.framework GIC", line);
}

/* Nothing here is slow enough before the VM exists to be worth a thread (backend.h). */
void backend_warm_up(void) {}

void backend_warm_up_end(void) {}
