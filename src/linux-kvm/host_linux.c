/*
 * host_linux.c: host.h on Linux: openat2(RESOLVE_BENEATH), Landlock, O_PATH, madvise (THP, KSM),
 * sched/pthread affinity and the POSIX 2008 nanosecond stat times.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "files/sandbox.h"
#include "host.h"
#include "log.h"

/* ---- openat2 ------------------------------------------------------------------------------ */

/* 1 = works, -1 = the kernel has none (ENOSYS), 0 = not tried yet. Races are harmless. */
static int openat2_state;

int host_open_beneath(int dirfd, const char *path, int flags, unsigned mode)
{
    if (openat2_state < 0)
        return HOST_UNAVAILABLE;
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (unsigned)(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? (mode & 07777) : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    for (int tries = 0;; tries++) {
        long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        if (fd >= 0) {
            openat2_state = 1;
            return (int)fd;
        }
        /* EAGAIN: a concurrent rename raced with a ".." check; the kernel asks to retry. */
        if ((errno == EINTR || errno == EAGAIN) && tries < 16)
            continue;
        if (errno == ENOSYS) {
            openat2_state = -1;
            return HOST_UNAVAILABLE;
        }
        return -errno;
    }
}

/* ---- Landlock ----------------------------------------------------------------------------- */

/* Rights newer than the build machine's headers (the running kernel decides what it knows). */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

/* The running kernel's Landlock ABI version, or -1 with errno set. */
static long landlock_abi(void)
{
    return syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
}

/* Every filesystem right the kernel's Landlock ABI version knows: all of them are handled. */
static uint64_t handled_rights(long abi)
{
    uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: execute .. make-sym */
    if (abi >= 2)
        r |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        r |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5)
        r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return r;
}

/* The Landlock rights behind one of the core's access kinds. */
static uint64_t rights_of(enum sandbox_access a)
{
    const uint64_t file =
        LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
    switch (a) {
    case SANDBOX_READ:
        return LANDLOCK_ACCESS_FS_READ_FILE;
    case SANDBOX_FILE:
        return file;
    case SANDBOX_TREE:
        return file | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |
               LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |
               LANDLOCK_ACCESS_FS_MAKE_REG;
    case SANDBOX_TREE_READ:
        return LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
    case SANDBOX_REMOVE_DIR:
        return LANDLOCK_ACCESS_FS_REMOVE_DIR;
    case SANDBOX_REMOVE_FILE:
        return LANDLOCK_ACCESS_FS_REMOVE_FILE;
    }
    return 0;
}

/* Adds one path-beneath rule. */
static int add_rule(int ruleset, int fd, uint64_t rights, const char *what)
{
    struct landlock_path_beneath_attr pb = {.allowed_access = rights, .parent_fd = fd};
    if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0)
        return err_set("file isolation: cannot allow %s: %s", what, strerror(errno));
    return 0;
}

/*
 * Sanitizer runtimes read /proc/self (memory maps, threads) when the process ends; without this
 * their leak check would fail inside the sandbox. Only in sanitizer builds.
 */
static int allow_sanitizer(int ruleset, uint64_t handled)
{
#ifdef HOST_SANITIZER_BUILD
    int fd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int rc = add_rule(ruleset, fd,
                      (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR) & handled,
                      "/proc/self (sanitizer build)");
    close(fd);
    return rc;
#else
    (void)ruleset, (void)handled;
    return 0;
#endif
}

bool host_sandbox_available(const char **why)
{
    if (landlock_abi() >= 0)
        return true;
    *why =
        errno == EOPNOTSUPP ? "Landlock is disabled in this kernel" : "this kernel has no Landlock";
    return false;
}

int host_sandbox_apply(bool strict, const struct sandbox_rule *rules, size_t n)
{
    long abi = landlock_abi();
    if (abi < 0)
        return err_set("file isolation: cannot query Landlock: %s", strerror(errno));
    if (strict && abi < 3)
        return err_set("strict file isolation needs Landlock ABI 3 (Linux 6.2), this kernel "
                       "has ABI %ld",
                       abi);
    uint64_t handled = handled_rights(abi);
    struct landlock_ruleset_attr attr = {.handled_access_fs = handled};
    int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
    if (rs < 0)
        return err_set("file isolation: cannot create a Landlock ruleset: %s", strerror(errno));
    int rc = allow_sanitizer(rs, handled);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = add_rule(rs, rules[i].fd, rights_of(rules[i].access) & handled, rules[i].what);
    if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        rc = err_set("file isolation: cannot set no_new_privs: %s", strerror(errno));
    if (rc == 0 && syscall(SYS_landlock_restrict_self, rs, 0) != 0)
        rc = err_set("file isolation: cannot enforce the Landlock ruleset: %s", strerror(errno));
    close(rs);
    if (rc == 0)
        log_debug("file isolation: Landlock ABI %ld, %zu rules", abi, n);
    return rc;
}

/* ---- CPU affinity ------------------------------------------------------------------------- */

int host_cpus_usable(uint64_t mask[HOST_CPU_WORDS])
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return -errno;
    memset(mask, 0, HOST_CPU_WORDS * sizeof(mask[0]));
    for (int c = 0; c < CPU_SETSIZE && c < HOST_CPUS; c++)
        if (CPU_ISSET(c, &set))
            mask[c / 64] |= 1ULL << (c % 64);
    return 0;
}

int host_pin_thread(unsigned cpu)
{
    if (cpu >= CPU_SETSIZE)
        return -EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* ---- directory handles, memory advice -------------------------------------------------- */

int host_dir_handle_flags(void)
{
    return O_PATH | O_DIRECTORY;
}

int host_path_handle_flags(void)
{
    return O_PATH;
}

int host_direct_io_flag(void)
{
    return O_DIRECT;
}

int host_advise_memory(void *p, size_t len, enum host_advice advice)
{
    int a = advice == HOST_ADVISE_HUGEPAGE ? MADV_HUGEPAGE : MADV_MERGEABLE;
    return madvise(p, len, a) == 0 ? 0 : -errno;
}

/* ---- stat times --------------------------------------------------------------------------- */

void host_stat_times(const struct stat *st, struct timespec times[3])
{
    times[0] = st->st_atim;
    times[1] = st->st_mtim;
    times[2] = st->st_ctim;
}
