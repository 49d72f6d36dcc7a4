/*
 * config.c: finding the configuration file and applying its sections and keys to the settings,
 * whichever format (INI or YAML) they were read from. Every error names the file and line.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/cli_priv.h"
#include "config/config.h"
#include "err.h"
#include "log.h"
#include "config/options.h"
#include "config/strlist.h"

/* Larger files are not configuration files anyone writes by hand. */
#define CONFIG_MAX_SIZE (1u << 20)
#define CONFIG_MAX_SECTIONS 4

struct config_reader {
    struct cli *c;
    const char *path;
    bool yaml;
    char section[64];                       /* current section, "" before the first */
    char seen[CONFIG_MAX_SECTIONS][16];     /* sections met so far ... */
    unsigned seen_line[CONFIG_MAX_SECTIONS]; /* ... and where */
    unsigned nseen;
    unsigned key_line[OPT_COUNT];           /* first line of each key, 0 if not met */
    int key;                                /* current key's option, -1 if none */
    char key_name[64];
    bool list;                              /* the current key's values are a YAML sequence */
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
        return config_syntax_error(r, line,
                                   "unknown section [%s] (use [uhyve], [memory], [cpu], [guest])",
                                   name);
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
static int key_error(struct config_reader *r, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int key_error(struct config_reader *r, unsigned line, const char *fmt, ...)
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

int config_key(struct config_reader *r, const char *key, unsigned line, bool list)
{
    snprintf(r->key_name, sizeof(r->key_name), "%s", key);
    r->key = -1;
    if (r->section[0] == '\0')
        return key_error(r, line, "outside a section (put it under [uhyve], [memory], [cpu] or "
                                  "[guest])");
    int id = opt_find_key(r->section, key);
    if (id < 0) {
        const char *home = home_section(key);
        if (home)
            return key_error(r, line, "unknown key in [%s] (it belongs in [%s])", r->section,
                             home);
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
    if (!copy || strlist_push(&r->c->owned, copy) != 0) {
        free(copy);
        return err_set("out of memory");
    }
    if (opt_apply(r->c, id, copy, OPT_SRC_FILE) != 0)
        return opt_err_prefix("%s:%u: key '%s': ", r->path, line, r->key_name);
    return 0;
}

/* Applies the joined values of OPT_JOINED keys once the whole file is read. */
static int apply_joined(struct config_reader *r)
{
    if (r->joined_len == 0)
        return 0;
    char *copy = strdup(r->joined);
    if (!copy || strlist_push(&r->c->owned, copy) != 0) {
        free(copy);
        return err_set("out of memory");
    }
    r->c->affinity_line = r->key_line[OPT_AFFINITY];
    if (opt_apply(r->c, OPT_AFFINITY, copy, OPT_SRC_FILE) != 0)
        return opt_err_prefix("%s:%u: key 'affinity': ", r->path, r->c->affinity_line);
    return 0;
}

/* Reads the whole file into a NUL-terminated malloc'd buffer. */
static int read_file(const char *path, char **text, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set("cannot read configuration file '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_SIZE) {
        close(fd);
        return err_set("configuration file '%s' is not a regular file of at most 1 MiB", path);
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *b = malloc(size + 1);
    if (!b) {
        close(fd);
        return err_set("out of memory");
    }
    while (got < size) {
        ssize_t n = read(fd, b + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    b[got] = '\0';
    if (memchr(b, '\0', got)) {
        free(b);
        return err_set("configuration file '%s' is not a text file (it contains NUL bytes)", path);
    }
    *text = b;
    *len = got;
    return 0;
}

/* The format from the file name: 1 INI, 2 YAML, or -1 with err_msg(). */
static int format_of(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(slash ? slash : path, '.');
    if (dot && !strcasecmp(dot, ".ini"))
        return 1;
    if (dot && (!strcasecmp(dot, ".yaml") || !strcasecmp(dot, ".yml")))
        return 2;
    if (dot && !strcasecmp(dot, ".toml"))
        return err_set("%s: TOML configuration files are not supported: write the same sections "
                       "and keys as .ini or .yaml",
                       path);
    return err_set("%s: unknown configuration file type: name it *.ini, *.yaml or *.yml", path);
}

int config_load_file(struct cli *c, const char *path)
{
    int fmt = format_of(path);
    if (fmt < 0)
        return -1;
    char *text = NULL;
    size_t len = 0;
    if (read_file(path, &text, &len) != 0)
        return -1;
    struct config_reader *r = calloc(1, sizeof(*r));
    if (!r) {
        free(text);
        return err_set("out of memory");
    }
    r->c = c;
    r->path = path;
    r->yaml = fmt == 2;
    r->key = -1;
    int rc = r->yaml ? config_read_yaml(r, text, len) : config_read_ini(r, text, len);
    if (rc == 0)
        rc = apply_joined(r);
    free(r);
    free(text);
    return rc;
}

/* The one of chyve.ini, chyve.yaml, chyve.yml that exists in dir (malloc'd), or NULL. */
static int find_in(const char *dir, char **found)
{
    static const char *const names[] = {"chyve.ini", "chyve.yaml", "chyve.yml"};
    *found = NULL;
    for (size_t i = 0; i < 3; i++) {
        char *p;
        if (asprintf(&p, "%s%s", dir, names[i]) < 0)
            return err_set("out of memory");
        if (access(p, F_OK) != 0) {
            free(p);
            continue;
        }
        if (*found) {
            int rc = err_set("both %s and %s exist: remove one or choose with --config", *found, p);
            free(p);
            free(*found);
            *found = NULL;
            return rc;
        }
        *found = p;
    }
    return 0;
}

int config_load(struct cli *c, const char *xdg_config_home)
{
    if (c->config_path)
        return config_load_file(c, c->config_path);
    char *found = NULL;
    if (find_in("", &found) != 0)
        return -1;
    if (!found && xdg_config_home && *xdg_config_home) {
        char *dir;
        if (asprintf(&dir, "%s/chyve/", xdg_config_home) < 0)
            return err_set("out of memory");
        int rc = find_in(dir, &found);
        free(dir);
        if (rc != 0)
            return -1;
    }
    if (!found)
        return 0;
    if (strlist_push(&c->owned, found) != 0) {
        free(found);
        return -1;
    }
    c->config_path = found;
    log_info("configuration file %s", found);
    return config_load_file(c, found);
}
