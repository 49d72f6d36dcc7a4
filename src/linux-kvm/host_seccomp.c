/*
 * host_seccomp.c: host_confine_thread() on Linux: one seccomp BPF filter per thread, allowing the
 * system calls that kind of thread makes after set-up; anything else traps into a handler that
 * names the call and ends chyve (docs/decisions.md "seccomp").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "host.h"

#if defined(__x86_64__)
#define CONFINE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define CONFINE_ARCH AUDIT_ARCH_AARCH64
#else
#error "host_seccomp.c knows the system calls of x86_64 and aarch64 only"
#endif

/* A list ends with -1; calls this architecture lacks are left out by their #ifdef. */
#define END (-1)

/* Every thread: memory, locks, time, signals, exit, and log lines on stderr. */
static const int base_calls[] = {__NR_futex,
                                 __NR_exit,
                                 __NR_exit_group,
                                 __NR_rt_sigreturn,
                                 __NR_rt_sigprocmask,
                                 __NR_restart_syscall,
                                 __NR_sched_yield,
                                 __NR_nanosleep,
                                 __NR_clock_nanosleep,
                                 __NR_clock_gettime,
                                 __NR_gettimeofday,
                                 __NR_getpid,
                                 __NR_gettid,
                                 __NR_tgkill,
                                 __NR_mmap,
                                 __NR_munmap,
                                 __NR_mprotect,
                                 __NR_madvise,
                                 __NR_mremap,
                                 __NR_brk,
                                 __NR_write,
                                 __NR_writev,
                                 __NR_close,
                                 __NR_getrandom,
                                 __NR_set_robust_list,
                                 __NR_rseq,
#ifdef __NR_membarrier
                                 __NR_membarrier,
#endif
                                 END};

/* Files a vCPU's hypercalls and the teardown reach (open, read, list, create, remove). */
static const int file_calls[] = {__NR_openat,
                                 __NR_read,
                                 __NR_pread64,
                                 __NR_pwrite64,
                                 __NR_readv,
                                 __NR_lseek,
                                 __NR_getdents64,
                                 __NR_fstat,
                                 __NR_newfstatat,
                                 __NR_statx,
                                 __NR_fcntl,
                                 __NR_unlinkat,
                                 __NR_mkdirat,
                                 __NR_renameat2,
                                 __NR_fsync,
                                 __NR_fdatasync,
                                 __NR_ftruncate,
                                 __NR_readlinkat,
                                 __NR_utimensat,
                                 __NR_fchmod,
                                 __NR_ppoll,
                                 __NR_pselect6,
                                 __NR_dup,
                                 __NR_pipe2,
#ifdef __NR_openat2
                                 __NR_openat2,
#endif
#ifdef __NR_renameat
                                 __NR_renameat,
#endif
#ifdef __NR_poll
                                 __NR_poll,
#endif
#ifdef __NR_open
                                 __NR_open,
                                 __NR_stat,
                                 __NR_lstat,
                                 __NR_unlink,
                                 __NR_rmdir,
                                 __NR_mkdir,
                                 __NR_rename,
                                 __NR_readlink,
                                 __NR_select,
#endif
                                 END};

/* Sockets already open: the GDB client, the TAP or slirp link. */
static const int socket_calls[] = {__NR_recvfrom,
                                   __NR_recvmsg,
                                   __NR_sendto,
                                   __NR_sendmsg,
                                   __NR_shutdown,
                                   __NR_accept4,
                                   __NR_getsockopt,
                                   __NR_setsockopt,
                                   __NR_getsockname,
                                   __NR_getpeername,
                                   __NR_ppoll,
                                   __NR_read,
                                   __NR_readv,
                                   __NR_fcntl,
#ifdef __NR_accept
                                   __NR_accept,
#endif
#ifdef __NR_poll
                                   __NR_poll,
#endif
                                   END};

/* libslirp opens and connects sockets for the guest's connections, and glib has an eventfd. */
static const int slirp_calls[] = {__NR_socket,      __NR_connect, __NR_bind,  __NR_listen,
                                  __NR_eventfd2,    __NR_ioctl,   __NR_fstat, __NR_newfstatat,
                                  __NR_getsockname, __NR_uname,   END};

/* KVM: KVM_RUN and the register ioctls of a vCPU, KVM_IRQ_LINE from the network device. */
static const int ioctl_calls[] = {__NR_ioctl, END};

/* The main thread after the vCPUs started: joins them, removes the run directory, reports. */
static const int main_calls[] = {__NR_rt_sigaction, END};

/*
 * The signal thread: waits for the stop signals and kicks the vCPUs. A warning it logs first
 * writes the guest's held console output (vm_console_flush), which polls a pipe for room.
 */
static const int signal_calls[] = {__NR_rt_sigtimedwait, __NR_ppoll,
#ifdef __NR_poll
                                   __NR_poll,
#endif
                                   END};

#ifdef HOST_SANITIZER_BUILD
/* ASan/UBSan reports and LeakSanitizer at exit (its tracer ptraces the threads, lists them). */
static const int sanitizer_calls[] = {__NR_ptrace,
                                      __NR_wait4,
                                      __NR_prctl,
                                      __NR_sigaltstack,
                                      __NR_rt_sigaction,
                                      __NR_openat,
                                      __NR_read,
                                      __NR_pread64,
                                      __NR_readlinkat,
                                      __NR_getdents64,
                                      __NR_fstat,
                                      __NR_newfstatat,
                                      __NR_lseek,
                                      __NR_fcntl,
                                      __NR_sched_getaffinity,
                                      __NR_kill,
                                      __NR_getppid,
                                      __NR_prlimit64,
                                      __NR_uname,
                                      __NR_dup,
                                      __NR_dup3,
                                      __NR_pipe2,
#ifdef __NR_readlink
                                      __NR_readlink,
                                      __NR_open,
                                      __NR_stat,
                                      __NR_getrlimit,
                                      __NR_getdents,
#endif
                                      END};

/* LeakSanitizer's exit check clones its tracer from the main thread. */
static const int sanitizer_main_calls[] = {__NR_clone,
#ifdef __NR_clone3
                                           __NR_clone3,
#endif
                                           END};
#endif

static enum host_confine confine_mode;        /* set once by host_confine_init() */
static _Thread_local const char *confined_as; /* the thread's kind, for the trap message */

/* The name of a thread kind in messages. */
static const char *thread_name(enum host_thread kind)
{
    switch (kind) {
    case HOST_THREAD_MAIN:
        return "main";
    case HOST_THREAD_SIGNALS:
        return "signal";
    case HOST_THREAD_VCPU:
        return "vCPU";
    case HOST_THREAD_GDB:
        return "gdb";
    case HOST_THREAD_NET:
        return "network";
    case HOST_THREAD_SLIRP:
        return "user-network";
    }
    return "unknown";
}

/* Appends s to buf at *n (bounded), for the async-signal-safe message below. */
static void append(char *buf, size_t size, size_t *n, const char *s)
{
    while (*s && *n + 1 < size)
        buf[(*n)++] = *s++;
}

/*
 * SIGSYS from a forbidden call (SECCOMP_RET_TRAP: the call was not made). Only async-signal-safe
 * calls: one write(2), then _exit(2) with the VM-failure status. The run directory stays behind
 * and the next run reclaims it (its process is gone).
 */
static void forbidden_call(int sig, siginfo_t *info, void *uctx)
{
    (void)sig;
    (void)uctx;
    char buf[256], num[16];
    size_t n = 0, k = 0;
    unsigned nr = (unsigned)info->si_syscall;
    do
        num[k++] = (char)('0' + nr % 10);
    while ((nr /= 10) != 0 && k < sizeof(num));
    append(buf, sizeof(buf), &n, "chyve: error: seccomp: forbidden system call ");
    while (k > 0 && n + 1 < sizeof(buf))
        buf[n++] = num[--k];
    append(buf, sizeof(buf), &n, " in the ");
    append(buf, sizeof(buf), &n, confined_as ? confined_as : "unknown");
    append(buf, sizeof(buf), &n,
           " thread (please report it; --seccomp=log lets it through for diagnosis)\n");
    ssize_t w = write(STDERR_FILENO, buf, n);
    (void)w;
    _exit(3); /* EXIT_VM_FAILURE */
}

int host_confine_init(enum host_confine mode)
{
    confine_mode = HOST_CONFINE_NONE;
    if (mode == HOST_CONFINE_NONE)
        return 0;
    /* EINVAL: a kernel built without seccomp. */
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0)
        return HOST_UNAVAILABLE;
    if (mode == HOST_CONFINE_STRICT) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = forbidden_call;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGSYS, &sa, NULL) != 0)
            return err_set("seccomp: cannot install the SIGSYS handler: %s", strerror(errno));
    }
    confine_mode = mode;
    return 0;
}

/* The largest filter: every list of one kind twice over, plus the arch check. */
#define FILTER_MAX 512

/* Appends "if nr == calls[i]: allow" for each call of the list. */
static void add_calls(struct sock_filter *f, size_t *n, const int *calls)
{
    for (size_t i = 0; calls[i] != END && *n + 2 <= FILTER_MAX - 1; i++) {
        f[(*n)++] =
            (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)calls[i], 0, 1);
        f[(*n)++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    }
}

int host_confine_thread(enum host_thread kind)
{
    enum host_confine mode = confine_mode;
    if (mode == HOST_CONFINE_NONE)
        return 0;
    struct sock_filter f[FILTER_MAX];
    size_t n = 0;
    /* Another architecture's calls (a 32-bit int 0x80 on x86_64) are other numbers: refuse. */
    f[n++] =
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, CONFINE_ARCH, 1, 0);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    f[n++] =
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
    /* x32 calls are the x86_64 numbers with bit 30 set: refuse them all. */
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
#endif
    add_calls(f, &n, base_calls);
    switch (kind) {
    case HOST_THREAD_MAIN:
        add_calls(f, &n, file_calls);
        add_calls(f, &n, socket_calls); /* gdb_close() tells the debugger how the run ended */
        add_calls(f, &n, ioctl_calls);  /* the backend's teardown */
        add_calls(f, &n, main_calls);
        break;
    case HOST_THREAD_SIGNALS:
        add_calls(f, &n, signal_calls);
        break;
    case HOST_THREAD_VCPU:
        add_calls(f, &n, file_calls);
        add_calls(f, &n, socket_calls); /* transmit to the link */
        add_calls(f, &n, ioctl_calls);
        break;
    case HOST_THREAD_GDB:
        add_calls(f, &n, socket_calls);
        break;
    case HOST_THREAD_NET:
        add_calls(f, &n, socket_calls);
        add_calls(f, &n, ioctl_calls);
        break;
    case HOST_THREAD_SLIRP:
        add_calls(f, &n, socket_calls);
        add_calls(f, &n, slirp_calls);
        break;
    }
#ifdef HOST_SANITIZER_BUILD
    add_calls(f, &n, sanitizer_calls);
    if (kind == HOST_THREAD_MAIN)
        add_calls(f, &n, sanitizer_main_calls);
#endif
    f[n++] = (struct sock_filter)BPF_STMT(
        BPF_RET | BPF_K, mode == HOST_CONFINE_LOG ? SECCOMP_RET_LOG : SECCOMP_RET_TRAP);
    struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
    confined_as = thread_name(kind);
    /* Without privileges a filter needs no_new_privs (Landlock set it already in most runs). */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return err_set("seccomp: cannot set no_new_privs: %s", strerror(errno));
    if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        return err_set("seccomp: cannot confine the %s thread: %s", confined_as, strerror(errno));
    return 0;
}
