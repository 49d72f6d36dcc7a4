/*
 * driver.c: runs chyve's tests for aarch64 KVM: the boot cases (cases_boot.c), the x86_64
 * integration tests that hold for every architecture (tests/integration/test_files.c through
 * cases_files.c, test_images.c), compiled against the small Criterion stand-in in
 * shim/criterion/criterion.h, which this file implements. Each test runs in a child process, as
 * under Criterion. Runs inside the emulated arm64 machine of run-qemu.sh, or on an arm64 host.
 * Usage: driver [CHYVE [GUEST_DIR [PREFIX[,PREFIX...]]]] (only the tests "suite.name" starting
 * with one of the prefixes). Exit 0 all passed, 1 some failed, 77 no /dev/kvm.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_S 300
#define SKIPPED 77

static struct mc_suite *suites;
static struct mc_test *tests;
static size_t n_tests;
static jmp_buf test_end;
static bool in_fini;
/* The running test's suite, in the child (not a local: it must survive the longjmp). */
static const struct mc_suite *current;

void mc_register_suite(struct mc_suite *s)
{
    s->next = suites;
    suites = s;
}

void mc_register_test(struct mc_test *t)
{
    t->next = tests;
    tests = t;
    n_tests++;
}

/* Prints the formatted message, if any, indented, as lines of the test's report. */
static void say(const char *fmt, va_list ap)
{
    char *m = NULL;
    if (vasprintf(&m, fmt, ap) < 0 || !m || !*m) {
        free(m);
        return;
    }
    for (char *l = m; *l;) {
        size_t n = strcspn(l, "\n");
        printf("    %.*s\n", (int)n, l);
        l += n + (l[n] == '\n');
    }
    free(m);
}

/* Ends the test in the child with status `code`, after the suite's fini (once). */
__attribute__((noreturn)) static void end_test(int code)
{
    fflush(stdout);
    if (in_fini)
        _exit(code);
    longjmp(test_end, code);
}

void mc_fail(const char *file, int line, const char *what, const char *fmt, ...)
{
    if (what)
        printf("    %s:%d: assertion failed: %s\n", file, line, what);
    else
        printf("    %s:%d: failed\n", file, line);
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
    end_test(1);
}

void mc_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
    end_test(SKIPPED);
}

void mc_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
}

void mc_str_eq(const char *file, int line, const char *what, const char *a, const char *b,
               const char *fmt, ...)
{
    if (a && b && strcmp(a, b) == 0)
        return;
    printf("    %s:%d: assertion failed: %s\n", file, line, what);
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
    printf("    --- got:\n%s\n    --- want:\n%s\n", a ? a : "(null)", b ? b : "(null)");
    end_test(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct mc_suite *suite_of(const struct mc_test *t)
{
    for (const struct mc_suite *s = suites; s; s = s->next)
        if (strcmp(s->name, t->suite) == 0)
            return s;
    return NULL;
}

/* In a child: init, the test, fini; exits 0 passed, 1 failed, 77 skipped. */
__attribute__((noreturn)) static void run_child(const struct mc_test *t)
{
    current = suite_of(t);
    alarm(current && current->timeout > 0 ? (unsigned)current->timeout : DEFAULT_TIMEOUT_S);
    int code = setjmp(test_end);
    if (code == 0) {
        if (current && current->init)
            current->init();
        t->fn();
    }
    in_fini = true;
    if (current && current->fini)
        current->fini();
    fflush(stdout);
    _exit(code);
}

/* Whether "suite.name" starts with one of the comma-separated prefixes (all: ""). */
static bool selected(const char *full, const char *prefixes)
{
    if (!*prefixes)
        return true;
    for (const char *p = prefixes; *p;) {
        size_t n = strcspn(p, ",");
        if (n > 0 && strncmp(full, p, n) == 0)
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

static int by_name(const void *a, const void *b)
{
    const struct mc_test *x = *(const struct mc_test *const *)a;
    const struct mc_test *y = *(const struct mc_test *const *)b;
    int c = strcmp(x->suite, y->suite);
    return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* tests/integration/run.c finds chyve and the guests in the environment */
    setenv("CHYVE", argc > 1 ? argv[1] : "/chyve", 1);
    setenv("GUEST_DIR", argc > 2 ? argv[2] : "/guests", 1);
    const char *only = argc > 3 ? argv[3] : "";
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        printf("arm64: SKIP: cannot open /dev/kvm: %s\n", strerror(errno));
        return SKIPPED;
    }
    close(fd);

    const struct mc_test **list = calloc(n_tests + 1, sizeof(*list));
    size_t n = 0;
    for (const struct mc_test *t = tests; t; t = t->next)
        list[n++] = t;
    qsort(list, n, sizeof(*list), by_name);
    unsigned passed = 0, failed = 0, skipped = 0;
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        char full[256];
        snprintf(full, sizeof(full), "%s.%s", list[i]->suite, list[i]->name);
        if (!selected(full, only))
            continue;
        printf("RUN  %s\n", full);
        fflush(stdout);
        double t = now_s();
        pid_t pid = fork();
        if (pid == 0)
            run_child(list[i]);
        int st = 0;
        while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        int code = pid < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        const char *verdict = code == 0 ? "PASS" : code == SKIPPED ? "SKIP" : "FAIL";
        if (pid > 0 && WIFSIGNALED(st))
            printf("    died of signal %d (%s)\n", WTERMSIG(st),
                   WTERMSIG(st) == SIGALRM ? "timeout" : strsignal(WTERMSIG(st)));
        printf("%s %s (%.2f s)\n", verdict, full, now_s() - t);
        passed += code == 0;
        skipped += code == SKIPPED;
        failed += code != 0 && code != SKIPPED;
    }
    free(list);
    printf("arm64: %u passed, %u failed, %u skipped in %.1f s\n", passed, failed, skipped,
           now_s() - t0);
    /* Criterion's summary line, so that scripts/test.sh counts these cases like its own. */
    printf("[====] Synthesis: Tested: %u | Passing: %u | Failing: %u | Crashing: 0\n",
           passed + failed + skipped, passed, failed);
    return failed || passed == 0 ? 1 : 0;
}
