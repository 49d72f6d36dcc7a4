/* fdt.c: finds /chosen/bootargs in a flattened device tree and splits it into words (ABI §7.3). */
#include "rt.h"

#define FDT_MAGIC 0xD00DFEEDu
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Length of the NUL-terminated string at p within [p, end), or -1 if it is not terminated. */
static long str_in(const uint8_t *p, const uint8_t *end)
{
    for (const uint8_t *q = p; q < end; q++)
        if (!*q)
            return q - p;
    return -1;
}

/* Walks the structure block, bounds-checked against totalsize; see fdt_bootargs() in rt.h. */
const char *fdt_bootargs(const void *fdt)
{
    const uint8_t *b = fdt;
    if (!b || be32(b) != FDT_MAGIC)
        return NULL;
    uint32_t total = be32(b + 4), off_struct = be32(b + 8), off_strings = be32(b + 12);
    uint32_t size_strings = be32(b + 32), size_struct = be32(b + 36);
    if (total > 0x100000 || off_struct > total || size_struct > total - off_struct ||
        off_strings > total || size_strings > total - off_strings)
        return NULL;
    const uint8_t *p = b + off_struct, *end = p + size_struct;
    const uint8_t *strs = b + off_strings, *strs_end = strs + size_strings;
    int depth = 0;
    bool in_chosen = false;
    while (p + 4 <= end) {
        uint32_t tok = be32(p);
        p += 4;
        if (tok == FDT_BEGIN_NODE) {
            long n = str_in(p, end);
            if (n < 0)
                return NULL;
            depth++;
            if (depth == 2 && (strncmp((const char *)p, "chosen", 6) == 0) &&
                (p[6] == '\0' || p[6] == '@'))
                in_chosen = true;
            p += ((size_t)n + 1 + 3) & ~(size_t)3;
        } else if (tok == FDT_END_NODE) {
            if (depth == 2)
                in_chosen = false;
            depth--;
        } else if (tok == FDT_PROP) {
            if (p + 8 > end)
                return NULL;
            uint32_t len = be32(p), nameoff = be32(p + 4);
            p += 8;
            if (len > (size_t)(end - p) || nameoff >= size_strings)
                return NULL;
            long nl = str_in(strs + nameoff, strs_end);
            if (nl < 0)
                return NULL;
            if (in_chosen && depth == 2 && strcmp((const char *)strs + nameoff, "bootargs") == 0) {
                if (len == 0)
                    return "";
                return p[len - 1] == '\0' ? (const char *)p : NULL;
            }
            p += (len + 3) & ~3u;
        } else if (tok == FDT_NOP) {
            continue;
        } else {
            break; /* FDT_END or garbage */
        }
    }
    return NULL;
}

/* Shell rules as the kernel's shell-words splitter applies them. */
int rt_split_words(const char *s, char *out, size_t cap, char **words, int max)
{
    size_t o = 0;
    int n = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        if (!*s)
            break;
        if (*s == '#') { /* a comment runs to the end of the line */
            while (*s && *s != '\n')
                s++;
            continue;
        }
        if (n >= max)
            return -1;
        words[n++] = out + o;
        while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
            char c = *s++;
            if (c == '\'') {
                while (*s && *s != '\'') {
                    if (o + 1 >= cap)
                        return -1;
                    out[o++] = *s++;
                }
                if (!*s++)
                    return -1;
            } else if (c == '"') {
                while (*s && *s != '"') {
                    c = *s++;
                    if (c == '\\' &&
                        (*s == '$' || *s == '`' || *s == '"' || *s == '\\' || *s == '\n')) {
                        c = *s++;
                        if (c == '\n')
                            continue;
                    }
                    if (o + 1 >= cap)
                        return -1;
                    out[o++] = c;
                }
                if (!*s++)
                    return -1;
            } else {
                if (c == '\\') {
                    if (!*s)
                        return -1;
                    c = *s++;
                    if (c == '\n')
                        continue;
                }
                if (o + 1 >= cap)
                    return -1;
                out[o++] = c;
            }
        }
        if (o + 1 > cap)
            return -1;
        out[o++] = '\0';
    }
    return n;
}

static char word_buf[64 * 1024];
static char *word_ptrs[3 * RT_MAX_WORDS];

int rt_parse_bootargs(struct rt_args *a)
{
    a->nkernel = a->nenv = a->napp = 0;
    const char *ba = fdt_bootargs((const void *)(uintptr_t)bi_u64(BI_FDT));
    if (!ba) {
        a->bootargs = "";
        return -1;
    }
    a->bootargs = ba;
    int n = rt_split_words(ba, word_buf, sizeof(word_buf), word_ptrs,
                           (int)(sizeof(word_ptrs) / sizeof(word_ptrs[0])));
    if (n < 0)
        return -1;
    bool app = false;
    for (int i = 0; i < n; i++) {
        char *w = word_ptrs[i];
        if (app) {
            if (a->napp >= RT_MAX_WORDS)
                return -1;
            a->app[a->napp++] = w;
        } else if (strcmp(w, "--") == 0) {
            app = true;
        } else if (strncmp(w, "env=", 4) == 0) {
            if (a->nenv >= RT_MAX_WORDS)
                return -1;
            a->env[a->nenv++] = w + 4;
        } else {
            if (a->nkernel >= RT_MAX_WORDS)
                return -1;
            a->kernel[a->nkernel++] = w;
        }
    }
    return 0;
}
