/*
 * toml_scan.c: the lexical layer of the TOML reader (toml.c): blanks, comments and line ends,
 * basic and literal strings (also multi-line) with their escapes, integers, bare words. Every
 * scan_* function consumes what it read, or records "line N: ..." and returns -1.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "loader/toml_scan.h"
#include "loader/utf8.h"

int scan_fail(const struct parser *ps, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ps->key)
        return err_set("line %u: key '%s': %s", ps->line, ps->key, msg);
    return err_set("line %u: %s", ps->line, msg);
}

int scan_peek(const struct parser *ps, size_t ahead)
{
    return (size_t)(ps->end - ps->p) > ahead ? (unsigned char)ps->p[ahead] : -1;
}

void scan_blanks(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
        ps->p++;
}

/* Skips a comment up to (not including) the end of the line. */
int scan_comment(struct parser *ps)
{
    if (scan_peek(ps, 0) != '#')
        return 0;
    for (; ps->p < ps->end && *ps->p != '\n'; ps->p++) {
        unsigned char c = (unsigned char)*ps->p;
        if ((c < 0x20 && c != '\t' && !(c == '\r' && scan_peek(ps, 1) == '\n')) || c == 0x7F)
            return scan_fail(ps, "control character in a comment");
    }
    return 0;
}

/* Consumes a line end (LF or CRLF); false if there is none here. */
bool scan_newline(struct parser *ps)
{
    if (scan_peek(ps, 0) == '\n' || (scan_peek(ps, 0) == '\r' && scan_peek(ps, 1) == '\n')) {
        ps->p += scan_peek(ps, 0) == '\r' ? 2 : 1;
        ps->line++;
        return true;
    }
    return false;
}

/* After a header or a value: blanks, an optional comment, then the end of the line or file. */
int scan_end_of_line(struct parser *ps)
{
    scan_blanks(ps);
    if (scan_comment(ps) != 0)
        return -1;
    if (ps->p == ps->end || scan_newline(ps))
        return 0;
    return scan_fail(ps, "unexpected '%c' after the value", *ps->p);
}

/* Blanks, comments and newlines (inside arrays). */
int scan_space(struct parser *ps)
{
    for (;;) {
        scan_blanks(ps);
        if (scan_comment(ps) != 0)
            return -1;
        if (!scan_newline(ps))
            return 0;
    }
}

/* A \uXXXX or \UXXXXXXXX escape (the backslash and letter already consumed). */
static int unicode_escape(struct parser *ps, int digits, char *buf, size_t *len)
{
    uint32_t cp = 0;
    for (int i = 0; i < digits; i++) {
        int c = scan_peek(ps, 0);
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v < 0)
            return scan_fail(ps, "bad \\%c escape: expected %d hex digits", digits == 4 ? 'u' : 'U',
                             digits);
        cp = cp * 16 + (uint32_t)v;
        ps->p++;
    }
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return scan_fail(ps, "escape \\%c%0*X is not an allowed character", digits == 4 ? 'u' : 'U',
                         digits, cp);
    *len += utf8_put(buf + *len, cp);
    return 0;
}

/* One escape after a backslash in a basic string (the backslash consumed) into buf. */
static int escape(struct parser *ps, char *buf, size_t *len)
{
    int e = scan_peek(ps, 0);
    ps->p++;
    static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
    const char *k = e > 0 ? strchr(from, e) : NULL;
    if (k && *k) {
        buf[(*len)++] = to[k - from];
        return 0;
    }
    if (e == 'u' || e == 'U')
        return unicode_escape(ps, e == 'u' ? 4 : 8, buf, len);
    return scan_fail(ps, "unknown escape '\\%c' in a string", e > 0 ? e : '?');
}

/*
 * After a backslash in a multi-line basic string: if only blanks follow it on the line, skips them,
 * the line end and all whitespace after it (the line continues) and returns true.
 */
static bool line_continuation(struct parser *ps)
{
    const char *q = ps->p;
    while (q < ps->end && (*q == ' ' || *q == '\t'))
        q++;
    if (q == ps->end || !(*q == '\n' || (*q == '\r' && q + 1 < ps->end && q[1] == '\n')))
        return false;
    ps->p = q;
    while (scan_newline(ps) || scan_peek(ps, 0) == ' ' || scan_peek(ps, 0) == '\t')
        if (scan_peek(ps, 0) == ' ' || scan_peek(ps, 0) == '\t')
            ps->p++;
    return true;
}

int scan_charge(struct parser *ps, size_t n)
{
    if (n > TOML_MAX_STRING_TOTAL - ps->string_bytes)
        return scan_fail(ps, "more than %u MiB of strings and keys in the document",
                         TOML_MAX_STRING_TOTAL >> 20);
    ps->string_bytes += n;
    return 0;
}

/* Room for `more` bytes past len in *buf (capacity *cap), growing it by doubling; 0 or -1. */
static int reserve(struct parser *ps, char **buf, size_t *cap, size_t len, size_t more)
{
    if (len + more <= *cap)
        return 0;
    size_t ncap = *cap;
    while (ncap < len + more)
        ncap *= 2;
    char *nb = realloc(*buf, ncap);
    if (!nb)
        return scan_fail(ps, "out of memory");
    *buf = nb;
    *cap = ncap;
    return 0;
}

/*
 * A basic ("...") or literal ('...') string, or a multi-line one (""\"...""\", '''...'''), at its
 * opening quote; *out is malloc'd. In a multi-line string a newline right after the opening is
 * dropped, a basic one's line-ending backslash continues the line, and up to two quotes may end the
 * content just before the closing three. The buffer grows with the string (a 64 KiB buffer per
 * string let a small document take gigabytes) and is trimmed to it at the end.
 */
int scan_string(struct parser *ps, char **out)
{
    char quote = *ps->p;
    bool multi = scan_peek(ps, 1) == quote && scan_peek(ps, 2) == quote;
    ps->p += multi ? 3 : 1;
    if (multi)
        scan_newline(ps);
    size_t cap = 16, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return scan_fail(ps, "out of memory");
    int rc = 0;
    for (;;) {
        int c = scan_peek(ps, 0);
        if (c < 0 || (!multi && (c == '\n' || c == '\r'))) {
            rc = scan_fail(ps, multi ? "unterminated multi-line string" : "unterminated string");
            break;
        }
        if (len >= TOML_MAX_STRING) {
            rc = scan_fail(ps, "string longer than %d bytes", TOML_MAX_STRING);
            break;
        }
        /* room for the longest step: one escape (4 UTF-8 bytes) or two quotes, plus the NUL */
        if (reserve(ps, &buf, &cap, len, 5) != 0) {
            rc = -1;
            break;
        }
        if (c == quote && (!multi || (scan_peek(ps, 1) == quote && scan_peek(ps, 2) == quote))) {
            int extra = 0;
            while (multi && extra < 2 && scan_peek(ps, 3 + (size_t)extra) == quote)
                buf[len++] = quote, extra++;
            ps->p += (multi ? 3 : 1) + extra;
            break;
        }
        if (multi && scan_newline(ps)) {
            buf[len++] = '\n';
            continue;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7F) {
            rc = scan_fail(ps, "control character in a string");
            break;
        }
        ps->p++;
        if (c != '\\' || quote == '\'') {
            buf[len++] = (char)c;
            continue;
        }
        if (multi && line_continuation(ps))
            continue;
        if (escape(ps, buf, &len) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0)
        rc = scan_charge(ps, len + 1);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    char *fit = realloc(buf, len + 1);
    *out = fit ? fit : buf;
    return 0;
}

static bool is_digit_in(int c, int base)
{
    if (base == 16)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    return c >= '0' && c < '0' + base;
}

/* An integer: decimal with an optional sign, or 0x / 0o / 0b; '_' only between digits. */
int scan_int(struct parser *ps, int64_t *out)
{
    bool neg = false, sign = false;
    int base = 10;
    if (scan_peek(ps, 0) == '+' || scan_peek(ps, 0) == '-') {
        neg = *ps->p++ == '-';
        sign = true;
    }
    if (scan_peek(ps, 0) == '0' &&
        (scan_peek(ps, 1) == 'x' || scan_peek(ps, 1) == 'o' || scan_peek(ps, 1) == 'b')) {
        if (sign)
            return scan_fail(ps, "a prefixed integer cannot have a sign");
        base = scan_peek(ps, 1) == 'x' ? 16 : scan_peek(ps, 1) == 'o' ? 8 : 2;
        ps->p += 2;
    }
    const char *start = ps->p;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (;;) {
        int c = scan_peek(ps, 0);
        if (c == '_' && ps->p > start && is_digit_in(scan_peek(ps, 1), base)) {
            ps->p++;
            continue;
        }
        if (!is_digit_in(c, base))
            break;
        unsigned d = (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        if (v > (limit - d) / (uint64_t)base)
            return scan_fail(ps, "integer out of range");
        v = v * (uint64_t)base + d;
        ps->p++;
    }
    if (ps->p == start)
        return scan_fail(ps, "invalid value");
    if (base == 10 && *start == '0' && ps->p - start > 1)
        return scan_fail(ps, "leading zeros are not allowed in integers");
    int c = scan_peek(ps, 0);
    if (c == '.' || c == 'e' || c == 'E' || c == ':' || c == '-' || c == 'T')
        return scan_fail(ps, "floats, dates and times are not supported");
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* True if the bare word w ends the value here (followed by a delimiter). */
bool scan_word(struct parser *ps, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
        return false;
    int c = scan_peek(ps, n);
    if (c >= 0 && !strchr(" \t\r\n,]#", c))
        return false;
    ps->p += n;
    return true;
}
