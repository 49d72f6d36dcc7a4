/* stats_yaml.c: --stats-file: the run statistics as a YAML document (libyaml emitter). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "chyve_config.h"
#include "err.h"
#include "stats/stats.h"

/* The emitter and whether every event so far was accepted. */
struct out {
    yaml_emitter_t e;
    bool ok;
};

static void emit(struct out *o, yaml_event_t *ev, int made)
{
    if (!made || !yaml_emitter_emit(&o->e, ev))
        o->ok = false;
}

static void str(struct out *o, const char *s)
{
    yaml_event_t ev;
    emit(o, &ev,
         yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)s, (int)strlen(s), 1, 1,
                                      YAML_ANY_SCALAR_STYLE));
}

static void num(struct out *o, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof(b), "%" PRIu64, v);
    str(o, b);
}

static void map_begin(struct out *o)
{
    yaml_event_t ev;
    emit(o, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE));
}

static void map_end(struct out *o)
{
    yaml_event_t ev;
    emit(o, &ev, yaml_mapping_end_event_initialize(&ev));
}

/* key: number */
static void kv(struct out *o, const char *k, uint64_t v)
{
    str(o, k);
    num(o, v);
}

/* The counters of one vCPU, or of all added up (c == NULL): run time, exits, hypercalls. */
static void counters(struct out *o, const struct stats *s, const struct stats_vcpu *c)
{
    uint64_t run = 0, exits[VCPU_STAT_COUNT] = {0}, hc[STATS_HC_KINDS] = {0};
    for (unsigned i = 0; i < s->ncpus; i++) {
        const struct stats_vcpu *v = &s->cpu[i];
        if (c && v != c)
            continue;
        run += v->run_ns;
        for (unsigned e = 0; e < VCPU_STAT_COUNT; e++)
            exits[e] += v->exits[e];
        for (unsigned k = 0; k < hypercall_kinds(); k++)
            hc[k] += v->hypercalls[k];
    }
    uint64_t nhc = 0, nexits = 0;
    for (unsigned k = 0; k < hypercall_kinds(); k++)
        nhc += hc[k];
    for (unsigned e = 0; e < VCPU_STAT_COUNT; e++)
        nexits += exits[e];
    kv(o, "run_time_ns", run);
    str(o, "exits");
    map_begin(o);
    kv(o, "total", nexits + nhc);
    kv(o, "hypercall", nhc);
    for (unsigned e = 0; e < VCPU_STAT_COUNT; e++)
        kv(o, stats_exit_names[e].key, exits[e]);
    map_end(o);
    str(o, "hypercalls"); /* only the kinds that occurred: a missing kind means 0 */
    map_begin(o);
    for (unsigned k = 0; k < hypercall_kinds(); k++)
        if (hc[k])
            kv(o, hypercall_kind_label(k), hc[k]);
    map_end(o);
}

/* The whole document. */
static void document(struct out *o, const struct stats *s, const struct stats_outcome *r)
{
    yaml_event_t ev;
    emit(o, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
    emit(o, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
    map_begin(o);
    str(o, "chyve_version");
    str(o, CHYVE_VERSION);
    str(o, "result");
    str(o, r->failed ? "failed" : "exited");
    if (r->failed) {
        str(o, "error");
        str(o, r->error);
    } else {
        char code[16];
        snprintf(code, sizeof(code), "%d", r->exit_code);
        str(o, "exit_code");
        str(o, code);
    }
    kv(o, "vcpus", s->ncpus);
    kv(o, "wall_time_ns", s->t_end - s->t_start);
    kv(o, "setup_time_ns", s->t_run - s->t_start);
    str(o, "total");
    map_begin(o);
    counters(o, s, NULL);
    map_end(o);
    str(o, "cpus");
    emit(o, &ev,
         yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE));
    for (unsigned i = 0; i < s->ncpus; i++) {
        map_begin(o);
        kv(o, "id", i);
        counters(o, s, &s->cpu[i]);
        map_end(o);
    }
    emit(o, &ev, yaml_sequence_end_event_initialize(&ev));
    if (s->has_net) {
        str(o, "network");
        map_begin(o);
        for (unsigned i = 0; i < stats_net_count; i++)
            kv(o, stats_net_names[i].key, stats_net_value(s, i));
        map_end(o);
    }
    map_end(o);
    emit(o, &ev, yaml_document_end_event_initialize(&ev, 1));
    emit(o, &ev, yaml_stream_end_event_initialize(&ev));
}

int stats_write_yaml(const struct stats *s, const struct stats_outcome *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return err_set("cannot write statistics to '%s': %s", path, strerror(errno));
    struct out o = {.ok = true};
    if (!yaml_emitter_initialize(&o.e)) {
        fclose(f);
        return err_set("cannot start the YAML emitter");
    }
    yaml_emitter_set_output_file(&o.e, f);
    yaml_emitter_set_unicode(&o.e, 1);
    document(&o, s, r);
    if (o.ok && !yaml_emitter_flush(&o.e))
        o.ok = false;
    yaml_emitter_delete(&o.e);
    bool closed = fclose(f) == 0;
    if (!o.ok || !closed)
        return err_set("cannot write statistics to '%s': %s", path,
                       !o.ok ? "YAML emitter error" : strerror(errno));
    return 0;
}
