/* err.h: how the core reports errors: record one message, return failure; main.c prints it. */
#ifndef CHYVE_ERR_H
#define CHYVE_ERR_H

/*
 * Records a printf-style message for the calling thread (replacing any earlier one) and
 * returns -1, so that callers can write `return err_set("bad thing %d", x);`.
 */
int err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Prepends a printf-style prefix to the calling thread's recorded message ("bad header" becomes
 * "image 'x': bad header" after err_prefix("image '%s': ", "x")), truncated like err_set(), and
 * returns -1. The arguments may point into err_msg() itself.
 */
int err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The calling thread's last recorded message ("" if none). Valid until the next err_set(). */
const char *err_msg(void);

#endif
