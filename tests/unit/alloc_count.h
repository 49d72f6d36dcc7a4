/*
 * alloc_count.h: a test-only count of heap allocations and string comparisons, made by wrapping
 * malloc, calloc, realloc, strdup, strndup, asprintf and strcmp with the linker's --wrap (see
 * tests/unit/meson.build): production code is untouched. Counting is off until alloc_count_start.
 */
#ifndef CHYVE_ALLOC_COUNT_H
#define CHYVE_ALLOC_COUNT_H

#include <stddef.h>

struct alloc_count {
    size_t calls;   /* allocations (a realloc counts as one) */
    size_t bytes;   /* bytes asked for in total (a realloc counts its new size) */
    size_t largest; /* the largest single request */
    size_t refused; /* requests refused because bytes would pass the budget */
    size_t strcmps; /* strcmp calls */
};

/*
 * Starts counting from zero. Once `budget` bytes in total were asked for, further requests fail
 * (return NULL) instead of exhausting the machine: code that allocates without bound then fails
 * its test rather than the test host.
 */
void alloc_count_start(size_t budget);

/* Stops counting; returns what was counted since alloc_count_start. */
struct alloc_count alloc_count_stop(void);

#endif
