/*
 * arch.h: what the common core needs from the CPU architecture. Declared here, implemented once
 * per architecture in src/arch-<name>/; meson compiles exactly one implementation.
 */
#ifndef CHYVE_ARCH_H
#define CHYVE_ARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "loader/layout.h"

/* Constant facts about an architecture that the core uses to place and describe the guest. */
struct arch_info {
    const char *name;      /* "x86_64", "aarch64" */
    uint16_t elf_machine;  /* e_machine a kernel must have */
    uint64_t ram_start_v1; /* lowest guest_base for uhyve interface v1 kernels */
    uint64_t ram_limit_v1; /* guest_base + image + RAM must end at or below this */
    uint64_t ram_start_v2; /* same for interface v2/v3 kernels */
    uint64_t ram_limit_v2;
    uint64_t hole_start; /* guest RAM must not overlap [hole_start, hole_end) (x86 MMIO gap) */
    uint64_t hole_end;
    uint32_t boot_time_offset; /* offset of boot_time in the 128-byte boot info (ABI §2.1) */
    /* The PCI device (virtio-net): where its BAR goes and which interrupt line it raises. */
    uint64_t pci_bar;  /* BAR 0 address set before boot; 0: the kernel assigns BARs (ECAM) */
    uint64_t pci_ecam; /* ECAM window base (aarch64), 0 for configuration mechanism #1 ports */
    uint64_t pci_ecam_size;
    uint64_t pci_mmio; /* aarch64: the window the kernel assigns BARs from */
    uint64_t pci_mmio_size;
    uint64_t pci_io;      /* aarch64: an I/O window (the kernel wants one, chyve's device has */
    uint64_t pci_io_size; /* no I/O BAR) */
    unsigned pci_slot;    /* PCI device number of the virtio-net function on bus 0 */
    unsigned pci_irq;     /* backend_irq_line() line: IOAPIC pin 11 / a GIC SPI */
};

extern const struct arch_info arch_info;

/*
 * Writes the architecture's boot structures into guest RAM for layout l: x86_64 GDT and 4-level
 * identity page tables with the recursive top entry; aarch64 translation tables with the
 * hypercall window at VA 0. Returns 0, or -1 with err_msg() set (e.g. page-table pool exhausted).
 */
int arch_setup_guest(struct guest_mem *m, const struct layout *l);

/*
 * Translates guest-virtual va through the guest's own page tables rooted at `root` (CR3 or
 * TTBR0_EL1 as read by the backend). Every table access goes through guest_mem. Returns 0 with
 * *pa set, or -1 if va is not mapped or a table lies outside guest RAM.
 */
int arch_virt_to_phys(const struct guest_mem *m, uint64_t root, uint64_t va, uint64_t *pa);

/*
 * FDT hooks, called by fdt.c while it builds the tree with libfdt (fdt is the sequential-write
 * blob being built): properties of one /cpus/cpu@N node, and the nodes after /cpus (GIC, timer,
 * and with pci the PCI host bridge where the architecture describes it in the tree).
 * Return 0, or a negative libfdt error.
 */
int arch_fdt_cpu(void *fdt, unsigned cpu);
int arch_fdt_devices(void *fdt, unsigned ncpus, bool pci);

/*
 * What the GDB stub needs to know of the architecture's registers (implemented in the arch's
 * gdb_<arch>.c; the numbering and offsets of gdb_regs.h in the arch directory, which the backend
 * uses to fill the register file).
 */
struct arch_gdb {
    const char *target_xml;  /* the whole target description, for qXfer:features:read:target.xml */
    size_t regs_size;        /* bytes of the register file ('g' reply / 2) */
    unsigned nregs;          /* GDB register numbers 0 .. nregs-1 */
    const uint16_t *reg_off; /* byte offset of each register in the file */
    const uint8_t *reg_size; /* byte size of each register */
    unsigned pc_regnum;
    unsigned sp_regnum;
    uint8_t bp_insn[4]; /* the software breakpoint instruction (x86 int3, aarch64 brk #0) */
    unsigned bp_len;    /* its length, which is also the Z0 kind GDB sends */
    bool read_watch;    /* the hardware can watch reads alone (aarch64; x86 only writes or both) */
};

extern const struct arch_gdb arch_gdb;

/*
 * Whether the hardware can watch [addr, addr + len) as one watchpoint (x86: len 1, 2, 4 or 8,
 * aligned to len; aarch64: 1 to 8 bytes within one aligned doubleword).
 */
bool arch_gdb_watch_ok(uint64_t addr, uint64_t len);

#endif
