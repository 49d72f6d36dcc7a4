/* test_layout.c: guest_base and kernel placement with the x86_64 address ranges (ABI §3). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "arch.h"
#include "err.h"
#include "loader/layout.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

/* A relocatable kernel like the x86_64 hello_world sample (ABI §1.7), interface v1. */
static struct kernel dyn_kernel(void)
{
    struct kernel k;
    memset(&k, 0, sizeof(k));
    k.relocatable = true;
    k.first_vaddr = 0;
    k.mem_size = 0x9C600;
    k.entry = 0x360E0;
    k.tls = (struct tls_info){.start = 0x906F8, .filesz = 0x20, .memsz = 0x81, .align = 8};
    k.uhyve_if = 1;
    k.legacy_mapping = true;
    return k;
}

/* A non-relocatable kernel like the hello_c sample. */
static struct kernel exec_kernel(void)
{
    struct kernel k;
    memset(&k, 0, sizeof(k));
    k.first_vaddr = 0x800000;
    k.mem_size = 0x147480;
    k.entry = 0x8422A0;
    k.tls = (struct tls_info){.start = 0x8CA000, .filesz = 0, .memsz = 4, .align = 4};
    k.uhyve_if = 1;
    k.has_version = true;
    k.version[1] = 11;
    return k;
}

static void expect_error(const struct kernel *k, uint64_t mem, bool aslr, uint64_t rnd,
                         const char *msg)
{
    struct layout l;
    cr_assert_eq(layout_choose(k, mem, aslr, rnd, &l), -1, "accepted; wanted \"%s\"", msg);
    cr_assert(strstr(err_msg(), msg) != NULL, "error \"%s\" lacks \"%s\"", err_msg(), msg);
}

Test(layout, arch_is_x86_64)
{
    cr_assert_str_eq(arch_info.name, "x86_64");
}

Test(layout, v1_relocatable_no_aslr)
{
    struct kernel k = dyn_kernel();
    struct layout l;
    memset(&l, 0x55, sizeof(l));
    cr_assert_eq(layout_choose(&k, 64 * MIB, false, 0x123456789, &l), 0, "%s", err_msg());
    cr_assert_eq(l.guest_base, 0);
    cr_assert_eq(l.mem_size, 64 * MIB);
    cr_assert_eq(l.kernel_start, 0x40000);
    cr_assert_eq(l.kernel_end, 0x40000 + 0x9C600);
    cr_assert_eq(l.entry, 0x40000 + 0x360E0);
    cr_assert_eq(l.tls.start, 0x40000 + 0x906F8);
    cr_assert_eq(l.tls.filesz, 0x20);
    cr_assert_eq(l.tls.memsz, 0x81);
    cr_assert_eq(l.tls.align, 8);
    cr_assert_eq(l.stack, 0x38000);
    cr_assert_eq(l.boot_info, 0x4000);
    cr_assert_eq(l.fdt, 0x5000);
    cr_assert_eq(l.pt_root, 0x10000);
    cr_assert_eq(l.gdt, 0);
    cr_assert(l.legacy_mapping);
}

Test(layout, relocatable_without_tls_keeps_tls_zero)
{
    struct kernel k = dyn_kernel();
    struct layout l;
    memset(&k.tls, 0, sizeof(k.tls));
    k.legacy_mapping = false;
    cr_assert_eq(layout_choose(&k, 16 * MIB, false, 0, &l), 0, "%s", err_msg());
    cr_assert_eq(l.tls.start, 0);
    cr_assert_eq(l.tls.filesz, 0);
    cr_assert_eq(l.tls.memsz, 0);
    cr_assert_eq(l.tls.align, 0);
    cr_assert(!l.legacy_mapping);
}

Test(layout, exec_at_its_own_address)
{
    struct kernel k = exec_kernel();
    struct layout l;
    for (int aslr = 0; aslr < 2; aslr++) { /* ASLR is ignored for ET_EXEC */
        cr_assert_eq(layout_choose(&k, 64 * MIB, aslr, 987654321, &l), 0, "%s", err_msg());
        cr_assert_eq(l.guest_base, 0);
        cr_assert_eq(l.kernel_start, 0x800000);
        cr_assert_eq(l.kernel_end, 0x947480);
        cr_assert_eq(l.entry, 0x8422A0);
        cr_assert_eq(l.tls.start, 0x8CA000);
        cr_assert_eq(l.tls.memsz, 4);
        cr_assert_eq(l.stack, 0x7F8000);
        cr_assert_eq(l.boot_info, 0x4000);
        cr_assert(!l.legacy_mapping);
    }
}

Test(layout, v2_starts_at_4_gib)
{
    struct kernel k = dyn_kernel();
    struct layout l;
    for (uint32_t v = 2; v <= 3; v++) {
        k.uhyve_if = v;
        cr_assert_eq(layout_choose(&k, 64 * MIB, false, 0, &l), 0, "%s", err_msg());
        cr_assert_eq(l.guest_base, 4 * GIB);
        cr_assert_eq(l.kernel_start, 4 * GIB + 0x40000);
        cr_assert_eq(l.entry, 4 * GIB + 0x40000 + 0x360E0);
        cr_assert_eq(l.stack, 4 * GIB + 0x38000);
        cr_assert_eq(l.boot_info, 4 * GIB + 0x4000);
        cr_assert_eq(l.fdt, 4 * GIB + 0x5000);
        cr_assert_eq(l.pt_root, 4 * GIB + 0x10000);
        cr_assert_eq(l.gdt, 4 * GIB);
    }
    k.uhyve_if = 7;
    expect_error(&k, 64 * MIB, false, 0, "uhyve interface version 7");
}

/* Checks the invariants of one ASLR layout in [lo, limit) and returns its base. */
static uint64_t check_aslr(const struct kernel *k, uint64_t mem, uint64_t rnd, uint64_t lo,
                           uint64_t limit)
{
    struct layout l;
    cr_assert_eq(layout_choose(k, mem, true, rnd, &l), 0, "%s", err_msg());
    uint64_t b = l.guest_base;
    cr_assert_eq(b % (2 * MIB), 0, "base %#llx not 2 MiB aligned", (unsigned long long)b);
    cr_assert(b >= lo && b + mem <= limit, "RAM [%#llx, +%#llx) outside range",
              (unsigned long long)b, (unsigned long long)mem);
    cr_assert(b + mem <= 0xC0000000ull || b >= 0x100000000ull, "RAM overlaps the PCI hole");
    cr_assert_eq(l.kernel_start, b + 0x40000);
    cr_assert_eq(l.entry, b + 0x40000 + k->entry);
    cr_assert_eq(l.stack, b + 0x38000);
    cr_assert_eq(l.boot_info, b + 0x4000);
    return b;
}

Test(layout, aslr_bases_valid)
{
    struct kernel k = dyn_kernel();
    uint64_t rnd = 0x243F6A8885A308D3ull, first = 0;
    bool varied = false;
    for (int i = 0; i < 2000; i++) {
        rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t b = check_aslr(&k, 64 * MIB, rnd, 0, 0xC0000000ull);
        if (i == 0) {
            first = b;
        } else if (b != first) {
            varied = true;
        }
    }
    cr_assert(varied, "ASLR always chose the same base");
    /* 64 MiB below 3 GiB: 1505 slots of 2 MiB; the last one ends exactly at the hole */
    cr_assert_eq(check_aslr(&k, 64 * MIB, 1504, 0, 0xC0000000ull), 0xBC000000ull);
    cr_assert_eq(check_aslr(&k, 64 * MIB, 1505, 0, 0xC0000000ull), 0);
    cr_assert_eq(check_aslr(&k, 64 * MIB, 7, 0, 0xC0000000ull), 14 * MIB);
    cr_assert_eq(check_aslr(&k, 64 * MIB, UINT64_MAX, 0, 0xC0000000ull) % (2 * MIB), 0);
    /* all of the v1 range: only one possible base */
    cr_assert_eq(check_aslr(&k, 3 * GIB, 12345, 0, 0xC0000000ull), 0);

    k.uhyve_if = 3;
    for (int i = 0; i < 2000; i++) {
        rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
        check_aslr(&k, 1 * GIB, rnd, 4 * GIB, 64 * GIB);
    }
    /* [4 GiB, 64 GiB) with 1 GiB of RAM: (60 GiB - 1 GiB) / 2 MiB + 1 = 30209 slots */
    cr_assert_eq(check_aslr(&k, 1 * GIB, 30208, 4 * GIB, 64 * GIB), 63 * GIB);
    cr_assert_eq(check_aslr(&k, 1 * GIB, 30209, 4 * GIB, 64 * GIB), 4 * GIB);
}

Test(layout, memory_too_small_for_kernel)
{
    struct kernel k = dyn_kernel();
    k.mem_size = 0x1F0000;
    /* 0x40000 + 0x1F0000 = 0x230000 bytes: rounded up to 4 MiB */
    expect_error(&k, 2 * MIB, false, 0,
                 "guest memory (2 MiB) is too small for this kernel (needs at least 4 MiB)");
    struct layout l;
    cr_assert_eq(layout_choose(&k, 4 * MIB, false, 0, &l), 0, "%s", err_msg());
    cr_assert_eq(l.kernel_end, 0x230000);
    k.mem_size = 0x1C0000; /* ends exactly at 2 MiB */
    cr_assert_eq(layout_choose(&k, 2 * MIB, true, 99, &l), 0, "%s", err_msg());
    cr_assert_eq(l.kernel_end, l.guest_base + 2 * MIB);

    struct kernel e = exec_kernel(); /* ends at 0x947480 */
    expect_error(&e, 8 * MIB, false, 0,
                 "guest memory (8 MiB) is too small for this kernel (needs at least 10 MiB)");
    cr_assert_eq(layout_choose(&e, 10 * MIB, false, 0, &l), 0, "%s", err_msg());
}

Test(layout, memory_beyond_the_range)
{
    struct kernel k = dyn_kernel();
    struct layout l;
    /* v1 RAM must end at or below 3 GiB (the limit is exclusive): 3 GiB exactly still fits */
    cr_assert_eq(layout_choose(&k, 3 * GIB, false, 0, &l), 0, "%s", err_msg());
    cr_assert_eq(l.guest_base, 0);
    expect_error(&k, 3 * GIB + 2 * MIB, false, 0,
                 "guest memory (3074 MiB) does not fit in [0x0, 0xc0000000) for uhyve "
                 "interface v1 kernels (at most 3072 MiB)");
    expect_error(&k, 4 * GIB, true, 5, "does not fit");
    k.uhyve_if = 2;
    cr_assert_eq(layout_choose(&k, 60 * GIB, true, 5, &l), 0, "%s", err_msg());
    cr_assert_eq(l.guest_base, 4 * GIB);
    expect_error(&k, 62 * GIB, false, 0, "(at most 61440 MiB)");
}

Test(layout, exec_needs_room_below_it)
{
    struct kernel e = exec_kernel();
    e.first_vaddr = 0x20000;
    e.entry = 0x20000;
    e.tls.start = 0x20000;
    expect_error(&e, 64 * MIB, false, 0,
                 "kernel must load at 0x20000, but guest RAM starts at 0x0 and boot data and "
                 "stack need [0x0, 0x40000)");
    e.first_vaddr = 0x3FFFF;
    expect_error(&e, 64 * MIB, false, 0, "kernel must load at 0x3ffff");
    e.first_vaddr = 0x40000; /* just enough room */
    struct layout l;
    cr_assert_eq(layout_choose(&e, 64 * MIB, false, 0, &l), 0, "%s", err_msg());
    cr_assert_eq(l.stack, 0x38000);
    /* a v2 kernel linked below 4 GiB cannot run */
    e = exec_kernel();
    e.uhyve_if = 3;
    expect_error(&e, 64 * MIB, false, 0,
                 "kernel must load at 0x800000, but guest RAM starts at "
                 "0x100000000");
    /* a v1 kernel reaching past 3 GiB */
    e = exec_kernel();
    e.first_vaddr = 0xBFF00000ull;
    expect_error(&e, 3 * GIB, false, 0, "ends past 0xc0000000");
}

Test(layout, rejects_bad_memory_size)
{
    struct kernel k = dyn_kernel();
    expect_error(&k, 0, false, 0, "not a nonzero multiple of 2 MiB");
    expect_error(&k, 64 * MIB + 4096, false, 0,
                 "guest memory size 0x4001000 is not a nonzero "
                 "multiple of 2 MiB");
}
