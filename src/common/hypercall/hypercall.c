/*
 * hypercall.c: the dispatcher: finds a hypercall's row in the table, checks and copies its
 * parameter block, and calls its handler (ABI §6). The rows are in calls.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "hypercall/calls.h"
#include "hypercall/hypercall.h"
#include "log.h"
#include "vm.h"

static const struct hc_table *active = &hypercall_builtin;

int hypercall_table_check(const struct hc_table *t)
{
    if (t->count >= HC_KINDS_MAX)
        return err_set("hypercall table: %zu rows, at most %d", t->count, HC_KINDS_MAX - 1);
    for (size_t i = 0; i < t->count; i++) {
        const struct hc_entry *e = &t->entries[i];
        bool in_window = e->version == 1   ? e->addr >= UHYVE_V1_FIRST && e->addr <= UHYVE_V1_LAST
                         : e->version == 2 ? e->addr >= UHYVE_V2_FIRST && e->addr <= UHYVE_V2_LAST
                                           : false;
        if (!in_window)
            return err_set("hypercall table: %s at 0x%x lies outside the v%u window", e->label,
                           e->addr, e->version);
        if (!e->handler)
            return err_set("hypercall table: %s has no handler", e->label);
        bool size_ok = e->block == HC_VALUE
                           ? e->size == 0
                           : e->size > 0 && (e->block == HC_BLOCK_OUT || e->size <= HC_BLOCK_MAX);
        if (!size_ok)
            return err_set("hypercall table: %s has a block size of %u bytes", e->label, e->size);
        for (size_t j = 0; j < i; j++)
            if (t->entries[j].addr == e->addr)
                return err_set("hypercall table: %s and %s both use address 0x%x",
                               t->entries[j].label, e->label, e->addr);
    }
    return 0;
}

int hypercall_use_table(const struct hc_table *t)
{
    if (!t)
        t = &hypercall_builtin;
    if (hypercall_table_check(t) != 0)
        return -1;
    active = t;
    return 0;
}

const struct hc_entry *hypercall_lookup(uint64_t addr)
{
    if (active == &hypercall_builtin)
        return hypercall_builtin_find(addr);
    for (size_t i = 0; i < active->count; i++)
        if (active->entries[i].addr == addr)
            return &active->entries[i];
    return NULL;
}

unsigned hypercall_kinds(void)
{
    return (unsigned)active->count + 1;
}

unsigned hypercall_kind(uint64_t addr)
{
    const struct hc_entry *e = hypercall_lookup(addr);
    return e ? (unsigned)(e - active->entries) : (unsigned)active->count;
}

const char *hypercall_kind_label(unsigned kind)
{
    return kind < active->count ? active->entries[kind].label : "other";
}

bool hypercall_is_v2(uint64_t addr)
{
    const struct hc_entry *e = hypercall_lookup(addr);
    if (e)
        return e->version == 2;
    /* Reserved addresses between v2 calls take their data from RDI too, then fail as unknown. */
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < active->count; i++) {
        const struct hc_entry *r = &active->entries[i];
        if (r->version == 2) {
            lo = r->addr < lo ? r->addr : lo;
            hi = r->addr > hi ? r->addr : hi;
        }
    }
    return addr >= lo && addr <= hi;
}

/* The block of row e at gpa is not (entirely) in guest RAM. */
static enum hc_status block_outside(struct vm *vm, const struct hc_entry *e, uint64_t gpa)
{
    if (e->block == HC_BLOCK_IN_OR_FAIL) {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "guest %s hypercall has its parameter block at 0x%" PRIx64
                 ", outside guest memory",
                 e->name, gpa);
        vm_stop(vm, 0, msg);
        return HC_STOP;
    }
    log_warn_limited("%s hypercall: parameter block at 0x%" PRIx64
                     " is outside guest memory; ignored",
                     e->name, gpa);
    return HC_CONTINUE;
}

enum hc_status hypercall_handle(struct vm *vm, struct backend_vcpu *v, uint64_t addr, uint64_t data)
{
    /* data is what the backend decoded: the OUT value (x86 v1), RDI (x86 v2) or X8 (aarch64). */
    const struct hc_entry *e = hypercall_lookup(addr);
    if (!e) {
        char msg[128];
        snprintf(msg, sizeof(msg), "guest made an unknown hypercall: port/address 0x%" PRIx64,
                 addr);
        vm_stop(vm, 0, msg);
        return HC_STOP;
    }
    /* A copy, so the guest cannot change the block while it is used. */
    _Alignas(8) uint8_t block[HC_BLOCK_MAX];
    struct hc_call c = {vm, v, data, NULL};
    switch (e->block) {
    case HC_VALUE:
        break;
    case HC_BLOCK_IN:
    case HC_BLOCK_IN_OR_FAIL:
        if (guest_mem_read(&vm->mem, data, block, e->size) != 0)
            return block_outside(vm, e, data);
        c.block = block;
        break;
    case HC_BLOCK_OUT:
        if (!guest_mem_ptr(&vm->mem, data, e->size))
            return block_outside(vm, e, data);
        break;
    }
    return e->handler(&c);
}
