/*
 * x86_walk.h: guest-virtual accesses as the x86_64 MMU checks them (present, R/W with CR0.WP,
 * U/S, SMAP), for instructions chyve emulates; a refused access yields a #PF error code.
 */
#ifndef CHYVE_X86_WALK_H
#define CHYVE_X86_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

/* The access, as bits of `acc` (SDM vol. 3 §4.6). */
#define X86_ACC_WRITE 0x1u /* a data write (else a data read) */
#define X86_ACC_USER 0x2u  /* made at CPL 3 */
#define X86_ACC_WP 0x4u    /* CR0.WP: supervisor writes honour R/W */
#define X86_ACC_SMAP                                                                               \
    0x8u /* CR4.SMAP set and RFLAGS.AC clear: supervisor data may not touch user pages */

/* #PF error code bits (SDM vol. 3 §4.7). */
#define X86_PF_P 0x1u    /* 0: page not present; 1: protection violation */
#define X86_PF_W 0x2u    /* the access was a write */
#define X86_PF_U 0x4u    /* the access was made at CPL 3 */
#define X86_PF_RSVD 0x8u /* a reserved bit was set in a paging-structure entry */

/* A page fault the access would raise: the CPU's error code and the faulting address (CR2). */
struct x86_fault {
    uint32_t code;
    uint64_t addr;
};

/*
 * Translates va for an access `acc` through the 4-level tables rooted at cr3 (only 4 KiB, 2 MiB
 * and 1 GiB leaves). Rights combine over all levels: writable only if every level has R/W, user
 * only if every level has U/S. Returns 0 with *pa set; 1 with *f set if the CPU would raise #PF;
 * -1 with err_msg() if no CPU fault describes it (non-canonical address: #GP; tables outside RAM).
 */
int x86_walk(const struct guest_mem *m, uint64_t cr3, uint64_t va, unsigned acc, uint64_t *pa,
             struct x86_fault *f);

/*
 * Copies len bytes between guest-virtual va and buf (acc & X86_ACC_WRITE: from buf into the
 * guest), after checking every page of the range for the access: a fault or an error changes
 * nothing; buf NULL only checks. Returns 0, 1 with *f (the lowest faulting address), or -1 with
 * err_msg() (also for a page outside guest RAM).
 */
int x86_walk_copy(const struct guest_mem *m, uint64_t cr3, uint64_t va, void *buf, size_t len,
                  unsigned acc, struct x86_fault *f);

#endif
