/*
 * toml.c: a strict reader for the TOML 1.0 that uhyve's configuration files and hermit.toml use:
 * tables, dotted keys, inline tables, basic and literal strings (also multi-line), integers,
 * booleans, arrays. What else TOML has is refused by name. This file is the grammar (values,
 * keys, tables, the document); toml_scan.c reads the tokens.
 */
#define _GNU_SOURCE /* asprintf */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "loader/toml.h"
#include "loader/toml_scan.h"
#include "loader/utf8.h"

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
        if (scan_space(ps) != 0)
            return -1;
        if (scan_peek(ps, 0) == ']') {
            ps->p++;
            return 0;
        }
        if (v->n == TOML_MAX_ITEMS)
            return scan_fail(ps, "array with more than %d items", TOML_MAX_ITEMS);
        if (ps->nvalues == TOML_MAX_VALUES)
            return scan_fail(ps, "more than %d array items in the document", TOML_MAX_VALUES);
        ps->nvalues++;
        if (v->n == cap) {
            cap = cap * 2 + 8;
            struct toml_value *items = realloc(v->items, cap * sizeof(*items));
            if (!items)
                return scan_fail(ps, "out of memory");
            v->items = items;
        }
        memset(&v->items[v->n], 0, sizeof(v->items[0]));
        if (parse_value(ps, &v->items[v->n++], true) != 0 || scan_space(ps) != 0)
            return -1;
        if (scan_peek(ps, 0) == ',')
            ps->p++;
        else if (scan_peek(ps, 0) != ']')
            return scan_fail(ps, ps->p < ps->end ? "expected ',' or ']' in an array"
                                                 : "unterminated array");
    }
}

static int parse_value(struct parser *ps, struct toml_value *v, bool in_array)
{
    int c = scan_peek(ps, 0);
    if (c == '"' || c == '\'') {
        v->type = TOML_STRING;
        return scan_string(ps, &v->s);
    }
    if (c == '[') {
        if (in_array)
            return scan_fail(ps, "nested arrays are not supported");
        return parse_array(ps, v);
    }
    if (c == '{')
        return scan_fail(ps, "inline tables inside arrays are not supported");
    if (scan_word(ps, "true") || scan_word(ps, "false")) {
        v->type = TOML_BOOL;
        v->b = ps->p[-1] == 'e' && ps->p[-2] == 'u'; /* "true" ends in "ue", "false" in "se" */
        return 0;
    }
    if ((c >= '0' && c <= '9') || c == '+' || c == '-') {
        v->type = TOML_INT;
        return scan_int(ps, &v->i);
    }
    if (c < 0 || c == '\n' || c == '\r' || c == '#')
        return scan_fail(ps, "missing value");
    return scan_fail(ps, "invalid value (strings need quotes; floats and dates are not supported)");
}

/* One key: bare (A-Za-z0-9_-) or quoted; *out is malloc'd. */
static int parse_simple_key(struct parser *ps, char **out)
{
    if (scan_peek(ps, 0) == '"' || scan_peek(ps, 0) == '\'') {
        if (scan_peek(ps, 1) == scan_peek(ps, 0) && scan_peek(ps, 2) == scan_peek(ps, 0))
            return scan_fail(ps, "a key cannot be a multi-line string");
        if (scan_string(ps, out) != 0)
            return -1;
        if (strchr(*out, '.')) {
            free(*out);
            return scan_fail(ps, "a quoted key containing '.' is not supported");
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
        return scan_fail(ps, "expected a key");
    if ((size_t)(ps->p - s) > TOML_MAX_KEY_PATH)
        return scan_fail(ps, "key longer than %d bytes", TOML_MAX_KEY_PATH);
    *out = strndup(s, (size_t)(ps->p - s));
    return *out ? 0 : scan_fail(ps, "out of memory");
}

/*
 * A dotted key `a.b."c"` (blanks around the dots allowed), appended to prefix with '.'. The whole
 * path is at most TOML_MAX_KEY_PATH bytes and counts against TOML_MAX_STRING_TOTAL.
 */
static int parse_key(struct parser *ps, const char *prefix, char **out)
{
    char *path = strdup(prefix);
    if (!path)
        return scan_fail(ps, "out of memory");
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
            return scan_fail(ps, "out of memory");
        }
        free(k);
        free(path);
        path = joined;
        if (strlen(path) > TOML_MAX_KEY_PATH) {
            free(path);
            return scan_fail(ps, "key path longer than %d bytes", TOML_MAX_KEY_PATH);
        }
        scan_blanks(ps);
        if (scan_peek(ps, 0) != '.')
            break;
        ps->p++;
        scan_blanks(ps);
    }
    if (scan_charge(ps, strlen(path) + 1) != 0) {
        free(path);
        return -1;
    }
    *out = path;
    return 0;
}

/* `[name]` or `[a.b]`: starts a table (each at most once, at most TOML_MAX_TABLES). */
static int parse_table(struct parser *ps)
{
    ps->p++;
    if (scan_peek(ps, 0) == '[')
        return scan_fail(ps, "arrays of tables ([[...]]) are not supported");
    scan_blanks(ps);
    char *name;
    if (parse_key(ps, "", &name) != 0)
        return -1;
    int c = scan_peek(ps, 0);
    if (!name[0] || c != ']') {
        const char *why = !name[0] ? "empty table name" : "expected ']' after the table name";
        free(name);
        return scan_fail(ps, "%s", why);
    }
    ps->p++;
    if (ps->ntables == TOML_MAX_TABLES) {
        free(name);
        return scan_fail(ps, "more than %d tables", TOML_MAX_TABLES);
    }
    for (size_t i = 0; i < ps->ntables; i++) {
        if (!strcmp(ps->tables[i], name)) {
            int rc = scan_fail(ps, "table [%s] defined twice", name);
            free(name);
            return rc;
        }
    }
    char **t = realloc(ps->tables, (ps->ntables + 1) * sizeof(*t));
    if (!t) {
        free(name);
        return scan_fail(ps, "out of memory");
    }
    ps->tables = t;
    ps->tables[ps->ntables++] = name;
    ps->table = name;
    return scan_end_of_line(ps);
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
        rc = scan_fail(ps, "out of memory");
    else if (toml_get(ps->doc, e.table, e.key))
        rc = scan_fail(ps, "key '%s' defined twice", path);
    else if (ps->doc->n == TOML_MAX_ENTRIES)
        rc = scan_fail(ps, "more than %d keys", TOML_MAX_ENTRIES);
    else if (!(arr = realloc(ps->doc->e, (ps->doc->n + 1) * sizeof(*arr))))
        rc = scan_fail(ps, "out of memory");
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
        return scan_fail(ps, "inline tables nested more than 8 deep");
    ps->p++;
    scan_blanks(ps);
    if (scan_peek(ps, 0) == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (parse_keyval(ps, path, depth + 1) != 0)
            return -1;
        scan_blanks(ps);
        int c = scan_peek(ps, 0);
        ps->p++;
        if (c == '}')
            return 0;
        if (c != ',') {
            ps->p--;
            return scan_fail(ps, "expected ',' or '}' in an inline table (it must be on one line)");
        }
        scan_blanks(ps);
        if (scan_peek(ps, 0) == '}')
            return scan_fail(ps, "a trailing ',' is not allowed in an inline table");
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
    if (scan_peek(ps, 0) != '=') {
        int rc = scan_fail(ps, "expected '=' after key '%s'", shown);
        free(path);
        return rc;
    }
    ps->p++;
    scan_blanks(ps);
    const char *outer = ps->key;
    ps->key = shown;
    int rc;
    if (scan_peek(ps, 0) == '{') {
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
    return scan_end_of_line(ps);
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
        scan_blanks(&ps);
        int c = scan_peek(&ps, 0);
        if (c < 0)
            break;
        if (c == '#')
            rc = scan_comment(&ps);
        else if (scan_newline(&ps))
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
