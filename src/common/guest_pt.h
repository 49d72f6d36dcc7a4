/*
 * guest_pt.h: building the boot page tables in guest RAM: the part the x86_64 and aarch64 arch
 * code share (a pool of frames, entry stores, linking a fresh table). The entry formats stay in
 * the arch code, which hands over the few bits this needs.
 */
#ifndef CHYVE_GUEST_PT_H
#define CHYVE_GUEST_PT_H

#include <stdint.h>

#include "guest_mem.h"

/* One set of tables under construction. */
struct guest_pt {
    struct guest_mem *mem;
    uint64_t next, end; /* free GUEST_PAGE_SIZE frames [next, end), handed out in order */
    const char *what;   /* "page table", "translation table": names the tables in errors */
    uint64_t valid;     /* entry bits that mark an entry in use */
    uint64_t addr;      /* entry bits that hold the address of the next-level table */
    uint64_t link;      /* bits of an entry that links a new table (valid included) */
};

/*
 * Takes the pool's next frame into *frame (not zeroed). Returns 0, or -1 with nothing taken when
 * the pool is exhausted (a pool set up backwards is empty); err_msg() names the tables.
 */
int guest_pt_take(struct guest_pt *pt, uint64_t *frame);

/* Zeroes the table at gpa `table`. Returns 0, or -1 with err_msg() if it is outside guest RAM. */
int guest_pt_clear(struct guest_pt *pt, uint64_t table);

/* Stores entry e at index idx of the table at `table`. 0, or -1 with err_msg() outside RAM. */
int guest_pt_set(struct guest_pt *pt, uint64_t table, unsigned idx, uint64_t e);

/*
 * The table that entry idx of `table` points to, in *next: the entry's address if it is in use,
 * else a fresh zeroed frame from the pool, linked there with pt->link. Returns 0, or -1 with
 * err_msg() (pool exhausted, table outside guest RAM).
 */
int guest_pt_next(struct guest_pt *pt, uint64_t table, unsigned idx, uint64_t *next);

#endif
