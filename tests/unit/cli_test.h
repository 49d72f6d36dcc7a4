/* cli_test.h: helpers for the unit tests of the command line, options and configuration files. */
#ifndef CHYVE_CLI_TEST_H
#define CHYVE_CLI_TEST_H

#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cli_priv.h" /* the tests look at the settings behind the vm_config */
#include "err.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The settings under test (NULL before a parse); freed by cli_teardown() (each file's .fini). */
static struct cli *c;
static const char *no_env[] = {NULL};

/* Frees the settings of the last parse, if any. */
static inline void cli_reset(void)
{
    cli_free(c);
    c = NULL;
}

static inline void cli_teardown(void)
{
    cli_reset();
}

/* Parses argv (an array of n strings) with envp; returns cli_parse's result. */
static inline int parse(int n, const char *const *argv, const char *const *envp)
{
    cli_reset(); /* a previous parse in the same test */
    return cli_parse(&c, n, argv, envp);
}

/* Expects cli_parse to fail with exactly `msg`. */
static inline void expect_error(int n, const char *const *argv, const char *const *envp,
                                const char *msg)
{
    cr_assert_eq(parse(n, argv, envp), -1, "accepted, expected: %s", msg);
    cr_assert_str_eq(err_msg(), msg);
}

/* Parses argv and fails the test on an error. */
static inline void expect_ok(int n, const char *const *argv, const char *const *envp)
{
    cr_assert_eq(parse(n, argv, envp), 0, "rejected: %s", err_msg());
}

/* A new empty directory under /tmp (malloc'd path). */
static inline char *temp_dir(void)
{
    char *d = strdup("/tmp/chyve-unit-XXXXXX");
    cr_assert(d && mkdtemp(d), "mkdtemp failed");
    return d;
}

/* Writes text to dir/name; returns the malloc'd path. */
static inline char *write_file(const char *dir, const char *name, const char *text)
{
    char *p;
    cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
    FILE *f = fopen(p, "w");
    cr_assert(f, "cannot create %s", p);
    cr_assert(fputs(text, f) >= 0 && fclose(f) == 0);
    return p;
}

/* Removes dir and the regular files in it (test directories are flat). */
static inline void remove_dir(char *dir)
{
    char *cmd;
    cr_assert(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
    cr_assert(system(cmd) == 0);
    free(cmd);
    free(dir);
}

/*
 * A configuration file per test: cfg_load() writes text as <temp dir>/name and parses
 * "chyve --config <that file> k"; cfg_teardown() (the suite's .fini) removes both.
 */
__attribute__((unused)) static char *cfg_dir, *cfg_path;

static inline void cfg_teardown(void)
{
    cli_teardown();
    if (cfg_dir)
        remove_dir(cfg_dir);
    free(cfg_path);
    cfg_dir = cfg_path = NULL;
}

static inline int cfg_load(const char *name, const char *text)
{
    if (!cfg_dir)
        cfg_dir = temp_dir();
    free(cfg_path);
    cfg_path = write_file(cfg_dir, name, text);
    const char *argv[] = {"chyve", "--config", cfg_path, "k"};
    return parse(N(argv), argv, no_env);
}

#endif
