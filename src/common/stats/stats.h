/*
 * stats.h: what one run did, for --stats (a table on stderr) and --stats-file (YAML): wall time,
 * per-vCPU run time, exits by reason and hypercalls by kind.
 */
#ifndef CHYVE_STATS_H
#define CHYVE_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "backend.h"
#include "hypercall/hypercall.h"
#include "net/virtio_net.h"
#include "vm_config.h"

/* Room for every hypercall kind: the rows of the hypercall table, and one for anything else. */
#define STATS_HC_KINDS HC_KINDS_MAX

/* One vCPU's counters; written only by that vCPU's thread (no locking), read after it ended. */
struct stats_vcpu {
    _Alignas(64) uint64_t run_ns;    /* from entering to leaving the run loop */
    uint64_t exits[VCPU_STAT_COUNT]; /* exits the backend handled itself */
    uint64_t hypercalls[STATS_HC_KINDS];
    bool ran;
};

struct stats {
    unsigned ncpus;
    uint64_t t_start; /* monotonic ns: the run began (kernel not yet loaded) */
    uint64_t t_run;   /* the vCPU threads were started */
    uint64_t t_end;   /* every vCPU thread had ended */
    struct stats_vcpu cpu[VM_MAX_CPUS];
    bool has_net; /* --net: the device's counters below were taken at the end */
    struct net_stats net;
};

/* The network counters as the table prints them and as YAML keys them, in struct order. */
struct stats_net_name {
    const char *label;
    const char *key;
    size_t offset; /* of the uint64_t in struct net_stats */
};
extern const struct stats_net_name stats_net_names[];
extern const unsigned stats_net_count;
/* Counter i of stats_net_names. */
uint64_t stats_net_value(const struct stats *s, unsigned i);

/* The backend's exit reasons as the table prints them ("MMIO reads") and as YAML keys them. */
struct stats_exit_name {
    const char *label;
    const char *key;
};
extern const struct stats_exit_name stats_exit_names[VCPU_STAT_COUNT];

/* How the run ended. */
struct stats_outcome {
    bool failed;
    int exit_code;     /* when !failed */
    const char *error; /* when failed */
};

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t stats_now_ns(void);

/* A zeroed record for ncpus vCPUs with t_start = now; NULL (err_msg()) if out of memory. */
struct stats *stats_new(unsigned ncpus);
void stats_free(struct stats *s);

/* Counts one hypercall of vCPU cpu. Only on that vCPU's thread. */
void stats_hypercall(struct stats *s, unsigned cpu, uint64_t addr);

/*
 * vCPU cpu left its run loop, entered at start_ns: records its run time and the backend's exit
 * counters for v. On the vCPU's thread, before v is destroyed.
 */
void stats_vcpu_done(struct stats *s, unsigned cpu, struct backend_vcpu *v, uint64_t start_ns);

/* Prints the statistics as a table to f (chyve prints them on stderr). */
void stats_print(const struct stats *s, const struct stats_outcome *o, FILE *f);

/* Writes the same data as YAML to path. Returns 0, or -1 with err_msg(). */
int stats_write_yaml(const struct stats *s, const struct stats_outcome *o, const char *path);

/*
 * At the end of a run: prints the table on stderr if cfg->stats, writes cfg->stats_file if set
 * (a write error is logged; it does not change the run's result).
 */
void stats_report(const struct stats *s, const struct vm_config *cfg,
                  const struct stats_outcome *o);

#endif
