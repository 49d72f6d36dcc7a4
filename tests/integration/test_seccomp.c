/*
 * test_seccomp.c: --seccomp on the real binary: guests run under strict (the default) and log,
 * and while a guest runs every thread of chyve has a filter (strict, log) or none (none).
 * Guests: hello, smp, stopwait.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

/* Runs guest with --seccomp mode (NULL: the default) and extra arguments; expects status 0. */
static void run_ok(const char *mode, const char *guest_name, const char *cpus, const char *want)
{
    require_kvm();
    char *guest = guest_path(guest_name);
    const char *args[8];
    size_t n = 0;
    if (mode) {
        args[n++] = "--seccomp";
        args[n++] = mode;
    }
    args[n++] = "--cpu-count";
    args[n++] = cpus;
    args[n++] = guest;
    args[n] = NULL;
    struct run r;
    run_chyve(&r, args, NULL);
    cr_assert_eq(r.status, 0, "status %d\n--- stderr:\n%s", r.status, r.err);
    cr_assert(strstr(r.out, want), "--- stdout:\n%s", r.out);
    cr_assert_null(strstr(r.err, "seccomp"), "--- stderr:\n%s", r.err);
    run_free(&r);
    free(guest);
}

Test(seccomp, hello_under_strict)
{
    run_ok("strict", "hello", "1", "Hello from a chyve test guest");
}

Test(seccomp, smp_under_the_default)
{
    run_ok(NULL, "smp", "2", "all 2 cpus online");
}

Test(seccomp, smp_under_log)
{
    run_ok("log", "smp", "2", "all 2 cpus online");
}

/* The Seccomp: field of /proc/PID/task/TID/status (0 none, 2 filter), or -1. */
static int task_seccomp(pid_t pid, const char *tid)
{
    char path[320], line[256];
    snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, tid);
    FILE *f = fopen(path, "r");
    int mode = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "Seccomp: %d", &mode) == 1)
            break;
    if (f)
        fclose(f);
    return mode;
}

/*
 * Starts chyve (2 vCPUs, the given --seccomp) on a guest that waits for stdin, checks that each
 * of its threads has the Seccomp mode want, then stops it with SIGTERM.
 */
static void threads_have(const char *mode, int want)
{
    require_kvm();
    char *guest = guest_path("stopwait");
    char dir[] = "/tmp/chyve-seccomp-XXXXXX";
    cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    char out[64], tmpdir[64];
    snprintf(out, sizeof(out), "%s/stdout", dir);
    snprintf(tmpdir, sizeof(tmpdir), "TMPDIR=%s", dir);
    int p[2];
    cr_assert(pipe2(p, O_CLOEXEC) == 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || dup2(p[0], 0) < 0 || dup2(o, 1) < 0)
            _exit(127);
        const char *envp[] = {"PATH=/usr/bin:/bin", tmpdir, NULL};
        const char *argv[] = {chyve_path(), "--seccomp", mode, "--cpu-count", "2",
                              guest,        "--",        "--", "stdin",       NULL};
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
        execve(argv[0], (char *const *)argv, (char *const *)envp);
#pragma GCC diagnostic pop
        _exit(127);
    }
    close(p[0]);
    /* "reading": the guest runs, so every thread is past its set-up. */
    bool reading = false;
    for (double end = run_now_s() + 60; !reading && run_now_s() < end; usleep(20000)) {
        FILE *f = fopen(out, "r");
        char buf[256] = "";
        if (f) {
            size_t n = fread(buf, 1, sizeof(buf) - 1, f);
            buf[n] = '\0';
            fclose(f);
        }
        reading = strstr(buf, "reading") != NULL;
    }
    usleep(200000);
    int threads = 0, wrong = 0;
    char where[64];
    snprintf(where, sizeof(where), "/proc/%d/task", (int)pid);
    DIR *d = reading ? opendir(where) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        threads++;
        if (task_seccomp(pid, de->d_name) != want)
            wrong++;
    }
    if (d)
        closedir(d);
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    close(p[1]);
    remove_tree(dir);
    free(guest);
    cr_assert(reading, "the guest did not start");
    cr_assert_geq(threads, 4, "%d threads: main, signal and two vCPUs expected", threads);
    cr_assert_eq(wrong, 0, "%d of %d threads without Seccomp mode %d", wrong, threads, want);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGTERM);
}

Test(seccomp, every_thread_is_confined_under_strict)
{
    threads_have("strict", 2);
}

Test(seccomp, no_thread_is_confined_under_none)
{
    threads_have("none", 0);
}
