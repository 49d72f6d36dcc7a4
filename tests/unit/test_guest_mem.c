/* test_guest_mem.c: the checked guest RAM accessors: range checks, overflow, strings. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "guest_mem.h"

#define MIB (1ull << 20)
#define BASE 0x40000000ull /* a nonzero base catches "offset used as address" mistakes */
#define SIZE (2 * MIB)
#define END (BASE + SIZE)

static struct guest_mem mem;

static void setup(void)
{
    cr_assert_eq(guest_mem_init(&mem, BASE, SIZE), 0, "%s", err_msg());
}

static void teardown(void)
{
    guest_mem_fini(&mem);
}

TestSuite(guest_mem, .init = setup, .fini = teardown);

Test(guest_mem, init_sets_fields_and_zeroed_ram)
{
    cr_assert_eq(mem.base, BASE);
    cr_assert_eq(mem.size, SIZE);
    const uint8_t *p = guest_mem_ptr(&mem, BASE, SIZE);
    cr_assert_not_null(p);
    for (uint64_t i = 0; i < SIZE; i += 4093)
        cr_assert_eq(p[i], 0, "byte %llu", (unsigned long long)i);
}

Test(guest_mem, init_rejects_empty_and_wrapping)
{
    struct guest_mem m;
    cr_assert_eq(guest_mem_init(&m, 0, 0), -1);
    cr_assert_str_eq(err_msg(), "invalid guest memory range: base 0x0 size 0x0");
    cr_assert_null(m.host);
    cr_assert_eq(guest_mem_init(&m, UINT64_MAX - 0xfff, 0x2000), -1);
    cr_assert_str_eq(err_msg(), "invalid guest memory range: base 0xfffffffffffff000 size 0x2000");
    cr_assert_null(m.host);
    cr_assert_null(guest_mem_ptr(&m, 0, 0));
    guest_mem_fini(&m); /* safe on a failed init */
}

Test(guest_mem, fini_twice_and_on_zeroed_struct)
{
    struct guest_mem z;
    memset(&z, 0, sizeof(z));
    guest_mem_fini(&z);
    cr_assert_null(guest_mem_ptr(&z, 0, 0));
    guest_mem_fini(&mem);
    guest_mem_fini(&mem);
    cr_assert_null(guest_mem_ptr(&mem, BASE, 1));
}

Test(guest_mem, ptr_first_and_last_byte)
{
    uint8_t *first = guest_mem_ptr(&mem, BASE, 1);
    cr_assert_not_null(first);
    cr_assert_eq(first, mem.host);
    uint8_t *last = guest_mem_ptr(&mem, END - 1, 1);
    cr_assert_eq(last, first + SIZE - 1);
    cr_assert_eq(guest_mem_ptr(&mem, BASE, SIZE), first);
    cr_assert_eq(guest_mem_ptr(&mem, BASE + 0x1234, 0x10), first + 0x1234);
    /* Writable to the last byte. */
    *last = 0x5a;
    uint8_t b = 0;
    cr_assert_eq(guest_mem_read(&mem, END - 1, &b, 1), 0);
    cr_assert_eq(b, 0x5a);
}

Test(guest_mem, ptr_len_zero_at_end_but_not_past_it)
{
    uint8_t *first = guest_mem_ptr(&mem, BASE, 0);
    cr_assert_eq(first, mem.host);
    cr_assert_eq(guest_mem_ptr(&mem, END, 0), first + SIZE);
    cr_assert_null(guest_mem_ptr(&mem, END + 1, 0));
    cr_assert_null(guest_mem_ptr(&mem, END, 1));
}

Test(guest_mem, ptr_one_past_end)
{
    cr_assert_null(guest_mem_ptr(&mem, END - 1, 2));
    cr_assert_null(guest_mem_ptr(&mem, BASE, SIZE + 1));
    cr_assert_null(guest_mem_ptr(&mem, BASE + 1, SIZE));
    cr_assert_null(guest_mem_ptr(&mem, END, 0x1000));
}

Test(guest_mem, ptr_below_base)
{
    cr_assert_null(guest_mem_ptr(&mem, BASE - 1, 1));
    cr_assert_null(guest_mem_ptr(&mem, BASE - 1, 2)); /* would end inside RAM */
    cr_assert_null(guest_mem_ptr(&mem, BASE - 1, 0));
    cr_assert_null(guest_mem_ptr(&mem, 0, 0x1000));
    cr_assert_null(guest_mem_ptr(&mem, 0, BASE + 1));
}

Test(guest_mem, ptr_overflow_near_2_pow_64)
{
    /* gpa + len wraps around to a small value inside or below RAM. */
    cr_assert_null(guest_mem_ptr(&mem, BASE + 0x1000, UINT64_MAX - 0x800));
    cr_assert_null(guest_mem_ptr(&mem, BASE + 0x1000, UINT64_MAX));
    cr_assert_null(guest_mem_ptr(&mem, BASE + 0x1000, (UINT64_MAX - (BASE + 0x1000)) + 1 + BASE));
    cr_assert_null(guest_mem_ptr(&mem, UINT64_MAX, 2));
    cr_assert_null(guest_mem_ptr(&mem, UINT64_MAX, 0));
    cr_assert_null(guest_mem_ptr(&mem, UINT64_MAX - 7, 8));
    cr_assert_null(guest_mem_ptr(&mem, 0x8000000000000000ull, 0x8000000000000000ull + BASE + 1));
}

Test(guest_mem, ptr_huge_len)
{
    cr_assert_null(guest_mem_ptr(&mem, BASE, UINT64_MAX));
    cr_assert_null(guest_mem_ptr(&mem, BASE, 1ull << 63));
    cr_assert_null(guest_mem_ptr(&mem, END - 1, UINT64_MAX));
}

Test(guest_mem, ptr_at_base_zero_region)
{
    struct guest_mem z;
    cr_assert_eq(guest_mem_init(&z, 0, SIZE), 0, "%s", err_msg());
    cr_assert_eq(guest_mem_ptr(&z, 0, SIZE), z.host);
    cr_assert_null(guest_mem_ptr(&z, SIZE - 8, 9));
    cr_assert_null(guest_mem_ptr(&z, 8, UINT64_MAX - 7)); /* 8 + len == 0 */
    guest_mem_fini(&z);
}

Test(guest_mem, read_write_roundtrip_at_edges)
{
    const char msg[] = "edge!";
    cr_assert_eq(guest_mem_write(&mem, END - sizeof(msg), msg, sizeof(msg)), 0);
    char back[sizeof(msg)];
    cr_assert_eq(guest_mem_read(&mem, END - sizeof(msg), back, sizeof(back)), 0);
    cr_assert_arr_eq(back, msg, sizeof(msg));
    cr_assert_eq(guest_mem_write(&mem, BASE, msg, sizeof(msg)), 0);
    cr_assert_eq(memcmp(mem.host, msg, sizeof(msg)), 0);
}

Test(guest_mem, read_out_of_range_copies_nothing)
{
    memset(guest_mem_ptr(&mem, END - 16, 16), 0x11, 16);
    uint8_t dst[32];
    memset(dst, 0xEE, sizeof(dst));
    cr_assert_eq(guest_mem_read(&mem, END - 16, dst, 32), -1);
    cr_assert_eq(guest_mem_read(&mem, BASE - 16, dst, 32), -1);
    cr_assert_eq(guest_mem_read(&mem, END - 16, dst, UINT64_MAX), -1);
    for (size_t i = 0; i < sizeof(dst); i++)
        cr_assert_eq(dst[i], 0xEE, "dst[%zu] was written", i);
}

Test(guest_mem, write_out_of_range_copies_nothing)
{
    uint8_t src[32];
    memset(src, 0x77, sizeof(src));
    cr_assert_eq(guest_mem_write(&mem, END - 16, src, 32), -1);
    cr_assert_eq(guest_mem_write(&mem, BASE - 16, src, 32), -1);
    cr_assert_eq(guest_mem_write(&mem, BASE + 16, src, UINT64_MAX - 15), -1);
    const uint8_t *tail = guest_mem_ptr(&mem, END - 16, 16);
    const uint8_t *head = guest_mem_ptr(&mem, BASE, 32);
    for (size_t i = 0; i < 16; i++)
        cr_assert_eq(tail[i], 0, "tail[%zu] was written", i);
    for (size_t i = 0; i < 32; i++)
        cr_assert_eq(head[i], 0, "head[%zu] was written", i);
}

Test(guest_mem, read_write_len_zero)
{
    uint8_t b = 0x42;
    cr_assert_eq(guest_mem_read(&mem, END, &b, 0), 0);
    cr_assert_eq(guest_mem_write(&mem, END, &b, 0), 0);
    cr_assert_eq(guest_mem_read(&mem, END + 1, &b, 0), -1);
    cr_assert_eq(b, 0x42);
}

Test(guest_mem, zero_clears_exactly_the_range)
{
    uint8_t *p = guest_mem_ptr(&mem, BASE, 4 * 4096);
    memset(p, 0x5A, 4 * 4096);
    /* Unaligned at both ends; one block holds a single nonzero byte at its very end. */
    memset(p + 4096, 0, 4096);
    p[2 * 4096 - 1] = 1;
    cr_assert_eq(guest_mem_zero(&mem, BASE + 100, 3 * 4096 + 50 - 100), 0);
    cr_assert_eq(p[99], 0x5A);
    cr_assert_eq(p[3 * 4096 + 50], 0x5A);
    for (size_t i = 100; i < 3 * 4096 + 50; i++)
        cr_assert_eq(p[i], 0, "byte %zu", i);
    cr_assert_eq(guest_mem_zero(&mem, END - 1, 2), -1);
    cr_assert_eq(guest_mem_zero(&mem, END, 0), 0);
}

#ifdef __linux__
/* Resident KiB of the mapping that holds addr, from /proc/self/smaps; -1 if not found. */
static long mapping_rss_kib(const void *addr)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    bool in = false;
    long kib = -1;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
            in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
        else if (in && sscanf(line, "Rss: %ld kB", &kib) == 1)
            break;
    }
    fclose(f);
    return kib;
}

Test(guest_mem, zero_leaves_unwritten_ram_unbacked)
{
    /* A kernel's .bss zeroed at load: RAM nobody wrote must not become resident for it. */
    cr_assert_eq(guest_mem_zero(&mem, BASE, SIZE), 0);
    long kib = mapping_rss_kib(mem.host);
    cr_assert(kib >= 0 && kib < 64, "%ld KiB of 2 MiB resident after zeroing", kib);
}
#endif

Test(guest_mem, read_str_normal)
{
    const char s[] = "/etc/hostname";
    cr_assert_eq(guest_mem_write(&mem, BASE + 0x100, s, sizeof(s)), 0);
    char dst[64];
    memset(dst, 'X', sizeof(dst));
    cr_assert_eq(guest_mem_read_str(&mem, BASE + 0x100, dst, sizeof(dst)), 13);
    cr_assert_str_eq(dst, "/etc/hostname");
}

Test(guest_mem, read_str_empty)
{
    char dst[1] = {'X'};
    cr_assert_eq(guest_mem_read_str(&mem, BASE, dst, 1), 0);
    cr_assert_eq(dst[0], '\0');
}

Test(guest_mem, read_str_exact_fit_and_one_too_long)
{
    const char s[] = "abcdefgh"; /* 8 chars + NUL */
    cr_assert_eq(guest_mem_write(&mem, BASE + 0x200, s, sizeof(s)), 0);
    char dst[16];
    cr_assert_eq(guest_mem_read_str(&mem, BASE + 0x200, dst, 9), 8);
    cr_assert_str_eq(dst, "abcdefgh");
    cr_assert_eq(guest_mem_read_str(&mem, BASE + 0x200, dst, 8), -1);
    cr_assert_eq(guest_mem_read_str(&mem, BASE + 0x200, dst, 0), -1);
}

Test(guest_mem, read_str_nul_is_last_byte_of_ram)
{
    const char s[] = "tail";
    cr_assert_eq(guest_mem_write(&mem, END - sizeof(s), s, sizeof(s)), 0);
    char dst[64];
    cr_assert_eq(guest_mem_read_str(&mem, END - sizeof(s), dst, sizeof(dst)), 4);
    cr_assert_str_eq(dst, "tail");
}

Test(guest_mem, read_str_runs_off_end_of_ram)
{
    /* "tail" fills the last 4 bytes: no NUL before the end of guest RAM. */
    cr_assert_eq(guest_mem_write(&mem, END - 4, "tail", 4), 0);
    char dst[64];
    cr_assert_eq(guest_mem_read_str(&mem, END - 4, dst, sizeof(dst)), -1);
    cr_assert_eq(guest_mem_read_str(&mem, END - 1, dst, sizeof(dst)), -1);
    cr_assert_eq(guest_mem_read_str(&mem, END, dst, sizeof(dst)), -1);
}

Test(guest_mem, read_str_out_of_range)
{
    char dst[8];
    cr_assert_eq(guest_mem_read_str(&mem, BASE - 1, dst, sizeof(dst)), -1);
    cr_assert_eq(guest_mem_read_str(&mem, END + 1, dst, sizeof(dst)), -1);
    cr_assert_eq(guest_mem_read_str(&mem, UINT64_MAX, dst, sizeof(dst)), -1);
    cr_assert_eq(guest_mem_read_str(&mem, 0, dst, sizeof(dst)), -1);
}

Test(guest_mem, read_str_too_long_for_cap)
{
    char big[300];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cr_assert_eq(guest_mem_write(&mem, BASE + 0x1000, big, sizeof(big)), 0);
    char dst[256];
    cr_assert_eq(guest_mem_read_str(&mem, BASE + 0x1000, dst, sizeof(dst)), -1);
    char dst2[300];
    cr_assert_eq(guest_mem_read_str(&mem, BASE + 0x1000, dst2, sizeof(dst2)), 299);
    cr_assert_eq(strlen(dst2), 299);
}
