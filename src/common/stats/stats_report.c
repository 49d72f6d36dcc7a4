/* stats_report.c: the end of a run's statistics: the table on stderr, the YAML file, or both. */
#include <stdio.h>

#include "err.h"
#include "log.h"
#include "stats/stats.h"

void stats_report(const struct stats *s, const struct vm_config *cfg, const struct stats_outcome *o)
{
    if (cfg->stats) {
        stats_print(s, o, stderr);
        fflush(stderr);
    }
    if (cfg->stats_file && stats_write_yaml(s, o, cfg->stats_file) != 0)
        log_error("%s", err_msg());
}
