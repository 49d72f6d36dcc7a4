/* bootargs.h: /chosen/bootargs: kernel args, env=K=V words, "--", app args (ABI §7.3). */
#ifndef CHYVE_BOOTARGS_H
#define CHYVE_BOOTARGS_H

#include <stddef.h>

/*
 * Builds bootargs from args[0, nargs) (everything after the kernel path; the first "--" separates
 * kernel from application arguments) and env[0, nenv) ("KEY=VALUE" strings). Kernel arguments and
 * env words come first, env keys and values shell-quoted; application arguments follow " -- " and
 * are shell-quoted too (chyve does not copy uhyve's unquoted app args, docs/decisions.md).
 * Returns a malloc'd string (caller frees), or NULL with err_msg() set.
 */
char *bootargs_build(const char *const *args, size_t nargs, const char *const *env, size_t nenv);

/*
 * shell-words 1.x style quoting: "" -> "''"; a string free of shell-special characters unchanged;
 * otherwise wrapped in single quotes with each ' written as '\''. Returns malloc'd or NULL.
 */
char *bootargs_quote(const char *s);

#endif
