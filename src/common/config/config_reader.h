/*
 * config_reader.h: between config.c and the format readers (config_ini.c, config_yaml.c,
 * config_toml.c): a
 * reader parses the text and reports sections, keys and values, which are checked and applied.
 */
#ifndef CHYVE_CONFIG_READER_H
#define CHYVE_CONFIG_READER_H

#include <stdbool.h>
#include <stddef.h>

struct cli;
struct config_reader; /* the state of one file being applied (config_reader.c) */

/*
 * Starts applying the file at path (named in messages; the string must outlive the reader) to c
 * with file precedence; yaml selects YAML's rules for lists. NULL with err_msg() if out of memory.
 */
struct config_reader *config_reader_new(struct cli *c, const char *path, bool yaml);

/*
 * Ends the file: rc is the format reader's result; if it is 0, applies what is only applied
 * once the whole file is known (the joined affinity values). Frees r; returns 0 or -1.
 */
int config_reader_end(struct config_reader *r, int rc);

/*
 * The readers report what they find in file order; each call checks it and returns 0, or -1
 * with err_msg() set to the whole message ("FILE:LINE: ..."). Lines count from 1.
 */
int config_section(struct config_reader *r, const char *name, unsigned line);
/* A key of the current section; `list` if its values come as a YAML sequence. */
int config_key(struct config_reader *r, const char *key, unsigned line, bool list);
/*
 * What the current key takes (enum opt_kind), or -1 if it is one of the keys uhyve ignores in
 * its files (config, trace_dir, net, kernel), which config_key() warned about.
 */
int config_key_kind(const struct config_reader *r);
/* An error of the current key at line: returns -1 with "FILE:LINE: key 'k': <printf message>". */
int config_key_error(struct config_reader *r, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* One value of the current key ("" for a missing or null value). */
int config_value(struct config_reader *r, const char *value, unsigned line);
/* A syntax error at line: returns -1 with "FILE:LINE: <printf message>". */
int config_syntax_error(struct config_reader *r, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parse text[0 .. len) (NUL-terminated, no NUL inside) and report it to r. 0 or -1. */
int config_read_ini(struct config_reader *r, const char *text, size_t len);
int config_read_yaml(struct config_reader *r, const char *text, size_t len);
int config_read_toml(struct config_reader *r, const char *text, size_t len);

#endif
