/* size.c: the size parser: a decimal number with an optional fraction, then a unit. */
#include <ctype.h>
#include <string.h>

#include "config/size.h"
#include "err.h"

/* Unit table of sizes: single letters and *iB are powers of 1024, kB/MB/GB/TB of 1000. */
static const struct {
    const char *name;
    uint64_t factor;
} size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1ull << 10},
    {"kib", 1ull << 10},
    {"kb", 1000ull},
    {"m", 1ull << 20},
    {"mib", 1ull << 20},
    {"mb", 1000000ull},
    {"g", 1ull << 30},
    {"gib", 1ull << 30},
    {"gb", 1000000000ull},
    {"t", 1ull << 40},
    {"tib", 1ull << 40},
    {"tb", 1000000000000ull},
};

int size_parse(const char *s, uint64_t *out)
{
    const char *p = s;
    uint64_t whole = 0;
    int digits = 0;
    while (isdigit((unsigned char)*p)) {
        if (whole > (UINT64_MAX - 9) / 10)
            return err_set("invalid memory size '%s': too large", s);
        whole = whole * 10 + (uint64_t)(*p++ - '0');
        digits++;
    }
    /* An optional fraction, kept as numerator/denominator so 1.5GiB is exact. */
    uint64_t frac = 0, denom = 1;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            if (denom < 1000000000ull) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                denom *= 10;
            }
            p++;
            digits++;
        }
    }
    if (digits == 0)
        return err_set("invalid memory size '%s': expected a number such as 64MiB", s);
    while (*p == ' ')
        p++;
    char unit[8];
    size_t ulen = strlen(p);
    if (ulen >= sizeof(unit))
        return err_set("invalid memory size '%s': unknown unit '%s'", s, p);
    for (size_t i = 0; i <= ulen; i++)
        unit[i] = (char)tolower((unsigned char)p[i]);
    for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
        if (strcmp(unit, size_units[i].name) != 0)
            continue;
        uint64_t f = size_units[i].factor;
        if (whole > UINT64_MAX / f)
            return err_set("invalid memory size '%s': too large", s);
        uint64_t v = whole * f;
        uint64_t part = (f / denom) * frac + ((f % denom) * frac) / denom;
        if (v + part < v)
            return err_set("invalid memory size '%s': too large", s);
        *out = v + part;
        return 0;
    }
    return err_set("invalid memory size '%s': unknown unit '%s' (use B, KiB, MiB, GiB, TiB, K, M, "
                   "G, KB, MB, GB)",
                   s, p);
}
