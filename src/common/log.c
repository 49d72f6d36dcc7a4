/* log.c: leveled diagnostics on stderr (see log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "err.h"
#include "log.h"

enum log_level log_threshold = LOG_WARN;

static const char *const level_names[] = {"error", "warning", "info", "debug", "trace"};

int log_set_level_name(const char *name)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    for (int i = 0; i <= LOG_TRACE; i++)
        if (strcasecmp(name, names[i]) == 0 ||
            (i == LOG_WARN && strcasecmp(name, level_names[i]) == 0)) {
            log_threshold = (enum log_level)i;
            return 0;
        }
    return err_set("unknown level '%s' (use error, warn, info, debug or trace)", name);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level > log_threshold)
        return;
    /* One fprintf per line so that concurrent vCPU threads do not interleave within a line. */
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "chyve: %s: %s\n", level_names[level], line);
}
