/*
 * aarch64_fdt.c: what aarch64 adds to the device tree (ABI §7.2): cpu compatible, reg and PSCI
 * enable method, the GICv3, the architected timer and the PSCI node.
 */
#include <libfdt.h>

#include "aarch64.h"
#include "arch.h"
#include "boot/devtree.h"

/* phandle of the interrupt controller, referenced by the timer's interrupt-parent. */
#define GIC_PHANDLE 1

/*
 * compatible first (uhyve's order), then reg = MPIDR affinity (Aff0 = cpu, /cpus has
 * #address-cells 1) and PSCI as enable method; fdt.c adds device_type.
 */
int arch_fdt_cpu(void *fdt, unsigned cpu)
{
    FDT_TRY(fdt_property_string(fdt, "compatible", "arm,cortex-a72"));
    FDT_TRY(fdt_property_u32(fdt, "reg", cpu & 0xFFu));
    return fdt_property_string(fdt, "enable-method", "psci");
}

/* /intc@8000000 (GICv3 distributor + redistributor range), /timer and /psci. */
int arch_fdt_devices(void *fdt, unsigned ncpus)
{
    (void)ncpus; /* the redistributor range is fixed; KVM/HVF use 0x20000 of it per vCPU */
    FDT_TRY(fdt_begin_node(fdt, "intc@8000000"));
    FDT_TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3"));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 2));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 2));
    const uint64_t gic_reg[4] = {A64_GICD_BASE, A64_GICD_SIZE, A64_GICR_BASE, A64_GICR_SIZE};
    FDT_TRY(fdt_prop_u64s(fdt, "reg", gic_reg, 4));
    FDT_TRY(fdt_property_u32(fdt, "#interrupt-cells", 3));
    FDT_TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
    FDT_TRY(fdt_property_u32(fdt, "phandle", GIC_PHANDLE));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin_node(fdt, "timer"));
    /* secure, non-secure EL1 physical, virtual, hypervisor: level-triggered PPIs (as QEMU) */
    const uint32_t ppis[4] = {A64_PPI_TIMER_SEC, A64_PPI_TIMER_PHYS, A64_PPI_TIMER_VIRT,
                              A64_PPI_TIMER_HYP};
    fdt32_t irqs[12];
    for (int i = 0; i < 4; i++) {
        irqs[3 * i] = cpu_to_fdt32(A64_IRQ_TYPE_PPI);
        irqs[3 * i + 1] = cpu_to_fdt32(ppis[i]);
        irqs[3 * i + 2] = cpu_to_fdt32(A64_IRQ_LEVEL_HIGH);
    }
    FDT_TRY(fdt_property(fdt, "interrupts", irqs, (int)sizeof(irqs)));
    FDT_TRY(fdt_property(fdt, "always-on", NULL, 0));
    FDT_TRY(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
    FDT_TRY(fdt_property_u32(fdt, "interrupt-parent", GIC_PHANDLE));
    FDT_TRY(fdt_end_node(fdt));

    /* KVM answers PSCI 0.2+ calls made with HVC; all vCPUs are running from the start anyway. */
    FDT_TRY(fdt_begin_node(fdt, "psci"));
    FDT_TRY(fdt_property_string(fdt, "compatible", "arm,psci-0.2"));
    FDT_TRY(fdt_property_string(fdt, "method", "hvc"));
    return fdt_end_node(fdt);
}
