/*
 * cli_priv.h: the settings behind the opaque struct cli, for the config module (cli.c,
 * options.c, config.c) and its unit tests only.
 */
#ifndef CHYVE_CLI_PRIV_H
#define CHYVE_CLI_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "config/cli.h"
#include "config/options.h"
#include "config/strlist.h"
#include "vm_config.h"

/* The port -s/--gdb-port means without a value (uhyve's default). */
#define GDB_PORT_DEFAULT "6677"

/* Owns the storage a parsed vm_config points into. */
struct cli {
    struct vm_config cfg;
    const char **env; /* malloc'd array of "KEY=VALUE": the guest environment cfg.env points to */
    int verbosity;    /* number of -v */
    enum cli_action action;

    /* Which source last set each option (precedence: command line > environment > file). */
    unsigned char src[OPT_COUNT];
    const char *output;      /* -o value; NULL = stdout */
    const char *config_path; /* --config, HERMIT_CONFIG or the file found; NULL = none */
    unsigned affinity[VM_MAX_CPUS];
    size_t naffinity;
    unsigned affinity_line; /* its line in the configuration file, when it came from there */
    /* Lists, per source, merged by cli_parse: [0] command line, [1] configuration file. */
    struct strlist env_vars[2], file_maps[2], kernel_args_file;
    struct strlist args;        /* the guest's arguments from the command line (cfg.args) */
    bool env_host[2];           /* `-e host` / env_vars = host */
    struct strlist_owned owned; /* strings copied from the configuration file, freed by cli_free */
    const char **maps;          /* merged file mappings cfg.file_maps points to */
    bool out_open;              /* cfg.out_fd is a file cli_open_output() opened */
};

#endif
