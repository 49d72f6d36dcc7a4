/*
 * toml.h: a small, strict TOML 1.0 reader for what configuration files (uhyve.toml, hermit.toml)
 * use: comments, [table] and [dotted.table] headers, `key = value` and dotted keys, inline tables,
 * basic and literal strings (also multi-line), integers (with '_', 0x/0o/0b), booleans and
 * arrays of scalars. Everything else (floats, dates, arrays of tables, nested arrays, tables in
 * arrays) is a clear error rather than a guess.
 */
#ifndef CHYVE_TOML_H
#define CHYVE_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum toml_type { TOML_STRING, TOML_INT, TOML_BOOL, TOML_ARRAY };

struct toml_value {
    enum toml_type type;
    char *s;                  /* TOML_STRING: UTF-8, NUL-terminated (no NUL inside) */
    int64_t i;                /* TOML_INT */
    bool b;                   /* TOML_BOOL */
    struct toml_value *items; /* TOML_ARRAY: scalars only */
    size_t n;
};

/*
 * One value, with the table it belongs to: the dotted path of its key without the last part
 * ("" for the top level; `a.b = 1` under [t] and `t = {a = {b = 1}}` are both table "t.a", key
 * "b").
 */
struct toml_entry {
    char *table;
    char *key;
    struct toml_value v;
    unsigned line;
};

struct toml_doc {
    struct toml_entry *e;
    size_t n;
};

/*
 * Parses text[0, len) (UTF-8, no NUL bytes). Duplicate keys and tables are errors. Returns 0, or
 * -1 with err_msg() = "line N: what is wrong" or "line N: key 'k': what is wrong". doc is then
 * empty and needs no toml_free().
 */
int toml_parse(const char *text, size_t len, struct toml_doc *doc);

/* The entry for key in table ("" = top level), or NULL. */
const struct toml_entry *toml_get(const struct toml_doc *doc, const char *table, const char *key);

/* A name for a value type, for messages ("string", "integer", "boolean", "array"). */
const char *toml_type_name(enum toml_type t);

void toml_free(struct toml_doc *doc);

#endif
