/* run.c: spawns chyve with pipes on stdout and stderr, a deadline, and collects its status. */
#define _GNU_SOURCE
#include "run.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const default_env[] = {"PATH=/usr/bin:/bin", NULL};

const char *chyve_path(void)
{
    const char *p = getenv("CHYVE");
    cr_assert(p && *p, "CHYVE (the chyve binary) is not set in the environment");
    return p;
}

char *guest_path(const char *name)
{
    const char *dir = getenv("GUEST_DIR");
    cr_assert(dir && *dir, "GUEST_DIR (the built test guests) is not set in the environment");
    char *p;
    cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
    if (access(p, R_OK) != 0)
        cr_skip_test("test guest %s is not built (%s)", p, strerror(errno));
    return p;
}

void require_kvm(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        cr_skip_test("cannot open /dev/kvm read-write: %s", strerror(errno));
    close(fd);
}

/* Makes room for at least 4 KiB more in *buf (always NUL-terminated). */
static void grow(char **buf, size_t *len, size_t *cap)
{
    if (*cap - *len < 4096) {
        *cap = *cap * 2 + 8192;
        *buf = realloc(*buf, *cap);
        cr_assert(*buf, "out of memory");
        (*buf)[*len] = '\0';
    }
}

/* Appends what is readable on fd to *buf; returns false at end of file. */
static bool drain(int fd, char **buf, size_t *len, size_t *cap)
{
    grow(buf, len, cap);
    ssize_t n = read(fd, *buf + *len, *cap - *len - 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0)
        return false;
    *len += (size_t)n;
    (*buf)[*len] = '\0';
    return true;
}

double run_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void run_chyve(struct run *r, const char *const *args, const char *const *envp)
{
    memset(r, 0, sizeof(*r));
    size_t nargs = 0;
    while (args[nargs])
        nargs++;
    const char **argv = calloc(nargs + 2, sizeof(char *));
    cr_assert(argv);
    argv[0] = chyve_path();
    memcpy(argv + 1, args, nargs * sizeof(char *));

    int po[2], pe[2];
    cr_assert(pipe2(po, O_CLOEXEC) == 0 && pipe2(pe, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
            _exit(127);
            /* execve() takes char *const[] only for compatibility with old code; POSIX says it
             * does not modify the strings, so dropping const here is safe. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
        execve(argv[0], (char *const *)argv, (char *const *)(envp ? envp : default_env));
#pragma GCC diagnostic pop
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);

    size_t ocap = 0, ecap = 0;
    r->out = r->err = NULL;
    grow(&r->out, &r->out_len, &ocap);
    grow(&r->err, &r->err_len, &ecap);
    struct pollfd pf[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    double deadline = run_now_s() + RUN_TIMEOUT_S;
    while (pf[0].fd >= 0 || pf[1].fd >= 0) {
        double left = deadline - run_now_s();
        if (left <= 0) {
            r->timed_out = true;
            break;
        }
        int n = poll(pf, 2, (int)(left * 1000) + 1);
        if (n < 0 && errno == EINTR)
            continue;
        cr_assert(n >= 0, "poll: %s", strerror(errno));
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
    int st = 0;
    if (r->timed_out) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    } else {
        /* both pipes are closed; the process ends now, but still honour the deadline */
        while (waitpid(pid, &st, WNOHANG) == 0) {
            if (run_now_s() > deadline) {
                r->timed_out = true;
                kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
                break;
            }
            usleep(10000);
        }
    }
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0)
            close(pf[i].fd);
    free(argv);
    if (WIFEXITED(st)) {
        r->status = WEXITSTATUS(st);
    } else {
        r->status = -1;
        r->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    }
    cr_assert(!r->timed_out, "chyve did not finish within %d s\nstdout:\n%s\nstderr:\n%s",
              RUN_TIMEOUT_S, r->out, r->err);
}

void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

size_t count_lines(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        if (*p == '\n')
            n++;
    if (*s && s[strlen(s) - 1] != '\n')
        n++;
    return n;
}

bool contains_ci(const char *haystack, const char *needle)
{
    return strcasestr(haystack, needle) != NULL;
}

void remove_tree(const char *dir)
{
    char *cmd = NULL;
    if (asprintf(&cmd, "rm -rf '%s'", dir) < 0 || system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    free(cmd);
}
