/* test_log.c: the rate-limited warnings of log.h: burst, at most one a second, the summary. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Number of lines of f (stderr as redirected by criterion) and the text, up to cap bytes. */
static size_t read_lines(FILE *f, char *buf, size_t cap)
{
    size_t n = fread(buf, 1, cap - 1, f), lines = 0;
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    return lines;
}

Test(log_limit, burst_then_summary, .init = cr_redirect_stderr)
{
    static struct log_limit l;
    for (int i = 0; i < 1000; i++)
        log_msg_limited(&l, LOG_WARN, "bad thing %d", i);
    log_limit_flush();
    log_limit_flush(); /* a second flush has nothing left to say */
    fflush(stderr);
    static char out[1 << 16];
    size_t lines = read_lines(cr_get_redirected_stderr(), out, sizeof(out));
    /* the loop takes far less than a second, but a slow host may print one line per second */
    cr_assert_geq(lines, 11, "%s", out);
    cr_assert_leq(lines, 13, "%s", out);
    cr_assert(!strncmp(out, "chyve: warning: bad thing 0\n", 28), "%s", out);
    cr_assert(strstr(out, "chyve: warning: bad thing 9\n"), "%s", out);
    unsigned long sup;
    const char *s = strstr(out, "similar warnings suppressed");
    cr_assert(s, "%s", out);
    while (s[-1] != '\n' && s > out)
        s--;
    cr_assert_eq(sscanf(s, "chyve: warning: %lu similar", &sup), 1, "%s", out);
    cr_assert_eq(sup + lines - 1, 1000, "%s", out);
    cr_assert(strstr(out, "suppressed (first: bad thing 0)\n"), "%s", out);
}

Test(log_limit, one_line_a_second_after_the_burst, .init = cr_redirect_stderr)
{
    static struct log_limit l;
    for (int i = 0; i < 20; i++)
        log_msg_limited(&l, LOG_WARN, "x%d", i); /* 10 printed, 10 counted */
    struct timespec ts = {1, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    log_msg_limited(&l, LOG_WARN, "late");
    log_msg_limited(&l, LOG_WARN, "late again"); /* the same second: counted */
    log_limit_flush();
    fflush(stderr);
    static char out[4096];
    cr_assert_eq(read_lines(cr_get_redirected_stderr(), out, sizeof(out)), 12, "%s", out);
    cr_assert(strstr(out, "chyve: warning: x9\nchyve: warning: late\n"), "%s", out);
    cr_assert(strstr(out, "chyve: warning: 11 similar warnings suppressed (first: x0)\n"), "%s",
              out);
}

Test(log_limit, below_the_threshold_nothing_is_counted, .init = cr_redirect_stderr)
{
    static struct log_limit l;
    log_threshold = LOG_ERROR;
    for (int i = 0; i < 100; i++)
        log_msg_limited(&l, LOG_WARN, "hidden");
    log_threshold = LOG_WARN;
    log_limit_flush();
    fflush(stderr);
    char out[256];
    cr_assert_eq(read_lines(cr_get_redirected_stderr(), out, sizeof(out)), 0, "%s", out);
}
