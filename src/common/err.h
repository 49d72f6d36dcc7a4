/* err.h: how the core reports errors: record one message, return failure; main.c prints it. */
#ifndef CHYVE_ERR_H
#define CHYVE_ERR_H

/*
 * Records a printf-style message for the calling thread (replacing any earlier one) and
 * returns -1, so that callers can write `return err_set("bad thing %d", x);`.
 */
int err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The calling thread's last recorded message ("" if none). Valid until the next err_set(). */
const char *err_msg(void);

#endif
