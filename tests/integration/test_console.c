/*
 * test_console.c: chyve's line-buffered console (vm_ctl.c) with the real binary. Output sent one
 * SerialWriteByte at a time arrives whole and in order, a last line without '\n' is not lost
 * (exit, VM failure, SIGTERM), a prompt is visible before the guest waits for stdin, guest output
 * and chyve's own lines keep their order when stdout and stderr are one pipe or one file, and a
 * line costs one write(2), not one per byte (counted with strace). Guest: console.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

#define CONSOLE_LINE 60 /* tests/guests/console.c: bytes per line of `lines N` */
#define LIMIT_S 60      /* how long one run may take on a slow nested-KVM host */

static const char *const plain_env[] = {"PATH=/usr/bin:/bin", NULL};

/* What `console -- lines n` prints (malloc'd): its put_line(i) for each i, then the tail. */
static char *expected_lines(long n)
{
    size_t cap = (size_t)n * CONSOLE_LINE + 64, len = 0;
    char *s = malloc(cap);
    cr_assert(s);
    for (long i = 0; i < n; i++) {
        len += (size_t)snprintf(s + len, cap - len, "%04ld:", i % 10000);
        for (int j = 5; j < CONSOLE_LINE - 1; j++)
            s[len++] = (char)('a' + (i + j) % 26);
        s[len++] = '\n';
    }
    snprintf(s + len, cap - len, "tail without newline");
    return s;
}

/*
 * A process the test talks to: stdin a pipe the test writes (in), stdout and stderr both the
 * one pipe the test reads (out), or both one file; what came from the pipe is in buf.
 */
struct proc {
    pid_t pid;
    int in, out;
    bool eof; /* the pipe has ended */
    char *buf;
    size_t len, cap;
};

/* Starts argv (argv[0] a path) with envp; both output streams go to file_fd, or a pipe if -1. */
static void proc_start(struct proc *p, const char *const *argv, const char *const *envp,
                       int file_fd)
{
    memset(p, 0, sizeof(*p));
    p->out = -1;
    int in[2], out[2] = {-1, -1};
    cr_assert(pipe2(in, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
    if (file_fd < 0)
        cr_assert(pipe2(out, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
    int to = file_fd < 0 ? out[1] : file_fd;
    p->pid = fork();
    cr_assert(p->pid >= 0, "fork: %s", strerror(errno));
    if (p->pid == 0) {
        if (dup2(in[0], 0) < 0 || dup2(to, 1) < 0 || dup2(to, 2) < 0)
            _exit(127);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
        execve(argv[0], (char *const *)argv, (char *const *)envp);
#pragma GCC diagnostic pop
        _exit(127);
    }
    close(in[0]);
    p->in = in[1];
    if (file_fd < 0) {
        close(out[1]);
        p->out = out[0];
    }
    p->cap = 1 << 16;
    p->buf = calloc(1, p->cap);
    cr_assert(p->buf);
}

/* Reads the pipe until text has come (true), its end (false, eof set) or limit_s (false). */
static bool proc_read_until(struct proc *p, const char *text, double limit_s)
{
    double end = run_now_s() + limit_s;
    while (!(text && strstr(p->buf, text))) {
        double left = end - run_now_s();
        if (left <= 0)
            return false;
        struct pollfd pf = {p->out, POLLIN, 0};
        int n = poll(&pf, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno == EINTR)
            continue;
        cr_assert(n >= 0, "poll: %s", strerror(errno));
        if (n == 0)
            continue;
        if (p->cap - p->len < 4096) {
            p->cap *= 2;
            p->buf = realloc(p->buf, p->cap);
            cr_assert(p->buf);
        }
        ssize_t r = read(p->out, p->buf + p->len, p->cap - p->len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            p->eof = true;
            return false;
        }
        p->len += (size_t)r;
        p->buf[p->len] = '\0';
    }
    return true;
}

/* Reads the pipe (if any) to its end and waits for the process: its exit status, or -signal. */
static int proc_finish(struct proc *p)
{
    close(p->in);
    if (p->out >= 0) {
        proc_read_until(p, NULL, LIMIT_S);
        if (!p->eof)
            kill(p->pid, SIGKILL);
        cr_assert(p->eof, "the output did not end within %d s:\n%.2000s", LIMIT_S, p->buf);
        close(p->out);
    }
    double end = run_now_s() + LIMIT_S;
    int st;
    while (waitpid(p->pid, &st, WNOHANG) == 0) {
        if (run_now_s() > end) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
            cr_assert_fail("the process did not end within %d s; output:\n%s", LIMIT_S, p->buf);
        }
        usleep(10000);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

/* Everything in the file behind fd (malloc'd, NUL-terminated). */
static char *file_text(int fd)
{
    off_t size = lseek(fd, 0, SEEK_END);
    cr_assert(size >= 0);
    char *s = calloc(1, (size_t)size + 1);
    cr_assert(s);
    cr_assert_eq(pread(fd, s, (size_t)size, 0), (ssize_t)size);
    return s;
}

/* A fresh, empty temporary file, already unlinked. */
static int temp_file(void)
{
    char path[] = "/tmp/chyve-console-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
    unlink(path);
    return fd;
}

/* 300 lines of 60 bytes, each byte its own hypercall: all of it, in order, and the tail. */
Test(console, byte_at_a_time_output_arrives_whole_and_in_order)
{
    require_kvm();
    char *g = guest_path("console");
    struct run r;
    run_chyve(&r, (const char *[]){g, "--", "--", "lines", "300", NULL}, NULL);
    char *want = expected_lines(300);
    cr_assert_eq(r.status, 0, "status %d; stderr:\n%s", r.status, r.err);
    cr_assert_eq(r.out_len, strlen(want), "%zu bytes on stdout, want %zu", r.out_len, strlen(want));
    cr_assert_str_eq(r.out, want);
    cr_assert_eq(r.err_len, 0, "stderr:\n%s", r.err);
    free(want);
    run_free(&r);
    free(g);
}

/* A failing VM's partial line comes out, before chyve's error line, on one pipe and one file. */
static void check_failure_order(int file_fd)
{
    char *g = guest_path("console");
    struct proc p;
    proc_start(&p, (const char *[]){chyve_path(), g, "--", "--", "fail", NULL}, plain_env, file_fd);
    int st = proc_finish(&p);
    char *all = file_fd < 0 ? strdup(p.buf) : file_text(file_fd);
    cr_assert_eq(st, 3, "status %d; output:\n%s", st, all);
    static const char want[] = "dyingchyve: error: ";
    cr_assert(strncmp(all, want, strlen(want)) == 0, "want '%s...', got:\n%s", want, all);
    cr_assert(strstr(all, "9990") || strstr(all, "3990"), "the error names no port:\n%s", all);
    cr_assert_eq(count_lines(all), 1, "want one line in all, got:\n%s", all);
    free(all);
    free(p.buf);
    free(g);
}

Test(console, partial_line_of_a_failed_vm_precedes_the_error_on_a_pipe)
{
    require_kvm();
    check_failure_order(-1);
}

Test(console, partial_line_of_a_failed_vm_precedes_the_error_in_a_file)
{
    require_kvm();
    int fd = temp_file();
    check_failure_order(fd);
    close(fd);
}

/* The warning a bad hypercall causes sits between the output before and after it. */
static void check_warning_order(int file_fd)
{
    char *g = guest_path("console");
    struct proc p;
    proc_start(&p, (const char *[]){chyve_path(), g, "--", "--", "warn", NULL}, plain_env, file_fd);
    int st = proc_finish(&p);
    char *all = file_fd < 0 ? strdup(p.buf) : file_text(file_fd);
    static const char want[] = "before chyve: warning: SerialWriteBuffer hypercall: buffer "
                               "0xfff00000000+0x10 is outside guest memory; ignored\n"
                               "after\nend";
    cr_assert_eq(st, 0, "status %d; output:\n%s", st, all);
    cr_assert_str_eq(all, want);
    free(all);
    free(p.buf);
    free(g);
}

Test(console, warning_keeps_its_place_in_the_output_on_one_pipe)
{
    require_kvm();
    check_warning_order(-1);
}

Test(console, warning_keeps_its_place_in_the_output_in_one_file)
{
    require_kvm();
    int fd = temp_file();
    check_warning_order(fd);
    close(fd);
}

/* --stats comes after all of the guest's output, its last partial line included. */
Test(console, stats_follow_the_last_partial_line)
{
    require_kvm();
    char *g = guest_path("console");
    struct proc p;
    proc_start(&p, (const char *[]){chyve_path(), "--stats", g, "--", "--", "lines", "3", NULL},
               plain_env, -1);
    int st = proc_finish(&p);
    char *want = expected_lines(3);
    cr_assert_eq(st, 0, "status %d; output:\n%s", st, p.buf);
    cr_assert(strncmp(p.buf, want, strlen(want)) == 0,
              "output does not start with the guest's:\n%s", p.buf);
    const char *rest = p.buf + strlen(want);
    cr_assert(strncmp(rest, "chyve: run statistics\n", 22) == 0,
              "want the statistics right after the tail, got:\n%s", rest);
    free(want);
    free(p.buf);
    free(g);
}

/* "name? " (no newline) is on the pipe while the guest waits for stdin, then the answer. */
static void check_prompt(const char *how)
{
    char *g = guest_path("console");
    struct proc p;
    proc_start(&p, (const char *[]){chyve_path(), g, "--", "--", "prompt", how, NULL}, plain_env,
               -1);
    /* Nothing is written to stdin before the prompt is seen: a held prompt would wait forever. */
    bool seen = proc_read_until(&p, "name? ", 30);
    if (!seen) {
        kill(p.pid, SIGKILL);
        proc_finish(&p);
        cr_assert_fail("no prompt within 30 s while the guest waits for stdin; output:\n%s", p.buf);
    }
    cr_assert_str_eq(p.buf, "name? ");
    cr_assert_eq(write(p.in, "chyve\n", 6), 6);
    int st = proc_finish(&p);
    cr_assert_eq(st, 0, "status %d; output:\n%s", st, p.buf);
    cr_assert_str_eq(p.buf, "name? hello, chyve\n");
    free(p.buf);
    free(g);
}

Test(console, prompt_is_visible_before_serial_read_waits)
{
    require_kvm();
    check_prompt("serial");
}

Test(console, prompt_is_visible_before_file_read_of_stdin_waits)
{
    require_kvm();
    check_prompt("file");
}

/* SIGTERM while the guest spins after a partial line: the line, then chyve's verdict. */
Test(console, sigterm_stop_writes_the_partial_line_first)
{
    require_kvm();
    char *g = guest_path("console");
    struct proc p;
    proc_start(&p, (const char *[]){chyve_path(), g, "--", "--", "spin", NULL}, plain_env, -1);
    bool ready = proc_read_until(&p, "ready\n", 30);
    if (!ready)
        kill(p.pid, SIGKILL);
    cr_assert(ready, "no 'ready' line within 30 s; output:\n%s", p.buf);
    usleep(300000); /* "partial" is 7 hypercalls after "ready\n": long done by now */
    kill(p.pid, SIGTERM);
    int st = proc_finish(&p);
    cr_assert_eq(st, 128 + SIGTERM, "status %d; output:\n%s", st, p.buf);
    cr_assert_str_eq(p.buf, "ready\npartialchyve: error: stopped by SIGTERM\n");
    free(p.buf);
    free(g);
}

/* The absolute path of prog in this process's PATH (malloc'd), or NULL. */
static char *find_in_path(const char *prog)
{
    const char *path = getenv("PATH");
    char *copy = strdup(path && *path ? path : "/usr/bin:/bin"), *save = NULL;
    char *found = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *p;
        cr_assert(asprintf(&p, "%s/%s", d, prog) > 0);
        if (access(p, X_OK) == 0)
            found = p;
        else
            free(p);
    }
    free(copy);
    return found;
}

/* Lines of strace's log (one call each; `PID ` in front with -f) writing to fd 1. */
static unsigned count_stdout_writes(const char *log)
{
    unsigned n = 0;
    for (const char *l = log; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
        const char *c = l + strspn(l, "0123456789 ");
        if (!strncmp(c, "write(1, ", 9) || !strncmp(c, "writev(1, ", 10))
            n++;
    }
    return n;
}

/*
 * 200 lines of 60 SerialWriteByte calls each (12 000 hypercalls) to a pipe: at most one write(2)
 * a line and a few more (the tail at the end), where one a byte made 12 000.
 */
Test(console, one_write_per_line_not_per_byte)
{
    require_kvm();
    char *strace = find_in_path("strace");
    if (!strace) {
        const char *ci = getenv("CI");
        cr_assert(!(ci && !strcmp(ci, "true")), "strace is missing and CI=true");
        cr_skip_test("strace is not installed: cannot count write(2) calls");
    }
    char *g = guest_path("console");
    char log_path[] = "/tmp/chyve-console-strace-XXXXXX";
    int log_fd = mkstemp(log_path);
    cr_assert(log_fd >= 0, "mkstemp: %s", strerror(errno));
    /* LeakSanitizer (an ASan build) cannot run under ptrace; it would fail the run. */
    const char *env[] = {"PATH=/usr/bin:/bin", "ASAN_OPTIONS=detect_leaks=0", NULL};
    struct proc p;
    proc_start(&p,
               (const char *[]){strace, "-f", "-qq", "-e", "trace=write,writev", "-o", log_path,
                                chyve_path(), g, "--", "--", "lines", "200", NULL},
               env, -1);
    int st = proc_finish(&p);
    char *want = expected_lines(200);
    char *log = file_text(log_fd);
    close(log_fd);
    unlink(log_path);
    cr_assert_eq(st, 0, "status %d; output:\n%.2000s", st, p.buf);
    cr_assert_str_eq(p.buf, want, "the output under strace differs");
    unsigned writes = count_stdout_writes(log);
    cr_assert(writes >= 1, "strace saw no write to fd 1; its log:\n%.2000s", log);
    cr_assert(writes <= 200 + 4, "%u write(2) calls to stdout for 200 lines; want at most 204",
              writes);
    free(log);
    free(want);
    free(p.buf);
    free(g);
    free(strace);
}
