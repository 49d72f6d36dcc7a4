/* tar.c: reading tar archives in memory: headers, long names, safe entry names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "loader/tar.h"
#include "log.h"

#define BLOCK 512
#define NAME_CAP 4096      /* longest entry name accepted */
#define PAX_MAX (1u << 16) /* largest pax or GNU long-name header accepted */

/* Header field offsets (POSIX ustar). */
#define H_NAME 0
#define H_SIZE 124
#define H_CHKSUM 148
#define H_TYPE 156
#define H_MAGIC 257
#define H_PREFIX 345

/* What the special headers before an entry said about it. */
struct pending {
    char name[NAME_CAP];
    bool has_name;
    uint64_t size;
    bool has_size;
};

/* Parses a numeric field: octal digits (blanks around, NUL or space end) or base-256. */
static int number(const uint8_t *f, size_t len, uint64_t *out)
{
    if (f[0] & 0x80) { /* GNU base-256: big-endian, first byte's top bit is the marker */
        if (f[0] != 0x80)
            return -1;
        uint64_t v = 0;
        for (size_t i = 1; i < len; i++) {
            if (v >> 56)
                return -1;
            v = (v << 8) | f[i];
        }
        *out = v;
        return 0;
    }
    size_t i = 0;
    while (i < len && f[i] == ' ')
        i++;
    uint64_t v = 0;
    size_t digits = 0;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
        if (v >> 60)
            return -1;
        v = v * 8 + (uint64_t)(f[i] - '0');
    }
    for (; i < len; i++)
        if (f[i] != ' ' && f[i] != '\0')
            return -1;
    if (digits == 0)
        return -1;
    *out = v;
    return 0;
}

/* The header checksum must match, computed with unsigned (POSIX) or signed (old tars) bytes. */
static bool checksum_ok(const uint8_t *h)
{
    uint64_t want;
    if (number(h + H_CHKSUM, 8, &want) != 0)
        return false;
    uint64_t u = 0;
    int64_t s = 0;
    for (size_t i = 0; i < BLOCK; i++) {
        uint8_t c = (i >= H_CHKSUM && i < H_CHKSUM + 8) ? ' ' : h[i];
        u += c;
        s += (int8_t)c;
    }
    return want == u || (int64_t)want == s;
}

/* The magic and version of a POSIX ustar header: "ustar", NUL, "00". */
static const uint8_t ustar_magic[8] = {'u', 's', 't', 'a', 'r', '\0', '0', '0'};

/* The name from the header itself: ustar prefix + "/" + name, or just name. */
static void header_name(const uint8_t *h, char *out)
{
    bool ustar = !memcmp(h + H_MAGIC, ustar_magic, sizeof(ustar_magic));
    int n = (int)strnlen((const char *)h + H_NAME, 100);
    int p = ustar ? (int)strnlen((const char *)h + H_PREFIX, 155) : 0;
    if (p > 0)
        snprintf(out, NAME_CAP, "%.*s/%.*s", p, (const char *)h + H_PREFIX, n,
                 (const char *)h + H_NAME);
    else
        snprintf(out, NAME_CAP, "%.*s", n, (const char *)h + H_NAME);
}

/*
 * Cleans an entry name in place: "./" prefixes, empty and "." components and a final "/" go;
 * absolute names and ".." components are refused (they would point outside the archive).
 */
static int clean_name(char *name, bool *empty)
{
    if (name[0] == '/')
        return -1;
    char out[NAME_CAP];
    size_t len = 0;
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return -1;
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (len)
                out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
        }
        p += n;
        while (*p == '/')
            p++;
    }
    out[len] = '\0';
    memcpy(name, out, len + 1);
    *empty = len == 0;
    return 0;
}

/* Reads the records "<len> <key>=<value>\n" of a pax header for path and size. */
static int pax_records(const uint8_t *d, uint64_t size, struct pending *pd)
{
    const char *p = (const char *)d, *end = p + size;
    while (p < end) {
        uint64_t rlen = 0;
        const char *q = p;
        while (q < end && *q >= '0' && *q <= '9' && rlen < PAX_MAX)
            rlen = rlen * 10 + (uint64_t)(*q++ - '0');
        if (q == p || q >= end || *q != ' ' || rlen <= (uint64_t)(q - p) + 1 ||
            rlen > (uint64_t)(end - p) || p[rlen - 1] != '\n')
            return -1;
        const char *key = q + 1, *rend = p + rlen - 1;
        const char *eq = memchr(key, '=', (size_t)(rend - key));
        if (!eq)
            return -1;
        size_t klen = (size_t)(eq - key), vlen = (size_t)(rend - eq - 1);
        if (klen == 4 && !memcmp(key, "path", 4)) {
            if (vlen >= NAME_CAP || memchr(eq + 1, '\0', vlen))
                return -1;
            memcpy(pd->name, eq + 1, vlen);
            pd->name[vlen] = '\0';
            pd->has_name = true;
        } else if (klen == 4 && !memcmp(key, "size", 4)) {
            uint64_t v = 0;
            if (vlen == 0 || vlen > 19)
                return -1;
            for (size_t i = 0; i < vlen; i++) {
                char c = eq[1 + i];
                if (c < '0' || c > '9')
                    return -1;
                v = v * 10 + (uint64_t)(c - '0');
            }
            pd->size = v;
            pd->has_size = true;
        }
        p += rlen;
    }
    return 0;
}

/* Appends an entry to the growing array. */
static int push(struct tar_entry **v, size_t *n, size_t *cap, const char *name, const uint8_t *data,
                uint64_t size, bool dir)
{
    if (*n >= TAR_MAX_ENTRIES)
        return err_set("tar archive has more than %d entries", TAR_MAX_ENTRIES);
    if (*n == *cap) {
        size_t c = *cap * 2 + 16;
        struct tar_entry *nv = realloc(*v, c * sizeof(*nv));
        if (!nv)
            return err_set("out of memory reading the tar archive");
        *v = nv;
        *cap = c;
    }
    char *copy = strdup(name);
    if (!copy)
        return err_set("out of memory reading the tar archive");
    (*v)[(*n)++] = (struct tar_entry){copy, data, size, dir};
    return 0;
}

/* All-zero block: the end-of-archive marker. */
static bool zero_block(const uint8_t *h)
{
    for (size_t i = 0; i < BLOCK; i++)
        if (h[i])
            return false;
    return true;
}

/* Handles one header at off; *next gets the offset of the following one, *end the end marker. */
static int one_header(const uint8_t *buf, size_t len, size_t off, struct pending *pd,
                      struct tar_entry **v, size_t *n, size_t *cap, size_t *next)
{
    const uint8_t *h = buf + off;
    if (!checksum_ok(h))
        return err_set("tar header at offset %zu: bad checksum (not a tar archive?)", off);
    uint64_t size;
    if (number(h + H_SIZE, 12, &size) != 0)
        return err_set("tar header at offset %zu: bad size field", off);
    char type = (char)h[H_TYPE];
    if (pd->has_size && (type == '0' || type == '\0' || type == '7'))
        size = pd->size;
    uint64_t avail = len - off - BLOCK;
    if (size > avail || (size + BLOCK - 1) / BLOCK * BLOCK > avail)
        return err_set("tar archive truncated: entry at offset %zu needs %llu bytes", off,
                       (unsigned long long)size);
    const uint8_t *data = h + BLOCK;
    *next = off + BLOCK + (size_t)((size + BLOCK - 1) / BLOCK * BLOCK);

    if (type == 'L' || type == 'x') {
        if (size > PAX_MAX)
            return err_set("tar header at offset %zu: long-name header of %llu bytes", off,
                           (unsigned long long)size);
        if (type == 'x' && pax_records(data, size, pd) != 0)
            return err_set("tar header at offset %zu: malformed pax header", off);
        if (type == 'L') {
            size_t l = strnlen((const char *)data, (size_t)size);
            if (l >= NAME_CAP)
                return err_set("tar header at offset %zu: name too long", off);
            memcpy(pd->name, data, l);
            pd->name[l] = '\0';
            pd->has_name = true;
        }
        return 0;
    }
    if (type == 'g' || type == 'K')
        return 0; /* global pax settings, GNU long link names: nothing chyve uses */

    char name[NAME_CAP];
    if (pd->has_name)
        memcpy(name, pd->name, NAME_CAP);
    else
        header_name(h, name);
    memset(pd, 0, sizeof(*pd));
    bool empty;
    if (clean_name(name, &empty) != 0)
        return err_set("tar entry '%s' points outside the archive (absolute or '..')", name);
    bool regular = type == '0' || type == '\0' || type == '7';
    if (type == '5' && !empty)
        return push(v, n, cap, name, data, 0, true);
    if (!regular) {
        log_debug("tar entry '%s' of type '%c' skipped", name, type);
        return 0;
    }
    if (empty)
        return err_set("tar header at offset %zu: a file without a name", off);
    return push(v, n, cap, name, data, size, false);
}

int tar_read(const uint8_t *buf, size_t len, struct tar_entry **entries, size_t *n)
{
    struct tar_entry *v = NULL;
    size_t cnt = 0, cap = 0, off = 0;
    struct pending pd;
    memset(&pd, 0, sizeof(pd));
    int rc = 0;
    for (;;) {
        if (off == len && off > 0)
            break; /* no end marker: accepted, as most readers do */
        if (len - off < BLOCK) {
            rc = off == 0 ? err_set("empty tar archive")
                          : err_set("tar archive truncated at offset %zu", off);
            break;
        }
        if (zero_block(buf + off))
            break;
        size_t next = len;
        if ((rc = one_header(buf, len, off, &pd, &v, &cnt, &cap, &next)) != 0)
            break;
        off = next;
    }
    if (rc == 0 && (pd.has_name || pd.has_size))
        rc = err_set("tar archive ends after a long-name header");
    if (rc != 0) {
        tar_free(v, cnt);
        return -1;
    }
    *entries = v;
    *n = cnt;
    return 0;
}

void tar_free(struct tar_entry *entries, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(entries[i].name);
    free(entries);
}
