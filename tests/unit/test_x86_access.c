/* test_x86_access.c: the x86_64 access-checked page walk (x86_walk) and XSAVE area ranges. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "guest_mem.h"
#include "x86_walk.h"
#include "xsave_area.h"

#define BASE 0x40000000ull /* nonzero: catches "offset used as address" mistakes */
#define SIZE (4ull << 20)
#define PML4 (BASE + 0x0000)
#define PDPT (BASE + 0x1000)
#define PD (BASE + 0x2000)
#define PT (BASE + 0x3000)
#define FRAME (BASE + 0x10000) /* what VA maps to */
#define VA 0x5000ull           /* PT index 5 */
#define P 0x1ull
#define W 0x2ull
#define U 0x4ull
#define PS 0x80ull
#define PF_WRITE (X86_ACC_WRITE | X86_ACC_WP)

static struct guest_mem mem;

static void set(uint64_t table, unsigned idx, uint64_t e)
{
    cr_assert_eq(guest_mem_write_le64(&mem, table + idx * 8ull, e), 0);
}

/* VA -> FRAME through four levels; `upper` are the flags of PML4, PDPT and PD entries. */
static void map(uint64_t upper, uint64_t leaf)
{
    set(PML4, 0, PDPT | upper);
    set(PDPT, 0, PD | upper);
    set(PD, 0, PT | upper);
    set(PT, VA >> 12, FRAME | leaf);
}

static void setup(void)
{
    cr_assert_eq(guest_mem_init(&mem, BASE, SIZE), 0, "%s", err_msg());
    memset(guest_mem_ptr(&mem, BASE, SIZE), 0, SIZE);
}

static void teardown(void)
{
    guest_mem_fini(&mem);
}

TestSuite(x86_walk, .init = setup, .fini = teardown);

/* Walks VA for acc; returns x86_walk's result, the fault in *f. */
static int walk(unsigned acc, struct x86_fault *f)
{
    uint64_t pa = 0;
    memset(f, 0xEE, sizeof(*f));
    int r = x86_walk(&mem, PML4, VA + 0x123, acc, &pa, f);
    if (r == 0)
        cr_assert_eq(pa, FRAME + 0x123);
    return r;
}

Test(x86_walk, writable_page_allows_every_access)
{
    struct x86_fault f;
    map(P | W | U, P | W | U);
    cr_assert_eq(walk(0, &f), 0);
    cr_assert_eq(walk(PF_WRITE, &f), 0);
    cr_assert_eq(walk(X86_ACC_USER | X86_ACC_WRITE, &f), 0);
}

Test(x86_walk, not_present_is_a_non_protection_fault)
{
    struct x86_fault f;
    map(P | W, W); /* leaf without P */
    cr_assert_eq(walk(PF_WRITE, &f), 1);
    cr_assert_eq(f.code, X86_PF_W);
    cr_assert_eq(f.addr, VA + 0x123);
    map(W, P | W); /* PML4 entry without P */
    cr_assert_eq(walk(0, &f), 1);
    cr_assert_eq(f.code, 0);
}

Test(x86_walk, read_only_leaf_faults_supervisor_writes_only_with_wp)
{
    struct x86_fault f;
    map(P | W, P);
    cr_assert_eq(walk(PF_WRITE, &f), 1);
    cr_assert_eq(f.code, X86_PF_P | X86_PF_W);
    cr_assert_eq(walk(X86_ACC_WRITE, &f), 0, "CR0.WP=0: supervisor writes ignore R/W");
    cr_assert_eq(walk(X86_ACC_WP, &f), 0, "reads are allowed");
}

Test(x86_walk, read_only_upper_level_makes_the_page_read_only)
{
    struct x86_fault f;
    set(PML4, 0, PDPT | P | W);
    set(PDPT, 0, PD | P); /* R/W clear here only */
    set(PD, 0, PT | P | W);
    set(PT, VA >> 12, FRAME | P | W);
    cr_assert_eq(walk(PF_WRITE, &f), 1);
    cr_assert_eq(f.code, X86_PF_P | X86_PF_W);
}

Test(x86_walk, user_accesses_need_u_at_every_level_and_r_w_without_wp)
{
    struct x86_fault f;
    map(P | W, P | W | U); /* upper levels supervisor-only */
    cr_assert_eq(walk(X86_ACC_USER, &f), 1);
    cr_assert_eq(f.code, X86_PF_P | X86_PF_U);
    map(P | W | U, P | U); /* user page, read-only */
    cr_assert_eq(walk(X86_ACC_USER, &f), 0);
    cr_assert_eq(walk(X86_ACC_USER | X86_ACC_WRITE, &f), 1, "WP does not matter at CPL 3");
    cr_assert_eq(f.code, X86_PF_P | X86_PF_W | X86_PF_U);
}

Test(x86_walk, smap_keeps_supervisor_data_accesses_off_user_pages)
{
    struct x86_fault f;
    map(P | W | U, P | W | U);
    cr_assert_eq(walk(X86_ACC_SMAP, &f), 1);
    cr_assert_eq(f.code, X86_PF_P);
    cr_assert_eq(walk(0, &f), 0, "RFLAGS.AC set (or no SMAP): allowed");
    map(P | W | U, P | W); /* a supervisor page */
    cr_assert_eq(walk(X86_ACC_SMAP | PF_WRITE, &f), 0);
}

Test(x86_walk, large_leaves_and_their_rights)
{
    struct x86_fault f;
    uint64_t pa = 0;
    set(PML4, 0, PDPT | P | W);
    set(PDPT, 1, 0x80000000ull | P | PS); /* 1 GiB at va 1 GiB, read-only */
    set(PDPT, 0, PD | P | W);
    set(PD, 1, 0x40200000ull | P | W | PS); /* 2 MiB at va 2 MiB */
    cr_assert_eq(x86_walk(&mem, PML4, 0x40001234ull, 0, &pa, &f), 0);
    cr_assert_eq(pa, 0x80001234ull);
    cr_assert_eq(x86_walk(&mem, PML4, 0x40001234ull, PF_WRITE, &pa, &f), 1);
    cr_assert_eq(x86_walk(&mem, PML4, 0x201234ull, PF_WRITE, &pa, &f), 0);
    cr_assert_eq(pa, 0x40201234ull);
}

Test(x86_walk, reserved_ps_in_pml4_and_bad_addresses)
{
    struct x86_fault f;
    uint64_t pa;
    set(PML4, 0, PDPT | P | W | PS);
    cr_assert_eq(walk(0, &f), 1);
    cr_assert_eq(f.code, X86_PF_P | X86_PF_RSVD);
    cr_assert_eq(x86_walk(&mem, PML4, 0x0000800000000000ull, 0, &pa, &f), -1, "non-canonical");
    set(PML4, 0, 0x7FF000000ull | P | W); /* next table outside guest RAM */
    cr_assert_eq(walk(0, &f), -1);
    cr_assert(strstr(err_msg(), "outside guest RAM"), "%s", err_msg());
}

Test(x86_walk, copy_checks_every_page_before_writing)
{
    struct x86_fault f;
    map(P | W, P | W);
    set(PT, (VA >> 12) + 1, (FRAME + 0x1000) | P); /* the next page is read-only */
    uint8_t buf[64];
    memset(buf, 0x5A, sizeof(buf));
    cr_assert_eq(x86_walk_copy(&mem, PML4, VA + 0x1000 - 32, buf, 64, PF_WRITE, &f), 1);
    cr_assert_eq(f.addr, VA + 0x1000);
    cr_assert_eq(f.code, X86_PF_P | X86_PF_W);
    const uint8_t *p = guest_mem_ptr(&mem, FRAME, 0x2000);
    for (unsigned i = 0; i < 0x2000; i++)
        cr_assert_eq(p[i], 0, "byte 0x%x written", i);
    cr_assert_eq(x86_walk_copy(&mem, PML4, VA + 0x1000 - 32, buf, 64, 0, &f), 0, "reads pass");
    cr_assert_eq(x86_walk_copy(&mem, PML4, VA + 0x1000 - 32, NULL, 64, PF_WRITE, &f), 1);
    memset(buf, 0x5A, sizeof(buf));
    cr_assert_eq(x86_walk_copy(&mem, PML4, VA, buf, 64, PF_WRITE, &f), 0);
    cr_assert_eq(p[0], 0x5A);
    cr_assert_eq(p[63], 0x5A);
    cr_assert_eq(p[64], 0);
    cr_assert_eq(x86_walk_copy(&mem, PML4, UINT64_MAX - 8, buf, 64, 0, &f), -1, "wraps");
}

/* --- XSAVE area ranges --- */

static struct xsave_layout avx_layout(void)
{
    struct xsave_layout lay;
    memset(&lay, 0, sizeof(lay));
    lay.off[2] = 576;
    lay.size[2] = 256;
    return lay;
}

/* True if some range of r[0, n) covers byte b. */
static bool covers(const struct xsave_range *r, int n, unsigned b)
{
    for (int i = 0; i < n; i++)
        if (b >= r[i].off && b < r[i].off + r[i].len)
            return true;
    return false;
}

Test(xsave_area, x87_only_stores_x87_and_xstate_bv)
{
    struct xsave_layout lay = avx_layout();
    struct xsave_range r[XSAVE_MAX_RANGES];
    int n = xsave_ranges(XSAVE_X87, true, &lay, 1024, r);
    cr_assert_eq(n, 3);
    for (unsigned b = 0; b < 1024; b++) {
        bool want = b < 24 || (b >= 32 && b < 160) || (b >= 512 && b < 520);
        cr_assert_eq(covers(r, n, b), want, "byte %u", b);
    }
    cr_assert_eq(xsave_ranges_end(r, n), XSAVE_MIN);
}

Test(xsave_area, sse_and_avx_bring_mxcsr_and_their_registers)
{
    struct xsave_layout lay = avx_layout();
    struct xsave_range r[XSAVE_MAX_RANGES];
    int n = xsave_ranges(XSAVE_SSE, false, &lay, 1024, r);
    for (unsigned b = 0; b < 1024; b++)
        cr_assert_eq(covers(r, n, b), b >= 24 && b < 416 && (b < 32 || b >= 160), "byte %u", b);
    n = xsave_ranges(XSAVE_AVX, false, &lay, 1024, r);
    for (unsigned b = 0; b < 1024; b++)
        cr_assert_eq(covers(r, n, b), (b >= 24 && b < 32) || (b >= 576 && b < 832), "byte %u", b);
    cr_assert_eq(xsave_ranges_end(r, n), 832);
}

Test(xsave_area, no_mask_touches_software_reserved_or_header_bytes)
{
    struct xsave_layout lay = avx_layout();
    struct xsave_range r[XSAVE_MAX_RANGES];
    for (uint64_t m = 0; m < 8; m++) {
        int n = xsave_ranges(m, true, &lay, 1024, r);
        cr_assert_geq(n, 1);
        for (unsigned b = 416; b < 576; b++)
            cr_assert_eq(covers(r, n, b), b >= 512 && b < 520, "mask %lu byte %u", (unsigned long)m,
                         b);
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                cr_assert(r[i].off + r[i].len <= r[j].off || r[j].off + r[j].len <= r[i].off,
                          "ranges %d and %d overlap", i, j);
    }
}

Test(xsave_area, components_without_a_sane_layout_are_refused)
{
    struct xsave_layout lay = avx_layout();
    struct xsave_range r[XSAVE_MAX_RANGES];
    cr_assert_eq(xsave_ranges(1ull << 5, true, &lay, 1024, r), -1, "no layout");
    cr_assert_eq(xsave_ranges(XSAVE_AVX, true, &lay, 800, r), -1, "past the limit");
    lay.off[2] = 400;
    cr_assert_eq(xsave_ranges(XSAVE_AVX, true, &lay, 1024, r), -1, "inside the legacy area");
    lay.off[2] = UINT32_MAX - 8;
    cr_assert_eq(xsave_ranges(XSAVE_AVX, true, &lay, UINT32_MAX, r), -1, "wraps");
}

Test(xsave_area, every_component_fits_the_range_table)
{
    struct xsave_layout lay;
    for (unsigned i = 2; i < 64; i++) {
        lay.off[i] = 576 + 64 * i;
        lay.size[i] = 64;
    }
    struct xsave_range r[XSAVE_MAX_RANGES];
    int n = xsave_ranges(~0ull >> 1, true, &lay, 1u << 20, r);
    cr_assert_eq(n, XSAVE_MAX_RANGES);
}
