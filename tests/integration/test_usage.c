/*
 * test_usage.c: chyve's user errors with the real binary: each must exit 2 with exactly one
 * line on stderr naming the problem and nothing on stdout. No guest runs, so KVM is not needed.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

/* Runs chyve with args; expects status 2, empty stdout, one stderr line containing a needle. */
static void expect_usage_error(const char *const *args, const char *const *needles)
{
    struct run r;
    run_chyve(&r, args, NULL);
    cr_assert(r.status == 2, "exit status %d, want 2\nstdout:\n%s\nstderr:\n%s", r.status, r.out,
              r.err);
    cr_assert(r.out_len == 0, "stdout not empty:\n%s", r.out);
    cr_assert(count_lines(r.err) == 1 && r.err[r.err_len - 1] == '\n',
              "want exactly one line on stderr, got:\n%s", r.err);
    bool found = false;
    for (int i = 0; needles[i] && !found; i++)
        found = contains_ci(r.err, needles[i]);
    cr_assert(found, "stderr does not name the problem (expected e.g. '%s'):\n%s", needles[0],
              r.err);
    run_free(&r);
}

/* Writes len bytes to a new temporary file; returns its malloc'd path. */
static char *temp_file(const void *data, size_t len)
{
    char *path = strdup("/tmp/chyve-test-XXXXXX");
    cr_assert(path);
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp failed");
    cr_assert(write(fd, data, len) == (ssize_t)len);
    close(fd);
    return path;
}

Test(usage, missing_kernel_file)
{
    const char *path = "/nonexistent/chyve-test/kernel";
    expect_usage_error((const char *[]){path, NULL}, (const char *[]){path, NULL});
}

Test(usage, kernel_is_a_text_file)
{
    static const char text[] = "this is a text file, not a kernel\n";
    char *path = temp_file(text, sizeof(text) - 1);
    expect_usage_error((const char *[]){path, NULL}, (const char *[]){"ELF", path, NULL});
    unlink(path);
    free(path);
}

/* A Hermit kernel for another machine: the hello guest with e_machine = 183 (aarch64). */
Test(usage, kernel_for_another_machine)
{
    char *g = guest_path("hello");
    FILE *f = fopen(g, "rb");
    cr_assert(f, "cannot open %s", g);
    static unsigned char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    cr_assert(len > 64 && buf[18] == 62 && buf[19] == 0, "%s is not an x86_64 ELF", g);
    buf[18] = 183;
    char *path = temp_file(buf, len);
    expect_usage_error((const char *[]){path, NULL},
                       (const char *[]){"machine", "aarch64", "architecture", "x86", "183", NULL});
    unlink(path);
    free(path);
    free(g);
}

Test(usage, memory_too_small)
{
    char *g = guest_path("hello");
    expect_usage_error((const char *[]){"-m", "1MiB", g, NULL},
                       (const char *[]){"1MiB", "memory", NULL});
    free(g);
}

Test(usage, memory_garbage)
{
    char *g = guest_path("hello");
    expect_usage_error((const char *[]){"-m", "garbage", g, NULL},
                       (const char *[]){"garbage", NULL});
    free(g);
}

Test(usage, unknown_option)
{
    char *g = guest_path("hello");
    expect_usage_error((const char *[]){"--frobnicate", g, NULL},
                       (const char *[]){"frobnicate", NULL});
    free(g);
}

Test(usage, zero_cpus)
{
    char *g = guest_path("hello");
    expect_usage_error((const char *[]){"-c", "0", g, NULL}, (const char *[]){"cpu", NULL});
    free(g);
}

Test(usage, no_kernel)
{
    expect_usage_error((const char *[]){NULL}, (const char *[]){"kernel", "usage", NULL});
}
