/*
 * config_toml.c: the TOML reader for configuration files (uhyve's uhyve.toml, chyve.toml), on
 * the project's own TOML reader (loader/toml.c). Values are checked against the type uhyve's
 * file gives each key: booleans for flags, a string or integer for a value, an array of strings
 * for a list, a string or an array of CPU numbers for affinity.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_reader.h"
#include "config/options.h"
#include "err.h"
#include "loader/toml.h"

/* Reports one entry: its key, then its value(s) as text. */
static int entry(struct config_reader *r, const struct toml_entry *e)
{
    const struct toml_value *v = &e->v;
    bool list = v->type == TOML_ARRAY;
    if (config_key(r, e->key, e->line, list) != 0)
        return -1;
    int kind = config_key_kind(r);
    if (kind < 0)
        return 0; /* a key uhyve ignores, warned about */
    char num[32];
    switch ((enum opt_kind)kind) {
    case OPT_FLAG:
        if (v->type != TOML_BOOL)
            return config_key_error(r, e->line, "expected a boolean (true or false), not a%s %s",
                                    v->type == TOML_INT ? "n" : "", toml_type_name(v->type));
        return config_value(r, v->b ? "true" : "false", e->line);
    case OPT_VALUE:
        if (v->type == TOML_STRING)
            return config_value(r, v->s, e->line);
        if (v->type == TOML_INT) {
            snprintf(num, sizeof(num), "%" PRId64, v->i);
            return config_value(r, num, e->line);
        }
        return config_key_error(r, e->line, "expected a string or an integer, not a boolean");
    case OPT_LIST:
        if (!list)
            return config_key_error(r, e->line, "expected an array of strings such as ['a']");
        for (size_t i = 0; i < v->n; i++) {
            if (v->items[i].type != TOML_STRING)
                return config_key_error(
                    r, e->line, "expected only strings in the array, not a%s %s",
                    v->items[i].type == TOML_INT ? "n" : "", toml_type_name(v->items[i].type));
            if (config_value(r, v->items[i].s, e->line) != 0)
                return -1;
        }
        return 0;
    case OPT_JOINED:
        if (v->type == TOML_STRING)
            return config_value(r, v->s, e->line);
        if (!list)
            return config_key_error(r, e->line,
                                    "expected a string such as '0-1,2' or an array such as [0, 1]");
        for (size_t i = 0; i < v->n; i++) {
            if (v->items[i].type != TOML_INT || v->items[i].i < 0)
                return config_key_error(r, e->line, "expected CPU numbers in the array");
            snprintf(num, sizeof(num), "%" PRId64, v->items[i].i);
            if (config_value(r, num, e->line) != 0)
                return -1;
        }
        return 0;
    }
    return 0;
}

int config_read_toml(struct config_reader *r, const char *text, size_t len)
{
    struct toml_doc d;
    if (toml_parse(text, len, &d) != 0) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", err_msg());
        unsigned line = 0;
        int off = 0;
        if (sscanf(msg, "line %u: %n", &line, &off) == 1 && off > 0)
            return config_syntax_error(r, line, "%s", msg + off);
        return config_syntax_error(r, 1, "%s", msg);
    }
    /* Section by section, in the order each first appears (dotted keys may interleave them). */
    bool *done = calloc(d.n + 1, sizeof(bool));
    int rc = done ? 0 : err_set("out of memory");
    for (size_t i = 0; rc == 0 && i < d.n; i++) {
        if (done[i])
            continue;
        const char *t = d.e[i].table;
        if (*t)
            rc = config_section(r, t, d.e[i].line);
        for (size_t j = i; rc == 0 && j < d.n; j++) {
            if (done[j] || strcmp(d.e[j].table, t) != 0)
                continue;
            done[j] = true;
            rc = entry(r, &d.e[j]);
        }
    }
    free(done);
    toml_free(&d);
    return rc;
}
