/*
 * cli.c: chyve's command line with uhyve's option names, env vars and defaults (ABI §9.1, §9.2),
 * merged with the configuration file (config.c): command line > environment > file > defaults.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/affinity.h"
#include "config/cli_priv.h"
#include "config/config.h"
#include "err.h"
#include "log.h"

/* Grouped like uhyve's help; the headings name the configuration file sections. */
const char cli_usage[] =
    "Usage: chyve [OPTIONS] <KERNEL> [ARGS]...\n"
    "\n"
    "Runs a Hermit unikernel in a lightweight virtual machine.\n"
    "\n"
    "Arguments:\n"
    "  <KERNEL>   the Hermit kernel (ELF) or Hermit image to run\n"
    "  [ARGS]...  for the guest: kernel arguments, then \"--\" and the application's\n"
    "             arguments. Options may come anywhere before the first \"--\",\n"
    "             which ends them and is not passed on: `chyve k --stats -- -- a b`\n"
    "             gives the application the arguments a and b\n"
    "\n"
    "Run options (configuration file section [uhyve]):\n"
    "  -o, --output <FILE>         write the guest's output to FILE, which must not\n"
    "                              exist; `none` discards it [default: stdout]\n"
    "      --stats                 print run statistics on stderr at the end\n"
    "      --stats-file <FILE>     also write the statistics to FILE as YAML\n"
    "      --file-mapping <HOST:GUEST[:MODE]>\n"
    "                              make the host file or directory HOST visible to\n"
    "                              the guest at GUEST (repeatable); MODE ro makes\n"
    "                              it read-only (EROFS), rw writable [default: rw]\n"
    "      --tempdir <DIR>         where the directory for files the guest creates\n"
    "                              goes [default: ${TMPDIR:-/tmp}/chyve-<uid>]\n"
    "      --tempdir-max-size <SIZE>\n"
    "                              most bytes the guest's files there may hold\n"
    "                              [default: 1GiB]\n"
    "      --tempdir-max-files <N>\n"
    "                              most files and directories there\n"
    "                              [default: 65536]\n"
    "      --tempdir-max-depth <N>\n"
    "                              most directories nested there [default: 64]\n"
    "      --file-isolation <MODE>\n"
    "                              restrict chyve's own file access with Landlock:\n"
    "                              normal, none or strict [default: normal]\n"
    "      --seccomp <MODE>        allow each chyve thread only the system calls it\n"
    "                              needs: strict (others end chyve), log (the kernel\n"
    "                              logs them) or none [default: strict]\n"
    "      --io-mode <MODE>        open files the guest creates with O_DIRECT and/or\n"
    "                              O_SYNC: host=direct, host=sync, host=direct,sync\n"
    "                              [default: default]\n"
    "      --hermit-image-mode <MODE>\n"
    "                              how a Hermit image's files reach the guest: only\n"
    "                              external (served by chyve) [default: external]\n"
    "  -n, --net <NET>             a virtio-net device on tap:NAME (an existing TAP;\n"
    "                              `tap` = tap10) or user[,hostfwd=tcp::8080-:80]\n"
    "                              (user-mode networking, no root needed)\n"
    "      --mac <MAC>             the guest's MAC address\n"
    "                              [default: the TAP's; user mode 02:c7:79:76:65:01]\n"
    "  -s, --gdb-port [PORT]       wait for GDB on 127.0.0.1:PORT and [::1]:PORT\n"
    "                              before the guest starts (`target remote :PORT`)\n"
    "                              [env: HERMIT_GDB_PORT] [default: 6677]\n"
    "\n"
    "Memory options (configuration file section [memory]):\n"
    "  -m, --memory-size <SIZE>    guest memory, e.g. 64MiB, 1GiB, 2G; at least\n"
    "                              16MiB and a multiple of 2MiB\n"
    "                              [env: HERMIT_MEMORY_SIZE] [default: 64MiB]\n"
    "      --no-aslr               load the kernel at the lowest address instead of\n"
    "                              a random one\n"
    "      --thp                   back guest memory with transparent huge pages\n"
    "      --ksm                   let the host merge identical guest pages (KSM)\n"
    "\n"
    "CPU options (configuration file section [cpu]):\n"
    "  -c, --cpu-count <N>         number of vCPUs, 1 to 64\n"
    "                              [env: HERMIT_CPU_COUNT] [default: 1]\n"
    "  -a, --affinity <CPUS>       pin vCPU i to the i-th host CPU of the list, e.g.\n"
    "                              0-3,5 or \"0 1 2\": one host CPU per vCPU\n"
    "      --cpu-pm                let the guest idle the host CPU (no exits for\n"
    "                              HLT, PAUSE, MWAIT)\n"
    "      --pit                   give the guest an i8254 timer (PIT)\n"
    "\n"
    "Guest options (configuration file section [guest]):\n"
    "  -e, --env-vars <KEY=VALUE>  a variable of the guest's environment (repeatable,\n"
    "                              the last of a KEY wins; also --env); `host`\n"
    "                              passes chyve's whole environment [default: none]\n"
    "\n"
    "General options:\n"
    "      --config <FILE>         read options from FILE (.toml, .ini, .yaml or\n"
    "                              .yml) instead of ./uhyve.toml or\n"
    "                              ./chyve.{toml,ini,yaml,yml}, then\n"
    "                              $XDG_CONFIG_HOME/uhyve/uhyve.toml, then\n"
    "                              $XDG_CONFIG_HOME/chyve/chyve.{toml,ini,yaml,yml}\n"
    "                              [env: HERMIT_CONFIG]\n"
    "      --start-fifo <FIFO>     prepare the VM, then wait before the guest's first\n"
    "                              instruction until a byte is written to the named\n"
    "                              pipe FIFO (chyve-oci's create and start)\n"
    "  -v, --verbose               more diagnostics on stderr: -v info, -vv debug,\n"
    "                              -vvv trace [env: CHYVE_LOG, RUST_LOG]\n"
    "  -h, --help                  print this help\n"
    "  -V, --version               print the version\n"
    "\n"
    "The command line wins over the environment, which wins over the configuration\n"
    "file. Refused with a reason: --trace-dir (no tracing).\n";

/* The value of variable name in envp, or NULL. */
static const char *env_get(const char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (!strncmp(envp[i], name, n) && envp[i][n] == '=')
            return envp[i] + n + 1;
    return NULL;
}

/* Applies one command-line option; refuses options this build does not have. */
static int apply_cli(struct cli *c, enum opt_id o, const char *val, char dash_name)
{
    const char *why = opt_unsupported(o);
    if (why) {
        if (dash_name)
            return err_set("option '-%c' is not supported: %s", dash_name, why);
        return err_set("option '--%s' is not supported: %s", opt_defs[o].long_name, why);
    }
    return opt_apply(c, o, val, OPT_SRC_CLI);
}

/* The option whose long name (or alias) is the first nlen bytes of name, or -1. */
static int find_long(const char *name, size_t nlen)
{
    for (int k = 0; k < OPT_COUNT; k++) {
        const char *l = opt_defs[k].long_name, *a = opt_defs[k].alias;
        if ((l && strlen(l) == nlen && !strncmp(name, l, nlen)) ||
            (a && strlen(a) == nlen && !strncmp(name, a, nlen)))
            return k;
    }
    return -1;
}

static int find_short(char ch)
{
    for (int k = 0; k < OPT_COUNT; k++)
        if (opt_defs[k].short_name == ch)
            return k;
    return -1;
}

/*
 * Why an unknown option is refused, after its name: before KERNEL it is a typo; after it, the
 * user probably meant a kernel argument, which uhyve's parser, and so chyve's, takes only after
 * the first bare "--".
 */
static const char *unknown_hint(const struct cli *c)
{
    return c->cfg.kernel_path ? " (an argument for the guest that starts with '-' goes after '--': "
                                "chyve [OPTIONS] KERNEL -- ARGS)"
                              : " (see chyve --help)";
}

/*
 * -s/--gdb-port takes an optional value, as in uhyve: the next word if it is a number (consumed),
 * else the default port.
 */
static const char *gdb_port_follows(int argc, const char *const *argv, int *i)
{
    const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!next || !*next || strspn(next, "0123456789") != strlen(next))
        return GDB_PORT_DEFAULT;
    ++*i;
    return next;
}

/* One --long[=value] option at argv[*i]; may consume argv[*i + 1]. */
static int parse_long(struct cli *c, int argc, const char *const *argv, int *i)
{
    const char *a = argv[*i], *name = a + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    int o = find_long(name, nlen);
    if (o < 0)
        return err_set("unknown option '%.*s'%s", (int)nlen + 2, a, unknown_hint(c));
    const struct opt_def *d = &opt_defs[o];
    if (opt_unsupported((enum opt_id)o)) /* before its value: --gdb-port takes an optional one */
        return apply_cli(c, (enum opt_id)o, NULL, 0);
    bool takes = d->kind != OPT_FLAG;
    if (eq && !takes)
        return err_set("option '--%s' takes no value", d->long_name);
    const char *val = eq ? eq + 1 : NULL;
    if (o == OPT_GDB_PORT && !val)
        val = gdb_port_follows(argc, argv, i);
    if (takes && !val) {
        if (++*i >= argc)
            return err_set("option '--%s' needs a value", d->long_name);
        val = argv[*i];
    }
    return apply_cli(c, (enum opt_id)o, val, 0);
}

/* A cluster of short options at argv[*i]: -vv, -m64MiB, -m 64MiB. May consume argv[*i + 1]. */
static int parse_short(struct cli *c, int argc, const char *const *argv, int *i)
{
    for (const char *p = argv[*i] + 1; *p; p++) {
        int o = find_short(*p);
        if (o < 0 && p == argv[*i] + 1)
            return err_set("unknown option '%s'%s", argv[*i], unknown_hint(c));
        if (o < 0)
            return err_set("unknown option '-%c' in '%s'%s", *p, argv[*i], unknown_hint(c));
        if (opt_unsupported((enum opt_id)o))
            return apply_cli(c, (enum opt_id)o, NULL, *p);
        if (opt_defs[o].kind == OPT_FLAG) {
            if (apply_cli(c, (enum opt_id)o, NULL, *p) != 0)
                return -1;
            continue;
        }
        const char *val;
        if (p[1])
            val = p + 1;
        else if (o == OPT_GDB_PORT)
            val = gdb_port_follows(argc, argv, i);
        else if (++*i < argc)
            val = argv[*i];
        else
            return err_set("option '-%c' needs a value", *p);
        return apply_cli(c, (enum opt_id)o, val, *p);
    }
    return 0;
}

/*
 * The whole command line as uhyve's parser reads it (ABI §9.1): options anywhere until the first
 * bare "--", which is dropped; the first other word is KERNEL; every later word that is not an
 * option, and every word after that "--" (a second "--" too), is an argument for the guest, in
 * order. "-" alone is a word, not an option. Stops early at --help and --version.
 */
static int parse_options(struct cli *c, int argc, const char *const *argv)
{
    bool rest = false; /* after the first bare "--": words only */
    for (int i = 1; i < argc && c->action == CLI_RUN; i++) {
        const char *a = argv[i];
        if (!rest && strcmp(a, "--") == 0) {
            rest = true;
            continue;
        }
        if (rest || a[0] != '-' || a[1] == '\0') {
            if (!c->cfg.kernel_path)
                c->cfg.kernel_path = a;
            else if (strlist_push(&c->args, a) != 0)
                return -1;
            continue;
        }
        int rc = a[1] == '-' ? parse_long(c, argc, argv, &i) : parse_short(c, argc, argv, &i);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* HERMIT_* variables fill what the command line left unset (they are not even parsed then). */
static int apply_env(struct cli *c, const char *const *envp)
{
    static const struct {
        const char *name;
        enum opt_id opt;
    } vars[] = {
        {"HERMIT_MEMORY_SIZE", OPT_MEMORY},
        {"HERMIT_CPU_COUNT", OPT_CPUS},
        {"HERMIT_CONFIG", OPT_CONFIG},
        {"HERMIT_GDB_PORT", OPT_GDB_PORT},
    };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = env_get(envp, vars[i].name);
        if (!v || !*v || c->src[vars[i].opt] > OPT_SRC_ENV)
            continue;
        const char *why = opt_unsupported(vars[i].opt);
        if (why)
            return err_set("%s: not supported: %s", vars[i].name, why);
        if (opt_apply(c, vars[i].opt, v, OPT_SRC_ENV) != 0)
            return err_prefix("%s: ", vars[i].name);
    }
    return 0;
}

/*
 * Checks the affinity list against the vCPU count and the host; fills cfg.affinity. Errors start
 * with "affinity: " or, for a list from the file, "FILE:LINE: key 'affinity': ".
 */
static int finish_affinity(struct cli *c)
{
    if (c->naffinity == 0)
        return 0;
    if (c->naffinity != c->cfg.ncpus)
        err_set("%zu host CPU%s for %u vCPU%s: give exactly one per vCPU", c->naffinity,
                c->naffinity == 1 ? "" : "s", c->cfg.ncpus, c->cfg.ncpus == 1 ? "" : "s");
    else if (affinity_check_host(c->affinity, c->naffinity) == 0)
        c->cfg.affinity = c->affinity;
    if (!c->cfg.affinity)
        return c->src[OPT_AFFINITY] == OPT_SRC_FILE
                   ? err_prefix("%s:%u: key 'affinity': ", c->config_path, c->affinity_line)
                   : err_prefix("affinity: ");
    c->cfg.naffinity = c->naffinity;
    return 0;
}

/* The index of the entry of env[0 .. n) with the same KEY as "KEY=VALUE" entry e, or n. */
static size_t find_key(const char *const *env, size_t n, const char *e)
{
    size_t klen = strcspn(e, "=");
    for (size_t i = 0; i < n; i++)
        if (!strncmp(env[i], e, klen) && env[i][klen] == '=')
            return i;
    return n;
}

/*
 * The guest environment, as uhyve's: empty unless given. `host` anywhere gives chyve's whole
 * environment; otherwise the command line's entries, a repeated KEY keeping its first place and
 * its last value, then the file's entries for keys the command line does not set.
 */
static int finish_env(struct cli *c, const char *const *envp)
{
    size_t nhost = 0;
    while (envp && envp[nhost])
        nhost++;
    const struct strlist *cl = &c->env_vars[0], *fl = &c->env_vars[1];
    c->env = calloc(cl->n + fl->n + nhost + 1, sizeof(char *));
    if (!c->env)
        return err_set("out of memory");
    size_t n = 0;
    if (c->env_host[0] || c->env_host[1]) {
        if (cl->n + fl->n > 0)
            log_warn("-e host passes the whole host environment; other -e values are ignored");
        for (; n < nhost; n++)
            c->env[n] = envp[n];
    } else {
        for (size_t i = 0; i < cl->n; i++) {
            size_t k = find_key(c->env, n, cl->v[i]);
            c->env[k] = cl->v[i];
            n += k == n;
        }
        size_t ncl = n;
        for (size_t i = 0; i < fl->n; i++) {
            if (find_key(c->env, ncl, fl->v[i]) < ncl)
                continue;
            size_t k = find_key(c->env, n, fl->v[i]);
            c->env[k] = fl->v[i];
            n += k == n;
        }
    }
    c->cfg.env = c->env;
    c->cfg.nenv = n;
    return 0;
}

/* File mappings: the command line's, then the file's. */
static int finish_maps(struct cli *c)
{
    size_t n0 = c->file_maps[0].n, n1 = c->file_maps[1].n;
    if (n0 + n1 == 0)
        return 0;
    c->maps = calloc(n0 + n1 + 1, sizeof(char *));
    if (!c->maps)
        return err_set("out of memory");
    for (size_t i = 0; i < n0; i++)
        c->maps[i] = c->file_maps[0].v[i];
    for (size_t i = 0; i < n1; i++)
        c->maps[n0 + i] = c->file_maps[1].v[i];
    c->cfg.file_maps = c->maps;
    c->cfg.nfile_maps = n0 + n1;
    return 0;
}

int cli_parse(struct cli **out, int argc, const char *const *argv, const char *const *envp)
{
    struct cli *c = calloc(1, sizeof(*c));
    *out = c;
    if (!c)
        return err_set("out of memory");
    c->cfg.mem_size = 64ull << 20;
    c->cfg.ncpus = 1;
    c->cfg.tempdir_max_size = VM_TEMPDIR_MAX_SIZE;
    c->cfg.tempdir_max_files = VM_TEMPDIR_MAX_FILES;
    c->cfg.tempdir_max_depth = VM_TEMPDIR_MAX_DEPTH;
    c->cfg.aslr = true;
    c->cfg.seccomp = VM_SECCOMP_STRICT; /* host_confine_init() ignores it where unsupported */
    c->cfg.out_fd = STDOUT_FILENO;
    c->action = CLI_RUN;

    const char *level = env_get(envp, "CHYVE_LOG"), *rust = env_get(envp, "RUST_LOG");
    if (level && *level) {
        if (log_set_level_name(level) != 0)
            return err_prefix("CHYVE_LOG: ");
    } else if (rust && *rust && log_set_rust_log(rust) != 0) {
        return err_prefix("RUST_LOG: ");
    }
    if (parse_options(c, argc, argv) != 0)
        return -1;
    if (c->action != CLI_RUN)
        return 0;
    if (c->verbosity > 0) {
        int lvl = LOG_WARN + c->verbosity;
        log_threshold = lvl > LOG_TRACE ? LOG_TRACE : (enum log_level)lvl;
    }
    if (apply_env(c, envp) != 0 || config_load(c, env_get(envp, "XDG_CONFIG_HOME")) != 0)
        return -1;
    if (!c->cfg.kernel_path)
        return err_set("no kernel given (usage: chyve [OPTIONS] <KERNEL> [ARGS]...)");
    c->cfg.args = c->args.v;
    c->cfg.nargs = c->args.n;
    if (c->cfg.nargs == 0 && c->kernel_args_file.n > 0) {
        c->cfg.args = c->kernel_args_file.v;
        c->cfg.nargs = c->kernel_args_file.n;
    }
    return finish_affinity(c) != 0 || finish_env(c, envp) != 0 || finish_maps(c) != 0 ? -1 : 0;
}

int cli_open_output(struct cli *c)
{
    /* The statistics file first: a failure then leaves no empty -o file behind. */
    const char *sf = c->cfg.stats_file;
    if (sf) {
        int fd = open(sf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0)
            return err_set("cannot create statistics file '%s': %s", sf, strerror(errno));
        close(fd);
    }
    if (!c->output)
        return 0;
    if (!strcmp(c->output, "none") || !strcmp(c->output, "None")) {
        c->cfg.out_fd = -1;
        return 0;
    }
    int fd = open(c->output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST)
        return err_set("output file '%s' already exists (chyve does not overwrite it)", c->output);
    if (fd < 0)
        return err_set("cannot create output file '%s': %s", c->output, strerror(errno));
    c->cfg.out_fd = fd;
    c->out_open = true;
    return 0;
}

enum cli_action cli_action(const struct cli *c)
{
    return c->action;
}

const struct vm_config *cli_config(const struct cli *c)
{
    return &c->cfg;
}

void cli_free(struct cli *c)
{
    if (!c)
        return;
    if (c->out_open)
        close(c->cfg.out_fd);
    strlist_owned_free(&c->owned);
    for (int k = 0; k < 2; k++) {
        strlist_free(&c->env_vars[k]);
        strlist_free(&c->file_maps[k]);
    }
    strlist_free(&c->kernel_args_file);
    strlist_free(&c->args);
    free(c->env);
    free(c->maps);
    free(c);
}
