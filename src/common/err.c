/* err.c: per-thread last error message for the core (see err.h). */
#include <stdarg.h>
#include <stdio.h>

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

const char *err_msg(void)
{
    return err_buf;
}
