/* test_guest_pt.c: what both page-table builders share: guest_mem zero and le64, guest_pt. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "guest_mem.h"
#include "guest_pt.h"

#define BASE 0x40000000ull /* nonzero: catches "offset used as address" mistakes */
#define SIZE (1ull << 20)
#define END (BASE + SIZE)

static struct guest_mem mem;

static void setup(void)
{
    cr_assert_eq(guest_mem_init(&mem, BASE, SIZE), 0, "%s", err_msg());
    memset(guest_mem_ptr(&mem, BASE, SIZE), 0xAA, SIZE);
}

static void teardown(void)
{
    guest_mem_fini(&mem);
}

TestSuite(guest_pt, .init = setup, .fini = teardown);

Test(guest_pt, zero_clears_exactly_the_range)
{
    cr_assert_eq(guest_mem_zero(&mem, BASE + 0x1000, 0x1000), 0);
    const uint8_t *p = guest_mem_ptr(&mem, BASE, SIZE);
    cr_assert_eq(p[0xFFF], 0xAA);
    for (unsigned i = 0x1000; i < 0x2000; i++)
        cr_assert_eq(p[i], 0, "byte 0x%x", i);
    cr_assert_eq(p[0x2000], 0xAA);
}

Test(guest_pt, zero_outside_ram_touches_nothing)
{
    cr_assert_eq(guest_mem_zero(&mem, END - 8, 16), -1);
    cr_assert_eq(guest_mem_zero(&mem, BASE - 8, 16), -1);
    cr_assert_eq(guest_mem_zero(&mem, UINT64_MAX, 2), -1);
    const uint8_t *p = guest_mem_ptr(&mem, BASE, SIZE);
    cr_assert_eq(p[0], 0xAA);
    cr_assert_eq(p[SIZE - 1], 0xAA);
    cr_assert_eq(guest_mem_zero(&mem, END, 0), 0); /* empty range at the end */
}

Test(guest_pt, le64_round_trip_is_little_endian_and_unaligned)
{
    cr_assert_eq(guest_mem_write_le64(&mem, BASE + 3, 0x0102030405060708ull), 0);
    const uint8_t *p = guest_mem_ptr(&mem, BASE + 3, 8);
    const uint8_t want[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    cr_assert_arr_eq(p, want, 8);
    uint64_t v = 0;
    cr_assert_eq(guest_mem_read_le64(&mem, BASE + 3, &v), 0);
    cr_assert_eq(v, 0x0102030405060708ull);
}

Test(guest_pt, le64_outside_ram_fails_without_effect)
{
    uint64_t v = 42;
    cr_assert_eq(guest_mem_read_le64(&mem, END - 4, &v), -1);
    cr_assert_eq(v, 42);
    cr_assert_eq(guest_mem_write_le64(&mem, END - 4, 0), -1);
    cr_assert_eq(((const uint8_t *)guest_mem_ptr(&mem, END - 4, 4))[0], 0xAA);
    cr_assert_eq(guest_mem_read_le64(&mem, END - 8, &v), 0); /* the last whole u64 */
}

static struct guest_pt tables(uint64_t next, uint64_t end)
{
    return (struct guest_pt){&mem, next, end, "test table", 1, ~0xFFFull, 3};
}

Test(guest_pt, pool_hands_out_frames_in_order_until_exhausted)
{
    struct guest_pt pt = tables(BASE + 0x3000, BASE + 0x6000);
    uint64_t f = 0;
    for (uint64_t want = BASE + 0x3000; want < BASE + 0x6000; want += GUEST_PAGE_SIZE) {
        cr_assert_eq(guest_pt_take(&pt, &f), 0);
        cr_assert_eq(f, want);
    }
    f = 7;
    cr_assert_eq(guest_pt_take(&pt, &f), -1);
    cr_assert_eq(f, 7, "nothing taken");
    cr_assert_eq(pt.next, BASE + 0x6000);
    cr_assert_str_eq(err_msg(),
                     "test table pool exhausted: the identity map needs more tables (kernel too "
                     "large)");
}

Test(guest_pt, pool_smaller_than_a_frame_or_backwards_is_empty)
{
    uint64_t f;
    struct guest_pt small = tables(BASE, BASE + GUEST_PAGE_SIZE - 1);
    cr_assert_eq(guest_pt_take(&small, &f), -1);
    struct guest_pt backwards = tables(BASE + 0x2000, BASE);
    cr_assert_eq(guest_pt_take(&backwards, &f), -1);
    cr_assert_eq(backwards.next, BASE + 0x2000);
}

Test(guest_pt, next_links_a_zeroed_frame_once_then_follows_it)
{
    struct guest_pt pt = tables(BASE + 0x3000, BASE + 0x5000);
    cr_assert_eq(guest_pt_clear(&pt, BASE), 0);
    uint64_t t1 = 0, t2 = 0, e = 0;
    cr_assert_eq(guest_pt_next(&pt, BASE, 5, &t1), 0, "%s", err_msg());
    cr_assert_eq(t1, BASE + 0x3000);
    cr_assert_eq(guest_mem_read_le64(&mem, BASE + 5 * 8, &e), 0);
    cr_assert_eq(e, t1 | 3, "linked with pt.link");
    const uint8_t *p = guest_mem_ptr(&mem, t1, GUEST_PAGE_SIZE);
    for (unsigned i = 0; i < GUEST_PAGE_SIZE; i++)
        cr_assert_eq(p[i], 0, "byte 0x%x of the new table", i);
    cr_assert_eq(guest_pt_next(&pt, BASE, 5, &t2), 0);
    cr_assert_eq(t2, t1, "an entry in use is followed, not replaced");
    cr_assert_eq(pt.next, BASE + 0x4000, "one frame taken");
}

Test(guest_pt, tables_outside_ram_are_errors_naming_them)
{
    struct guest_pt pt = tables(BASE, END);
    uint64_t t;
    cr_assert_eq(guest_pt_set(&pt, END - 8, 1, 0), -1);
    cr_assert_str_eq(err_msg(), "test table at 0x400ffff8 lies outside guest RAM");
    cr_assert_eq(guest_pt_clear(&pt, END - 0x800), -1);
    cr_assert_eq(guest_pt_next(&pt, BASE - 0x1000, 0, &t), -1);
    cr_assert_str_eq(err_msg(), "test table at 0x3ffff000 lies outside guest RAM");
    cr_assert_eq(pt.next, BASE, "nothing taken");
}
