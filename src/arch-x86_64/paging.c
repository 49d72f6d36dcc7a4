/* paging.c: x86_64 initial identity page tables (ABI §3.4) and the guest page-table walk (§6.1). */
#include <stdbool.h>
#include <stdint.h>

#include "arch.h"
#include "err.h"
#include "guest_pt.h"
#include "x86.h"

/* Reads the 8-byte entry `idx` of the table at gpa `table`; -1 if it lies outside guest RAM. */
static int pte_read(const struct guest_mem *m, uint64_t table, unsigned idx, uint64_t *e)
{
    return guest_mem_read_le64(m, table + (uint64_t)idx * 8, e);
}

/*
 * The last address the identity map must cover (inclusive, ABI §3.4). Non-legacy: kernel_end.
 * Legacy (pre-0.10 kernels unmap up to PD index 511 and panic on a hole): the last byte of the
 * GiB holding align_up(kernel_end, 2 MiB). This is chyve's rule; uhyve uses the GiB of
 * kernel_start, which fails when the kernel crosses a GiB boundary.
 */
static uint64_t map_end(const struct layout *l)
{
    uint64_t end = l->kernel_end;
    if (l->legacy_mapping) {
        uint64_t up = (l->kernel_end + X86_2M - 1) & ~(X86_2M - 1);
        uint64_t gib_last = (up & ~(X86_1G - 1)) + X86_1G - 1;
        if (gib_last > end) {
            end = gib_last;
        }
    }
    return end;
}

int x86_write_page_tables(struct guest_mem *m, const struct layout *l)
{
    const uint64_t base = l->guest_base;
    if (base & (X86_2M - 1)) {
        return err_set("guest base 0x%llx is not 2 MiB aligned", (unsigned long long)base);
    }
    /* Keeps every identity address canonical, below the recursive PML4 slot, and a+2M unwrapped. */
    if (l->kernel_end < base || l->kernel_end >= (1ull << 47) - X86_1G) {
        return err_set("kernel end 0x%llx cannot be identity mapped from guest base 0x%llx",
                       (unsigned long long)l->kernel_end, (unsigned long long)base);
    }
    const uint64_t root = l->pt_root;
    if (root & (GUEST_PAGE_SIZE - 1)) {
        return err_set("page-table root 0x%llx is not 4 KiB aligned", (unsigned long long)root);
    }
    struct guest_pt pt = {
        .mem = m,
        .next = base + LAYOUT_PT_POOL_OFFSET,
        .end = base + LAYOUT_PT_POOL_END,
        .what = "page table",
        .valid = X86_PTE_P,
        .addr = X86_PTE_ADDR,
        .link = X86_PTE_P | X86_PTE_W,
    };
    if (guest_pt_clear(&pt, root) != 0 ||
        guest_pt_set(&pt, root, X86_ENTRIES - 1, root | X86_PTE_P | X86_PTE_W) != 0) {
        return -1;
    }
    const uint64_t end = map_end(l);
    for (uint64_t a = base; a <= end; a += X86_2M) {
        uint64_t pdpt, pd;
        if (guest_pt_next(&pt, root, (unsigned)(a >> 39) & 511, &pdpt) != 0 ||
            guest_pt_next(&pt, pdpt, (unsigned)(a >> 30) & 511, &pd) != 0 ||
            guest_pt_set(&pt, pd, (unsigned)(a >> 21) & 511,
                         a | X86_PTE_P | X86_PTE_W | X86_PTE_PS) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Reads the entry for va at `shift` in table t; false (with err_msg()) if absent or unreadable. */
static bool walk_step(const struct guest_mem *m, uint64_t t, uint64_t va, unsigned shift,
                      uint64_t *e)
{
    if (pte_read(m, t, (unsigned)(va >> shift) & 511, e) != 0) {
        err_set("guest page table at 0x%llx lies outside guest RAM", (unsigned long long)t);
        return false;
    }
    if (!(*e & X86_PTE_P)) {
        err_set("guest virtual address 0x%llx is not mapped", (unsigned long long)va);
        return false;
    }
    return true;
}

/* The hardware walk: PML4 -> PDPT (1 GiB leaf?) -> PD (2 MiB leaf?) -> PT; reads via guest_mem. */
int arch_virt_to_phys(const struct guest_mem *m, uint64_t root, uint64_t va, uint64_t *pa)
{
    if ((uint64_t)((int64_t)(va << 16) >> 16) != va) {
        return err_set("guest virtual address 0x%llx is not canonical", (unsigned long long)va);
    }
    uint64_t e;
    if (!walk_step(m, root & X86_PTE_ADDR, va, 39, &e)) {
        return -1;
    }
    if (e & X86_PTE_PS) { /* reserved in a PML4 entry: the CPU would fault */
        return err_set("guest PML4 entry for 0x%llx has the reserved PS bit",
                       (unsigned long long)va);
    }
    if (!walk_step(m, e & X86_PTE_ADDR, va, 30, &e)) {
        return -1;
    }
    if (e & X86_PTE_PS) {
        *pa = (e & X86_PTE_ADDR_1G) | (va & (X86_1G - 1));
        return 0;
    }
    if (!walk_step(m, e & X86_PTE_ADDR, va, 21, &e)) {
        return -1;
    }
    if (e & X86_PTE_PS) {
        *pa = (e & X86_PTE_ADDR_2M) | (va & (X86_2M - 1));
        return 0;
    }
    if (!walk_step(m, e & X86_PTE_ADDR, va, 12, &e)) {
        return -1;
    }
    *pa = (e & X86_PTE_ADDR) | (va & (GUEST_PAGE_SIZE - 1));
    return 0;
}
