/* affinity.h: --affinity: host CPU lists ("0-3,5", "0 1 2"), checked against the host, pinning. */
#ifndef CHYVE_AFFINITY_H
#define CHYVE_AFFINITY_H

#include <stddef.h>

/* Highest host CPU number a list may name (glibc's CPU_SETSIZE is 1024). */
#define AFFINITY_MAX_CPU 1023

/*
 * Parses a CPU list: items separated by ',' and/or blanks, each a number N or an inclusive range
 * A-B (A <= B). Fills cpus[0 .. *n) in list order (ranges expanded); at most cap CPUs. Returns 0,
 * or -1 with err_msg() such as "invalid CPU list '0-x': 'x' is not a CPU number".
 */
int affinity_parse(const char *s, unsigned *cpus, size_t cap, size_t *n);

/*
 * Checks that every CPU in cpus[0 .. n) is one this process may run on (Linux: its affinity
 * mask). Returns 0, or -1 with err_msg() naming the first CPU that is not available.
 */
int affinity_check_host(const unsigned *cpus, size_t n);

/* Pins the calling thread to host CPU cpu. Returns 0, or -1 with err_msg(). */
int affinity_pin_self(unsigned cpu);

#endif
