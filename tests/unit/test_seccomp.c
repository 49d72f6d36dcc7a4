/*
 * test_seccomp.c: host_confine_thread() on Linux: in a forked child, a thread's filter lets its
 * own calls through and ends the process, with the message, on a call outside its list.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host.h"

/* What a child did: its exit status (or 128 + the signal that ended it) and its stderr. */
struct outcome {
    int status;
    char err[1024];
};

/* Runs body(arg) in a child confined as kind under mode; the child exits 0 if body returns 0. */
static struct outcome in_child(enum host_confine mode, enum host_thread kind, int (*body)(void))
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(p[1], STDERR_FILENO);
        close(p[0]);
        if (host_confine_init(mode) != 0 || host_confine_thread(kind) != 0)
            _exit(100);
        _exit(body() == 0 ? 0 : 101);
    }
    close(p[1]);
    struct outcome o;
    memset(&o, 0, sizeof(o));
    size_t n = 0;
    ssize_t r;
    while (n + 1 < sizeof(o.err) && (r = read(p[0], o.err + n, sizeof(o.err) - 1 - n)) > 0)
        n += (size_t)r;
    close(p[0]);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return o;
}

static int make_socket(void)
{
    long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    return fd >= 0 ? 0 : -1;
}

/* What a vCPU's file hypercalls do: open, write, read back, list, remove. */
static int file_io(void)
{
    char path[] = "/tmp/chyve-seccomp-XXXXXX", back[3];
    int fd = mkstemp(path); /* openat */
    if (fd < 0 || write(fd, "abc", 3) != 3 || pread(fd, back, 3, 0) != 3 ||
        lseek(fd, 0, SEEK_END) != 3)
        return -1;
    close(fd);
    return unlink(path);
}

static void *nothing(void *arg)
{
    return arg;
}

static int start_thread(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, nothing, NULL) != 0)
        return -1;
    return pthread_join(t, NULL);
}

static int remove_file(void)
{
    return syscall(SYS_unlinkat, AT_FDCWD, "/nonexistent-chyve-seccomp", 0) == 0 ? 0 : -1;
}

/* The message names the call and the thread, and says how to report and diagnose. */
static void expect_refused(struct outcome o, long nr, const char *thread)
{
    char want[128];
    snprintf(want, sizeof(want),
             "chyve: error: seccomp: forbidden system call %ld in the %s thread", nr, thread);
    cr_assert_eq(o.status, 3, "status %d, stderr: %s", o.status, o.err);
    cr_assert(strstr(o.err, want), "stderr: %s", o.err);
    cr_assert(strstr(o.err, "please report it"));
    cr_assert(strstr(o.err, "--seccomp=log"));
}

Test(seccomp, vcpu_thread_does_file_io)
{
    struct outcome o = in_child(HOST_CONFINE_STRICT, HOST_THREAD_VCPU, file_io);
    cr_assert_eq(o.status, 0, "status %d, stderr: %s", o.status, o.err);
    cr_assert_str_empty(o.err);
}

Test(seccomp, vcpu_thread_cannot_open_a_socket)
{
    expect_refused(in_child(HOST_CONFINE_STRICT, HOST_THREAD_VCPU, make_socket), SYS_socket,
                   "vCPU");
}

/*
 * glibc's pthread_create() blocks every signal around clone(): a trapped call with SIGSYS blocked
 * makes the kernel end the process by SIGSYS, without the message. Refused all the same.
 */
static void expect_killed(struct outcome o)
{
    cr_assert_eq(o.status, 128 + SIGSYS, "status %d, stderr: %s", o.status, o.err);
}

Test(seccomp, vcpu_thread_cannot_start_a_thread)
{
    expect_killed(in_child(HOST_CONFINE_STRICT, HOST_THREAD_VCPU, start_thread));
}

/* Sanitizer builds let the main thread clone LeakSanitizer's tracer (host_seccomp.c). */
Test(seccomp, main_thread_cannot_start_a_thread)
{
#ifdef HOST_SANITIZER_BUILD
    cr_skip_test("a sanitizer build lets the main thread clone (LeakSanitizer's tracer)");
#endif
    expect_killed(in_child(HOST_CONFINE_STRICT, HOST_THREAD_MAIN, start_thread));
}

static int raw_clone(void)
{
    return syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0) >= 0 ? 0 : -1;
}

Test(seccomp, vcpu_thread_cannot_fork)
{
    expect_refused(in_child(HOST_CONFINE_STRICT, HOST_THREAD_VCPU, raw_clone), SYS_clone, "vCPU");
}

Test(seccomp, gdb_thread_cannot_remove_files)
{
    expect_refused(in_child(HOST_CONFINE_STRICT, HOST_THREAD_GDB, remove_file), SYS_unlinkat,
                   "gdb");
}

Test(seccomp, signal_thread_cannot_open_a_socket)
{
    expect_refused(in_child(HOST_CONFINE_STRICT, HOST_THREAD_SIGNALS, make_socket), SYS_socket,
                   "signal");
}

Test(seccomp, slirp_thread_opens_sockets)
{
    struct outcome o = in_child(HOST_CONFINE_STRICT, HOST_THREAD_SLIRP, make_socket);
    cr_assert_eq(o.status, 0, "status %d, stderr: %s", o.status, o.err);
}

/* log: the call is made (the kernel logs it), nothing ends. */
Test(seccomp, log_mode_lets_the_call_through)
{
    struct outcome o = in_child(HOST_CONFINE_LOG, HOST_THREAD_VCPU, make_socket);
    cr_assert_eq(o.status, 0, "status %d, stderr: %s", o.status, o.err);
    cr_assert_str_empty(o.err);
}

static int seccomp_off(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int mode = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "Seccomp: %d", &mode) == 1)
            break;
    if (f)
        fclose(f);
    return mode == 0 ? 0 : -1;
}

Test(seccomp, none_installs_nothing)
{
    struct outcome o = in_child(HOST_CONFINE_NONE, HOST_THREAD_GDB, seccomp_off);
    cr_assert_eq(o.status, 0, "status %d, stderr: %s", o.status, o.err);
}
