/* guest_virt.c: walks guest-virtual ranges through arch_virt_to_phys() and guest_mem. */
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "err.h"
#include "guest_virt.h"

int guest_virt_for_each(const struct guest_mem *m, uint64_t root, uint64_t va, uint64_t len,
                        int (*fn)(void *ctx, uint8_t *p, uint64_t n), void *ctx)
{
    if (len == 0)
        return 0;
    if (len > UINT64_MAX - va)
        return err_set("guest-virtual range 0x%llx + 0x%llx wraps around", (unsigned long long)va,
                       (unsigned long long)len);
    uint64_t run_pa = 0, run_len = 0; /* the physically contiguous run not yet passed to fn */
    while (len > 0) {
        uint64_t n = GUEST_PAGE_SIZE - (va & (GUEST_PAGE_SIZE - 1));
        if (n > len)
            n = len;
        uint64_t pa;
        bool mapped = arch_virt_to_phys(m, root, va, &pa) == 0;
        bool ok = mapped && guest_mem_ptr(m, pa, n) != NULL;
        if (ok && run_len > 0 && pa == run_pa + run_len) {
            run_len += n;
        } else {
            if (run_len > 0 && fn(ctx, guest_mem_ptr(m, run_pa, run_len), run_len) < 0)
                return err_set("guest-virtual range at 0x%llx was refused",
                               (unsigned long long)(va - run_len));
            if (!mapped)
                return err_set("guest-virtual address 0x%llx is not mapped",
                               (unsigned long long)va);
            if (!ok)
                return err_set("guest-virtual address 0x%llx maps to 0x%llx, outside guest RAM",
                               (unsigned long long)va, (unsigned long long)pa);
            run_pa = pa;
            run_len = n;
        }
        va += n;
        len -= n;
    }
    if (fn(ctx, guest_mem_ptr(m, run_pa, run_len), run_len) < 0)
        return err_set("guest-virtual range at 0x%llx was refused",
                       (unsigned long long)(va - run_len));
    return 0;
}

/*
 * The runs of a range as one walk found them. Copying goes through this snapshot rather than a
 * second walk: a write into the guest's own page tables must not change where the rest of the
 * same write lands (or make it fail halfway, after part of it was written).
 */
struct runs {
    struct run {
        uint8_t *p;
        uint64_t n;
    } * v, few[8];
    size_t count, cap;
};

static int add_run(void *ctx, uint8_t *p, uint64_t n)
{
    struct runs *r = ctx;
    if (r->count == r->cap) {
        size_t cap = 2 * r->cap;
        struct run *v = r->v == r->few ? malloc(cap * sizeof(*v)) : realloc(r->v, cap * sizeof(*v));
        if (!v)
            return -1;
        if (r->v == r->few)
            memcpy(v, r->few, sizeof(r->few));
        r->v = v;
        r->cap = cap;
    }
    r->v[r->count].p = p;
    r->v[r->count].n = n;
    r->count++;
    return 0;
}

int guest_virt_copy(const struct guest_mem *m, uint64_t root, uint64_t va, void *buf, uint64_t len,
                    bool to_guest)
{
    struct runs r = {.v = r.few, .cap = sizeof(r.few) / sizeof(r.few[0])};
    int rc = guest_virt_for_each(m, root, va, len, add_run, &r);
    uint8_t *b = buf;
    for (size_t i = 0; rc == 0 && i < r.count; i++) {
        if (to_guest)
            memcpy(r.v[i].p, b, (size_t)r.v[i].n);
        else
            memcpy(b, r.v[i].p, (size_t)r.v[i].n);
        b += r.v[i].n;
    }
    if (r.v != r.few)
        free(r.v);
    return rc;
}
