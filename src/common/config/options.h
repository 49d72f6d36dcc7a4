/*
 * options.h: every chyve option once: its command-line names, its configuration-file section
 * and key, and how a value is checked and stored, for cli.c and config.c alike.
 */
#ifndef CHYVE_OPTIONS_H
#define CHYVE_OPTIONS_H

#include <stdbool.h>

struct cli;

enum opt_id {
    /* [uhyve] */
    OPT_OUTPUT,
    OPT_STATS,
    OPT_STATS_FILE,
    OPT_FILE_MAPPING,
    OPT_TEMPDIR,
    OPT_IMAGE_MODE,
    OPT_FILE_ISOLATION,
    OPT_IO_MODE,
    OPT_SECCOMP,
    OPT_TEMPDIR_MAX_SIZE,
    OPT_TEMPDIR_MAX_FILES,
    OPT_TEMPDIR_MAX_DEPTH,
    OPT_GDB_PORT,
    OPT_NET,
    OPT_MAC,
    OPT_TRACE_DIR,
    OPT_CONFIG,
    /* [memory] */
    OPT_MEMORY,
    OPT_NO_ASLR,
    OPT_THP,
    OPT_KSM,
    /* [cpu] */
    OPT_CPUS,
    OPT_AFFINITY,
    OPT_CPU_PM,
    OPT_PIT,
    /* [guest] */
    OPT_ENV,
    OPT_KERNEL_ARGS,
    /* command line only */
    OPT_START_FIFO,
    OPT_VERBOSE,
    OPT_HELP,
    OPT_VERSION,
    OPT_COUNT
};

/* Where a value came from, lowest precedence first. */
enum opt_src { OPT_SRC_DEFAULT, OPT_SRC_FILE, OPT_SRC_ENV, OPT_SRC_CLI };

enum opt_kind {
    OPT_FLAG,   /* command line: no value (sets true); file: a boolean */
    OPT_VALUE,  /* exactly one value */
    OPT_LIST,   /* repeatable; every value is one list entry */
    OPT_JOINED, /* one value, or (file) several that are joined with ',' (affinity) */
};

struct opt_def {
    char short_name;       /* 0: none */
    const char *long_name; /* NULL: configuration file only */
    const char *alias;     /* a second long name, or NULL */
    const char *section;   /* configuration file section and key; NULL: command line only */
    const char *key;
    enum opt_kind kind;
    bool linux_only;     /* needs a Linux host (Landlock, madvise, KVM) */
    const char *refused; /* non-NULL: chyve does not have this feature; the reason */
};

extern const struct opt_def opt_defs[OPT_COUNT];

/* The option with this section and key, or -1. */
int opt_find_key(const char *section, const char *key);

/* True if name is one of the configuration file sections (uhyve, memory, cpu, guest). */
bool opt_section_known(const char *name);

/* Why this build refuses the option ("chyve has no GDB stub"), or NULL if it is supported. */
const char *opt_unsupported(enum opt_id id);

/*
 * Checks value for option id and, unless a source of higher precedence set it already, stores it
 * in c (list options are kept per source instead). value is NULL for a flag given on the command
 * line; from a file a flag's value is a boolean word. The string must outlive c. Returns 0, or -1
 * with err_msg() saying what is wrong with the value (without naming the option).
 */
int opt_apply(struct cli *c, enum opt_id id, const char *value, enum opt_src src);

/* Parses true/false, yes/no, on/off, 1/0 (any case). Returns 0, or -1 with err_msg(). */
int opt_parse_bool(const char *s, bool *out);

#endif
