/* sandbox.c: file isolation with Landlock (Linux); a warning or an error everywhere else. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "sandbox.h"

/* ---- Linux: Landlock ------------------------------------------------------------------------ */
#if defined(__linux__)
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

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

static uint64_t rights_of(enum sandbox_access a)
{
    const uint64_t file = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                          LANDLOCK_ACCESS_FS_TRUNCATE;
    switch (a) {
    case SANDBOX_READ:
        return LANDLOCK_ACCESS_FS_READ_FILE;
    case SANDBOX_FILE:
        return file;
    case SANDBOX_TREE:
        return file | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |
               LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |
               LANDLOCK_ACCESS_FS_MAKE_REG;
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
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif

static int allow_sanitizer(int ruleset, uint64_t handled)
{
#ifdef SANITIZER_BUILD
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

/* Enforces rules with Landlock: 0, 1 if Landlock is unavailable (reason in *why), or -1. */
static int landlock(enum vm_isolation mode, const struct sandbox_rule *rules, size_t n,
                    const char **why)
{
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 0) {
        *why = errno == EOPNOTSUPP ? "Landlock is disabled in this kernel"
                                   : "this kernel has no Landlock";
        return 1;
    }
    if (mode == VM_ISOLATION_STRICT && abi < 3)
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
#else
/* ---- elsewhere ---------------------------------------------------------------------------- */
static int landlock(enum vm_isolation mode, const struct sandbox_rule *rules, size_t n,
                    const char **why)
{
    (void)mode, (void)rules, (void)n;
    *why = "Landlock exists only on Linux";
    return 1;
}
#endif

int sandbox_apply(enum vm_isolation mode, const struct sandbox_rule *rules, size_t n,
                  bool warn_missing)
{
    if (mode == VM_ISOLATION_NONE)
        return 0;
    const char *why = NULL;
    int rc = landlock(mode, rules, n, &why);
    if (rc <= 0)
        return rc;
    if (mode == VM_ISOLATION_STRICT)
        return err_set("--file-isolation strict: %s", why);
    if (warn_missing)
        log_warn("%s: mapped host files are not isolated (use --file-isolation none to accept "
                 "this silently)",
                 why);
    else
        log_info("%s: file isolation is off", why);
    return 0;
}
