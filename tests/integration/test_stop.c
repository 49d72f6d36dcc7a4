/*
 * test_stop.c: how a run ends when it is not the guest that ends it: a vCPU blocked reading an
 * idle stdin does not keep chyve alive after another vCPU exits; SIGINT, SIGTERM and SIGHUP stop
 * chyve with status 128 + signal, its run directory removed and its statistics written; a run
 * directory left by a chyve killed with SIGKILL is reclaimed by the next run. Guest: stopwait.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

/* How long a stop may take on a slow nested-KVM host before it counts as a hang. */
#define STOP_LIMIT_S 30

static char *dir; /* the test's directory: TMPDIR of chyve, output files */

static void setup(void)
{
    char tmpl[] = "/tmp/chyve-stop-XXXXXX";
    cr_assert(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
    dir = strdup(tmpl);
}

static void teardown(void)
{
    remove_tree(dir);
    free(dir);
}

/* A chyve started in the background: stdin the read end of a pipe the test never writes. */
struct bg {
    pid_t pid;
    int stdin_w; /* kept open: stdin never reaches end of file */
    char out[512], err[512];
};

static void bg_start(struct bg *b, const char *const *args)
{
    snprintf(b->out, sizeof(b->out), "%s/stdout", dir);
    snprintf(b->err, sizeof(b->err), "%s/stderr", dir);
    char tmpdir[600];
    snprintf(tmpdir, sizeof(tmpdir), "TMPDIR=%s", dir);
    const char *envp[] = {"PATH=/usr/bin:/bin", tmpdir, NULL};
    size_t n = 0;
    while (args[n])
        n++;
    const char **argv = calloc(n + 2, sizeof(*argv));
    cr_assert(argv);
    argv[0] = chyve_path();
    memcpy(argv + 1, args, n * sizeof(*argv));
    int p[2];
    cr_assert(pipe2(p, O_CLOEXEC) == 0);
    b->pid = fork();
    cr_assert(b->pid >= 0);
    if (b->pid == 0) {
        int o = open(b->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(b->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(p[0], 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(127);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
        execve(argv[0], (char *const *)argv, (char *const *)envp);
#pragma GCC diagnostic pop
        _exit(127);
    }
    close(p[0]);
    b->stdin_w = p[1];
    free(argv);
}

/* The whole of file path (malloc'd, NUL-terminated; "" if missing). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *s = calloc(1, 1);
    size_t len = 0;
    if (!f)
        return s;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        s = realloc(s, len + n + 1);
        memcpy(s + len, buf, n);
        len += n;
        s[len] = '\0';
    }
    fclose(f);
    return s;
}

/* Waits up to limit_s for text in file path; false if it did not come. */
static bool wait_text(const char *path, const char *text, double limit_s)
{
    double end = run_now_s() + limit_s;
    while (run_now_s() < end) {
        char *s = slurp(path);
        bool found = strstr(s, text) != NULL;
        free(s);
        if (found)
            return true;
        usleep(20000);
    }
    return false;
}

/* Waits up to limit_s for text on chyve's stdout. */
static bool bg_wait_output(struct bg *b, const char *text, double limit_s)
{
    return wait_text(b->out, text, limit_s);
}

/* Waits up to limit_s for chyve to end: its exit status, -signal, or -1000 after killing it. */
static int bg_wait(struct bg *b, double limit_s)
{
    double end = run_now_s() + limit_s;
    int st;
    while (waitpid(b->pid, &st, WNOHANG) == 0) {
        if (run_now_s() > end) {
            kill(b->pid, SIGKILL);
            waitpid(b->pid, &st, 0);
            close(b->stdin_w);
            return -1000;
        }
        usleep(20000);
    }
    close(b->stdin_w);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

/* Fails the test with chyve's output. */
#define CHECK(b, cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            char *o_ = slurp((b)->out), *e_ = slurp((b)->err);                                     \
            cr_assert(false, "%s\n--- stdout:\n%s\n--- stderr:\n%s", #cond, o_, e_);               \
        }                                                                                          \
    } while (0)

/* How many run directories chyve left in $TMPDIR/chyve-<uid>. */
static int count_run_dirs(void)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/chyve-%u", dir, (unsigned)geteuid());
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strncmp(de->d_name, "run-", 4) == 0;
    closedir(d);
    return n;
}

/* One vCPU exits while the other waits in a stdin hypercall: chyve ends with the guest's code. */
static void exit_while_reading(const char *mode)
{
    require_kvm();
    char *guest = guest_path("stopwait");
    struct bg b;
    const char *args[] = {"--cpu-count", "2", guest, "--", "--", mode, NULL};
    bg_start(&b, args);
    int st = bg_wait(&b, STOP_LIMIT_S);
    CHECK(&b, st != -1000); /* a hang: chyve did not end after the guest exited */
    CHECK(&b, st == 7);
    char *out = slurp(b.out);
    CHECK(&b, strstr(out, "cpu 0 exits while cpu 1 reads"));
    free(out);
    CHECK(&b, count_run_dirs() == 0);
    free(guest);
}

Test(stop, exit_while_another_vcpu_is_in_file_read, .init = setup, .fini = teardown)
{
    exit_while_reading("read");
}

Test(stop, exit_while_another_vcpu_is_in_serial_read, .init = setup, .fini = teardown)
{
    exit_while_reading("serial");
}

/* Starts a guest that spins for a minute with --stats-file, once it is running sends sig. */
static void signal_stops(int sig, const char *name)
{
    require_kvm();
    char *guest = guest_path("stopwait");
    char stats[600];
    snprintf(stats, sizeof(stats), "%s/stats.yaml", dir);
    struct bg b;
    const char *args[] = {"--stats", "--stats-file", stats, guest, "--", "--", "spin", "60", NULL};
    bg_start(&b, args);
    CHECK(&b, bg_wait_output(&b, "spinning", 60));
    CHECK(&b, count_run_dirs() == 1); /* the run directory exists while the guest runs */
    double t0 = run_now_s();
    kill(b.pid, sig);
    int st = bg_wait(&b, STOP_LIMIT_S);
    CHECK(&b, st == 128 + sig);
    CHECK(&b, run_now_s() - t0 < STOP_LIMIT_S);
    CHECK(&b, count_run_dirs() == 0);
    char *err = slurp(b.err), *yaml = slurp(stats), want[64];
    snprintf(want, sizeof(want), "stopped by %s", name);
    CHECK(&b, strstr(err, want));              /* the one-line error */
    CHECK(&b, strstr(err, "run statistics"));  /* --stats on stderr */
    CHECK(&b, strstr(yaml, "result: failed")); /* --stats-file */
    CHECK(&b, strstr(yaml, want));
    free(err);
    free(yaml);
    free(guest);
}

Test(stop, sigint, .init = setup, .fini = teardown)
{
    signal_stops(SIGINT, "SIGINT");
}

Test(stop, sigterm, .init = setup, .fini = teardown)
{
    signal_stops(SIGTERM, "SIGTERM");
}

Test(stop, sighup, .init = setup, .fini = teardown)
{
    signal_stops(SIGHUP, "SIGHUP");
}

/* A signal while the GDB stub holds the vCPUs before their first instruction, waiting for GDB. */
Test(stop, sigterm_while_waiting_for_the_debugger, .init = setup, .fini = teardown)
{
    require_kvm();
    char *guest = guest_path("stopwait");
    char port[16];
    snprintf(port, sizeof(port), "%d", 20000 + getpid() % 20000);
    struct bg b;
    const char *args[] = {"--gdb-port", port, guest, "--", "--", "spin", "0", NULL};
    bg_start(&b, args);
    CHECK(&b, wait_text(b.err, "waiting for the debugger", 60));
    usleep(200000);
    kill(b.pid, SIGTERM);
    int st = bg_wait(&b, STOP_LIMIT_S);
    CHECK(&b, st == 128 + SIGTERM);
    CHECK(&b, count_run_dirs() == 0);
    char *out = slurp(b.out);
    CHECK(&b, !strstr(out, "spinning")); /* the guest never ran */
    free(out);
    free(guest);
}

/* A signal while the only vCPU waits for stdin that never comes. */
Test(stop, sigterm_while_reading_stdin, .init = setup, .fini = teardown)
{
    require_kvm();
    char *guest = guest_path("stopwait");
    struct bg b;
    const char *args[] = {guest, "--", "--", "stdin", NULL};
    bg_start(&b, args);
    CHECK(&b, bg_wait_output(&b, "reading", 60));
    usleep(200000); /* into the hypercall */
    kill(b.pid, SIGTERM);
    int st = bg_wait(&b, STOP_LIMIT_S);
    CHECK(&b, st == 128 + SIGTERM);
    CHECK(&b, count_run_dirs() == 0);
    free(guest);
}

/* A run directory whose chyve was SIGKILLed goes at the next run; a live process's stays. */
Test(stop, sigkill_leftover_is_reclaimed, .init = setup, .fini = teardown)
{
    require_kvm();
    char *guest = guest_path("stopwait");
    struct bg b;
    const char *spin[] = {guest, "--", "--", "spin", "60", NULL};
    bg_start(&b, spin);
    CHECK(&b, bg_wait_output(&b, "spinning", 60));
    /* something inside, as a guest would leave it */
    char path[700];
    snprintf(path, sizeof(path), "%s/chyve-%u", dir, (unsigned)geteuid());
    DIR *d = opendir(path);
    cr_assert(d);
    struct dirent *de;
    char killed[256] = "";
    while ((de = readdir(d)) != NULL)
        if (!strncmp(de->d_name, "run-", 4))
            snprintf(killed, sizeof(killed), "%s", de->d_name);
    closedir(d);
    cr_assert(killed[0], "no run directory while the guest runs");
    char inner[1200];
    snprintf(inner, sizeof(inner), "%s/%s/sub", path, killed);
    cr_assert(mkdir(inner, 0700) == 0);
    kill(b.pid, SIGKILL);
    cr_assert_eq(bg_wait(&b, STOP_LIMIT_S), -SIGKILL);
    cr_assert_eq(count_run_dirs(), 1, "SIGKILL leaves the run directory");

    /* looks like a run directory of a process that is alive (this test): must stay */
    char live[1200];
    snprintf(live, sizeof(live), "%s/run-%ld-0123456789ab", path, (long)getpid());
    cr_assert(mkdir(live, 0700) == 0);

    const char *quick[] = {guest, "--", "--", "spin", "0", NULL};
    bg_start(&b, quick);
    int st = bg_wait(&b, 120);
    CHECK(&b, st == 0);
    struct stat sb;
    snprintf(inner, sizeof(inner), "%s/%s", path, killed);
    CHECK(&b, stat(inner, &sb) != 0 && errno == ENOENT); /* reclaimed */
    CHECK(&b, stat(live, &sb) == 0);                     /* not touched */
    CHECK(&b, count_run_dirs() == 1);                    /* and the second run removed its own */
    free(guest);
}

/*
 * Starts `chyve --start-fifo DIR/start stopwait spin 0` in b and waits until chyve holds the FIFO
 * (a writer's non-blocking open succeeds once it has a reader): returns that write end, or -1.
 */
static int start_held(struct bg *b, const char *guest)
{
    char fifo[600];
    snprintf(fifo, sizeof(fifo), "%s/start", dir);
    cr_assert(mkfifo(fifo, 0600) == 0);
    const char *args[] = {"--start-fifo", fifo, guest, "--", "--", "spin", "0", NULL};
    bg_start(b, args);
    int w = -1;
    for (double end = run_now_s() + 60; w < 0 && run_now_s() < end; usleep(5000))
        w = open(fifo, O_WRONLY | O_NONBLOCK);
    return w;
}

/* --start-fifo: the VM is ready but its guest runs only once a byte arrives on the FIFO. */
Test(stop, start_fifo_holds_the_guest_until_a_byte_comes, .init = setup, .fini = teardown)
{
    require_kvm();
    char *guest = guest_path("stopwait");
    struct bg b;
    int w = start_held(&b, guest);
    CHECK(&b, w >= 0);
    usleep(300000);
    char *out = slurp(b.out);
    CHECK(&b, !strstr(out, "spinning")); /* held before the first instruction */
    free(out);
    CHECK(&b, write(w, "s", 1) == 1);
    close(w);
    CHECK(&b, bg_wait_output(&b, "spinning", 60));
    CHECK(&b, bg_wait(&b, STOP_LIMIT_S) == 0);
    CHECK(&b, count_run_dirs() == 0);
    free(guest);
}

/* A stop signal while held on the FIFO ends the run cleanly, the guest never having run. */
Test(stop, sigterm_while_waiting_on_the_start_fifo, .init = setup, .fini = teardown)
{
    require_kvm();
    char *guest = guest_path("stopwait");
    struct bg b;
    int w = start_held(&b, guest);
    CHECK(&b, w >= 0);
    close(w); /* a writer that comes and goes without a byte starts nothing */
    usleep(100000);
    kill(b.pid, SIGTERM);
    CHECK(&b, bg_wait(&b, STOP_LIMIT_S) == 128 + SIGTERM);
    CHECK(&b, count_run_dirs() == 0);
    char *out = slurp(b.out), *err = slurp(b.err);
    CHECK(&b, !strstr(out, "spinning"));
    CHECK(&b, strstr(err, "stopped by SIGTERM"));
    free(out);
    free(err);
    free(guest);
}

/* Anything but a FIFO is a usage error, before the guest runs. */
Test(stop, start_fifo_must_be_a_fifo, .init = setup, .fini = teardown)
{
    require_kvm();
    char *guest = guest_path("stopwait");
    char path[600];
    snprintf(path, sizeof(path), "%s/plain", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fclose(f);
    struct bg b;
    const char *args[] = {"--start-fifo", path, guest, "--", "--", "spin", "0", NULL};
    bg_start(&b, args);
    CHECK(&b, bg_wait(&b, STOP_LIMIT_S) == 2);
    char *err = slurp(b.err);
    CHECK(&b, strstr(err, "is not a named pipe"));
    CHECK(&b, count_lines(err) == 1);
    free(err);
    free(guest);
}
