/* aarch64_info.c: constant facts about aarch64 guests (ABI §2.1, §3.2). */
#include "aarch64.h"
#include "arch.h"

const struct arch_info arch_info = {
    .name = "aarch64",
    .elf_machine = 183, /* EM_AARCH64 */
    .ram_start_v1 = 0x10000000ull,
    /*
     * uhyve allows v1 RAM up to 64 GiB, but interface-v1 aarch64 kernels (0.11.0 VERIFIED) keep
     * their own virtual memory in [kernel end, 4 GiB) and panic ("PageRangeError") when the image
     * or heap lies above 4 GiB, which ASLR would cause almost always. RAM stays below 4 GiB.
     */
    .ram_limit_v1 = 0x100000000ull,
    .ram_start_v2 = 0x100000000ull,
    .ram_limit_v2 = 0x1000000000ull,
    .hole_start = 0, /* no hole: the GIC lives below 0x1000_0000 */
    .hole_end = 0,
    /* boot_time is only byte-aligned on aarch64 and follows cpu_freq directly (VERIFIED). */
    .boot_time_offset = 0x6C,
    /*
     * The PCI host bridge (docs/decisions.md): a 1 MiB ECAM window (bus 0 only) and the windows
     * the kernel assigns BARs from, all in the free gap between the GIC and RAM. The kernel gives
     * device 0 no interrupt, so the device is device 1; INTA is SPI 3 (as on QEMU's virt).
     */
    .pci_ecam = A64_PCI_ECAM,
    .pci_ecam_size = A64_PCI_ECAM_SIZE,
    .pci_io = A64_PCI_IO,
    .pci_io_size = A64_PCI_IO_SIZE,
    .pci_mmio = A64_PCI_MMIO,
    .pci_mmio_size = A64_PCI_MMIO_SIZE,
    .pci_slot = 1,
    .pci_irq = A64_PCI_SPI,
};
