/*
 * fuzz_pt_walk.h: the body of the guest page-walk targets (fuzz_pt_x86.c, fuzz_pt_aarch64.c):
 * each links one architecture's arch_virt_to_phys() and includes this once.
 * Input: byte 0 bit 0 = guest RAM at 1 GiB instead of 0; bytes 1-8 the table root (CR3 /
 * TTBR0_EL1), 9-16 a virtual address, 17-18 a length (little endian); the rest is 64 KiB of guest
 * RAM, the tables included. The walk of va, guest_virt_copy() of [va, va + len) and
 * guest_virt_for_each() must agree with each other page by page; then the range is written.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "fuzz.h"
#include "guest_mem.h"
#include "guest_virt.h"
#include "log.h"

#define PT_RAM (64u << 10)
#define PT_HEADER 19

static uint64_t pt_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* guest_virt_for_each() must hand over host pointers inside guest RAM, covering len in total. */
struct pt_runs {
    const struct guest_mem *m;
    uint64_t total;
};

static int pt_run(void *ctx, uint8_t *p, uint64_t n)
{
    struct pt_runs *r = ctx;
    uint8_t *lo = guest_mem_ptr(r->m, r->m->base, r->m->size);
    if (n == 0 || p < lo || n > r->m->size || (uint64_t)(p - lo) > r->m->size - n)
        abort();
    r->total += n;
    return 0;
}

/* Where the walk puts va, as a host pointer to n bytes, or NULL if it does not reach RAM. */
static const uint8_t *pt_page(const struct guest_mem *m, uint64_t root, uint64_t va, uint64_t n)
{
    uint64_t pa;
    if (arch_virt_to_phys(m, root, va, &pa) != 0)
        return NULL;
    return guest_mem_ptr(m, pa, n);
}

/* The length of the piece of [va, va + len) from offset i that stays on one page. */
static uint64_t pt_piece(uint64_t va, uint64_t len, uint64_t i)
{
    uint64_t n = GUEST_PAGE_SIZE - ((va + i) & (GUEST_PAGE_SIZE - 1));
    return n < len - i ? n : len - i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct guest_mem mem[2];
    static uint8_t buf[1u << 16], before[PT_RAM];
    static int ready;
    if (!ready) {
        log_threshold = LOG_ERROR;
        if (guest_mem_init(&mem[0], 0, PT_RAM) != 0 || guest_mem_init(&mem[1], 1ull << 30, PT_RAM))
            abort();
        ready = 1;
    }
    if (size < PT_HEADER)
        return 0;
    struct guest_mem *m = &mem[data[0] & 1];
    uint64_t root = pt_le(data + 1, 8), va = pt_le(data + 9, 8), len = pt_le(data + 17, 2);
    uint8_t *ram = guest_mem_ptr(m, m->base, PT_RAM);
    size_t rest = size - PT_HEADER;
    memset(ram, 0, PT_RAM);
    memcpy(ram, data + PT_HEADER, rest < PT_RAM ? rest : PT_RAM);

    int copied = guest_virt_copy(m, root, va, buf, len, false);
    struct pt_runs runs = {m, 0};
    int walked = guest_virt_for_each(m, root, va, len, pt_run, &runs);
    if (len > 0 && va + len < va) {
        if (copied == 0 || walked == 0)
            abort(); /* a wrapping range is refused */
        return 0;
    }
    bool all = true; /* every page of the range walks to guest RAM */
    for (uint64_t i = 0; i < len; i += pt_piece(va, len, i)) {
        uint64_t n = pt_piece(va, len, i);
        const uint8_t *p = pt_page(m, root, va + i, n);
        if (p == NULL) {
            all = false;
            break;
        }
        /* what was copied is what the walk of each page finds */
        if (copied == 0 && memcmp(p, buf + i, n) != 0)
            abort();
    }
    if ((copied == 0) != all || (walked == 0) != all || (all && runs.total != len))
        abort();
    /* a write that is refused changes nothing */
    memcpy(before, ram, PT_RAM);
    memset(buf, 0xA5, len);
    if (guest_virt_copy(m, root, va, buf, len, true) != 0 && memcmp(before, ram, PT_RAM) != 0)
        abort();
    return 0;
}
