/*
 * cli.h: chyve's settings from the command line, the environment and a configuration file
 * (uhyve's options, env vars and defaults), turned into a vm_config.
 */
#ifndef CHYVE_CLI_H
#define CHYVE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/options.h"
#include "config/strlist.h"
#include "vm_config.h"

/* Owns the storage a parsed vm_config points into. */
struct cli {
    struct vm_config cfg;
    char **env;     /* malloc'd array of "KEY=VALUE": the guest environment cfg.env points to */
    int verbosity;  /* number of -v */
    enum { CLI_RUN, CLI_HELP, CLI_VERSION } action;

    /* Which source last set each option (precedence: command line > environment > file). */
    unsigned char src[OPT_COUNT];
    const char *output;      /* -o value; NULL = stdout */
    const char *config_path; /* --config, HERMIT_CONFIG or the file found; NULL = none */
    unsigned affinity[VM_MAX_CPUS];
    size_t naffinity;
    unsigned affinity_line;  /* its line in the configuration file, when it came from there */
    /* Lists, per source, merged by cli_parse: [0] command line, [1] configuration file. */
    struct strlist env_vars[2], file_maps[2], kernel_args_file;
    bool env_host[2];        /* `-e host` / env_vars = host */
    struct strlist owned;     /* strings copied from the configuration file, freed by cli_free */
    char **maps;             /* merged file mappings cfg.file_maps points to */
    bool out_open;           /* cfg.out_fd is a file cli_open_output() opened */
};

/*
 * Parses argv (argv[0] is the program) with the process environment envp (HERMIT_*, CHYVE_LOG,
 * XDG_CONFIG_HOME and the default guest environment), then loads the configuration file, if any
 * (config.h). Returns 0, or -1 with err_msg() holding one line such as
 * "invalid memory size '12XB': unknown unit" or "chyve.ini:3: key 'cpu_count': ...".
 * Has no side effects on files. Fills c; free with cli_free() (also after a failure).
 */
int cli_parse(struct cli *c, int argc, char **argv, char **envp);
void cli_free(struct cli *c);

/*
 * Opens what the run writes to, before the VM starts: the -o file (created exclusively: it must
 * not exist, as with uhyve; `none`/`None` discards guest output) into cfg.out_fd, and creates or
 * truncates the --stats-file so that a bad path fails now. Returns 0, or -1 with err_msg().
 */
int cli_open_output(struct cli *c);

/* The --help text. */
extern const char cli_usage[];

#endif
