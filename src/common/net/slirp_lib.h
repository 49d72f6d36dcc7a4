/*
 * slirp_lib.h: how slirp.c reaches libslirp's entry points. On Linux the library is loaded only
 * when a VM asks for --net user (CHYVE_SLIRP_DLOPEN, meson.build): every other run maps neither
 * it nor glib and pcre2, which were a million bytes of each chyve's resident set
 * (docs/decisions.md "Start-up and memory" has the figures). A static PIE chyve (static_libc)
 * loads it too, after a trial load in a child process; builds with prefer_static, and other
 * systems, link it as usual. SLIRP(fn) names libslirp's slirp_<fn> either way.
 */
#ifndef CHYVE_NET_SLIRP_LIB_H
#define CHYVE_NET_SLIRP_LIB_H

#include <slirp/libslirp.h>

#ifdef CHYVE_SLIRP_DLOPEN
/* The entry points slirp.c calls, filled by slirp_lib_load(). */
struct slirp_lib {
    __typeof__(slirp_new) *new;
    __typeof__(slirp_add_hostfwd) *add_hostfwd;
    __typeof__(slirp_input) *input;
    __typeof__(slirp_pollfds_fill) *pollfds_fill;
    __typeof__(slirp_pollfds_poll) *pollfds_poll;
    __typeof__(slirp_cleanup) *cleanup;
};
extern struct slirp_lib slirp_lib;
#define SLIRP(fn) (slirp_lib.fn)
#else
#define SLIRP(fn) slirp_##fn
#endif

/*
 * Makes libslirp callable (once; later calls return at once): with CHYVE_SLIRP_DLOPEN, dlopen()
 * of libslirp.so.0 before the run's confinement (Landlock would refuse its files later);
 * otherwise nothing. Returns 0, or -1 with err_msg() saying what to install or rebuild.
 */
int slirp_lib_load(void);

#endif
