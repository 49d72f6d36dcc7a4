/* cli.c: chyve's command line: uhyve's option names, env vars and defaults (ABI §9.1, §9.2). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "layout.h"
#include "log.h"

const char cli_usage[] =
    "Usage: chyve [OPTIONS] <KERNEL> [ARGS]...\n"
    "\n"
    "Runs a Hermit unikernel in a lightweight virtual machine.\n"
    "\n"
    "Arguments:\n"
    "  <KERNEL>   the Hermit kernel (ELF) to run\n"
    "  [ARGS]...  passed to the guest unchanged: kernel arguments, then \"--\" and the\n"
    "             application's arguments\n"
    "\n"
    "Memory:\n"
    "  -m, --memory-size <SIZE>  guest memory, e.g. 64MiB, 1GiB, 2G; at least 16MiB and a\n"
    "                            multiple of 2MiB [env: HERMIT_MEMORY_SIZE] [default: 64MiB]\n"
    "      --no-aslr             load the kernel at the lowest address instead of a random one\n"
    "\n"
    "CPU:\n"
    "  -c, --cpu-count <N>       number of vCPUs [env: HERMIT_CPU_COUNT] [default: 1]\n"
    "\n"
    "Guest:\n"
    "  -e, --env-vars <KEY=VALUE>  environment of the guest (repeatable); `host` passes chyve's\n"
    "                            whole environment [default: chyve's environment]\n"
    "\n"
    "General:\n"
    "  -v, --verbose             more diagnostics on stderr (-v info, -vv debug, -vvv trace)\n"
    "                            [env: CHYVE_LOG=warn|info|debug|trace]\n"
    "  -h, --help                print this help\n"
    "  -V, --version             print the version\n";

/* Unit table of sizes: single letters and *iB are powers of 1024, kB/MB/GB/TB of 1000. */
static const struct {
    const char *name;
    uint64_t factor;
} size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1ull << 10},
    {"kib", 1ull << 10},
    {"kb", 1000ull},
    {"m", 1ull << 20},
    {"mib", 1ull << 20},
    {"mb", 1000000ull},
    {"g", 1ull << 30},
    {"gib", 1ull << 30},
    {"gb", 1000000000ull},
    {"t", 1ull << 40},
    {"tib", 1ull << 40},
    {"tb", 1000000000000ull},
};

int cli_parse_size(const char *s, uint64_t *out)
{
    const char *p = s;
    uint64_t whole = 0;
    int digits = 0;
    while (isdigit((unsigned char)*p)) {
        if (whole > (UINT64_MAX - 9) / 10)
            return err_set("invalid memory size '%s': too large", s);
        whole = whole * 10 + (uint64_t)(*p++ - '0');
        digits++;
    }
    /* An optional fraction, kept as numerator/denominator so 1.5GiB is exact. */
    uint64_t frac = 0, denom = 1;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            if (denom < 1000000000ull) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                denom *= 10;
            }
            p++;
            digits++;
        }
    }
    if (digits == 0)
        return err_set("invalid memory size '%s': expected a number such as 64MiB", s);
    while (*p == ' ')
        p++;
    char unit[8];
    size_t ulen = strlen(p);
    if (ulen >= sizeof(unit))
        return err_set("invalid memory size '%s': unknown unit '%s'", s, p);
    for (size_t i = 0; i <= ulen; i++)
        unit[i] = (char)tolower((unsigned char)p[i]);
    for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
        if (strcmp(unit, size_units[i].name) != 0)
            continue;
        uint64_t f = size_units[i].factor;
        if (whole > UINT64_MAX / f)
            return err_set("invalid memory size '%s': too large", s);
        uint64_t v = whole * f;
        uint64_t part = (f / denom) * frac + ((f % denom) * frac) / denom;
        if (v + part < v)
            return err_set("invalid memory size '%s': too large", s);
        *out = v + part;
        return 0;
    }
    return err_set("invalid memory size '%s': unknown unit '%s' (use B, KiB, MiB, GiB, TiB, K, M, "
                   "G, KB, MB, GB)",
                   s, p);
}

/* Memory size from the command line or HERMIT_MEMORY_SIZE, checked against ABI §3.3. */
static int set_memory(struct cli *c, const char *s, const char *origin)
{
    uint64_t v;
    if (cli_parse_size(s, &v) != 0) {
        char why[256]; /* err_set() must not format from its own buffer */
        snprintf(why, sizeof(why), "%s", err_msg());
        return err_set("%s%s", origin, why);
    }
    if (v < LAYOUT_MIN_MEMORY)
        return err_set("%smemory size %s is too small: at least 16MiB", origin, s);
    if (v % LAYOUT_MEMORY_ALIGN != 0)
        return err_set("%smemory size %s must be a multiple of 2MiB", origin, s);
    c->cfg.mem_size = v;
    c->mem_set = true;
    return 0;
}

static int set_cpus(struct cli *c, const char *s, const char *origin)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!isdigit((unsigned char)*s) || *end != '\0' || errno != 0 || v == 0 || v > VM_MAX_CPUS)
        return err_set("%sinvalid cpu count '%s': expected a number from 1 to %d", origin, s,
                       VM_MAX_CPUS);
    c->cfg.ncpus = (unsigned)v;
    c->cpus_set = true;
    return 0;
}

static int set_log(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    for (int i = 0; i < 5; i++)
        if (strcasecmp(s, names[i]) == 0) {
            log_threshold = (enum log_level)i;
            return 0;
        }
    return err_set("CHYVE_LOG: unknown level '%s' (use warn, info, debug or trace)", s);
}

/* Adds one -e value; `host` means the whole environment of chyve. */
static int add_env(struct cli *c, const char *s, size_t *n, bool *host)
{
    if (strcmp(s, "host") == 0) {
        *host = true;
        return 0;
    }
    if (!strchr(s, '=') || s[0] == '=')
        return err_set("invalid environment variable '%s': expected KEY=VALUE or host", s);
    c->env[(*n)++] = (char *)s;
    return 0;
}

/* Option table: the value-taking ones are identified by index below. */
enum opt { OPT_MEM, OPT_CPUS, OPT_NOASLR, OPT_ENV, OPT_VERBOSE, OPT_HELP, OPT_VERSION };
static const struct {
    char short_name;
    const char *long_name;
    const char *alias;
    bool value;
} options[] = {
    [OPT_MEM] = {'m', "memory-size", NULL, true},
    [OPT_CPUS] = {'c', "cpu-count", NULL, true},
    [OPT_NOASLR] = {0, "no-aslr", NULL, false},
    [OPT_ENV] = {'e', "env-vars", "env", true},
    [OPT_VERBOSE] = {'v', "verbose", NULL, false},
    [OPT_HELP] = {'h', "help", NULL, false},
    [OPT_VERSION] = {'V', "version", NULL, false},
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static int apply(struct cli *c, enum opt o, const char *val, size_t *nenv, bool *host)
{
    switch (o) {
    case OPT_MEM:
        return set_memory(c, val, "");
    case OPT_CPUS:
        return set_cpus(c, val, "");
    case OPT_NOASLR:
        c->cfg.aslr = false;
        return 0;
    case OPT_ENV:
        return add_env(c, val, nenv, host);
    case OPT_VERBOSE:
        c->verbosity++;
        return 0;
    case OPT_HELP:
        c->action = CLI_HELP;
        return 0;
    case OPT_VERSION:
        c->action = CLI_VERSION;
        return 0;
    }
    return 0;
}

/* Parses the options before KERNEL; returns the index of KERNEL in argv, or -1. */
static int parse_options(struct cli *c, int argc, char **argv, size_t *nenv, bool *host)
{
    int i = 1;
    for (; i < argc && c->action == CLI_RUN; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return i + 1;
        if (a[0] != '-' || a[1] == '\0')
            return i;
        const char *val = NULL;
        int o = -1;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
            for (size_t k = 0; k < NOPTIONS && o < 0; k++)
                if ((strlen(options[k].long_name) == nlen &&
                     !strncmp(name, options[k].long_name, nlen)) ||
                    (options[k].alias && strlen(options[k].alias) == nlen &&
                     !strncmp(name, options[k].alias, nlen)))
                    o = (int)k;
            if (o < 0)
                return err_set("unknown option '%.*s' (see chyve --help)", (int)nlen + 2, a);
            if (eq && !options[o].value)
                return err_set("option '--%s' takes no value", options[o].long_name);
            val = eq ? eq + 1 : NULL;
            if (options[o].value && !val) {
                if (++i >= argc)
                    return err_set("option '--%s' needs a value", options[o].long_name);
                val = argv[i];
            }
            if (apply(c, (enum opt)o, val, nenv, host) != 0)
                return -1;
            continue;
        }
        /* A cluster of short options: -vv, -m64MiB, -m 64MiB. */
        for (const char *p = a + 1; *p; p++) {
            o = -1;
            for (size_t k = 0; k < NOPTIONS && o < 0; k++)
                if (options[k].short_name == *p)
                    o = (int)k;
            if (o < 0)
                return err_set("unknown option '-%c' (see chyve --help)", *p);
            if (options[o].value) {
                if (p[1])
                    val = p + 1;
                else if (++i < argc)
                    val = argv[i];
                else
                    return err_set("option '-%c' needs a value", *p);
                if (apply(c, (enum opt)o, val, nenv, host) != 0)
                    return -1;
                break;
            }
            if (apply(c, (enum opt)o, NULL, nenv, host) != 0)
                return -1;
        }
    }
    return i;
}

int cli_parse(struct cli *c, int argc, char **argv, char **envp)
{
    memset(c, 0, sizeof(*c));
    c->cfg.mem_size = 64ull << 20;
    c->cfg.ncpus = 1;
    c->cfg.aslr = true;
    c->cfg.out_fd = STDOUT_FILENO;
    c->action = CLI_RUN;

    size_t nhost = 0;
    while (envp && envp[nhost])
        nhost++;
    for (size_t i = 0; i < nhost; i++)
        if (!strncmp(envp[i], "CHYVE_LOG=", 10) && envp[i][10] && set_log(envp[i] + 10) != 0)
            return -1;

    /* Room for every -e value or the whole host environment, whichever is used. */
    size_t cap = (size_t)argc + nhost + 1;
    c->env = calloc(cap, sizeof(char *));
    if (!c->env)
        return err_set("out of memory");
    size_t nenv = 0;
    bool host = false;
    int k = parse_options(c, argc, argv, &nenv, &host);
    if (k < 0)
        return -1;
    if (c->action != CLI_RUN)
        return 0;
    /* The environment fills only what the command line left unset (it is not even parsed). */
    bool mem_cli = c->mem_set, cpus_cli = c->cpus_set;
    for (size_t i = 0; i < nhost; i++) {
        const char *e = envp[i];
        if (!mem_cli && !strncmp(e, "HERMIT_MEMORY_SIZE=", 19) &&
            set_memory(c, e + 19, "HERMIT_MEMORY_SIZE: ") != 0)
            return -1;
        if (!cpus_cli && !strncmp(e, "HERMIT_CPU_COUNT=", 17) &&
            set_cpus(c, e + 17, "HERMIT_CPU_COUNT: ") != 0)
            return -1;
    }
    if (k >= argc)
        return err_set("no kernel given (usage: chyve [OPTIONS] <KERNEL> [ARGS]...)");
    c->cfg.kernel_path = argv[k];
    c->cfg.args = argv + k + 1;
    c->cfg.nargs = (size_t)(argc - k - 1);
    if (host || nenv == 0) {
        if (host && nenv > 0)
            log_warn("-e host passes the whole host environment; other -e values are ignored");
        /* Default like `-e host`: the guest sees chyve's environment. */
        for (nenv = 0; nenv < nhost; nenv++)
            c->env[nenv] = envp[nenv];
    }
    c->cfg.env = c->env;
    c->cfg.nenv = nenv;
    if (c->verbosity > 0) {
        int lvl = LOG_WARN + c->verbosity;
        log_threshold = lvl > LOG_TRACE ? LOG_TRACE : (enum log_level)lvl;
    }
    return 0;
}

void cli_free(struct cli *c)
{
    free(c->env);
    c->env = NULL;
}
