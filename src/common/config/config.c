/*
 * config.c: finding the configuration file, reading it and handing it to the reader of its
 * format (config_ini.c, config_yaml.c), whose findings config_reader.c applies.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/cli_priv.h"
#include "config/config.h"
#include "config/config_reader.h"
#include "config/strlist.h"
#include "err.h"
#include "log.h"
#include "readfile.h"

/* Larger files are not configuration files anyone writes by hand. */
#define CONFIG_MAX_SIZE (1u << 20)

/* Reads the whole file into a NUL-terminated malloc'd buffer. */
static int read_file(const char *path, char **text, size_t *len)
{
    uint8_t *buf = NULL;
    size_t got = 0;
    switch (readfile(path, CONFIG_MAX_SIZE, &buf, &got)) {
    case READFILE_OK:
        break;
    case READFILE_OPEN:
    case READFILE_READ:
        return err_set("cannot read configuration file '%s': %s", path,
                       errno ? strerror(errno) : "it ended early");
    case READFILE_NOT_REGULAR:
    case READFILE_TOO_LARGE:
        return err_set("configuration file '%s' is not a regular file of at most 1 MiB", path);
    case READFILE_NO_MEMORY:
        return err_set("out of memory");
    }
    char *b = (char *)buf;
    if (memchr(b, '\0', got)) {
        free(b);
        return err_set("configuration file '%s' is not a text file (it contains NUL bytes)", path);
    }
    *text = b;
    *len = got;
    return 0;
}

/* The format from the file name: 1 INI, 2 YAML, 3 TOML, or -1 with err_msg(). */
static int format_of(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(slash ? slash : path, '.');
    if (dot && !strcasecmp(dot, ".ini"))
        return 1;
    if (dot && (!strcasecmp(dot, ".yaml") || !strcasecmp(dot, ".yml")))
        return 2;
    if (dot && !strcasecmp(dot, ".toml"))
        return 3;
    return err_set("%s: unknown configuration file type: name it *.toml, *.ini, *.yaml or *.yml",
                   path);
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
    struct config_reader *r = config_reader_new(c, path, fmt == 2);
    if (!r) {
        free(text);
        return -1;
    }
    int rc = fmt == 3   ? config_read_toml(r, text, len)
             : fmt == 2 ? config_read_yaml(r, text, len)
                        : config_read_ini(r, text, len);
    rc = config_reader_end(r, rc);
    free(text);
    return rc;
}

/* The one of the NULL-terminated names that exists in dir (malloc'd path), or NULL. */
static int find_in(const char *dir, const char *const *names, char **found)
{
    *found = NULL;
    for (size_t i = 0; names[i]; i++) {
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
    /*
     * The working directory (uhyve's name and chyve's, one of them), then uhyve's and chyve's
     * directories under $XDG_CONFIG_HOME, in that order.
     */
    static const char *const here[] = {"uhyve.toml", "chyve.toml", "chyve.ini",
                                       "chyve.yaml", "chyve.yml",  NULL};
    static const char *const uhyve[] = {"uhyve.toml", NULL};
    static const char *const chyve[] = {"chyve.toml", "chyve.ini", "chyve.yaml", "chyve.yml", NULL};
    char *found = NULL;
    if (find_in("", here, &found) != 0)
        return -1;
    for (int k = 0; !found && k < 2 && xdg_config_home && *xdg_config_home; k++) {
        char *dir;
        if (asprintf(&dir, "%s/%s/", xdg_config_home, k == 0 ? "uhyve" : "chyve") < 0)
            return err_set("out of memory");
        int rc = find_in(dir, k == 0 ? uhyve : chyve, &found);
        free(dir);
        if (rc != 0)
            return -1;
    }
    if (!found)
        return 0;
    if (strlist_own(&c->owned, found) != 0) {
        free(found);
        return -1;
    }
    c->config_path = found;
    log_info("configuration file %s", found);
    return config_load_file(c, found);
}
