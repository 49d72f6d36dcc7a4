/*
 * host.h: host OS services the core needs beyond POSIX. Declared here, implemented once per OS
 * (src/linux-kvm/host_linux.c, src/macos-hvf/host_macos.c); meson compiles exactly one into the
 * core library. The portable logic (path walk, rule lists, messages) stays in the core.
 */
#ifndef CHYVE_HOST_H
#define CHYVE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

/*
 * HOST_SANITIZER_BUILD: compiled with AddressSanitizer or UndefinedBehaviorSanitizer, whose
 * runtimes make system calls and read /proc/self of their own, which the confinement (Landlock,
 * seccomp) must then allow. One definition for every file that needs to know.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define HOST_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define HOST_SANITIZER_BUILD 1
#endif
#endif

/*
 * Returned by a host_* function when this host lacks the service, so the caller uses its portable
 * fallback (or refuses). Below every negative errno, so it never means a failed system call.
 */
#define HOST_UNAVAILABLE (-65536)

/*
 * Opens `path` (relative, non-empty; "." is dirfd itself) beneath the directory `dirfd` like
 * openat(dirfd, path, flags | O_CLOEXEC, mode), refusing to leave it: no "..", absolute symlink
 * or magic link may lead outside, even if the tree changes meanwhile. Returns a new fd, a negative
 * errno (-EXDEV: the path leads outside dirfd), or HOST_UNAVAILABLE when the host (or its kernel)
 * has no such call; then the caller walks the path itself.
 */
int host_open_beneath(int dirfd, const char *path, int flags, unsigned mode);

struct sandbox_rule; /* sandbox.h */

/*
 * True if the host's file sandbox (Landlock on Linux) can be used; else false with *why set to a
 * one-line reason such as "this kernel has no Landlock" (a static string).
 */
bool host_sandbox_available(const char **why);

/*
 * Restricts the calling thread and every thread it starts afterwards to rules[0 .. n) (each an
 * open fd with the access the core chose for it); files already open stay usable. `strict` asks
 * for full control, truncation included, and fails on a sandbox too old to give it. Assumes
 * host_sandbox_available() said yes. Returns 0, or -1 with err_msg() set.
 */
int host_sandbox_apply(bool strict, const struct sandbox_rule *rules, size_t n);

/*
 * The open(2) flags that open a directory only as a handle for *at() calls and fstat(), never to
 * read it: O_PATH | O_DIRECTORY where the host has O_PATH, else O_RDONLY | O_DIRECTORY. Callers
 * add O_CLOEXEC, O_NOFOLLOW and the like.
 */
int host_dir_handle_flags(void);

/*
 * The same for any file: flags that open it as a handle for *at(), fstat() and sandbox rules
 * without reading it, and without blocking on a FIFO: O_PATH where the host has it, else
 * O_RDONLY | O_NONBLOCK.
 */
int host_path_handle_flags(void);

/* The open(2) flag that bypasses the host's page cache (O_DIRECT), or 0 if the host has none. */
int host_direct_io_flag(void);

/* Advice for host_advise_memory(). */
enum host_advice {
    HOST_ADVISE_HUGEPAGE,  /* back the range with transparent huge pages */
    HOST_ADVISE_MERGEABLE, /* let the kernel merge identical pages (KSM) */
};

/*
 * Gives the host kernel `advice` about the page-aligned memory [p, p + len). Returns 0, a negative
 * errno (the kernel refused), or HOST_UNAVAILABLE when the host knows no such advice.
 */
int host_advise_memory(void *p, size_t len, enum host_advice advice);

/* Host CPUs 0 .. HOST_CPUS-1 are the ones a CPU mask below can name. */
#define HOST_CPUS 1024
#define HOST_CPU_WORDS (HOST_CPUS / 64)

/*
 * Fills mask (bit c of word c / 64 = CPU c) with the host CPUs this process may run on. Returns 0,
 * a negative errno, or HOST_UNAVAILABLE when the host cannot pin threads to CPUs.
 */
int host_cpus_usable(uint64_t mask[HOST_CPU_WORDS]);

/*
 * Pins the calling thread to host CPU cpu (< HOST_CPUS). Returns 0, a negative errno, or
 * HOST_UNAVAILABLE when the host cannot pin threads to CPUs.
 */
int host_pin_thread(unsigned cpu);

/*
 * The access, modification and status-change times of st, in that order, with nanoseconds where
 * the host's struct stat has them.
 */
void host_stat_times(const struct stat *st, struct timespec times[3]);

/* How host_confine_thread() confines threads (--seccomp). */
enum host_confine {
    HOST_CONFINE_NONE,   /* not at all */
    HOST_CONFINE_STRICT, /* a call outside the thread's list ends chyve with a message */
    HOST_CONFINE_LOG,    /* such a call is allowed and logged by the kernel (diagnosis) */
};

/* The kinds of thread chyve runs; each has its own list of system calls (host_seccomp.c). */
enum host_thread {
    HOST_THREAD_MAIN,    /* after the vCPUs started: waits for them, then tears the run down */
    HOST_THREAD_SIGNALS, /* waits for SIGINT/SIGTERM/SIGHUP and stops the run */
    HOST_THREAD_VCPU,    /* runs one vCPU and serves its hypercalls (file I/O, console) */
    HOST_THREAD_GDB,     /* the GDB stub's server */
    HOST_THREAD_NET,     /* the virtio-net receive thread */
    HOST_THREAD_SLIRP,   /* --net user: libslirp's event loop (opens sockets for the guest) */
};

/*
 * Chooses how host_confine_thread() confines from now on: call it once, before chyve starts any
 * thread. Strict installs the handler that reports a forbidden call. Returns 0;
 * HOST_UNAVAILABLE when this host (or its kernel) cannot confine threads, and then
 * host_confine_thread() does nothing; or -1 with err_msg() set.
 */
int host_confine_init(enum host_confine mode);

/*
 * Restricts the calling thread, for the rest of its life, to the system calls a thread of this
 * kind needs once set-up is over (threads it starts later inherit the filter). Does nothing when
 * host_confine_init() chose none or was not called. Returns 0, or -1 with err_msg() set.
 */
int host_confine_thread(enum host_thread kind);

#endif
