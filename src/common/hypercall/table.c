/* table.c: chyve's hypercall table, built from the rows of calls.h and checked as it compiles. */
#include "hypercall/calls.h"

#define HC_ROW(version, addr, name, block, size, handler)                                          \
    {addr, version, block, size, #name, "v" #version "." #name, handler},
static const struct hc_entry rows[] = {HYPERCALLS(HC_ROW)};
#undef HC_ROW

const struct hc_table hypercall_builtin = {rows, sizeof(rows) / sizeof(rows[0])};

_Static_assert(sizeof(rows) / sizeof(rows[0]) < HC_KINDS_MAX, "too many hypercalls for --stats");

/* Each row's address lies in its version's window and its block size fits its kind. */
#define HC_CHECK(version, addr, name, block, size, handler)                                        \
    _Static_assert((version) == 1                                                                  \
                       ? (addr) >= UHYVE_V1_FIRST && (addr) <= UHYVE_V1_LAST                       \
                       : (version) == 2 && (addr) >= UHYVE_V2_FIRST && (addr) <= UHYVE_V2_LAST,    \
                   "v" #version "." #name " lies outside the v" #version " window");               \
    _Static_assert((block) == HC_VALUE                                                             \
                       ? (size) == 0                                                               \
                       : (size) > 0 && ((block) == HC_BLOCK_OUT || (size) <= HC_BLOCK_MAX),        \
                   "v" #version "." #name ": block size does not fit its kind");
HYPERCALLS(HC_CHECK)
#undef HC_CHECK

/* Row numbers, for the lookup below. */
#define HC_INDEX(version, addr, name, block, size, handler) HC_ROW_v##version##_##name,
enum { HYPERCALLS(HC_INDEX) HC_ROWS };
#undef HC_INDEX

/*
 * A switch, so that finding a row on the vCPU exit path is the compiler's search tree (about
 * five compares for the 25 rows) rather than a scan; an address used by two rows is a duplicate
 * case label, a compile error.
 */
#define HC_CASE(version, addr, name, block, size, handler)                                         \
    case addr:                                                                                     \
        return &rows[HC_ROW_v##version##_##name];
const struct hc_entry *hypercall_builtin_find(uint64_t addr)
{
    switch (addr) {
        HYPERCALLS(HC_CASE)
    default:
        return NULL;
    }
}
#undef HC_CASE
