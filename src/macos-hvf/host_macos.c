/*
 * host_macos.c: host.h on macOS: no confined open (the core walks paths itself), no file sandbox,
 * no O_PATH, no THP or KSM advice, no thread pinning; stat times from st_*timespec.
 */
#include <fcntl.h>
#include <stdint.h>

#include "err.h"
#include "host.h"
#include "net/netif.h"

int host_open_beneath(int dirfd, const char *path, int flags, unsigned mode)
{
    (void)dirfd, (void)path, (void)flags, (void)mode;
    return HOST_UNAVAILABLE;
}

bool host_sandbox_available(const char **why)
{
    *why = "Landlock exists only on Linux";
    return false;
}

int host_sandbox_apply(bool strict, const struct sandbox_rule *rules, size_t n)
{
    (void)strict, (void)rules, (void)n;
    return err_set("file isolation: this host has no file sandbox");
}

/* No O_PATH: a read-only open of the directory is the portable handle. */
int host_dir_handle_flags(void)
{
    return O_RDONLY | O_DIRECTORY;
}

int host_path_handle_flags(void)
{
    return O_RDONLY | O_NONBLOCK;
}

/* Darwin turns caching off per file with fcntl(F_NOCACHE), not with an open flag. */
int host_direct_io_flag(void)
{
    return 0;
}

/* Darwin's madvise() knows neither transparent huge pages nor page merging. */
int host_advise_memory(void *p, size_t len, enum host_advice advice)
{
    (void)p, (void)len, (void)advice;
    return HOST_UNAVAILABLE;
}

/* Mach has only affinity tags (hints), not pinning: --affinity is refused by the command line. */
int host_cpus_usable(uint64_t mask[HOST_CPU_WORDS])
{
    (void)mask;
    return HOST_UNAVAILABLE;
}

int host_pin_thread(unsigned cpu)
{
    (void)cpu;
    return HOST_UNAVAILABLE;
}

/*
 * Darwin names the times st_atimespec etc. Elsewhere this file is only syntax-checked (on Linux),
 * where glibc's POSIX 2008 names stand in.
 */
#if defined(__APPLE__)
#define STAT_TIME(st, t) ((st)->st_##t##timespec)
#else
#define STAT_TIME(st, t) ((st)->st_##t##tim)
#endif

void host_stat_times(const struct stat *st, struct timespec times[3])
{
    times[0] = STAT_TIME(st, a);
    times[1] = STAT_TIME(st, m);
    times[2] = STAT_TIME(st, c);
}

/* macOS has no TAP devices (utun is layer 3); user-mode networking is the way there. */
int netif_tap_open(const struct net_spec *s, struct netif *n)
{
    (void)n;
    return err_set("--net tap:%s: TAP devices exist on Linux only; use --net user", s->tap);
}

int netif_tap_offload(struct netif *n, bool csum)
{
    (void)n;
    (void)csum;
    return -1;
}

/* Darwin has no per-thread system-call filter that chyve could use: --seccomp does nothing. */
int host_confine_init(enum host_confine mode)
{
    return mode == HOST_CONFINE_NONE ? 0 : HOST_UNAVAILABLE;
}

int host_confine_thread(enum host_thread kind)
{
    (void)kind;
    return 0;
}
