/* cli.h: the command line (uhyve's options and env vars) turned into a vm_config. */
#ifndef CHYVE_CLI_H
#define CHYVE_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "vm.h"

/* Owns the storage a parsed vm_config points into. */
struct cli {
    struct vm_config cfg;
    char **env;     /* malloc'd array of "KEY=VALUE" (the strings themselves are not copied) */
    int verbosity;  /* number of -v */
    bool mem_set, cpus_set; /* given on the command line (or, later, by the environment) */
    enum { CLI_RUN, CLI_HELP, CLI_VERSION } action;
};

/*
 * Parses argv (argv[0] is the program) with the process environment envp (for HERMIT_* variables
 * and the default guest environment). Returns 0, or -1 with err_msg() holding one line such as
 * "invalid memory size '12XB': unknown unit". Fills c; free with cli_free().
 */
int cli_parse(struct cli *c, int argc, char **argv, char **envp);
void cli_free(struct cli *c);

/* Parses a size such as "64MiB", "1GiB", "2G", "100MB", "4096" into bytes; -1 with err_msg(). */
int cli_parse_size(const char *s, uint64_t *out);

/* The --help text. */
extern const char cli_usage[];

#endif
