/* layout.c: chooses guest_base and the kernel address, and places the boot data (ABI §3). */
#include "loader/layout.h"

#include <inttypes.h>
#include <string.h>

#include "arch.h"
#include "err.h"
#include "log.h"

#define MIB ((uint64_t)1 << 20)

/* A half-open address range [lo, hi). */
struct range {
    uint64_t lo;
    uint64_t hi;
};

/* lo rounded up to LAYOUT_MEMORY_ALIGN, or UINT64_MAX if that overflows. */
static uint64_t align_up_2m(uint64_t lo)
{
    if (lo > UINT64_MAX - (LAYOUT_MEMORY_ALIGN - 1)) {
        return UINT64_MAX;
    }
    return (lo + LAYOUT_MEMORY_ALIGN - 1) & ~(LAYOUT_MEMORY_ALIGN - 1);
}

/* How many 2 MiB aligned bases b in r leave [b, b + size) inside r. */
static uint64_t slots(const struct range *r, uint64_t size)
{
    uint64_t lo = align_up_2m(r->lo);
    if (lo >= r->hi || r->hi - lo < size) {
        return 0;
    }
    return (r->hi - lo - size) / LAYOUT_MEMORY_ALIGN + 1;
}

/* The largest 2 MiB multiple that fits in r from an aligned base. */
static uint64_t largest_fit(const struct range *r)
{
    uint64_t lo = align_up_2m(r->lo);
    return lo >= r->hi ? 0 : (r->hi - lo) & ~(LAYOUT_MEMORY_ALIGN - 1);
}

/*
 * Splits [lo, limit) around the forbidden hole (x86_64: the PCI gap below 4 GiB) into at most
 * two ranges RAM may occupy. Returns how many.
 */
static unsigned usable_ranges(uint64_t lo, uint64_t limit, struct range r[2])
{
    uint64_t hs = arch_info.hole_start, he = arch_info.hole_end;
    if (hs >= he || he <= lo || hs >= limit) {
        r[0] = (struct range){lo, limit};
        return 1;
    }
    unsigned n = 0;
    if (hs > lo) {
        r[n++] = (struct range){lo, hs};
    }
    if (he < limit) {
        r[n++] = (struct range){he, limit};
    }
    return n;
}

/* Records "memory too small" with the need (bytes from guest_base) rounded up to 2 MiB. */
static int too_small(uint64_t mem_size, uint64_t need)
{
    return err_set("guest memory (%" PRIu64 " MiB) is too small for this kernel (needs at least "
                   "%" PRIu64 " MiB)",
                   mem_size / MIB, align_up_2m(need) / MIB);
}

/*
 * Lists every allowed base (2 MiB aligned, RAM inside the interface's range and clear of the
 * hole), takes the first one or, for a relocatable kernel with ASLR, the one `random` selects,
 * then places the kernel and derives the boot-data addresses from the base.
 */
int layout_choose(const struct kernel *k, uint64_t mem_size, bool aslr, uint64_t random,
                  struct layout *l)
{
    if (mem_size == 0 || mem_size % LAYOUT_MEMORY_ALIGN != 0) {
        return err_set("guest memory size 0x%" PRIx64 " is not a nonzero multiple of 2 MiB",
                       mem_size);
    }
    uint64_t lo, limit;
    if (k->uhyve_if == 1) {
        lo = arch_info.ram_start_v1;
        limit = arch_info.ram_limit_v1;
    } else if (k->uhyve_if == 2 || k->uhyve_if == 3) {
        lo = arch_info.ram_start_v2;
        limit = arch_info.ram_limit_v2;
    } else {
        return err_set("uhyve interface version %" PRIu32 " is not supported", k->uhyve_if);
    }

    /* Every candidate base: 2 MiB aligned, RAM below the limit and clear of the hole. */
    struct range r[2];
    uint64_t per[2] = {0, 0}, total = 0, fit = 0;
    unsigned n = usable_ranges(lo, limit, r);
    for (unsigned i = 0; i < n; i++) {
        per[i] = slots(&r[i], mem_size);
        total += per[i];
        uint64_t f = largest_fit(&r[i]);
        fit = f > fit ? f : fit;
    }
    if (total == 0) {
        return err_set("guest memory (%" PRIu64 " MiB) does not fit in [0x%" PRIx64 ", 0x%" PRIx64
                       ") for uhyve interface v%" PRIu32 " kernels (at most %" PRIu64 " MiB)",
                       mem_size / MIB, lo, limit, k->uhyve_if, fit / MIB);
    }

    uint64_t index = 0;
    if (aslr && k->relocatable) {
        index = random % total;
    } else if (aslr) {
        log_info("ASLR does not apply to a non-relocatable kernel; it loads at 0x%" PRIx64,
                 k->first_vaddr);
    }
    unsigned ri = 0;
    while (index >= per[ri]) {
        index -= per[ri++];
    }
    uint64_t base = align_up_2m(r[ri].lo) + index * LAYOUT_MEMORY_ALIGN;

    uint64_t kstart;
    if (k->relocatable) {
        /* mem_size >= 2 MiB > LAYOUT_KERNEL_OFFSET, so the subtraction cannot wrap. */
        if (k->mem_size > mem_size - LAYOUT_KERNEL_OFFSET) {
            return too_small(mem_size, LAYOUT_KERNEL_OFFSET + k->mem_size);
        }
        kstart = base + LAYOUT_KERNEL_OFFSET;
    } else {
        kstart = k->first_vaddr;
        if (kstart < base || kstart - base < LAYOUT_KERNEL_OFFSET) {
            return err_set("kernel must load at 0x%" PRIx64 ", but guest RAM starts at 0x%" PRIx64
                           " and boot data and stack need [0x%" PRIx64 ", 0x%" PRIx64 ")",
                           kstart, base, base, base + LAYOUT_KERNEL_OFFSET);
        }
        if (k->mem_size > limit || kstart > limit - k->mem_size) {
            return err_set("kernel image [0x%" PRIx64 ", +0x%" PRIx64 ") ends past 0x%" PRIx64
                           ", the limit for uhyve interface v%" PRIu32 " guests",
                           kstart, k->mem_size, limit, k->uhyve_if);
        }
        if (k->mem_size > mem_size || kstart - base > mem_size - k->mem_size) {
            return too_small(mem_size, kstart - base + k->mem_size);
        }
    }

    /* ET_EXEC: delta 0. ET_DYN: first_vaddr is 0 and every address moves to kstart. */
    uint64_t delta = kstart - k->first_vaddr;
    memset(l, 0, sizeof(*l));
    l->guest_base = base;
    l->mem_size = mem_size;
    l->kernel_start = kstart;
    l->kernel_end = kstart + k->mem_size;
    l->entry = k->entry + delta;
    l->tls = k->tls;
    if (k->tls.start != 0 || k->tls.filesz != 0 || k->tls.memsz != 0 || k->tls.align != 0) {
        l->tls.start = k->tls.start + delta;
    }
    l->boot_info = base + LAYOUT_BOOT_INFO_OFFSET;
    l->fdt = base + LAYOUT_FDT_OFFSET;
    l->pt_root = base + LAYOUT_PT_ROOT_OFFSET;
    l->gdt = base + LAYOUT_GDT_OFFSET;
    l->stack = kstart - LAYOUT_STACK_SIZE;
    l->legacy_mapping = k->legacy_mapping;
    return 0;
}
