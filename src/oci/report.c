/* report.c: chyve-oci's error line, on stderr and in the engine's --log file (oci.h). */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "oci.h"

void oci_error(const struct oci_global *g, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "chyve-oci: error: %s\n", msg);
    if (!g || !g->log)
        return;
    FILE *f = fopen(g->log, "ae");
    if (!f)
        return;
    char when[40];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (g->log_json) {
        json_t *o = json_pack("{s:s,s:s,s:s}", "level", "error", "msg", msg, "time", when);
        char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (line)
            fprintf(f, "%s\n", line);
        free(line);
        json_decref(o);
    } else {
        fprintf(f, "time=\"%s\" level=error msg=\"%s\"\n", when, msg);
    }
    fclose(f);
}
