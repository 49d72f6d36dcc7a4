/* x86_walk.c: guest-virtual translation with the MMU's access checks (SDM vol. 3 §4.5-4.7). */
#include <string.h>

#include "err.h"
#include "x86.h"
#include "x86_walk.h"

#define PTE_U 0x4ull

/* Sets *f for an access `acc` to va; present: a protection (not a not-present) fault. */
static int fault(struct x86_fault *f, uint64_t va, unsigned acc, bool present, uint32_t extra)
{
    f->addr = va;
    f->code = (present ? X86_PF_P : 0) | ((acc & X86_ACC_WRITE) ? X86_PF_W : 0) |
              ((acc & X86_ACC_USER) ? X86_PF_U : 0) | extra;
    return 1;
}

int x86_walk(const struct guest_mem *m, uint64_t cr3, uint64_t va, unsigned acc, uint64_t *pa,
             struct x86_fault *f)
{
    if ((uint64_t)((int64_t)(va << 16) >> 16) != va) {
        return err_set("guest virtual address 0x%llx is not canonical (the CPU would raise #GP)",
                       (unsigned long long)va);
    }
    uint64_t table = cr3 & X86_PTE_ADDR;
    bool writable = true, user = true;
    for (unsigned shift = 39;; shift -= 9) {
        uint64_t e;
        if (guest_mem_read_le64(m, table + ((va >> shift) & 511) * 8, &e) != 0) {
            return err_set("guest page table at 0x%llx lies outside guest RAM",
                           (unsigned long long)table);
        }
        if (!(e & X86_PTE_P)) {
            return fault(f, va, acc, false, 0);
        }
        writable = writable && (e & X86_PTE_W);
        user = user && (e & PTE_U);
        bool leaf = shift == 12 || ((e & X86_PTE_PS) && (shift == 30 || shift == 21));
        if ((e & X86_PTE_PS) && shift == 39) { /* PS is reserved in a PML4 entry */
            return fault(f, va, acc, true, X86_PF_RSVD);
        }
        if (leaf) {
            uint64_t frame = shift == 30   ? e & X86_PTE_ADDR_1G
                             : shift == 21 ? e & X86_PTE_ADDR_2M
                                           : e & X86_PTE_ADDR;
            *pa = frame | (va & ((1ull << shift) - 1));
            break;
        }
        table = e & X86_PTE_ADDR;
    }
    if (acc & X86_ACC_USER) {
        if (!user || ((acc & X86_ACC_WRITE) && !writable)) {
            return fault(f, va, acc, true, 0);
        }
    } else {
        if (user && (acc & X86_ACC_SMAP)) {
            return fault(f, va, acc, true, 0);
        }
        if ((acc & X86_ACC_WRITE) && (acc & X86_ACC_WP) && !writable) {
            return fault(f, va, acc, true, 0);
        }
    }
    return 0;
}

/* Translates the page of va that holds [va, va + n) into a host pointer; like x86_walk(). */
static int page_ptr(const struct guest_mem *m, uint64_t cr3, uint64_t va, size_t n, unsigned acc,
                    uint8_t **p, struct x86_fault *f)
{
    uint64_t pa;
    int r = x86_walk(m, cr3, va, acc, &pa, f);
    if (r != 0) {
        return r;
    }
    *p = guest_mem_ptr(m, pa, n);
    if (*p == NULL) {
        return err_set("guest virtual address 0x%llx maps to 0x%llx, outside guest RAM",
                       (unsigned long long)va, (unsigned long long)pa);
    }
    return 0;
}

int x86_walk_copy(const struct guest_mem *m, uint64_t cr3, uint64_t va, void *buf, size_t len,
                  unsigned acc, struct x86_fault *f)
{
    if (len > UINT64_MAX - va) {
        return err_set("guest-virtual range 0x%llx + 0x%zx wraps around", (unsigned long long)va,
                       len);
    }
    for (int pass = 0; pass < (buf != NULL ? 2 : 1);
         pass++) { /* pass 0 checks every page, pass 1 copies */
        uint8_t *b = buf;
        for (uint64_t a = va, left = len; left > 0;) {
            size_t n = GUEST_PAGE_SIZE - (a & (GUEST_PAGE_SIZE - 1));
            if (n > left) {
                n = left;
            }
            uint8_t *p;
            int r = page_ptr(m, cr3, a, n, acc, &p, f);
            if (r != 0) {
                return r;
            }
            if (pass == 1) {
                if (acc & X86_ACC_WRITE) {
                    memcpy(p, b, n);
                } else {
                    memcpy(b, p, n);
                }
            }
            a += n;
            if (b != NULL) {
                b += n;
            }
            left -= n;
        }
    }
    return 0;
}
