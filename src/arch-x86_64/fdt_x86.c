/* fdt_x86.c: x86_64 adds nothing to the device tree (ABI §7.2: no cpu compatible, no devices). */
#include "arch.h"

int arch_fdt_cpu(void *fdt, unsigned cpu)
{
    (void)fdt;
    (void)cpu;
    return 0;
}

int arch_fdt_devices(void *fdt, unsigned ncpus, bool pci)
{
    (void)pci; /* x86_64 kernels find PCI through the configuration ports */
    (void)fdt;
    (void)ncpus;
    return 0;
}
