/* fake_guest.h: a struct vm around a small guest RAM, with console capture, for hypercall tests. */
#ifndef CHYVE_FAKE_GUEST_H
#define CHYVE_FAKE_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vm.h"

/* A VM as vm_run() sets it up, minus kernel and backend; console output goes to a temp file. */
struct fake_guest {
    struct vm_config cfg;
    struct vm vm;
    FILE *out; /* temp file behind cfg.out_fd */
};

/*
 * Maps `size` bytes of guest RAM at `base`, initialises locks and atomics like vm_run() and
 * points cfg.out_fd at a fresh temp file. kernel_path is "/boot/kernel", no args, no env.
 * Aborts on failure (test setup). Release with fake_guest_fini().
 */
void fake_guest_init(struct fake_guest *g, uint64_t base, uint64_t size);
void fake_guest_fini(struct fake_guest *g);

/*
 * Flushes the console (vm_console_flush), then copies at most cap bytes of everything written to
 * it so far into buf and returns the total number of bytes written (which may exceed cap).
 */
size_t fake_guest_output(struct fake_guest *g, void *buf, size_t cap);

/* Checked little-endian stores/loads into guest RAM; abort if out of range (test setup). */
void fg_w8(struct fake_guest *g, uint64_t gpa, uint8_t v);
void fg_w32(struct fake_guest *g, uint64_t gpa, uint32_t v);
void fg_w64(struct fake_guest *g, uint64_t gpa, uint64_t v);
void fg_wbytes(struct fake_guest *g, uint64_t gpa, const void *src, size_t len);
void fg_fill(struct fake_guest *g, uint64_t gpa, uint8_t byte, size_t len);
uint8_t fg_r8(struct fake_guest *g, uint64_t gpa);
uint32_t fg_r32(struct fake_guest *g, uint64_t gpa);
uint64_t fg_r64(struct fake_guest *g, uint64_t gpa);

/*
 * A minimal x86_64 4-level page-table builder inside the fake guest: tables are taken from
 * [pool, pool_end) (guest-physical, 4 KiB aligned, zeroed on use); root is the PML4.
 */
struct fg_pt {
    struct fake_guest *g;
    uint64_t root;
    uint64_t next;
    uint64_t end;
};

void fg_pt_init(struct fg_pt *pt, struct fake_guest *g, uint64_t pool, uint64_t pool_end);

/* Maps the 4 KiB virtual page containing va to the 4 KiB physical frame pa (present, writable). */
void fg_pt_map4k(struct fg_pt *pt, uint64_t va, uint64_t pa);

#endif
