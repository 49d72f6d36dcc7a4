/* guest_virt.c: walks guest-virtual ranges through arch_virt_to_phys() and guest_mem. */
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

static int check_run(void *ctx, uint8_t *p, uint64_t n)
{
    (void)ctx;
    (void)p;
    (void)n;
    return 0;
}

struct copy {
    uint8_t *buf;
    bool to_guest;
};

static int copy_run(void *ctx, uint8_t *p, uint64_t n)
{
    struct copy *c = ctx;
    if (c->to_guest)
        memcpy(p, c->buf, (size_t)n);
    else
        memcpy(c->buf, p, (size_t)n);
    c->buf += n;
    return 0;
}

int guest_virt_copy(const struct guest_mem *m, uint64_t root, uint64_t va, void *buf, uint64_t len,
                    bool to_guest)
{
    if (guest_virt_for_each(m, root, va, len, check_run, NULL) != 0)
        return -1;
    struct copy c = {buf, to_guest};
    return guest_virt_for_each(m, root, va, len, copy_run, &c);
}
