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

/* Big-endian cells for a property built in place. */
static void cells(fdt32_t *out, const uint32_t *in, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = cpu_to_fdt32(in[i]);
}

/*
 * /pcie@9000000: a generic ECAM host bridge (bus 0) with I/O, 32-bit and 64-bit memory windows
 * (PCI address = CPU address) and INTA of device 1 wired to a level-triggered SPI. The Hermit
 * kernel assigns the BARs itself from these windows (docs/decisions.md).
 */
static int pci_node(void *fdt)
{
    FDT_TRY(fdt_begin_node(fdt, "pcie@9000000"));
    FDT_TRY(fdt_property_string(fdt, "compatible", "pci-host-ecam-generic"));
    FDT_TRY(fdt_property_string(fdt, "device_type", "pci"));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 3));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 2));
    FDT_TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
    const uint64_t reg[2] = {A64_PCI_ECAM, A64_PCI_ECAM_SIZE};
    FDT_TRY(fdt_prop_u64s(fdt, "reg", reg, 2));
    const uint32_t bus_range[2] = {0, 0};
    fdt32_t be[21];
    cells(be, bus_range, 2);
    FDT_TRY(fdt_property(fdt, "bus-range", be, 2 * sizeof(fdt32_t)));
    const uint64_t half = A64_PCI_MMIO_SIZE / 2, m32 = A64_PCI_MMIO, m64 = A64_PCI_MMIO + half;
    const uint32_t ranges[21] = {
        0x01000000,
        0,
        0,
        (uint32_t)(A64_PCI_IO >> 32),
        (uint32_t)A64_PCI_IO,
        0,
        (uint32_t)A64_PCI_IO_SIZE, /* I/O space at port 0 */
        0x02000000,
        (uint32_t)(m32 >> 32),
        (uint32_t)m32,
        (uint32_t)(m32 >> 32),
        (uint32_t)m32,
        (uint32_t)(half >> 32),
        (uint32_t)half, /* 32-bit memory */
        0x03000000,
        (uint32_t)(m64 >> 32),
        (uint32_t)m64,
        (uint32_t)(m64 >> 32),
        (uint32_t)m64,
        (uint32_t)(half >> 32),
        (uint32_t)half, /* 64-bit memory */
    };
    cells(be, ranges, 21);
    FDT_TRY(fdt_property(fdt, "ranges", be, sizeof(be)));
    /* device 1, INTA -> GIC (whose #address-cells is 2), SPI, level high */
    const uint32_t map[10] = {
        1u << 11, 0, 0, 1, GIC_PHANDLE, 0, 0, A64_IRQ_TYPE_SPI, A64_PCI_SPI, A64_IRQ_LEVEL_HIGH};
    cells(be, map, 10);
    FDT_TRY(fdt_property(fdt, "interrupt-map", be, 10 * sizeof(fdt32_t)));
    const uint32_t mask[4] = {0x1800, 0, 0, 7};
    cells(be, mask, 4);
    FDT_TRY(fdt_property(fdt, "interrupt-map-mask", be, 4 * sizeof(fdt32_t)));
    FDT_TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
    return fdt_end_node(fdt);
}

/* /intc@8000000 (GICv3 distributor + redistributor range), /timer, /psci and the PCI bridge. */
int arch_fdt_devices(void *fdt, unsigned ncpus, bool pci)
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
    FDT_TRY(fdt_end_node(fdt));
    return pci ? pci_node(fdt) : 0;
}
