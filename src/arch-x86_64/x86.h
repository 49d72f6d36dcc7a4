/* x86.h: x86_64 boot-structure constants and helpers shared by gdt.c and paging.c (ABI §3.4). */
#ifndef CHYVE_X86_H
#define CHYVE_X86_H

#include <stdint.h>

#include "guest_mem.h"
#include "loader/layout.h"

/* Page-table entry bits. */
#define X86_PTE_P 0x1ull   /* present */
#define X86_PTE_W 0x2ull   /* writable */
#define X86_PTE_PS 0x80ull /* page size: 1 GiB leaf in a PDPT, 2 MiB leaf in a PD */

#define X86_PTE_ADDR 0x000FFFFFFFFFF000ull    /* table / 4 KiB frame address bits (also CR3) */
#define X86_PTE_ADDR_2M 0x000FFFFFFFE00000ull /* 2 MiB leaf frame bits */
#define X86_PTE_ADDR_1G 0x000FFFFFC0000000ull /* 1 GiB leaf frame bits */

#define X86_2M (2ull << 20)
#define X86_1G (1ull << 30)
#define X86_ENTRIES 512

/* The GDT chyve installs: null, 64-bit code (selector 0x08), data (selector 0x10). */
#define X86_GDT_NULL 0x0000000000000000ull
#define X86_GDT_CODE 0x00AF9B000000FFFFull
#define X86_GDT_DATA 0x00CF93000000FFFFull
#define X86_GDT_ENTRIES 3

/* Writes the three GDT descriptors at l->gdt. Returns 0, or -1 with err_msg() set. */
int x86_write_gdt(struct guest_mem *m, const struct layout *l);

/* Writes the 4-level identity page tables rooted at l->pt_root. Returns 0, or -1 with err_msg(). */
int x86_write_page_tables(struct guest_mem *m, const struct layout *l);

#endif
