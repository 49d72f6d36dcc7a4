/* layout.h: where chyve puts guest RAM, boot data, page tables, stack and kernel (ABI §3). */
#ifndef CHYVE_LAYOUT_H
#define CHYVE_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "loader/elf.h"

/*
 * Offsets from guest_base. chyve's own choice (docs/decisions.md): everything the kernel reads
 * lies above the first 16 KiB, which aarch64 keeps unbacked as the hypercall trap window (one
 * Apple 16 KiB page), and below the kernel, inside the first 2 MiB every kernel treats as used.
 */
#define LAYOUT_GDT_OFFSET 0x0          /* x86_64 GDT, 3 descriptors */
#define LAYOUT_TRAP_WINDOW 0x4000      /* aarch64 hypercall window [base, base + this) */
#define LAYOUT_BOOT_INFO_OFFSET 0x4000 /* 128-byte boot info, region 0x1000 */
#define LAYOUT_FDT_OFFSET 0x5000       /* device tree blob */
#define LAYOUT_FDT_MAX 0xB000          /* FDT region size: blob must fit in [0x5000, 0x10000) */
#define LAYOUT_PT_ROOT_OFFSET 0x10000  /* PML4 / aarch64 level-0 table */
#define LAYOUT_PT_POOL_OFFSET 0x11000  /* further page-table frames, bump-allocated */
#define LAYOUT_PT_POOL_END 0x38000     /* exclusive; the boot stack region follows */
#define LAYOUT_KERNEL_OFFSET 0x40000   /* relocatable kernels load here */
#define LAYOUT_STACK_SIZE 0x8000       /* boot stack directly below the kernel */
#define LAYOUT_MIN_MEMORY (16ull << 20)
#define LAYOUT_MEMORY_ALIGN (2ull << 20)

/* The complete placement of one VM; all values are guest-physical addresses or sizes. */
struct layout {
    uint64_t guest_base;   /* RAM start, 2 MiB aligned */
    uint64_t mem_size;     /* RAM size */
    uint64_t kernel_start; /* B: load address of the first PT_LOAD */
    uint64_t kernel_end;   /* B + mem_size of the image */
    uint64_t entry;        /* relocated entry point */
    struct tls_info tls;   /* relocated TLS info */
    uint64_t boot_info;    /* guest_base + LAYOUT_BOOT_INFO_OFFSET */
    uint64_t fdt;          /* guest_base + LAYOUT_FDT_OFFSET */
    uint64_t pt_root;      /* guest_base + LAYOUT_PT_ROOT_OFFSET */
    uint64_t gdt;          /* guest_base + LAYOUT_GDT_OFFSET */
    uint64_t stack; /* kernel_start - LAYOUT_STACK_SIZE: the LOWEST stack address (ABI §4.2) */
    bool legacy_mapping; /* copy of kernel.legacy_mapping */
};

/*
 * Chooses guest_base and the kernel address for kernel k with mem_size bytes of RAM (ABI §3.2),
 * using the address ranges of arch_info for the kernel's interface version. With aslr, a
 * relocatable kernel gets a 2 MiB aligned base drawn from `random`; otherwise the lowest address.
 * Non-relocatable kernels always load at their own address. Returns 0, or -1 with err_msg() set
 * (memory too small or too large for the range, kernel not fitting, forbidden hole hit).
 */
int layout_choose(const struct kernel *k, uint64_t mem_size, bool aslr, uint64_t random,
                  struct layout *l);

#endif
