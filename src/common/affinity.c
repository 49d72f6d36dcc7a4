/* affinity.c: parsing --affinity CPU lists, checking them against the host, pinning vCPU threads. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "affinity.h"
#include "err.h"

/* Reads one CPU number at *p (advancing it); false if there is none or it is too large. */
static bool read_cpu(const char **p, unsigned *out)
{
    const char *s = *p;
    if (!isdigit((unsigned char)*s))
        return false;
    unsigned long v = 0;
    while (isdigit((unsigned char)*s)) {
        v = v * 10 + (unsigned long)(*s++ - '0');
        if (v > AFFINITY_MAX_CPU)
            return false;
    }
    *out = (unsigned)v;
    *p = s;
    return true;
}

/* The item starting at p, up to the next separator, for error messages. */
static int item_len(const char *p)
{
    int n = 0;
    while (p[n] && p[n] != ',' && !isspace((unsigned char)p[n]))
        n++;
    return n;
}

int affinity_parse(const char *s, unsigned *cpus, size_t cap, size_t *n)
{
    size_t count = 0;
    const char *p = s;
    for (;;) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        const char *item = p;
        unsigned lo, hi;
        if (!read_cpu(&p, &lo))
            return err_set("invalid CPU list '%s': '%.*s' is not a CPU number (0-%d) or range", s,
                           item_len(item), item, AFFINITY_MAX_CPU);
        hi = lo;
        if (*p == '-') {
            p++;
            if (!read_cpu(&p, &hi))
                return err_set("invalid CPU list '%s': '%.*s' is not a CPU number (0-%d) or range",
                               s, item_len(item), item, AFFINITY_MAX_CPU);
            if (hi < lo)
                return err_set("invalid CPU list '%s': range '%.*s' goes backwards", s,
                               item_len(item), item);
        }
        if (*p != '\0' && *p != ',' && !isspace((unsigned char)*p))
            return err_set("invalid CPU list '%s': '%.*s' is not a CPU number (0-%d) or range", s,
                           item_len(item), item, AFFINITY_MAX_CPU);
        for (unsigned c = lo; c <= hi; c++) {
            if (count == cap)
                return err_set("invalid CPU list '%s': more than %zu CPUs", s, cap);
            cpus[count++] = c;
        }
    }
    if (count == 0)
        return err_set("invalid CPU list '%s': no CPU given", s);
    *n = count;
    return 0;
}

#if defined(__linux__)

/* "0-1,4" for the CPUs in set, written into out. */
static void describe_set(const cpu_set_t *set, char *out, size_t cap)
{
    size_t pos = 0;
    out[0] = '\0';
    for (int c = 0; c < CPU_SETSIZE && pos + 16 < cap; c++) {
        if (!CPU_ISSET(c, set))
            continue;
        int e = c;
        while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, set))
            e++;
        pos += (size_t)snprintf(out + pos, cap - pos, e > c ? "%s%d-%d" : "%s%d", pos ? "," : "",
                                c, e);
        c = e;
    }
}

int affinity_check_host(const unsigned *cpus, size_t n)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return err_set("cannot read the host CPUs this process may use: %s", strerror(errno));
    for (size_t i = 0; i < n; i++) {
        if (cpus[i] < CPU_SETSIZE && CPU_ISSET(cpus[i], &set))
            continue;
        char avail[256];
        describe_set(&set, avail, sizeof(avail));
        return err_set("host CPU %u is not available (chyve may use CPUs %s)", cpus[i], avail);
    }
    return 0;
}

int affinity_pin_self(unsigned cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int e = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (e != 0)
        return err_set("cannot pin a vCPU thread to host CPU %u: %s", cpu, strerror(e));
    return 0;
}

#else /* hosts without thread pinning (macOS): --affinity is refused by the command line */

int affinity_check_host(const unsigned *cpus, size_t n)
{
    (void)cpus;
    (void)n;
    return err_set("this host cannot pin threads to CPUs");
}

int affinity_pin_self(unsigned cpu)
{
    (void)cpu;
    return err_set("this host cannot pin threads to CPUs");
}

#endif
