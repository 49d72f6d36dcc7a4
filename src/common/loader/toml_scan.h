/*
 * toml_scan.h: private to the TOML reader (toml.c, toml_scan.c): the parser state and the
 * lexical scanners the grammar is built from.
 */
#ifndef CHYVE_TOML_SCAN_H
#define CHYVE_TOML_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader/toml.h"

/*
 * Limits of one document (docs/decisions.md, "Hardening"): what a parse can cost is bounded by
 * these, not by the input's size. A config file or hermit.toml needs a few dozen of each.
 */
#define TOML_MAX_ENTRIES 4096             /* keys with a value */
#define TOML_MAX_ITEMS 4096               /* per array */
#define TOML_MAX_VALUES 65536             /* array items in the whole document */
#define TOML_MAX_TABLES 4096              /* [table] headers */
#define TOML_MAX_STRING 65536             /* bytes per string */
#define TOML_MAX_STRING_TOTAL (16u << 20) /* bytes of all strings and keys together */
#define TOML_MAX_KEY_PATH 1024            /* bytes of a dotted key path "a.b.c" */

struct parser {
    const char *p, *end;
    unsigned line;
    const char *table; /* current table name ("" at the top) */
    const char *key;   /* the key whose value is being read, for messages; NULL outside one */
    char **tables;     /* tables seen, for duplicates */
    size_t ntables;
    size_t nvalues;      /* array items so far (TOML_MAX_VALUES) */
    size_t string_bytes; /* string and key bytes so far (TOML_MAX_STRING_TOTAL) */
    struct toml_doc *doc;
};

/* Records "line N: ..." (with the key being read, if any) in err_msg() and returns -1. */
int scan_fail(const struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The byte `ahead` bytes on, or -1 past the end. */
int scan_peek(const struct parser *ps, size_t ahead);

/* Skips spaces and tabs. */
void scan_blanks(struct parser *ps);

/* Skips a comment up to (not including) the end of the line; 0 or -1. */
int scan_comment(struct parser *ps);

/* Consumes a line end (LF or CRLF); false if there is none here. */
bool scan_newline(struct parser *ps);

/* After a header or a value: blanks, an optional comment, then the end of the line or file. */
int scan_end_of_line(struct parser *ps);

/* Blanks, comments and newlines (inside arrays and inline tables). */
int scan_space(struct parser *ps);

/*
 * A string of any of the four kinds, at its opening quote; *out is malloc'd, sized to the string.
 * Its length counts against TOML_MAX_STRING_TOTAL. 0 or -1.
 */
int scan_string(struct parser *ps, char **out);

/* An integer: decimal with an optional sign, or 0x / 0o / 0b; '_' only between digits. */
int scan_int(struct parser *ps, int64_t *out);

/* Counts n more string or key bytes against TOML_MAX_STRING_TOTAL; 0, or -1 past it. */
int scan_charge(struct parser *ps, size_t n);

/* True if the bare word w ends the value here (followed by a delimiter); consumes it. */
bool scan_word(struct parser *ps, const char *w);

#endif
