/* guest_virt.h: guest-virtual memory, reached through the guest's own page tables. */
#ifndef CHYVE_GUEST_VIRT_H
#define CHYVE_GUEST_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

/*
 * Walks guest-virtual [va, va + len) through the page tables rooted at `root` (CR3 / TTBR0_EL1)
 * page by page, and calls fn(ctx, host pointer, n) for each run of pages that is contiguous in
 * guest-physical memory, in order. Contiguous virtual pages need not be physically contiguous;
 * physically adjacent ones are joined into one call. Stops at the first page that is not mapped
 * or lies outside guest RAM (after fn saw the run before it) and at the first run fn rejects
 * (fn returns < 0). Returns 0, or -1 with err_msg() set. len 0 calls nothing.
 */
int guest_virt_for_each(const struct guest_mem *m, uint64_t root, uint64_t va, uint64_t len,
                        int (*fn)(void *ctx, uint8_t *p, uint64_t n), void *ctx);

/*
 * Copies len bytes between guest-virtual va and buf (to_guest: from buf into the guest). Every
 * page is translated before anything is copied, so a bad page changes nothing. Returns 0, or -1
 * with err_msg() set.
 */
int guest_virt_copy(const struct guest_mem *m, uint64_t root, uint64_t va, void *buf, uint64_t len,
                    bool to_guest);

#endif
