/*
 * resolve.h: host path operations confined beneath a directory: no `..`, absolute symlink, or
 * symlink swapped in during the run ever leads outside it. Linux uses openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS); everywhere else (and on kernels without openat2) a component-by-
 * component walk with O_NOFOLLOW does the same.
 */
#ifndef CHYVE_RESOLVE_H
#define CHYVE_RESOLVE_H

#include <stdbool.h>
#include <sys/stat.h>

/*
 * All functions take `root`, an open directory (O_PATH is enough), and `rel`, a relative path of
 * '/'-separated components ("" = root itself). They return 0 or a new fd (O_CLOEXEC), or a
 * negative host errno; -EXDEV means the path (through a symlink) leads outside root. Host
 * symlinks are followed as long as they stay beneath root; more than 40 give -ELOOP.
 */

/* open(2) of rel with `flags` (O_NOFOLLOW: do not follow a final symlink) and `mode`. */
int resolve_open(int root, const char *rel, int flags, unsigned mode);

/* stat(2) (follow) or lstat(2) of rel. */
int resolve_stat(int root, const char *rel, bool follow, struct stat *st);

/* unlink(2) of rel (never follows the final component; rel "" is -EISDIR). */
int resolve_unlink(int root, const char *rel);

/* mkdir(2) of rel (rel "" is -EEXIST). */
int resolve_mkdir(int root, const char *rel, unsigned mode);

/* Test hook: use the portable walk even where openat2 exists. */
extern bool resolve_force_walk;

#endif
