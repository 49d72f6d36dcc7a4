/*
 * aarch64_paging.c: aarch64 initial translation tables (ABI §3.5), with the hypercall window at
 * VA 0, and the host-side walk of the guest's tables for v1 file buffers (§6.1).
 */
#include <stdbool.h>
#include <stdint.h>

#include "aarch64.h"
#include "arch.h"
#include "err.h"
#include "guest_pt.h"

#define A64_BLOCK_1G 0x0000FFFFC0000000ull /* level-1 block output address bits */
#define A64_BLOCK_2M 0x0000FFFFFFE00000ull /* level-2 block output address bits */

/* Reads the little-endian 8-byte entry `idx` of the table at gpa `table`; -1 outside RAM. */
static int desc_read(const struct guest_mem *m, uint64_t table, unsigned idx, uint64_t *e)
{
    return guest_mem_read_le64(m, table + (uint64_t)idx * 8, e);
}

/* Maps the 4 KiB page va onto pa with leaf attributes `attrs` (levels 0-2 allocated on demand). */
static int map_page(struct guest_pt *pt, uint64_t root, uint64_t va, uint64_t pa, uint64_t attrs)
{
    uint64_t t = root;
    for (unsigned shift = 39; shift > 12; shift -= 9) {
        if (guest_pt_next(pt, t, (unsigned)(va >> shift) & 511, &t) != 0) {
            return -1;
        }
    }
    return guest_pt_set(pt, t, (unsigned)(va >> 12) & 511, (pa & A64_DESC_ADDR) | attrs);
}

/*
 * Level-0 table at l->pt_root with the recursive entry 511; VA [0, LAYOUT_TRAP_WINDOW) mapped
 * non-cacheable onto the trap window [guest_base, +LAYOUT_TRAP_WINDOW), so a store to VA = port
 * reaches IPA guest_base + port (v1 ports and the v2 addresses below 0x4000 alike); and an
 * identity map of [guest_base, align_up(kernel_end, 4 KiB)) in 4 KiB pages. No contiguous hints
 * (chyve's choice, docs/decisions.md): the kernel may later change single pages.
 */
int arch_setup_guest(struct guest_mem *m, const struct layout *l)
{
    const uint64_t base = l->guest_base, root = l->pt_root;
    if ((base & (GUEST_PAGE_SIZE - 1)) || (root & (GUEST_PAGE_SIZE - 1))) {
        return err_set("guest base 0x%llx or table root 0x%llx is not 4 KiB aligned",
                       (unsigned long long)base, (unsigned long long)root);
    }
    /* The identity map must stay clear of the window's VAs and inside the 48-bit TTBR0 range. */
    if (base < LAYOUT_TRAP_WINDOW || l->kernel_end < base ||
        l->kernel_end > (1ull << A64_VA_BITS) - GUEST_PAGE_SIZE) {
        return err_set("kernel [0x%llx, 0x%llx) cannot be identity mapped on aarch64",
                       (unsigned long long)base, (unsigned long long)l->kernel_end);
    }
    struct guest_pt pt = {
        .mem = m,
        .next = base + LAYOUT_PT_POOL_OFFSET,
        .end = base + LAYOUT_PT_POOL_END,
        .what = "translation table",
        .valid = A64_DESC_VALID,
        .addr = A64_DESC_ADDR,
        .link = A64_PT_MEM,
    };
    if (guest_pt_clear(&pt, root) != 0 ||
        guest_pt_set(&pt, root, A64_ENTRIES - 1, root | A64_PT_MEM | A64_DESC_SELF_REF) != 0) {
        return -1;
    }
    for (uint64_t off = 0; off < LAYOUT_TRAP_WINDOW; off += GUEST_PAGE_SIZE) {
        if (map_page(&pt, root, off, base + off, A64_PT_MEM_NC) != 0) {
            return -1;
        }
    }
    const uint64_t end = (l->kernel_end + GUEST_PAGE_SIZE - 1) & ~(GUEST_PAGE_SIZE - 1);
    for (uint64_t a = base; a < end; a += GUEST_PAGE_SIZE) {
        if (map_page(&pt, root, a, a, A64_PT_MEM) != 0) {
            return -1;
        }
    }
    return 0;
}

/*
 * The stage-1 walk for TTBR0 with a 4 KiB granule and 48-bit VAs (the configuration chyve boots
 * with): 1 GiB blocks at level 1, 2 MiB blocks at level 2, pages at level 3. Every table is read
 * through guest_mem, so a hostile table can only make the walk fail.
 */
int arch_virt_to_phys(const struct guest_mem *m, uint64_t root, uint64_t va, uint64_t *pa)
{
    if (va >> A64_VA_BITS) {
        return err_set("guest virtual address 0x%llx is outside the 48-bit TTBR0 range",
                       (unsigned long long)va);
    }
    uint64_t t = root & A64_DESC_ADDR;
    for (unsigned level = 0; level <= 3; level++) {
        unsigned shift = 39 - 9 * level;
        uint64_t e;
        if (desc_read(m, t, (unsigned)(va >> shift) & 511, &e) != 0) {
            return err_set("guest translation table at 0x%llx lies outside guest RAM",
                           (unsigned long long)t);
        }
        if (!(e & A64_DESC_VALID)) {
            return err_set("guest virtual address 0x%llx is not mapped", (unsigned long long)va);
        }
        bool table = (e & A64_DESC_TABLE) != 0;
        if (level == 3) {
            if (!table) { /* reserved encoding at level 3: the CPU would fault */
                return err_set("guest virtual address 0x%llx has an invalid level-3 descriptor",
                               (unsigned long long)va);
            }
            *pa = (e & A64_DESC_ADDR) | (va & (GUEST_PAGE_SIZE - 1));
            return 0;
        }
        if (!table) {
            if (level == 1) {
                *pa = (e & A64_BLOCK_1G) | (va & ((1ull << 30) - 1));
                return 0;
            }
            if (level == 2) {
                *pa = (e & A64_BLOCK_2M) | (va & ((1ull << 21) - 1));
                return 0;
            }
            return err_set("guest level-0 descriptor for 0x%llx is a block (invalid with 4 KiB "
                           "pages)",
                           (unsigned long long)va);
        }
        t = e & A64_DESC_ADDR;
    }
    return err_set("guest virtual address 0x%llx is not mapped", (unsigned long long)va);
}
