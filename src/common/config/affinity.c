/* affinity.c: parsing --affinity CPU lists, checking them against the host, pinning vCPUs. */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config/affinity.h"
#include "err.h"
#include "host.h"

_Static_assert(AFFINITY_MAX_CPU < HOST_CPUS, "every CPU a list may name fits a host CPU mask");

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

/* Whether CPU c is set in a host CPU mask. */
static bool mask_has(const uint64_t mask[HOST_CPU_WORDS], unsigned c)
{
    return c < HOST_CPUS && (mask[c / 64] >> (c % 64) & 1);
}

/* "0-1,4" for the CPUs in mask, written into out. */
static void describe_mask(const uint64_t mask[HOST_CPU_WORDS], char *out, size_t cap)
{
    size_t pos = 0;
    out[0] = '\0';
    for (unsigned c = 0; c < HOST_CPUS && pos + 16 < cap; c++) {
        if (!mask_has(mask, c))
            continue;
        unsigned e = c;
        while (e + 1 < HOST_CPUS && mask_has(mask, e + 1))
            e++;
        pos += (size_t)snprintf(out + pos, cap - pos, e > c ? "%s%u-%u" : "%s%u", pos ? "," : "", c,
                                e);
        c = e;
    }
}

/* Hosts without thread pinning (macOS): --affinity is refused by the command line. */
#define NO_PINNING "this host cannot pin threads to CPUs"

int affinity_check_host(const unsigned *cpus, size_t n)
{
    uint64_t mask[HOST_CPU_WORDS] = {0};
    int rc = host_cpus_usable(mask);
    if (rc == HOST_UNAVAILABLE)
        return err_set(NO_PINNING);
    if (rc != 0)
        return err_set("cannot read the host CPUs this process may use: %s", strerror(-rc));
    for (size_t i = 0; i < n; i++) {
        if (mask_has(mask, cpus[i]))
            continue;
        char avail[256];
        describe_mask(mask, avail, sizeof(avail));
        return err_set("host CPU %u is not available (chyve may use CPUs %s)", cpus[i], avail);
    }
    return 0;
}

int affinity_pin_self(unsigned cpu)
{
    int rc = host_pin_thread(cpu);
    if (rc == HOST_UNAVAILABLE)
        return err_set(NO_PINNING);
    if (rc != 0)
        return err_set("cannot pin a vCPU thread to host CPU %u: %s", cpu, strerror(-rc));
    return 0;
}
