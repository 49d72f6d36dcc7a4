/* err.c: per-thread last error message for the core (see err.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static _Thread_local char err_buf[512];

int err_set(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
    va_end(ap);
    return -1;
}

int err_prefix(const char *fmt, ...)
{
    /* Formatted aside first: an argument may be err_msg() itself. */
    char prefix[sizeof(err_buf)];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    size_t plen = n < 0 ? 0 : (size_t)n;
    if (plen > sizeof(err_buf) - 1)
        plen = sizeof(err_buf) - 1;
    size_t mlen = strlen(err_buf);
    if (mlen > sizeof(err_buf) - 1 - plen)
        mlen = sizeof(err_buf) - 1 - plen;
    memmove(err_buf + plen, err_buf, mlen);
    memcpy(err_buf, prefix, plen);
    err_buf[plen + mlen] = '\0';
    return -1;
}

const char *err_msg(void)
{
    return err_buf;
}
