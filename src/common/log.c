/* log.c: leveled diagnostics on stderr (see log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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

int log_set_rust_log(const char *filter)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    int best = -1;
    size_t end = strcspn(filter, "/");
    for (size_t at = 0; at < end;) {
        size_t n = strcspn(filter + at, ",/");
        const char *d = filter + at, *eq = memchr(d, '=', n);
        const char *lv = eq ? eq + 1 : d;
        size_t ln = eq ? n - (size_t)(eq + 1 - d) : n;
        int lvl = -1;
        if (ln == 3 && !strncasecmp(lv, "off", 3))
            lvl = LOG_ERROR;
        for (int i = 0; i <= LOG_TRACE && lvl < 0; i++)
            if (strlen(names[i]) == ln && !strncasecmp(lv, names[i], ln))
                lvl = i;
        if (lvl < 0 && eq)
            return err_set("unknown level '%.*s' in '%.*s' (use off, error, warn, info, debug or "
                           "trace)",
                           (int)ln, lv, (int)n, d);
        if (lvl < 0 && n > 0)
            lvl = LOG_TRACE; /* a bare target: everything it logs */
        if (lvl > best)
            best = lvl;
        at += n + (filter[at + n] == ',');
    }
    if (best >= 0)
        log_threshold = (enum log_level)best;
    return 0;
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
