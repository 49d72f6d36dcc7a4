/* slirp_lib.c: libslirp loaded when a VM asks for --net user, or linked (slirp_lib.h). */
#ifdef CHYVE_SLIRP_DLOPEN
#include <dlfcn.h>
#endif
#ifdef CHYVE_SLIRP_STATIC_DLOPEN
#include <gnu/libc-version.h>
#include <sys/wait.h>
#endif
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "net/slirp_lib.h"

#ifdef CHYVE_SLIRP_DLOPEN
#define SLIRP_SONAME "libslirp.so.0"
struct slirp_lib slirp_lib;

/* Stores slirp_<fn> of handle h in slirp_lib.fn (POSIX: a dlsym() result converts). */
#define LOAD(fn) (*(void **)&slirp_lib.fn = dlsym(h, "slirp_" #fn)) != NULL

#ifdef CHYVE_SLIRP_STATIC_DLOPEN
#define PROBE_NO_LIBRARY 3 /* the child's exit codes */
#define PROBE_OTHER_GLIBC 4

/*
 * A static chyve (meson option static_libc) has its own glibc inside, and dlopen() loads
 * libslirp with the system's libc.so.6 beside it. glibc supports that only with the very
 * version chyve was linked with (ld: "Using 'dlopen' in statically linked applications requires
 * at runtime the shared libraries from the glibc version used for linking"); with another, the
 * load may abort or crash. So a child process loads the library first and compares the two
 * versions (glibc resets its loader's and malloc's locks in a forked child). Returns 0 when the
 * child managed (or found no library, which the real dlopen() then reports), or -1 with the
 * error set.
 */
static int slirp_probe(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return err_set("--net user: cannot fork to try loading " SLIRP_SONAME ": %s",
                       strerror(errno));
    if (pid == 0) {
        void *h = dlopen(SLIRP_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!h)
            _exit(PROBE_NO_LIBRARY);
        const char *(*version)(void);
        *(void **)&version = dlsym(h, "gnu_get_libc_version"); /* libc.so.6's, a dependency */
        _exit(version && strcmp(version(), gnu_get_libc_version()) == 0 ? 0 : PROBE_OTHER_GLIBC);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return err_set("--net user: waiting for the trial load of " SLIRP_SONAME ": %s",
                           strerror(errno));
    if (WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == PROBE_NO_LIBRARY))
        return 0;
    const char *what = WIFEXITED(st) && WEXITSTATUS(st) == PROBE_OTHER_GLIBC
                           ? "the system's is another version"
                           : "a trial load in a child process failed";
    return err_set("--net user: " SLIRP_SONAME " brings the system's libc.so.6 beside the glibc "
                   "%s linked into this static chyve, which works only at the same version, and "
                   "%s; rebuild chyve, or configure it with -Dstatic_libc=disabled",
                   gnu_get_libc_version(), what);
}
#else
static int slirp_probe(void)
{
    return 0;
}
#endif

int slirp_lib_load(void)
{
    if (slirp_lib.cleanup)
        return 0;
    if (slirp_probe() != 0)
        return -1;
    void *h = dlopen(SLIRP_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return err_set("--net user: cannot load " SLIRP_SONAME " (Debian: apt-get install "
                       "libslirp0): %s",
                       dlerror());
    if (!(LOAD(new) && LOAD(add_hostfwd) && LOAD(input) && LOAD(pollfds_fill) &&
          LOAD(pollfds_poll) && LOAD(cleanup))) {
        memset(&slirp_lib, 0, sizeof(slirp_lib));
        return err_set("--net user: " SLIRP_SONAME " lacks a function chyve needs: %s", dlerror());
    }
    return 0;
}
#undef LOAD
#else
int slirp_lib_load(void)
{
    return 0;
}
#endif
