/* stats.c: counting what a run does, per vCPU and without locks, and printing it as a table. */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "hypercall/hypercall.h"
#include "stats/stats.h"

uint64_t stats_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct stats *stats_new(unsigned ncpus)
{
    struct stats *s = calloc(1, sizeof(*s));
    if (!s) {
        err_set("out of memory for statistics");
        return NULL;
    }
    s->ncpus = ncpus > VM_MAX_CPUS ? VM_MAX_CPUS : ncpus;
    s->t_start = stats_now_ns();
    return s;
}

void stats_free(struct stats *s)
{
    free(s);
}

void stats_hypercall(struct stats *s, unsigned cpu, uint64_t addr)
{
    if (cpu < s->ncpus)
        s->cpu[cpu].hypercalls[hypercall_kind(addr)]++;
}

void stats_vcpu_done(struct stats *s, unsigned cpu, struct backend_vcpu *v, uint64_t start_ns)
{
    if (cpu >= s->ncpus)
        return;
    struct stats_vcpu *c = &s->cpu[cpu];
    c->run_ns = stats_now_ns() - start_ns;
    backend_vcpu_stats(v, c->exits);
    c->ran = true;
}

const struct stats_exit_name stats_exit_names[VCPU_STAT_COUNT] = {
    [VCPU_STAT_IO_IN] = {"port reads (PCI)", "io_in"},
    [VCPU_STAT_IO_OUT] = {"port writes", "io_out"},
    [VCPU_STAT_MMIO_READ] = {"MMIO reads", "mmio_read"},
    [VCPU_STAT_MMIO_WRITE] = {"MMIO writes", "mmio_write"},
    [VCPU_STAT_HLT] = {"HLT", "hlt"},
    [VCPU_STAT_EMULATED] = {"emulated instructions", "emulated"},
    [VCPU_STAT_OTHER] = {"other exits", "other"},
};

/* Which counter a table row shows. */
enum row_kind { ROW_EXITS, ROW_HYPERCALLS, ROW_HC, ROW_EXIT };

static uint64_t hc_sum(const struct stats_vcpu *c)
{
    uint64_t n = 0;
    for (unsigned k = 0; k < hypercall_kinds(); k++)
        n += c->hypercalls[k];
    return n;
}

static uint64_t cell(const struct stats_vcpu *c, enum row_kind kind, unsigned i)
{
    uint64_t n = 0;
    switch (kind) {
    case ROW_EXITS:
        for (unsigned e = 0; e < VCPU_STAT_COUNT; e++)
            n += c->exits[e];
        return n + hc_sum(c);
    case ROW_HYPERCALLS:
        return hc_sum(c);
    case ROW_HC:
        return c->hypercalls[i];
    case ROW_EXIT:
        return c->exits[i];
    }
    return 0;
}

/* One row: label, total, one column per vCPU; rows of kind ROW_HC/ROW_EXIT only if non-zero. */
static void row(const struct stats *s, FILE *f, const char *label, enum row_kind kind, unsigned i)
{
    uint64_t total = 0;
    for (unsigned c = 0; c < s->ncpus; c++)
        total += cell(&s->cpu[c], kind, i);
    if (total == 0 && (kind == ROW_HC || kind == ROW_EXIT))
        return;
    fprintf(f, "  %-30s %12llu", label, (unsigned long long)total);
    for (unsigned c = 0; c < s->ncpus; c++)
        fprintf(f, " %10llu", (unsigned long long)cell(&s->cpu[c], kind, i));
    fputc('\n', f);
}

#define NET_ROW(label, field)                                                                      \
    {                                                                                              \
        label, #field, offsetof(struct net_stats, field)                                           \
    }
const struct stats_net_name stats_net_names[] = {
    NET_ROW("packets received", rx_packets),
    NET_ROW("bytes received", rx_bytes),
    NET_ROW("packets sent", tx_packets),
    NET_ROW("bytes sent", tx_bytes),
    NET_ROW("dropped: no RX buffer fits", rx_drop_no_buffer),
    NET_ROW("dropped: driver not ready", rx_drop_not_ready),
    NET_ROW("dropped: malformed TX", tx_drop_bad),
    NET_ROW("dropped: host refused TX", tx_drop_host),
};
const unsigned stats_net_count = sizeof(stats_net_names) / sizeof(stats_net_names[0]);

uint64_t stats_net_value(const struct stats *s, unsigned i)
{
    uint64_t v;
    memcpy(&v, (const char *)&s->net + stats_net_names[i].offset, sizeof(v));
    return v;
}

void stats_print(const struct stats *s, const struct stats_outcome *o, FILE *f)
{
    fprintf(f, "chyve: run statistics\n");
    fprintf(f, "  boot to exit: %.3f ms (setup %.3f ms), ", (double)(s->t_end - s->t_start) / 1e6,
            (double)(s->t_run - s->t_start) / 1e6);
    if (o->failed)
        fprintf(f, "VM failed: %s\n", o->error);
    else
        fprintf(f, "guest exit code %d\n", o->exit_code);
    fprintf(f, "  %-30s %12s", "", "total");
    for (unsigned c = 0; c < s->ncpus; c++) {
        char name[16];
        snprintf(name, sizeof(name), "cpu%u", c);
        fprintf(f, " %10s", name);
    }
    fputc('\n', f);
    uint64_t total_ns = 0;
    for (unsigned c = 0; c < s->ncpus; c++)
        total_ns += s->cpu[c].run_ns;
    fprintf(f, "  %-30s %12.3f", "run time (ms)", (double)total_ns / 1e6);
    for (unsigned c = 0; c < s->ncpus; c++)
        fprintf(f, " %10.3f", (double)s->cpu[c].run_ns / 1e6);
    fputc('\n', f);
    row(s, f, "exits", ROW_EXITS, 0);
    row(s, f, "  hypercalls", ROW_HYPERCALLS, 0);
    for (unsigned k = 0; k < hypercall_kinds(); k++) {
        char label[40];
        snprintf(label, sizeof(label), "    %s", hypercall_kind_label(k));
        row(s, f, label, ROW_HC, k);
    }
    for (unsigned e = 0; e < VCPU_STAT_COUNT; e++) {
        char label[40];
        snprintf(label, sizeof(label), "  %s", stats_exit_names[e].label);
        row(s, f, label, ROW_EXIT, e);
    }
    if (s->has_net) {
        fprintf(f, "  network (guest view: received = host to guest)\n");
        for (unsigned i = 0; i < stats_net_count; i++)
            fprintf(f, "    %-28s %12" PRIu64 "\n", stats_net_names[i].label,
                    stats_net_value(s, i));
    }
}
