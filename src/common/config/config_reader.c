/*
 * config_reader.c: applying what a format reader finds in a configuration file to the settings:
 * sections, keys and values checked against the option table, every error with file and line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cli_priv.h"
#include "config/config_reader.h"
#include "config/options.h"
#include "config/strlist.h"
#include "err.h"
#include "log.h"

#define CONFIG_MAX_SECTIONS 4

struct config_reader {
    struct cli *c;
    const char *path;
    bool yaml;
    char section[64];                        /* current section, "" before the first */
    char seen[CONFIG_MAX_SECTIONS][16];      /* sections met so far ... */
    unsigned seen_line[CONFIG_MAX_SECTIONS]; /* ... and where */
    unsigned nseen;
    unsigned key_line[OPT_COUNT]; /* first line of each key, 0 if not met */
    int key;                      /* current key's option, -1 if none */
    char key_name[64];
    bool list;   /* the current key's values are a YAML sequence */
    bool ignore; /* the current key is one uhyve ignores: its values are dropped */
    /* Values of an OPT_JOINED key (affinity), joined with ',' and applied at the end. */
    char joined[1024];
    size_t joined_len;
};

int config_syntax_error(struct config_reader *r, unsigned line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set("%s:%u: %s", r->path, line, msg);
}

int config_section(struct config_reader *r, const char *name, unsigned line)
{
    r->key = -1;
    if (!opt_section_known(name))
        return config_syntax_error(
            r, line, "unknown section [%s] (use [uhyve], [memory], [cpu], [guest])", name);
    for (unsigned i = 0; i < r->nseen; i++)
        if (!strcmp(r->seen[i], name))
            return config_syntax_error(r, line, "duplicate section [%s] (first on line %u)", name,
                                       r->seen_line[i]);
    snprintf(r->seen[r->nseen], sizeof(r->seen[0]), "%s", name);
    r->seen_line[r->nseen++] = line;
    snprintf(r->section, sizeof(r->section), "%s", name);
    return 0;
}

/* "key 'x': " errors of the current key. */
#define key_error config_key_error
int config_key_error(struct config_reader *r, unsigned line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set("%s:%u: key '%s': %s", r->path, line, r->key_name, msg);
}

/* For an unknown key: the section it belongs in, if any. */
static const char *home_section(const char *key)
{
    for (int i = 0; i < OPT_COUNT; i++)
        if (opt_defs[i].key && !strcmp(opt_defs[i].key, key))
            return opt_defs[i].section;
    return NULL;
}

/* Keys uhyve's files may hold that uhyve itself skips (serde(skip) in its Args), and why. */
static const char *ignored_key(const char *section, const char *key)
{
    static const struct {
        const char *section, *key, *why;
    } keys[] = {
        {"uhyve", "config", "a configuration file cannot name another"},
        {"uhyve", "trace_dir", "chyve has no function tracing"},
        {"uhyve", "net", "the network is set on the command line only"},
        {"guest", "kernel", "the kernel is named on the command line"},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!strcmp(keys[i].section, section) && !strcmp(keys[i].key, key))
            return keys[i].why;
    return NULL;
}

int config_key_kind(const struct config_reader *r)
{
    return r->ignore || r->key < 0 ? -1 : (int)opt_defs[r->key].kind;
}

int config_key(struct config_reader *r, const char *key, unsigned line, bool list)
{
    snprintf(r->key_name, sizeof(r->key_name), "%s", key);
    r->key = -1;
    r->ignore = false;
    if (r->section[0] == '\0')
        return key_error(r, line,
                         "outside a section (put it under [uhyve], [memory], [cpu] or "
                         "[guest])");
    int id = opt_find_key(r->section, key);
    const char *skip = id < 0 ? ignored_key(r->section, key) : NULL;
    if (skip) {
        log_warn("%s:%u: key '%s' ignored, as uhyve does: %s", r->path, line, key, skip);
        r->ignore = true;
        return 0;
    }
    if (id < 0) {
        const char *home = home_section(key);
        if (home)
            return key_error(r, line, "unknown key in [%s] (it belongs in [%s])", r->section, home);
        return key_error(r, line, "unknown key in [%s]", r->section);
    }
    const struct opt_def *d = &opt_defs[id];
    const char *why = opt_unsupported((enum opt_id)id);
    if (why)
        return key_error(r, line, "not supported: %s", why);
    bool repeatable = !r->yaml && (d->kind == OPT_LIST || d->kind == OPT_JOINED);
    if (r->key_line[id] && !repeatable)
        return key_error(r, line, "given twice (first on line %u)", r->key_line[id]);
    if (list && (d->kind == OPT_VALUE || d->kind == OPT_FLAG))
        return key_error(r, line, "expected a single value, not a list");
    if (r->yaml && !list && d->kind == OPT_LIST)
        return key_error(r, line, "expected a list (a YAML sequence such as [a, b])");
    if (!r->key_line[id])
        r->key_line[id] = line;
    r->key = id;
    r->list = list;
    return 0;
}

int config_value(struct config_reader *r, const char *value, unsigned line)
{
    if (r->ignore)
        return 0;
    if (r->key < 0)
        return config_syntax_error(r, line, "a value without a key");
    if (*value == '\0')
        return key_error(r, line, "no value");
    enum opt_id id = (enum opt_id)r->key;
    if (opt_defs[id].kind == OPT_JOINED) {
        size_t n = strlen(value);
        if (r->joined_len + n + 2 > sizeof(r->joined))
            return key_error(r, line, "too long");
        if (r->joined_len)
            r->joined[r->joined_len++] = ',';
        memcpy(r->joined + r->joined_len, value, n + 1);
        r->joined_len += n;
        return 0;
    }
    char *copy = strdup(value);
    if (!copy || strlist_own(&r->c->owned, copy) != 0) {
        free(copy);
        return err_set("out of memory");
    }
    if (opt_apply(r->c, id, copy, OPT_SRC_FILE) != 0)
        return err_prefix("%s:%u: key '%s': ", r->path, line, r->key_name);
    return 0;
}

/* Applies the joined values of OPT_JOINED keys once the whole file is read. */
static int apply_joined(struct config_reader *r)
{
    if (r->joined_len == 0)
        return 0;
    char *copy = strdup(r->joined);
    if (!copy || strlist_own(&r->c->owned, copy) != 0) {
        free(copy);
        return err_set("out of memory");
    }
    r->c->affinity_line = r->key_line[OPT_AFFINITY];
    if (opt_apply(r->c, OPT_AFFINITY, copy, OPT_SRC_FILE) != 0)
        return err_prefix("%s:%u: key 'affinity': ", r->path, r->c->affinity_line);
    return 0;
}

struct config_reader *config_reader_new(struct cli *c, const char *path, bool yaml)
{
    struct config_reader *r = calloc(1, sizeof(*r));
    if (!r) {
        err_set("out of memory");
        return NULL;
    }
    r->c = c;
    r->path = path;
    r->yaml = yaml;
    r->key = -1;
    return r;
}

int config_reader_end(struct config_reader *r, int rc)
{
    if (rc == 0)
        rc = apply_joined(r);
    free(r);
    return rc;
}
