/* test_paging.c: x86_64 GDT, identity page tables (ABI §3.4) and the guest page walk (§6.1). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "arch.h"
#include "err.h"
#include "guest_mem.h"
#include "le.h"
#include "loader/layout.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define PT_FLAGS 0x3ull
#define LEAF_FLAGS 0x83ull

static struct guest_mem mem;

static void fini(void)
{
    guest_mem_fini(&mem);
}

static uint64_t rd64(uint64_t gpa)
{
    uint8_t b[8];
    cr_assert_eq(guest_mem_read(&mem, gpa, b, 8), 0, "read 0x%llx", (unsigned long long)gpa);
    return le64_get(b);
}

static void wr64(uint64_t gpa, uint64_t v)
{
    uint8_t b[8];
    le64_put(b, v);
    cr_assert_eq(guest_mem_write(&mem, gpa, b, 8), 0);
}

/* RAM of `size` at `base`, the boot-structure area pre-filled with garbage to prove zeroing. */
static void setup_mem(uint64_t base, uint64_t size)
{
    cr_assert_eq(guest_mem_init(&mem, base, size), 0, "%s", err_msg());
    void *p = guest_mem_ptr(&mem, base, LAYOUT_KERNEL_OFFSET);
    cr_assert_not_null(p);
    memset(p, 0xAA, LAYOUT_KERNEL_OFFSET);
}

static struct layout make_layout(uint64_t base, uint64_t size, uint64_t kernel_end, bool legacy)
{
    struct layout l;
    memset(&l, 0, sizeof(l));
    l.guest_base = base;
    l.mem_size = size;
    l.kernel_start = base + LAYOUT_KERNEL_OFFSET;
    l.kernel_end = kernel_end;
    l.entry = l.kernel_start;
    l.boot_info = base + LAYOUT_BOOT_INFO_OFFSET;
    l.fdt = base + LAYOUT_FDT_OFFSET;
    l.pt_root = base + LAYOUT_PT_ROOT_OFFSET;
    l.gdt = base + LAYOUT_GDT_OFFSET;
    l.stack = l.kernel_start - LAYOUT_STACK_SIZE;
    l.legacy_mapping = legacy;
    return l;
}

/*
 * Walks the tables by hand: checks every present non-recursive entry has the expected form
 * (tables | 3 inside the pool, leaves identity | 0x83), that leaves cover exactly
 * [first, last] in 2 MiB steps, and returns their count.
 */
static uint64_t check_identity(const struct layout *l, uint64_t first, uint64_t last)
{
    uint64_t pool_lo = l->guest_base + LAYOUT_PT_POOL_OFFSET;
    uint64_t pool_hi = l->guest_base + LAYOUT_PT_POOL_END;
    uint64_t count = 0, expect = first;
    cr_assert_eq(rd64(l->pt_root + 511 * 8), l->pt_root | PT_FLAGS);
    for (unsigned i = 0; i < 511; i++) {
        uint64_t e4 = rd64(l->pt_root + i * 8);
        if (!e4) {
            continue;
        }
        cr_assert_eq(e4 & 0xFFF, PT_FLAGS);
        uint64_t pdpt = e4 & ~0xFFFull;
        cr_assert(pdpt >= pool_lo && pdpt < pool_hi);
        for (unsigned j = 0; j < 512; j++) {
            uint64_t e3 = rd64(pdpt + j * 8);
            if (!e3) {
                continue;
            }
            cr_assert_eq(e3 & 0xFFF, PT_FLAGS);
            uint64_t pd = e3 & ~0xFFFull;
            cr_assert(pd >= pool_lo && pd < pool_hi);
            for (unsigned k = 0; k < 512; k++) {
                uint64_t e2 = rd64(pd + k * 8);
                if (!e2) {
                    continue;
                }
                uint64_t va = ((uint64_t)i << 39) | ((uint64_t)j << 30) | ((uint64_t)k << 21);
                cr_assert_eq(e2, va | LEAF_FLAGS, "PD entry for 0x%llx is 0x%llx",
                             (unsigned long long)va, (unsigned long long)e2);
                cr_assert_eq(va, expect, "leaf 0x%llx, expected 0x%llx", (unsigned long long)va,
                             (unsigned long long)expect);
                expect += 2 * MIB;
                count++;
            }
        }
    }
    cr_assert_eq(expect, last + 2 * MIB, "mapping ends at 0x%llx, expected 0x%llx",
                 (unsigned long long)expect, (unsigned long long)(last + 2 * MIB));
    return count;
}

TestSuite(paging, .fini = fini);

Test(paging, gdt_bytes)
{
    setup_mem(0, 64 * MIB);
    struct layout l = make_layout(0, 64 * MIB, 0x340000, false);
    cr_assert_eq(arch_setup_guest(&mem, &l), 0, "%s", err_msg());
    /* clang-format off */
    const uint8_t want[24] = {0,    0,    0, 0, 0, 0,    0,    0,
                              0xFF, 0xFF, 0, 0, 0, 0x9B, 0xAF, 0,
                              0xFF, 0xFF, 0, 0, 0, 0x93, 0xCF, 0};
    /* clang-format on */
    uint8_t got[24];
    cr_assert_eq(guest_mem_read(&mem, l.gdt, got, sizeof(got)), 0);
    cr_assert_arr_eq(got, want, sizeof(want));
}

Test(paging, base0_nonlegacy)
{
    setup_mem(0, 64 * MIB);
    struct layout l = make_layout(0, 64 * MIB, 0x340000, false);
    cr_assert_eq(arch_setup_guest(&mem, &l), 0, "%s", err_msg());
    /* Pool order: PDPT at +0x11000, PD at +0x12000. */
    cr_assert_eq(rd64(0x10000), 0x11000 | PT_FLAGS);
    cr_assert_eq(rd64(0x11000), 0x12000 | PT_FLAGS);
    cr_assert_eq(rd64(0x12000), 0x0 | LEAF_FLAGS);
    cr_assert_eq(rd64(0x12008), 0x200000 | LEAF_FLAGS);
    cr_assert_eq(rd64(0x12010), 0);
    cr_assert_eq(rd64(0x11008), 0);
    cr_assert_eq(rd64(0x10008), 0);
    cr_assert_eq(check_identity(&l, 0, 0x200000), 2);
    /* The next pool frame was not touched. */
    cr_assert_eq(rd64(0x13000), 0xAAAAAAAAAAAAAAAAull);
}

Test(paging, inclusive_end_on_2mib_boundary)
{
    setup_mem(0, 64 * MIB);
    struct layout l = make_layout(0, 64 * MIB, 0x400000, false);
    cr_assert_eq(arch_setup_guest(&mem, &l), 0, "%s", err_msg());
    /* end itself is 2 MiB aligned: its page is mapped too. */
    cr_assert_eq(check_identity(&l, 0, 0x400000), 3);
}

Test(paging, base0_legacy_maps_whole_first_gib)
{
    setup_mem(0, 64 * MIB);
    struct layout l = make_layout(0, 64 * MIB, 0x340000, true);
    cr_assert_eq(arch_setup_guest(&mem, &l), 0, "%s", err_msg());
    cr_assert_eq(rd64(0x12000 + 511 * 8), (511 * 2 * MIB) | LEAF_FLAGS);
    cr_assert_eq(check_identity(&l, 0, GIB - 2 * MIB), 512);
}

Test(paging, high_base_nonlegacy)
{
    uint64_t base = 0x20000000;
    setup_mem(base, 64 * MIB);
    struct layout l = make_layout(base, 64 * MIB, base + 0x41234, false);
    cr_assert_eq(arch_setup_guest(&mem, &l), 0, "%s", err_msg());
    cr_assert_eq(rd64(base + 0x10000 + 511 * 8), (base + 0x10000) | PT_FLAGS);
    cr_assert_eq(rd64(base + 0x10000), (base + 0x11000) | PT_FLAGS);
    cr_assert_eq(rd64(base + 0x11000), (base + 0x12000) | PT_FLAGS);
    cr_assert_eq(rd64(base + 0x12000 + 256 * 8), base | LEAF_FLAGS);
    cr_assert_eq(rd64(base + 0x12000 + 255 * 8), 0);
    cr_assert_eq(rd64(base + 0x12000 + 257 * 8), 0);
    cr_assert_eq(check_identity(&l, base, base), 1);
}

Test(paging, high_base_legacy)
{
    uint64_t base = 0x20000000;
    setup_mem(base, 64 * MIB);
    struct layout l = make_layout(base, 64 * MIB, base + 0x341234, true);
    cr_assert_eq(arch_setup_guest(&mem, &l), 0, "%s", err_msg());
    cr_assert_eq(rd64(base + 0x12000 + 511 * 8), (GIB - 2 * MIB) | LEAF_FLAGS);
    cr_assert_eq(check_identity(&l, base, GIB - 2 * MIB), 256);
}

/* chyve's rule: a kernel ending in the next GiB gets that whole GiB mapped (uhyve's does not). */
Test(paging, legacy_kernel_crossing_gib)
{
    uint64_t base = GIB - 2 * MIB;
    setup_mem(base, 64 * MIB);
    struct layout l = make_layout(base, 64 * MIB, base + 0x340000, true);
    cr_assert_eq(arch_setup_guest(&mem, &l), 0, "%s", err_msg());
    cr_assert_eq(rd64(base + 0x11000), (base + 0x12000) | PT_FLAGS);
    cr_assert_eq(rd64(base + 0x11008), (base + 0x13000) | PT_FLAGS);
    cr_assert_eq(check_identity(&l, base, 2 * GIB - 2 * MIB), 513);
}

Test(paging, pool_exhausted)
{
    setup_mem(0, 64 * MIB);
    /* 40 GiB of identity map needs 1 PDPT + 40 PDs; the pool holds 39 frames. */
    struct layout l = make_layout(0, 64 * MIB, 40 * GIB - 1, false);
    cr_assert_eq(arch_setup_guest(&mem, &l), -1);
    cr_assert(strstr(err_msg(), "pool exhausted") != NULL, "message: %s", err_msg());
    /* 38 GiB fits exactly (1 + 38 = 39 frames), mapping GPAs beyond RAM. */
    l = make_layout(0, 64 * MIB, 38 * GIB - 1, false);
    cr_assert_eq(arch_setup_guest(&mem, &l), 0, "%s", err_msg());
    cr_assert_eq(check_identity(&l, 0, 38 * GIB - 2 * MIB), 38 * 512);
}

Test(paging, tables_outside_ram)
{
    setup_mem(0x20000000, 64 * MIB);
    struct layout l = make_layout(0, 64 * MIB, 0x340000, false); /* base 0, RAM at 512 MiB */
    cr_assert_eq(arch_setup_guest(&mem, &l), -1);
}

Test(paging, walk_identity_and_recursive)
{
    setup_mem(0, 64 * MIB);
    struct layout l = make_layout(0, 64 * MIB, 0x340000, false);
    cr_assert_eq(arch_setup_guest(&mem, &l), 0, "%s", err_msg());
    uint64_t cr3 = l.pt_root, pa = 0;
    cr_assert_eq(arch_virt_to_phys(&mem, cr3, 0x123456, &pa), 0, "%s", err_msg());
    cr_assert_eq(pa, 0x123456);
    cr_assert_eq(arch_virt_to_phys(&mem, cr3, 0x3FFFFF, &pa), 0);
    cr_assert_eq(pa, 0x3FFFFF);
    /* CR3 flag bits (PWT/PCD) are ignored. */
    cr_assert_eq(arch_virt_to_phys(&mem, cr3 | 0x18, 0x1000, &pa), 0);
    cr_assert_eq(pa, 0x1000);
    /* Unmapped: past the PD entries, and a GiB with no PD. */
    pa = 0xDEAD;
    cr_assert_eq(arch_virt_to_phys(&mem, cr3, 0x400000, &pa), -1);
    cr_assert_eq(arch_virt_to_phys(&mem, cr3, GIB, &pa), -1);
    cr_assert_eq(arch_virt_to_phys(&mem, cr3, 1ull << 39, &pa), -1);
    cr_assert_eq(pa, 0xDEAD);
    /* The recursive window: 0xFFFF_FFFF_FFFF_F000 is the PML4 itself. */
    cr_assert_eq(arch_virt_to_phys(&mem, cr3, 0xFFFFFFFFFFFFF000ull, &pa), 0);
    cr_assert_eq(pa, l.pt_root);
    cr_assert_eq(arch_virt_to_phys(&mem, cr3, 0xFFFFFFFFFFFFFFF8ull, &pa), 0);
    cr_assert_eq(pa, l.pt_root + 0xFF8);
    /* Non-canonical. */
    cr_assert_eq(arch_virt_to_phys(&mem, cr3, 0x0000800000000000ull, &pa), -1);
    cr_assert_eq(arch_virt_to_phys(&mem, cr3, 0xFFFF7FFFFFFFF000ull, &pa), -1);
    /* Root outside RAM. */
    cr_assert_eq(arch_virt_to_phys(&mem, 0x80000000, 0x1000, &pa), -1);
}

/* Hand-built tables with 4 KiB, 2 MiB and 1 GiB leaves in the upper half of 64 MiB. */
Test(paging, walk_crafted_leaves)
{
    setup_mem(0, 64 * MIB);
    const uint64_t root = 0x1000000, pdpt = 0x1001000, pd = 0x1002000, pt = 0x1003000;
    void *z = guest_mem_ptr(&mem, root, 0x4000);
    cr_assert_not_null(z);
    memset(z, 0, 0x4000);
    wr64(root + 0 * 8, pdpt | 3);
    wr64(root + 256 * 8, pdpt | 3);        /* same PDPT at the start of the upper half */
    wr64(pdpt + 1 * 8, 0x40000000 | 0x83); /* 1 GiB leaf, identity */
    wr64(pdpt + 2 * 8, 0xC0000000 | 0x83); /* 1 GiB leaf, VA 2 GiB -> PA 3 GiB */
    wr64(pdpt + 3 * 8, 0x40000000 | 0x3);  /* table pointer outside RAM */
    wr64(pdpt + 4 * 8, pd | 3);
    wr64(pdpt + 5 * 8, 0x80000000 | 0x1000 | 0x83); /* bit 12 is PAT in a leaf, not address */
    wr64(pd + 0 * 8, pt | 3);
    wr64(pd + 1 * 8, 0x600000 | 0x83);          /* 2 MiB leaf: VA 4 GiB + 2 MiB -> 6 MiB */
    wr64(pd + 2 * 8, 0x7FFFFF000ull | 3);       /* PT outside RAM */
    wr64(pd + 4 * 8, 0xA00000 | 0x1000 | 0x83); /* 2 MiB leaf with PAT */
    wr64(pt + 0 * 8, 0x2000000 | 3);            /* 4 KiB: VA 4 GiB -> 32 MiB */
    wr64(pt + 2 * 8, 0x8000000000000000ull | 0x2345000 | 7); /* NX and U bits are not address */

    struct {
        uint64_t va, pa;
    } ok[] = {
        {0x100000010ull, 0x2000010},
        {0x100000FFFull, 0x2000FFF},
        {0x100002ABCull, 0x2345ABC},
        {0x100200ABCull, 0x600ABC},
        {0x1003FFFFFull, 0x7FFFFF},
        {0x40001234ull, 0x40001234},
        {0x80005678ull, 0xC0005678},
        {0xBFFFFFFFull, 0xFFFFFFFF},
        {0x140000234ull, 0x80000234},
        {0x100800234ull, 0xA00234},
        {0xFFFF800000000000ull + 0x40001234ull, 0x40001234},
        {0xFFFF800100000010ull, 0x2000010},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint64_t pa = 0;
        cr_assert_eq(arch_virt_to_phys(&mem, root, ok[i].va, &pa), 0, "va 0x%llx: %s",
                     (unsigned long long)ok[i].va, err_msg());
        cr_assert_eq(pa, ok[i].pa, "va 0x%llx -> 0x%llx", (unsigned long long)ok[i].va,
                     (unsigned long long)pa);
    }
    const uint64_t bad[] = {
        0x100001000ull,        /* PT entry 1 not present */
        0x0,                   /* PDPT entry 0 not present */
        0xC0000000ull,         /* PDPT entry 3 points outside RAM */
        0x100400000ull,        /* PD entry 2 points outside RAM */
        0x100600000ull,        /* PD entry 3 not present */
        0x8000000000ull,       /* PML4 entry 1 not present */
        0x0000800100000010ull, /* non-canonical twin of a mapped address */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t pa = 0;
        cr_assert_eq(arch_virt_to_phys(&mem, root, bad[i], &pa), -1, "va 0x%llx mapped to 0x%llx",
                     (unsigned long long)bad[i], (unsigned long long)pa);
    }
    /* A table whose last entry would straddle the end of RAM. */
    uint64_t edge = 64 * MIB - 0x1000;
    wr64(pd + 3 * 8, edge | 3);
    wr64(edge + 511 * 8, 0x3000 | 3);
    uint64_t pa = 0;
    cr_assert_eq(arch_virt_to_phys(&mem, root, 0x1007FF123ull, &pa), 0, "%s", err_msg());
    cr_assert_eq(pa, 0x3123);
}
