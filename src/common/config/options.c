/* options.c: the option table (ABI §9.1, §9.3) and the checks that turn one value into settings. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chyve_config.h"
#include "config/affinity.h"
#include "config/cli_priv.h"
#include "config/options.h"
#include "config/size.h"
#include "config/strlist.h"
#include "err.h"
#include "files/filemap.h"
#include "loader/layout.h"
#include "net/netif.h"

const struct opt_def opt_defs[OPT_COUNT] = {
    [OPT_OUTPUT] = {'o', "output", NULL, "uhyve", "output", OPT_VALUE, false, NULL},
    [OPT_STATS] = {0, "stats", NULL, "uhyve", "stats", OPT_FLAG, false, NULL},
    [OPT_STATS_FILE] = {0, "stats-file", NULL, "uhyve", "stats_file", OPT_VALUE, false, NULL},
    [OPT_FILE_MAPPING] = {0, "file-mapping", NULL, "uhyve", "file_mapping", OPT_LIST, false, NULL},
    [OPT_TEMPDIR] = {0, "tempdir", NULL, "uhyve", "tempdir", OPT_VALUE, false, NULL},
    [OPT_IMAGE_MODE] = {0, "hermit-image-mode", NULL, "uhyve", "hermit_image_mode", OPT_VALUE,
                        false, NULL},
    [OPT_FILE_ISOLATION] = {0, "file-isolation", NULL, "uhyve", "file_isolation", OPT_VALUE,
                            .linux_only = true},
    [OPT_IO_MODE] = {0, "io-mode", NULL, "uhyve", "io_mode", OPT_VALUE, .linux_only = true},
    [OPT_SECCOMP] = {0, "seccomp", NULL, "uhyve", "seccomp", OPT_VALUE, .linux_only = true},
    [OPT_TEMPDIR_MAX_SIZE] = {0, "tempdir-max-size", NULL, "uhyve", "tempdir_max_size", OPT_VALUE,
                              false, NULL},
    [OPT_TEMPDIR_MAX_FILES] = {0, "tempdir-max-files", NULL, "uhyve", "tempdir_max_files",
                               OPT_VALUE, false, NULL},
    [OPT_TEMPDIR_MAX_DEPTH] = {0, "tempdir-max-depth", NULL, "uhyve", "tempdir_max_depth",
                               OPT_VALUE, false, NULL},
    [OPT_GDB_PORT] = {'s', "gdb-port", NULL, "uhyve", "gdb_port", OPT_VALUE, false, NULL},
    [OPT_NET] = {'n', "net", NULL, "uhyve", "net", OPT_VALUE, false, NULL},
    [OPT_MAC] = {0, "mac", NULL, "uhyve", "mac", OPT_VALUE, false, NULL},
    [OPT_TRACE_DIR] = {0, "trace-dir", NULL, NULL, NULL, OPT_VALUE,
                       .refused = "chyve has no function tracing"},
    [OPT_CONFIG] = {0, "config", NULL, NULL, NULL, OPT_VALUE, false, NULL},
    [OPT_MEMORY] = {'m', "memory-size", NULL, "memory", "memory_size", OPT_VALUE, false, NULL},
    [OPT_NO_ASLR] = {0, "no-aslr", NULL, "memory", "no_aslr", OPT_FLAG, false, NULL},
    [OPT_THP] = {0, "thp", NULL, "memory", "thp", OPT_FLAG, .linux_only = true},
    [OPT_KSM] = {0, "ksm", NULL, "memory", "ksm", OPT_FLAG, .linux_only = true},
    [OPT_CPUS] = {'c', "cpu-count", NULL, "cpu", "cpu_count", OPT_VALUE, false, NULL},
    [OPT_AFFINITY] = {'a', "affinity", NULL, "cpu", "affinity", OPT_JOINED, .linux_only = true},
    [OPT_CPU_PM] = {0, "cpu-pm", NULL, "cpu", "cpu_pm", OPT_FLAG, .linux_only = true},
    [OPT_PIT] = {0, "pit", NULL, "cpu", "pit", OPT_FLAG, .linux_only = true},
    [OPT_ENV] = {'e', "env-vars", "env", "guest", "env_vars", OPT_LIST, false, NULL},
    [OPT_KERNEL_ARGS] = {0, NULL, NULL, "guest", "kernel_args", OPT_LIST, false, NULL},
    [OPT_START_FIFO] = {0, "start-fifo", NULL, NULL, NULL, OPT_VALUE, false, NULL},
    [OPT_VERBOSE] = {'v', "verbose", NULL, NULL, NULL, OPT_FLAG, false, NULL},
    [OPT_HELP] = {'h', "help", NULL, NULL, NULL, OPT_FLAG, false, NULL},
    [OPT_VERSION] = {'V', "version", NULL, NULL, NULL, OPT_FLAG, false, NULL},
};

static const char *const sections[] = {"uhyve", "memory", "cpu", "guest"};

int opt_find_key(const char *section, const char *key)
{
    for (int i = 0; i < OPT_COUNT; i++)
        if (opt_defs[i].key && !strcmp(opt_defs[i].section, section) &&
            !strcmp(opt_defs[i].key, key))
            return i;
    return -1;
}

bool opt_section_known(const char *name)
{
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
        if (!strcmp(sections[i], name))
            return true;
    return false;
}

const char *opt_unsupported(enum opt_id id)
{
    if (opt_defs[id].refused)
        return opt_defs[id].refused;
    /* The KVM backend is the Linux build; Landlock, madvise and KVM capabilities need it. */
    if (opt_defs[id].linux_only && strcmp(CHYVE_BACKEND, "kvm") != 0)
        return "this build (" CHYVE_BACKEND ") supports it only on Linux hosts";
    return NULL;
}

int opt_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = false;
            return 0;
        }
    }
    return err_set("expected a boolean (true or false), got '%s'", s);
}

/* True if src may store a value for id: nothing of higher precedence stored one already. */
static bool take(struct cli *c, enum opt_id id, enum opt_src src)
{
    if (src < c->src[id])
        return false;
    c->src[id] = (unsigned char)src;
    return true;
}

/* Guest memory size, checked against ABI §3.3. */
static int parse_memory(const char *s, uint64_t *out)
{
    if (size_parse(s, out) != 0)
        return -1;
    if (*out < LAYOUT_MIN_MEMORY)
        return err_set("memory size %s is too small: at least 16MiB", s);
    if (*out % LAYOUT_MEMORY_ALIGN != 0)
        return err_set("memory size %s must be a multiple of 2MiB", s);
    return 0;
}

static int parse_cpus(const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!isdigit((unsigned char)*s) || *end != '\0' || errno != 0 || v == 0 || v > VM_MAX_CPUS)
        return err_set("invalid cpu count '%s': expected a number from 1 to %d", s, VM_MAX_CPUS);
    *out = (unsigned)v;
    return 0;
}

/* A whole number from 1 to max for option `what`. */
static int parse_count(const char *s, const char *what, unsigned long max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!isdigit((unsigned char)*s) || *end != '\0' || errno != 0 || v == 0 || v > max)
        return err_set("invalid %s '%s': expected a number from 1 to %lu", what, s, max);
    *out = (uint32_t)v;
    return 0;
}

/* --tempdir-max-size: a size of at least 4KiB. */
static int parse_tempdir_size(const char *s, uint64_t *out)
{
    if (size_parse(s, out) != 0 || *out < 4096)
        return err_set("invalid --tempdir-max-size '%s': expected a size of at least 4KiB, "
                       "such as 1GiB",
                       s);
    return 0;
}

static int parse_isolation(const char *s, enum vm_isolation *out)
{
    static const char *const names[] = {"normal", "none", "strict"};
    static const enum vm_isolation modes[] = {VM_ISOLATION_NORMAL, VM_ISOLATION_NONE,
                                              VM_ISOLATION_STRICT};
    for (size_t i = 0; i < 3; i++)
        if (!strcasecmp(s, names[i])) {
            *out = modes[i];
            return 0;
        }
    return err_set("invalid file isolation '%s': expected normal, none or strict", s);
}

static int parse_seccomp(const char *s, enum vm_seccomp *out)
{
    static const char *const names[] = {"strict", "log", "none"};
    static const enum vm_seccomp modes[] = {VM_SECCOMP_STRICT, VM_SECCOMP_LOG, VM_SECCOMP_NONE};
    for (size_t i = 0; i < 3; i++)
        if (!strcasecmp(s, names[i])) {
            *out = modes[i];
            return 0;
        }
    return err_set("invalid seccomp mode '%s': expected strict, log or none", s);
}

/* --hermit-image-mode: chyve serves an image's files to the guest from the host (external). */
static int check_image_mode(const char *s)
{
    if (!strcasecmp(s, "external"))
        return 0;
    if (!strcasecmp(s, "internal"))
        return err_set("image mode 'internal' is not supported: chyve has only the external mode");
    return err_set("invalid image mode '%s': expected external", s);
}

/*
 * --io-mode: uhyve's spellings, in any case: default, host=direct, host=sync, host=direct,sync
 * (either order). uhyve's help also names hostdirect and hostdirectsync, which its parser reads
 * as default: they are refused with the spelling that does what they say.
 */
static int parse_io_mode(const char *s, bool *direct, bool *sync)
{
    *direct = *sync = false;
    if (!strcasecmp(s, "default"))
        return 0;
    if (!strcasecmp(s, "hostdirect") || !strcasecmp(s, "hostdirectsync"))
        return err_set("invalid io mode '%s': write host=direct%s (uhyve reads '%s' as default)", s,
                       strlen(s) > 10 ? ",sync" : "", s);
    if (strncasecmp(s, "host=", 5) != 0 || s[5] == '\0')
        goto bad;
    for (const char *p = s + 5; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 6 && !strncasecmp(p, "direct", 6) && !*direct)
            *direct = true;
        else if (n == 4 && !strncasecmp(p, "sync", 4) && !*sync)
            *sync = true;
        else
            goto bad;
        p += n;
        if (*p == ',' && *++p == '\0')
            goto bad;
    }
    return 0;
bad:
    return err_set("invalid io mode '%s': expected default, host=direct, host=sync or "
                   "host=direct,sync",
                   s);
}

/*
 * HOST:GUEST[:ro|:rw], HOST and GUEST non-empty (filemap_spec, so a configuration file's bad mode
 * is reported with its line); the file mapping itself checks the paths when the run starts.
 */
static int check_mapping(const char *s)
{
    struct fm_spec sp;
    return filemap_spec(s, &sp);
}

/* A KEY=VALUE entry of the guest environment (KEY not empty), or `host`. */
static int check_env(const char *s)
{
    if (strcmp(s, "host") != 0 && (!strchr(s, '=') || s[0] == '='))
        return err_set("invalid environment variable '%s': expected KEY=VALUE or host", s);
    return 0;
}

/* A non-empty path. */
static int check_path(const char *s)
{
    if (*s == '\0')
        return err_set("expected a path, got an empty value");
    return 0;
}

/* Flags: true without a value (command line), else a boolean word. */
static int apply_flag(struct cli *c, enum opt_id id, const char *value, enum opt_src src)
{
    bool b = true;
    if (value && opt_parse_bool(value, &b) != 0)
        return -1;
    if (!take(c, id, src))
        return 0;
    /* The flags that are one vm_config switch each. */
    bool *const field[OPT_COUNT] = {
        [OPT_STATS] = &c->cfg.stats,   [OPT_THP] = &c->cfg.thp, [OPT_KSM] = &c->cfg.ksm,
        [OPT_CPU_PM] = &c->cfg.cpu_pm, [OPT_PIT] = &c->cfg.pit,
    };
    if (field[id]) {
        *field[id] = b;
        return 0;
    }
    switch (id) {
    case OPT_NO_ASLR:
        c->cfg.aslr = !b;
        break;
    case OPT_VERBOSE:
        c->verbosity++;
        break;
    case OPT_HELP:
        c->action = CLI_HELP;
        break;
    case OPT_VERSION:
        c->action = CLI_VERSION;
        break;
    default:
        break;
    }
    return 0;
}

/* List options keep one list per source: [0] command line, [1] configuration file. */
static int apply_list(struct cli *c, enum opt_id id, const char *value, enum opt_src src)
{
    int k = src == OPT_SRC_CLI ? 0 : 1;
    if (src > c->src[id])
        c->src[id] = (unsigned char)src; /* the highest source that contributed */
    switch (id) {
    case OPT_ENV:
        if (check_env(value) != 0)
            return -1;
        if (!strcmp(value, "host")) {
            c->env_host[k] = true;
            return 0;
        }
        return strlist_push(&c->env_vars[k], value);
    case OPT_FILE_MAPPING:
        if (check_mapping(value) != 0)
            return -1;
        return strlist_push(&c->file_maps[k], value);
    case OPT_KERNEL_ARGS:
        return strlist_push(&c->kernel_args_file, value);
    default:
        return 0;
    }
}

/* A TCP port for the debugger: a decimal number from 1 to 65535. */
static int parse_port(const char *s, unsigned *out)
{
    unsigned long v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9' && v <= 65535; p++)
        v = v * 10 + (unsigned long)(*p - '0');
    if (p == s || *p || v == 0 || v > 65535)
        return err_set("invalid GDB port '%s': expected a number from 1 to 65535", s);
    *out = (unsigned)v;
    return 0;
}

int opt_apply(struct cli *c, enum opt_id id, const char *value, enum opt_src src)
{
    if (opt_defs[id].kind == OPT_FLAG)
        return apply_flag(c, id, value, src);
    if (opt_defs[id].kind == OPT_LIST)
        return apply_list(c, id, value, src);
    uint64_t mem = 0;
    unsigned n = 0;
    uint32_t count = 0;
    enum vm_isolation iso = VM_ISOLATION_NORMAL;
    enum vm_seccomp sc = VM_SECCOMP_STRICT;
    bool direct = false, sync = false;
    unsigned cpus[VM_MAX_CPUS];
    size_t ncpus = 0;
    switch (id) {
    case OPT_OUTPUT:
    case OPT_STATS_FILE:
    case OPT_TEMPDIR:
    case OPT_CONFIG:
    case OPT_START_FIFO:
        if (check_path(value) != 0)
            return -1;
        if (take(c, id, src)) {
            const char **dst = id == OPT_OUTPUT       ? &c->output
                               : id == OPT_STATS_FILE ? &c->cfg.stats_file
                               : id == OPT_TEMPDIR    ? &c->cfg.tempdir
                               : id == OPT_START_FIFO ? &c->cfg.start_fifo
                                                      : &c->config_path;
            *dst = value;
        }
        return 0;
    case OPT_NET:
    case OPT_MAC: {
        struct net_spec spec; /* checked here so that a typo is a usage error */
        if (net_spec_parse(id == OPT_NET ? value : "user", id == OPT_MAC ? value : NULL, &spec) !=
            0)
            return -1;
        if (take(c, id, src))
            *(id == OPT_NET ? &c->cfg.net : &c->cfg.mac) = value;
        return 0;
    }
    case OPT_MEMORY:
        if (parse_memory(value, &mem) != 0)
            return -1;
        if (take(c, id, src))
            c->cfg.mem_size = mem;
        return 0;
    case OPT_CPUS:
        if (parse_cpus(value, &n) != 0)
            return -1;
        if (take(c, id, src))
            c->cfg.ncpus = n;
        return 0;
    case OPT_AFFINITY:
        if (affinity_parse(value, cpus, VM_MAX_CPUS, &ncpus) != 0)
            return -1;
        if (take(c, id, src)) {
            memcpy(c->affinity, cpus, ncpus * sizeof(cpus[0]));
            c->naffinity = ncpus;
        }
        return 0;
    case OPT_TEMPDIR_MAX_SIZE:
        if (parse_tempdir_size(value, &mem) != 0)
            return -1;
        if (take(c, id, src))
            c->cfg.tempdir_max_size = mem;
        return 0;
    case OPT_TEMPDIR_MAX_FILES:
    case OPT_TEMPDIR_MAX_DEPTH: {
        bool files = id == OPT_TEMPDIR_MAX_FILES;
        if (parse_count(value, files ? "--tempdir-max-files" : "--tempdir-max-depth",
                        files ? VM_TEMPDIR_FILES_LIMIT : VM_TEMPDIR_DEPTH_LIMIT, &count) != 0)
            return -1;
        if (take(c, id, src))
            *(files ? &c->cfg.tempdir_max_files : &c->cfg.tempdir_max_depth) = count;
        return 0;
    }
    case OPT_GDB_PORT:
        if (parse_port(value, &n) != 0)
            return -1;
        if (take(c, id, src))
            c->cfg.gdb_port = (uint16_t)n;
        return 0;
    case OPT_IMAGE_MODE:
        if (check_image_mode(value) != 0)
            return -1;
        take(c, id, src);
        return 0;
    case OPT_FILE_ISOLATION:
        if (parse_isolation(value, &iso) != 0)
            return -1;
        if (take(c, id, src))
            c->cfg.isolation = iso;
        return 0;
    case OPT_SECCOMP:
        if (parse_seccomp(value, &sc) != 0)
            return -1;
        if (take(c, id, src))
            c->cfg.seccomp = sc;
        return 0;
    case OPT_IO_MODE:
        if (parse_io_mode(value, &direct, &sync) != 0)
            return -1;
        if (take(c, id, src)) {
            c->cfg.io_direct = direct;
            c->cfg.io_sync = sync;
        }
        return 0;
    default:
        return err_set("this option cannot be set");
    }
}
