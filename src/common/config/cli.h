/*
 * cli.h: chyve's settings from the command line, the environment and a configuration file
 * (uhyve's options, env vars and defaults), turned into a vm_config.
 */
#ifndef CHYVE_CLI_H
#define CHYVE_CLI_H

#include "vm_config.h"

/* The parsed settings and the storage the vm_config points into; opaque (config/cli_priv.h). */
struct cli;

/* What the command line asks chyve to do. */
enum cli_action { CLI_RUN, CLI_HELP, CLI_VERSION };

/*
 * Parses argv (argv[0] is the program) with the process environment envp (HERMIT_*, CHYVE_LOG,
 * XDG_CONFIG_HOME and the default guest environment), then loads the configuration file, if any
 * (config.h). Returns 0, or -1 with err_msg() holding one line such as
 * "invalid memory size '12XB': unknown unit" or "chyve.ini:3: key 'cpu_count': ...".
 * Has no side effects on files. Sets *out to the new settings (NULL only when out of memory);
 * free them with cli_free() (also after a failure).
 */
int cli_parse(struct cli **out, int argc, const char *const *argv, const char *const *envp);

/* Frees c and everything it owns, closing the -o file cli_open_output() opened. NULL is fine. */
void cli_free(struct cli *c);

/* What c asks for: run the kernel, or print the help or the version. */
enum cli_action cli_action(const struct cli *c);

/* The run's configuration (with -o's fd once cli_open_output() succeeded); lives as long as c. */
const struct vm_config *cli_config(const struct cli *c);

/*
 * Opens what the run writes to, before the VM starts: the -o file (created exclusively: it must
 * not exist, as with uhyve; `none`/`None` discards guest output) into cfg.out_fd, and creates or
 * truncates the --stats-file so that a bad path fails now. Returns 0, or -1 with err_msg().
 */
int cli_open_output(struct cli *c);

/* The --help text. */
extern const char cli_usage[];

#endif
