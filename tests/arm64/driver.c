/*
 * driver.c: boots chyve's aarch64 test guests with the aarch64 chyve under KVM and checks output,
 * exit status and diagnostics, case by case as tests/integration does on x86_64 (cases_boot.c,
 * cases_files.c). Runs inside the emulated arm64 machine of run-qemu.sh, or directly on an arm64
 * host. Usage: driver [CHYVE [GUEST_DIR [TEST_NAME_PREFIX]]]. Exit 0 all passed, 1 some failed,
 * 77 no /dev/kvm.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"

#define RUN_TIMEOUT_S 120

static const char *chyve = "/chyve", *gdir = "/guests";
char why[1024];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Appends what fd has to *buf; false at end of file. */
static bool drain(int fd, char **buf, size_t *len, size_t *cap)
{
    if (*cap - *len < 4096) {
        *cap = *cap * 2 + 8192;
        *buf = realloc(*buf, *cap);
        if (!*buf)
            abort();
    }
    ssize_t n = read(fd, *buf + *len, *cap - *len - 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0)
        return false;
    *len += (size_t)n;
    (*buf)[*len] = '\0';
    return true;
}

const char *guest(const char *name)
{
    static char path[4][512];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, sizeof(path[0]), "%s/%s", gdir, name);
    return p;
}

static const char *const default_env[] = {"PATH=/usr/bin:/bin", NULL};

void run_chyve(struct run *r, const char *const *args, const char *const *env)
{
    memset(r, 0, sizeof(*r));
    const char *argv[64] = {chyve};
    size_t n = 1;
    for (; args[n - 1] && n < 63; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0)
        abort();
    pid_t pid = fork();
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
            _exit(127);
        execve(chyve, (char *const *)argv, (char *const *)(env ? env : default_env));
        dprintf(2, "exec %s: %s\n", chyve, strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    size_t ocap = 8192, ecap = 8192;
    r->out = calloc(1, ocap);
    r->err = calloc(1, ecap);
    if (!r->out || !r->err)
        abort();
    struct pollfd pf[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    double deadline = now_s() + RUN_TIMEOUT_S;
    bool timed_out = false;
    while (pf[0].fd >= 0 || pf[1].fd >= 0) {
        double left = deadline - now_s();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        if (poll(pf, 2, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            abort();
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            bool more = i == 0 ? drain(pf[i].fd, &r->out, &r->out_len, &ocap)
                               : drain(pf[i].fd, &r->err, &r->err_len, &ecap);
            if (!more) {
                close(pf[i].fd);
                pf[i].fd = -1;
            }
        }
    }
    if (timed_out)
        kill(pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0)
            close(pf[i].fd);
    r->status = !timed_out && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

size_t count_lines(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += *p == '\n';
    return n + (*s && s[strlen(s) - 1] != '\n');
}

bool clean(const struct run *r, int status, const char *want)
{
    CHECK(r->status == status, "exit status %d, want %d", r->status, status);
    CHECK(strcmp(r->out, want) == 0, "stdout differs; want:\n%s", want);
    CHECK(r->err_len == 0, "chyve printed diagnostics on stderr for a clean run");
    return true;
}

bool vm_failure(const struct run *r, const char *want_out, const char *needle)
{
    CHECK(r->status == 3, "exit status %d, want 3 (VM failure)", r->status);
    CHECK(strcmp(r->out, want_out) == 0, "stdout differs; want:\n%s", want_out);
    CHECK(count_lines(r->err) == 1, "want exactly one line on stderr");
    CHECK(strcasestr(r->err, needle) != NULL, "stderr does not mention '%s'", needle);
    return true;
}

/* Prints s indented, non-printable bytes escaped, cut after `max` bytes. */
static void show(const char *label, const char *s, size_t max)
{
    printf("    --- %s:\n    ", label);
    if (s == NULL) {
        printf("(chyve did not run)\n");
        return;
    }
    size_t n = strlen(s);
    for (size_t i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            printf(i + 1 < n ? "\n    " : "\n");
        else if (c >= 0x20 && c < 0x7F)
            putchar(c);
        else
            printf("\\x%02x", c);
    }
    if (n > max)
        printf("\n    [... %zu more bytes]\n", n - max);
    else if (n == 0 || s[n - 1] != '\n')
        printf("\n");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1)
        chyve = argv[1];
    if (argc > 2)
        gdir = argv[2];
    const char *only = argc > 3 ? argv[3] : "";
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        printf("arm64: SKIP: cannot open /dev/kvm: %s\n", strerror(errno));
        return 77;
    }
    close(fd);
    unsigned passed = 0, failed = 0;
    double t0 = now_s();
    for (size_t i = 0; i < n_boot_cases + n_file_cases; i++) {
        const struct driver_case *c =
            i < n_boot_cases ? &boot_cases[i] : &file_cases[i - n_boot_cases];
        if (strncmp(c->name, only, strlen(only)) != 0)
            continue;
        struct run r = {.status = -1};
        why[0] = '\0';
        double t = now_s();
        bool ok = c->fn(&r);
        printf("%s %s (%.2f s)\n", ok ? "PASS" : "FAIL", c->name, now_s() - t);
        if (!ok) {
            printf("    %s\n    --- status %d\n", why, r.status);
            show("stdout", r.out, 3000);
            show("stderr", r.err, 3000);
            failed++;
        } else {
            passed++;
        }
        run_free(&r);
    }
    printf("arm64: %u passed, %u failed in %.1f s\n", passed, failed, now_s() - t0);
    /* Criterion's summary line, so that scripts/test.sh counts these cases like its own. */
    printf("[====] Synthesis: Tested: %u | Passing: %u | Failing: %u | Crashing: 0\n",
           passed + failed, passed, failed);
    return failed || passed == 0 ? 1 : 0;
}
