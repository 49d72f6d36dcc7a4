/*
 * config.h: configuration files with uhyve's sections and keys ([uhyve], [memory], [cpu],
 * [guest]; ABI §9.3) in INI (inih) or YAML (libyaml), applied below the command line and the
 * environment.
 */
#ifndef CHYVE_CONFIG_H
#define CHYVE_CONFIG_H

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

#endif
