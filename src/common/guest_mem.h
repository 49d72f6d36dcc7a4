/* guest_mem.h: guest RAM, and the one checked way to reach it from the host. */
#ifndef CHYVE_GUEST_MEM_H
#define CHYVE_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The guest page size chyve builds and walks page tables with (4 KiB on x86_64 and aarch64). */
#define GUEST_PAGE_SIZE 0x1000ull

/* One contiguous region of guest-physical RAM [base, base + size) backed by host memory. */
struct guest_mem {
    uint8_t *host; /* host mapping of the first byte; private to guest_mem.c */
    uint64_t base; /* guest-physical address of the first byte */
    uint64_t size; /* bytes */
};

/*
 * Maps `size` bytes of anonymous, lazily backed (MAP_NORESERVE, not pre-faulted) host memory as
 * guest RAM starting at guest-physical `base`. Returns 0, or -1 with err_msg() set.
 */
int guest_mem_init(struct guest_mem *m, uint64_t base, uint64_t size);

/*
 * Advises the host kernel about guest RAM: huge = transparent huge pages (--thp), mergeable =
 * KSM page merging (--ksm). Nothing to do when both are false. Returns 0, or -1 with err_msg()
 * if the host refuses (e.g. a kernel without THP or KSM).
 */
int guest_mem_advise(struct guest_mem *m, bool huge, bool mergeable);

/* Unmaps the region; safe on a zeroed or already released struct. */
void guest_mem_fini(struct guest_mem *m);

/*
 * The host address of guest-physical [gpa, gpa + len), or NULL unless that whole range lies inside
 * guest RAM. Overflow-safe for any gpa and len. len 0 is allowed (gpa may then equal the end).
 * This is the only function that does arithmetic on host pointers into guest RAM.
 */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy between guest RAM and a host buffer; 0 on success, -1 (nothing copied) if out of range. */
int guest_mem_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len);
int guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);

/*
 * Zeroes guest-physical [gpa, gpa + len), writing only where it is not zero yet (so RAM never
 * written stays unbacked); 0, or -1 (nothing zeroed) if out of range.
 */
int guest_mem_zero(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Reads or writes the little-endian u64 at gpa (a page-table entry); 0, or -1 if out of range. */
int guest_mem_read_le64(const struct guest_mem *m, uint64_t gpa, uint64_t *v);
int guest_mem_write_le64(const struct guest_mem *m, uint64_t gpa, uint64_t v);

/*
 * Copies a NUL-terminated string at gpa into dst (capacity cap >= 1), so that a guest cannot
 * change it after it was checked. Returns its length (without NUL), or -1 if the string leaves
 * guest RAM or does not fit in cap bytes including the NUL.
 */
long guest_mem_read_str(const struct guest_mem *m, uint64_t gpa, char *dst, size_t cap);

#endif
