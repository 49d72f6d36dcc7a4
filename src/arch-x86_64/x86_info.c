/* x86_info.c: constant facts about x86_64 guests (ABI §2.1, §3.2). */
#include "arch.h"

const struct arch_info arch_info = {
    .name = "x86_64",
    .elf_machine = 62, /* EM_X86_64 */
    /* v1 kernels pass parameter addresses as 32-bit port values: stay below the 3 GiB PCI gap. */
    .ram_start_v1 = 0x0,
    .ram_limit_v1 = 0xC0000000ull,
    .ram_start_v2 = 0x100000000ull,
    .ram_limit_v2 = 0x1000000000ull,
    .hole_start = 0xC0000000ull,
    .hole_end = 0x100000000ull,
    .boot_time_offset = 0x70,
    /* Firmware-style: BAR 0 in the MMIO gap below the IOAPIC, INTx on IOAPIC pin 11 (as uhyve). */
    .pci_bar = 0xFE000000ull,
    .pci_slot = 0,
    .pci_irq = 11,
};
