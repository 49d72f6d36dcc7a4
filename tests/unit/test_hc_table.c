/*
 * test_hc_table.c: the hypercall table: its checks, and that a new hypercall needs nothing but a
 * row and a handler (dispatch, --stats name and the v2 register question all follow the row).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "err.h"
#include "fake_backend.h"
#include "fake_guest.h"
#include "hypercall/hypercall.h"
#include "stats/stats.h"
#include "vm.h"

#define SIZE (2ull << 20)

static struct fake_guest g;

static void setup(void)
{
    fake_guest_init(&g, 0, SIZE);
}

static void teardown(void)
{
    hypercall_use_table(NULL);
    fake_guest_fini(&g);
}

TestSuite(hc_table, .init = setup, .fini = teardown);

/* A fake v2 call at 0x1200 ("Double"): block {u64 in, u64 out}; out = 2 * in. */
struct fake_double {
    uint64_t in, out;
};

static int fake_calls;

static enum hc_status hc_double(const struct hc_call *c)
{
    const struct fake_double *p = c->block;
    uint64_t out = 2 * p->in;
    fake_calls++;
    guest_mem_write(&c->vm->mem, c->data + offsetof(struct fake_double, out), &out, sizeof(out));
    return HC_CONTINUE;
}

static enum hc_status hc_nothing(const struct hc_call *c)
{
    (void)c;
    return HC_CONTINUE;
}

/* The built-in rows plus one: what adding a hypercall to calls.h amounts to. */
static struct hc_entry rows[HC_KINDS_MAX];

static struct hc_table with_row(struct hc_entry extra)
{
    memcpy(rows, hypercall_builtin.entries, hypercall_builtin.count * sizeof(rows[0]));
    rows[hypercall_builtin.count] = extra;
    return (struct hc_table){rows, hypercall_builtin.count + 1};
}

static const struct hc_entry double_row = {
    0x1200, 2, HC_BLOCK_IN, sizeof(struct fake_double), "Double", "v2.Double", hc_double};

Test(hc_table, builtin_table_passes_its_checks)
{
    cr_assert_eq(hypercall_table_check(&hypercall_builtin), 0, "%s", err_msg());
    cr_assert_eq(hypercall_builtin.count, 25);
    cr_assert_eq(hypercall_kinds(), 26);
}

Test(hc_table, a_new_row_is_dispatched_counted_and_named)
{
    struct hc_table t = with_row(double_row);
    cr_assert_eq(hypercall_use_table(&t), 0, "%s", err_msg());

    fg_w64(&g, 0x3000, 21);
    fg_w64(&g, 0x3008, 0);
    cr_assert_eq(hypercall_handle(&g.vm, fake_vcpu, 0x1200, 0x3000), HC_CONTINUE);
    cr_assert_eq(fake_calls, 1);
    cr_assert_eq(fg_r64(&g, 0x3008), 42);
    cr_assert_not(atomic_load(&g.vm.stopping));

    /* The block is checked for it like for any other row. */
    cr_assert_eq(hypercall_handle(&g.vm, fake_vcpu, 0x1200, SIZE - 8), HC_CONTINUE);
    cr_assert_eq(fake_calls, 1);

    /* x86 takes its data from RDI; the v2 range now reaches 0x1200. */
    cr_assert(hypercall_is_v2(0x1200));
    cr_assert(hypercall_is_v2(0x11f0)); /* reserved, between v2 calls */

    /* --stats has a counter and a name for it, and "other" moved one up. */
    cr_assert_eq(hypercall_kinds(), 27);
    cr_assert_str_eq(hypercall_kind_label(hypercall_kind(0x1200)), "v2.Double");
    cr_assert_str_eq(hypercall_kind_label(hypercall_kind(0x1040)), "other");
    cr_assert_eq(hypercall_kind(0x1040), 26);
    struct stats *s = stats_new(1);
    stats_hypercall(s, 0, 0x1200);
    stats_hypercall(s, 0, 0x1200);
    cr_assert_eq(s->cpu[0].hypercalls[hypercall_kind(0x1200)], 2);
    stats_free(s);
}

Test(hc_table, without_the_row_the_address_is_unknown)
{
    cr_assert_eq(hypercall_handle(&g.vm, fake_vcpu, 0x1200, 0x3000), HC_STOP);
    cr_assert(g.vm.failed);
    cr_assert_str_eq(g.vm.fail_msg, "guest made an unknown hypercall: port/address 0x1200");
    cr_assert_not(hypercall_is_v2(0x1200));
}

/* Uses t, expecting refusal with a message containing want; the active table stays. */
static void expect_refused(struct hc_entry extra, const char *want)
{
    struct hc_table t = with_row(extra);
    cr_assert_eq(hypercall_use_table(&t), -1);
    cr_assert(strstr(err_msg(), want), "message: %s", err_msg());
    cr_assert_eq(hypercall_kinds(), 26, "the built-in table stays active");
}

Test(hc_table, duplicate_address_is_refused)
{
    struct hc_entry e = double_row;
    e.addr = UHYVE_V2_FILE_WRITE;
    expect_refused(e, "v2.FileWrite and v2.Double both use address 0x1100");
}

Test(hc_table, address_outside_its_window_is_refused)
{
    struct hc_entry e = double_row;
    e.addr = 0x900; /* a v2 row in v1 space */
    expect_refused(e, "v2.Double at 0x900 lies outside the v2 window");
    e.version = 1;
    e.addr = 0x1200; /* a v1 row in v2 space */
    expect_refused(e, "v2.Double at 0x1200 lies outside the v1 window");
    e.version = 3;
    expect_refused(e, "outside the v3 window");
}

Test(hc_table, bad_block_sizes_and_missing_handler_are_refused)
{
    struct hc_entry e = double_row;
    e.size = HC_BLOCK_MAX + 1; /* would not fit the dispatcher's copy */
    expect_refused(e, "v2.Double has a block size of 65 bytes");
    e.size = 0;
    expect_refused(e, "v2.Double has a block size of 0 bytes");
    e = double_row;
    e.block = HC_VALUE; /* a value call has no block */
    expect_refused(e, "block size of 16 bytes");
    e = double_row;
    e.handler = NULL;
    expect_refused(e, "v2.Double has no handler");
}

Test(hc_table, a_value_row_gets_data_unchecked)
{
    struct hc_entry e = {0x1210, 2, HC_VALUE, 0, "Nothing", "v2.Nothing", hc_nothing};
    struct hc_table t = with_row(e);
    cr_assert_eq(hypercall_use_table(&t), 0, "%s", err_msg());
    /* data far outside guest RAM: a value, not an address */
    cr_assert_eq(hypercall_handle(&g.vm, fake_vcpu, 0x1210, UINT64_MAX), HC_CONTINUE);
    cr_assert_not(atomic_load(&g.vm.stopping));
}
