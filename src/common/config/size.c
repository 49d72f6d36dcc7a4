/* size.c: the size parser: a decimal number with an optional fraction, then a unit. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "config/size.h"
#include "err.h"

/*
 * The factor of unit (lower case): "" and "b" are 1; a prefix k, m, g or t alone or with "ib"
 * is a power of 1024 (K, KiB), with "b" a power of 1000 (kB, MB, GB, TB). False if unknown.
 */
static bool unit_factor(const char *unit, uint64_t *factor)
{
    static const char prefixes[] = "kmgt";
    *factor = 1;
    if (!strcmp(unit, "") || !strcmp(unit, "b"))
        return true;
    const char *prefix = strchr(prefixes, unit[0]); /* unit[0] is not NUL here */
    uint64_t base;
    if (!prefix)
        return false;
    if (!strcmp(unit + 1, "") || !strcmp(unit + 1, "ib"))
        base = 1024;
    else if (!strcmp(unit + 1, "b"))
        base = 1000;
    else
        return false;
    for (const char *p = prefixes; p <= prefix; p++)
        *factor *= base;
    return true;
}

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
    uint64_t f;
    if (!unit_factor(unit, &f))
        return err_set("invalid memory size '%s': unknown unit '%s' (use B, KiB, MiB, GiB, TiB, K, "
                       "M, G, KB, MB, GB)",
                       s, p);
    if (whole > UINT64_MAX / f)
        return err_set("invalid memory size '%s': too large", s);
    uint64_t v = whole * f;
    uint64_t part = (f / denom) * frac + ((f % denom) * frac) / denom;
    if (v + part < v)
        return err_set("invalid memory size '%s': too large", s);
    *out = v + part;
    return 0;
}
