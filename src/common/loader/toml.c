/*
 * toml.c: a strict reader for the TOML 1.0 that uhyve's configuration files and hermit.toml use:
 * tables, dotted keys, inline tables, basic and literal strings (also multi-line), integers,
 * booleans, arrays. What else TOML has is refused by name.
 */
#define _GNU_SOURCE /* asprintf */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "loader/toml.h"
#include "loader/utf8.h"

#define TOML_MAX_ENTRIES 4096
#define TOML_MAX_ITEMS 4096   /* per array */
#define TOML_MAX_STRING 65536 /* bytes per string */

struct parser {
    const char *p, *end;
    unsigned line;
    const char *table; /* current table name ("" at the top) */
    const char *key;   /* the key whose value is being read, for messages; NULL outside one */
    char **tables;     /* tables seen, for duplicates */
    size_t ntables;
    struct toml_doc *doc;
};

/* Records "line N: ..." and returns -1. */
static int fail(const struct parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(const struct parser *ps, const char *fmt, ...)
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

static int peek(const struct parser *ps, size_t ahead)
{
    return (size_t)(ps->end - ps->p) > ahead ? (unsigned char)ps->p[ahead] : -1;
}

static void skip_blanks(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
        ps->p++;
}

/* Skips a comment up to (not including) the end of the line. */
static int skip_comment(struct parser *ps)
{
    if (peek(ps, 0) != '#')
        return 0;
    for (; ps->p < ps->end && *ps->p != '\n'; ps->p++) {
        unsigned char c = (unsigned char)*ps->p;
        if ((c < 0x20 && c != '\t' && !(c == '\r' && peek(ps, 1) == '\n')) || c == 0x7F)
            return fail(ps, "control character in a comment");
    }
    return 0;
}

/* Consumes a line end (LF or CRLF); false if there is none here. */
static bool newline(struct parser *ps)
{
    if (peek(ps, 0) == '\n' || (peek(ps, 0) == '\r' && peek(ps, 1) == '\n')) {
        ps->p += peek(ps, 0) == '\r' ? 2 : 1;
        ps->line++;
        return true;
    }
    return false;
}

/* After a header or a value: blanks, an optional comment, then the end of the line or file. */
static int end_of_line(struct parser *ps)
{
    skip_blanks(ps);
    if (skip_comment(ps) != 0)
        return -1;
    if (ps->p == ps->end || newline(ps))
        return 0;
    return fail(ps, "unexpected '%c' after the value", *ps->p);
}

/* Blanks, comments and newlines (inside arrays). */
static int skip_space(struct parser *ps)
{
    for (;;) {
        skip_blanks(ps);
        if (skip_comment(ps) != 0)
            return -1;
        if (!newline(ps))
            return 0;
    }
}

/* Appends UTF-8 for code point cp. */
static int put_utf8(char *buf, size_t *len, uint32_t cp)
{
    if (cp < 0x80) {
        buf[(*len)++] = (char)cp;
    } else if (cp < 0x800) {
        buf[(*len)++] = (char)(0xC0 | (cp >> 6));
        buf[(*len)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        buf[(*len)++] = (char)(0xE0 | (cp >> 12));
        buf[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[(*len)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        buf[(*len)++] = (char)(0xF0 | (cp >> 18));
        buf[(*len)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        buf[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[(*len)++] = (char)(0x80 | (cp & 0x3F));
    }
    return 0;
}

/* A \uXXXX or \UXXXXXXXX escape (the backslash and letter already consumed). */
static int unicode_escape(struct parser *ps, int digits, char *buf, size_t *len)
{
    uint32_t cp = 0;
    for (int i = 0; i < digits; i++) {
        int c = peek(ps, 0);
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v < 0)
            return fail(ps, "bad \\%c escape: expected %d hex digits", digits == 4 ? 'u' : 'U',
                        digits);
        cp = cp * 16 + (uint32_t)v;
        ps->p++;
    }
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return fail(ps, "escape \\%c%0*X is not an allowed character", digits == 4 ? 'u' : 'U',
                    digits, cp);
    return put_utf8(buf, len, cp);
}

/* One escape after a backslash in a basic string (the backslash consumed) into buf. */
static int escape(struct parser *ps, char *buf, size_t *len)
{
    int e = peek(ps, 0);
    ps->p++;
    static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
    const char *k = e > 0 ? strchr(from, e) : NULL;
    if (k && *k) {
        buf[(*len)++] = to[k - from];
        return 0;
    }
    if (e == 'u' || e == 'U')
        return unicode_escape(ps, e == 'u' ? 4 : 8, buf, len);
    return fail(ps, "unknown escape '\\%c' in a string", e > 0 ? e : '?');
}

/*
 * A multi-line basic (""\"...""\") or literal ('''...''') string, at its opening quotes; *out
 * is malloc'd. A newline right after the opening is dropped; in a basic one a backslash at the end
 * of a line drops the line end and the blanks and newlines after it; up to two quotes may end the
 * content just before the closing three.
 */
static int parse_ml_string(struct parser *ps, char **out)
{
    char quote = *ps->p;
    ps->p += 3;
    newline(ps);
    char *buf = malloc(TOML_MAX_STRING + 4);
    if (!buf)
        return fail(ps, "out of memory");
    size_t len = 0;
    for (;;) {
        int c = peek(ps, 0);
        if (c < 0) {
            free(buf);
            return fail(ps, "unterminated multi-line string");
        }
        if (len >= TOML_MAX_STRING) {
            free(buf);
            return fail(ps, "string longer than %d bytes", TOML_MAX_STRING);
        }
        if (c == quote && peek(ps, 1) == quote && peek(ps, 2) == quote) {
            int extra = 0;
            while (extra < 2 && peek(ps, 3 + (size_t)extra) == quote)
                extra++;
            for (int i = 0; i < extra; i++)
                buf[len++] = quote;
            ps->p += 3 + extra;
            break;
        }
        if (c == '\n' || (c == '\r' && peek(ps, 1) == '\n')) {
            newline(ps);
            buf[len++] = '\n';
            continue;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7F) {
            free(buf);
            return fail(ps, "control character in a string");
        }
        ps->p++;
        if (c != '\\' || quote == '\'') {
            buf[len++] = (char)c;
            continue;
        }
        /* a line-ending backslash: blanks, then a newline, then all whitespace is dropped */
        const char *q = ps->p;
        while (q < ps->end && (*q == ' ' || *q == '\t'))
            q++;
        if (q < ps->end && (*q == '\n' || (*q == '\r' && q + 1 < ps->end && q[1] == '\n'))) {
            ps->p = q;
            while (newline(ps) || peek(ps, 0) == ' ' || peek(ps, 0) == '\t')
                if (peek(ps, 0) == ' ' || peek(ps, 0) == '\t')
                    ps->p++;
            continue;
        }
        if (escape(ps, buf, &len) != 0) {
            free(buf);
            return -1;
        }
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

/* A basic ("...") or literal ('...') string, single- or multi-line; *out is malloc'd. */
static int parse_string(struct parser *ps, char **out)
{
    char quote = *ps->p;
    if (peek(ps, 1) == quote && peek(ps, 2) == quote)
        return parse_ml_string(ps, out);
    ps->p++;
    char *buf = malloc(TOML_MAX_STRING + 4);
    if (!buf)
        return fail(ps, "out of memory");
    size_t len = 0;
    for (;;) {
        int c = peek(ps, 0);
        if (c < 0 || c == '\n' || c == '\r') {
            free(buf);
            return fail(ps, "unterminated string");
        }
        if (len >= TOML_MAX_STRING) {
            free(buf);
            return fail(ps, "string longer than %d bytes", TOML_MAX_STRING);
        }
        ps->p++;
        if (c == quote)
            break;
        if ((c < 0x20 && c != '\t') || c == 0x7F) {
            free(buf);
            return fail(ps, "control character in a string");
        }
        if (c != '\\' || quote == '\'') {
            buf[len++] = (char)c;
            continue;
        }
        if (escape(ps, buf, &len) != 0) {
            free(buf);
            return -1;
        }
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

static bool is_digit_in(int c, int base)
{
    if (base == 16)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    return c >= '0' && c < '0' + base;
}

/* An integer: decimal with an optional sign, or 0x / 0o / 0b; '_' only between digits. */
static int parse_int(struct parser *ps, int64_t *out)
{
    bool neg = false, sign = false;
    int base = 10;
    if (peek(ps, 0) == '+' || peek(ps, 0) == '-') {
        neg = *ps->p++ == '-';
        sign = true;
    }
    if (peek(ps, 0) == '0' && (peek(ps, 1) == 'x' || peek(ps, 1) == 'o' || peek(ps, 1) == 'b')) {
        if (sign)
            return fail(ps, "a prefixed integer cannot have a sign");
        base = peek(ps, 1) == 'x' ? 16 : peek(ps, 1) == 'o' ? 8 : 2;
        ps->p += 2;
    }
    const char *start = ps->p;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (;;) {
        int c = peek(ps, 0);
        if (c == '_' && ps->p > start && is_digit_in(peek(ps, 1), base)) {
            ps->p++;
            continue;
        }
        if (!is_digit_in(c, base))
            break;
        unsigned d = (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        if (v > (limit - d) / (uint64_t)base)
            return fail(ps, "integer out of range");
        v = v * (uint64_t)base + d;
        ps->p++;
    }
    if (ps->p == start)
        return fail(ps, "invalid value");
    if (base == 10 && *start == '0' && ps->p - start > 1)
        return fail(ps, "leading zeros are not allowed in integers");
    int c = peek(ps, 0);
    if (c == '.' || c == 'e' || c == 'E' || c == ':' || c == '-' || c == 'T')
        return fail(ps, "floats, dates and times are not supported");
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* True if the bare word w ends the value here (followed by a delimiter). */
static bool word(struct parser *ps, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
        return false;
    int c = peek(ps, n);
    if (c >= 0 && !strchr(" \t\r\n,]#", c))
        return false;
    ps->p += n;
    return true;
}

static void value_free(struct toml_value *v)
{
    free(v->s);
    for (size_t i = 0; i < v->n; i++)
        value_free(&v->items[i]);
    free(v->items);
    memset(v, 0, sizeof(*v));
}

static int parse_value(struct parser *ps, struct toml_value *v, bool in_array);

/* An array of scalars over one or more lines, trailing comma allowed. */
static int parse_array(struct parser *ps, struct toml_value *v)
{
    ps->p++;
    v->type = TOML_ARRAY;
    size_t cap = 0;
    for (;;) {
        if (skip_space(ps) != 0)
            return -1;
        if (peek(ps, 0) == ']') {
            ps->p++;
            return 0;
        }
        if (v->n == TOML_MAX_ITEMS)
            return fail(ps, "array with more than %d items", TOML_MAX_ITEMS);
        if (v->n == cap) {
            cap = cap * 2 + 8;
            struct toml_value *items = realloc(v->items, cap * sizeof(*items));
            if (!items)
                return fail(ps, "out of memory");
            v->items = items;
        }
        memset(&v->items[v->n], 0, sizeof(v->items[0]));
        if (parse_value(ps, &v->items[v->n++], true) != 0 || skip_space(ps) != 0)
            return -1;
        if (peek(ps, 0) == ',')
            ps->p++;
        else if (peek(ps, 0) != ']')
            return fail(ps,
                        ps->p < ps->end ? "expected ',' or ']' in an array" : "unterminated array");
    }
}

static int parse_value(struct parser *ps, struct toml_value *v, bool in_array)
{
    int c = peek(ps, 0);
    if (c == '"' || c == '\'') {
        v->type = TOML_STRING;
        return parse_string(ps, &v->s);
    }
    if (c == '[') {
        if (in_array)
            return fail(ps, "nested arrays are not supported");
        return parse_array(ps, v);
    }
    if (c == '{')
        return fail(ps, "inline tables inside arrays are not supported");
    if (word(ps, "true") || word(ps, "false")) {
        v->type = TOML_BOOL;
        v->b = ps->p[-1] == 'e' && ps->p[-2] == 'u'; /* "true" ends in "ue", "false" in "se" */
        return 0;
    }
    if ((c >= '0' && c <= '9') || c == '+' || c == '-') {
        v->type = TOML_INT;
        return parse_int(ps, &v->i);
    }
    if (c < 0 || c == '\n' || c == '\r' || c == '#')
        return fail(ps, "missing value");
    return fail(ps, "invalid value (strings need quotes; floats and dates are not supported)");
}

/* One key: bare (A-Za-z0-9_-) or quoted; *out is malloc'd. */
static int parse_simple_key(struct parser *ps, char **out)
{
    if (peek(ps, 0) == '"' || peek(ps, 0) == '\'') {
        if (peek(ps, 1) == peek(ps, 0) && peek(ps, 2) == peek(ps, 0))
            return fail(ps, "a key cannot be a multi-line string");
        if (parse_string(ps, out) != 0)
            return -1;
        if (strchr(*out, '.')) {
            free(*out);
            return fail(ps, "a quoted key containing '.' is not supported");
        }
        return 0;
    }
    const char *s = ps->p;
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            break;
        ps->p++;
    }
    if (ps->p == s)
        return fail(ps, "expected a key");
    *out = strndup(s, (size_t)(ps->p - s));
    return *out ? 0 : fail(ps, "out of memory");
}

/* A dotted key `a.b."c"` (blanks around the dots allowed), appended to prefix with '.'. */
static int parse_key(struct parser *ps, const char *prefix, char **out)
{
    char *path = strdup(prefix);
    if (!path)
        return fail(ps, "out of memory");
    for (;;) {
        char *k;
        if (parse_simple_key(ps, &k) != 0) {
            free(path);
            return -1;
        }
        char *joined;
        if (asprintf(&joined, "%s%s%s", path, *path ? "." : "", k) < 0) {
            free(k);
            free(path);
            return fail(ps, "out of memory");
        }
        free(k);
        free(path);
        path = joined;
        skip_blanks(ps);
        if (peek(ps, 0) != '.')
            break;
        ps->p++;
        skip_blanks(ps);
    }
    *out = path;
    return 0;
}

/* `[name]` or `[a.b]`: starts a table (each at most once). */
static int parse_table(struct parser *ps)
{
    ps->p++;
    if (peek(ps, 0) == '[')
        return fail(ps, "arrays of tables ([[...]]) are not supported");
    skip_blanks(ps);
    char *name;
    if (parse_key(ps, "", &name) != 0)
        return -1;
    int c = peek(ps, 0);
    if (!name[0] || c != ']') {
        const char *why = !name[0] ? "empty table name" : "expected ']' after the table name";
        free(name);
        return fail(ps, "%s", why);
    }
    ps->p++;
    for (size_t i = 0; i < ps->ntables; i++) {
        if (!strcmp(ps->tables[i], name)) {
            int rc = fail(ps, "table [%s] defined twice", name);
            free(name);
            return rc;
        }
    }
    char **t = realloc(ps->tables, (ps->ntables + 1) * sizeof(*t));
    if (!t) {
        free(name);
        return fail(ps, "out of memory");
    }
    ps->tables = t;
    ps->tables[ps->ntables++] = name;
    ps->table = name;
    return end_of_line(ps);
}

/* Adds the value v of the dotted key path (split at its last '.'); takes v, frees path. */
static int add_entry(struct parser *ps, char *path, struct toml_value *v, unsigned line)
{
    struct toml_entry e = {.v = *v, .line = line};
    memset(v, 0, sizeof(*v));
    char *dot = strrchr(path, '.');
    e.table = dot ? strndup(path, (size_t)(dot - path)) : strdup("");
    e.key = strdup(dot ? dot + 1 : path);
    int rc = 0;
    struct toml_entry *arr = NULL;
    if (!e.table || !e.key)
        rc = fail(ps, "out of memory");
    else if (toml_get(ps->doc, e.table, e.key))
        rc = fail(ps, "key '%s' defined twice", path);
    else if (ps->doc->n == TOML_MAX_ENTRIES)
        rc = fail(ps, "more than %d keys", TOML_MAX_ENTRIES);
    else if (!(arr = realloc(ps->doc->e, (ps->doc->n + 1) * sizeof(*arr))))
        rc = fail(ps, "out of memory");
    free(path);
    if (rc != 0) {
        free(e.key);
        free(e.table);
        value_free(&e.v);
        return -1;
    }
    ps->doc->e = arr;
    ps->doc->e[ps->doc->n++] = e;
    return 0;
}

static int parse_keyval(struct parser *ps, const char *prefix, unsigned depth);

/* An inline table `{ k = v, a.b = w }` (one line, no trailing comma) under the key path. */
static int parse_inline_table(struct parser *ps, const char *path, unsigned depth)
{
    if (depth > 8)
        return fail(ps, "inline tables nested more than 8 deep");
    ps->p++;
    skip_blanks(ps);
    if (peek(ps, 0) == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (parse_keyval(ps, path, depth + 1) != 0)
            return -1;
        skip_blanks(ps);
        int c = peek(ps, 0);
        ps->p++;
        if (c == '}')
            return 0;
        if (c != ',') {
            ps->p--;
            return fail(ps, "expected ',' or '}' in an inline table (it must be on one line)");
        }
        skip_blanks(ps);
        if (peek(ps, 0) == '}')
            return fail(ps, "a trailing ',' is not allowed in an inline table");
    }
}

/* `key = value` under prefix (the current table, or an inline table's key path). */
static int parse_keyval(struct parser *ps, const char *prefix, unsigned depth)
{
    unsigned line = ps->line;
    char *path;
    if (parse_key(ps, prefix, &path) != 0)
        return -1;
    const char *shown = path + strlen(prefix) + (*prefix ? 1 : 0); /* the key as written */
    if (peek(ps, 0) != '=') {
        int rc = fail(ps, "expected '=' after key '%s'", shown);
        free(path);
        return rc;
    }
    ps->p++;
    skip_blanks(ps);
    const char *outer = ps->key;
    ps->key = shown;
    int rc;
    if (peek(ps, 0) == '{') {
        rc = parse_inline_table(ps, path, depth);
        free(path);
    } else {
        struct toml_value v;
        memset(&v, 0, sizeof(v));
        rc = parse_value(ps, &v, false);
        ps->key = NULL; /* "key 'x' defined twice" names it already */
        if (rc == 0) {
            rc = add_entry(ps, path, &v, line);
        } else {
            value_free(&v);
            free(path);
        }
    }
    ps->key = outer;
    return rc;
}

/* A `key = value` line of the current table. */
static int parse_entry(struct parser *ps)
{
    if (parse_keyval(ps, ps->table, 0) != 0)
        return -1;
    return end_of_line(ps);
}

int toml_parse(const char *text, size_t len, struct toml_doc *doc)
{
    memset(doc, 0, sizeof(*doc));
    struct parser ps = {.p = text, .end = text + len, .line = 1, .table = "", .doc = doc};
    if (memchr(text, '\0', len))
        return err_set("line %u: NUL byte in the text", 1u);
    if (!utf8_valid(text, len))
        return err_set("the text is not valid UTF-8");
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        ps.p += 3; /* a byte order mark */
    int rc = 0;
    while (rc == 0 && ps.p < ps.end) {
        skip_blanks(&ps);
        int c = peek(&ps, 0);
        if (c < 0)
            break;
        if (c == '#')
            rc = skip_comment(&ps);
        else if (newline(&ps))
            continue;
        else if (c == '[')
            rc = parse_table(&ps);
        else
            rc = parse_entry(&ps);
    }
    for (size_t i = 0; i < ps.ntables; i++)
        free(ps.tables[i]);
    free(ps.tables);
    if (rc != 0)
        toml_free(doc);
    return rc;
}

const struct toml_entry *toml_get(const struct toml_doc *doc, const char *table, const char *key)
{
    for (size_t i = 0; i < doc->n; i++)
        if (!strcmp(doc->e[i].table, table) && !strcmp(doc->e[i].key, key))
            return &doc->e[i];
    return NULL;
}

const char *toml_type_name(enum toml_type t)
{
    switch (t) {
    case TOML_STRING:
        return "string";
    case TOML_INT:
        return "integer";
    case TOML_BOOL:
        return "boolean";
    case TOML_ARRAY:
        return "array";
    }
    return "value";
}

void toml_free(struct toml_doc *doc)
{
    for (size_t i = 0; i < doc->n; i++) {
        free(doc->e[i].table);
        free(doc->e[i].key);
        value_free(&doc->e[i].v);
    }
    free(doc->e);
    memset(doc, 0, sizeof(doc[0]));
}
