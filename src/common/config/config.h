/*
 * config.h: configuration files with uhyve's sections and keys ([uhyve], [memory], [cpu],
 * [guest]; ABI §9.3) in INI (inih) or YAML (libyaml), applied below the command line and the
 * environment.
 */
#ifndef CHYVE_CONFIG_H
#define CHYVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct cli;

/*
 * Finds the configuration file and applies it to c with file precedence: c->config_path if set
 * (--config or HERMIT_CONFIG; it must exist), else chyve.ini, chyve.yaml or chyve.yml in the
 * working directory, else in $XDG_CONFIG_HOME/chyve/ (xdg_config_home may be NULL or empty).
 * No file is fine. Sets c->config_path to the file used. Returns 0, or -1 with err_msg() such as
 * "chyve.ini:3: key 'cpu_count': invalid cpu count 'x': expected a number from 1 to 64".
 */
int config_load(struct cli *c, const char *xdg_config_home);

/* Applies the file at path; its extension (.ini, .yaml, .yml) selects the format. */
int config_load_file(struct cli *c, const char *path);

/* ---- for the format readers (config_ini.c, config_yaml.c) ---------------------------------- */

struct config_reader; /* the state of one file being applied (config.c) */

/*
 * The readers report what they find in file order; each call checks it and returns 0, or -1
 * with err_msg() set to the whole message ("FILE:LINE: ..."). Lines count from 1.
 */
int config_section(struct config_reader *r, const char *name, unsigned line);
/* A key of the current section; `list` if its values come as a YAML sequence. */
int config_key(struct config_reader *r, const char *key, unsigned line, bool list);
/* One value of the current key ("" for a missing or null value). */
int config_value(struct config_reader *r, const char *value, unsigned line);
/* A syntax error at line: returns -1 with "FILE:LINE: <printf message>". */
int config_syntax_error(struct config_reader *r, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parse text[0 .. len) (NUL-terminated, no NUL inside) and report it to r. 0 or -1. */
int config_read_ini(struct config_reader *r, const char *text, size_t len);
int config_read_yaml(struct config_reader *r, const char *text, size_t len);

#endif
