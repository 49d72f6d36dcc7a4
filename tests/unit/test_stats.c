/*
 * test_stats.c: the run statistics: hypercall kinds, per-vCPU counting, the table and the YAML
 * file, which is parsed back with libyaml.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "chyve_config.h"
#include "err.h"
#include "fake_backend.h"
#include "hypercall/hypercall.h"
#include "stats/stats.h"
#include "yaml_lookup.h"

static struct stats *s;

static void teardown(void)
{
    stats_free(s);
    s = NULL;
}

TestSuite(stats, .fini = teardown);

/* A record of a two-vCPU run with known counts and times. */
static void make_run(void)
{
    s = stats_new(2);
    cr_assert(s);
    s->t_start = 1000000000;
    s->t_run = s->t_start + 2500000;  /* setup 2.5 ms */
    s->t_end = s->t_start + 12345678; /* boot to exit 12.345678 ms */
    for (int i = 0; i < 5; i++)
        stats_hypercall(s, 0, UHYVE_V1_SERIAL_BYTE);
    for (int i = 0; i < 3; i++)
        stats_hypercall(s, 0, UHYVE_V1_SERIAL_BUFFER);
    stats_hypercall(s, 0, UHYVE_V1_EXIT);
    for (int i = 0; i < 4; i++)
        stats_hypercall(s, 1, UHYVE_V2_SERIAL_BYTE);
    stats_hypercall(s, 1, 0x9990); /* not a hypercall */
    stats_vcpu_done(s, 0, fake_vcpu, stats_now_ns());
    stats_vcpu_done(s, 1, fake_vcpu, stats_now_ns());
    s->cpu[0].run_ns = 10000000;
    s->cpu[1].run_ns = 2500000;
    s->cpu[1].exits[VCPU_STAT_IO_IN] = 7;
    s->cpu[0].exits[VCPU_STAT_EMULATED] = 2;
}

Test(stats, hypercall_kinds)
{
    cr_assert_str_eq(hypercall_kind_label(hypercall_kind(UHYVE_V1_FILE_WRITE)), "v1.FileWrite");
    cr_assert_str_eq(hypercall_kind_label(hypercall_kind(UHYVE_V1_SERIAL_BUFFER)),
                     "v1.SerialWriteBuffer");
    cr_assert_str_eq(hypercall_kind_label(hypercall_kind(UHYVE_V2_SERIAL_BUFFER)),
                     "v2.SerialWriteBuffer");
    cr_assert_str_eq(hypercall_kind_label(hypercall_kind(UHYVE_V2_MKDIR)), "v2.Mkdir");
    cr_assert_str_eq(hypercall_kind_label(hypercall_kind(0x1040)), "other");
    cr_assert_str_eq(hypercall_kind_label(hypercall_kind(UINT64_MAX)), "other");
    /* every kind has its own name */
    for (unsigned a = 0; a < hypercall_kinds(); a++)
        for (unsigned b = a + 1; b < hypercall_kinds(); b++)
            cr_assert_str_neq(hypercall_kind_label(a), hypercall_kind_label(b));
}

Test(stats, counts_per_vcpu)
{
    make_run();
    cr_assert_eq(s->ncpus, 2);
    cr_assert_eq(s->cpu[0].hypercalls[hypercall_kind(UHYVE_V1_SERIAL_BYTE)], 5);
    cr_assert_eq(s->cpu[0].hypercalls[hypercall_kind(UHYVE_V1_EXIT)], 1);
    cr_assert_eq(s->cpu[1].hypercalls[hypercall_kind(UHYVE_V1_SERIAL_BYTE)], 0);
    cr_assert_eq(s->cpu[1].hypercalls[hypercall_kind(UHYVE_V2_SERIAL_BYTE)], 4);
    cr_assert_eq(s->cpu[1].hypercalls[hypercall_kinds() - 1], 1);
    cr_assert(s->cpu[0].ran && s->cpu[1].ran && !s->cpu[2].ran);
    stats_hypercall(s, 2, UHYVE_V1_EXIT); /* a vCPU the run does not have: ignored */
    cr_assert_eq(s->cpu[2].hypercalls[hypercall_kind(UHYVE_V1_EXIT)], 0);
}

Test(stats, table)
{
    make_run();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    stats_print(s, &(struct stats_outcome){false, 3, NULL}, f);
    fclose(f);
    const char *want = "chyve: run statistics\n"
                       "  boot to exit: 12.346 ms (setup 2.500 ms), guest exit code 3\n"
                       "                                        total       cpu0       cpu1\n"
                       "  run time (ms)                        12.500     10.000      2.500\n"
                       "  exits                                    23         11         12\n"
                       "    hypercalls                             14          9          5\n"
                       "      v1.Exit                               1          1          0\n"
                       "      v1.SerialWriteByte                    5          5          0\n"
                       "      v1.SerialWriteBuffer                  3          3          0\n"
                       "      v2.SerialWriteByte                    4          0          4\n"
                       "      other                                 1          0          1\n"
                       "    port reads (PCI)                        7          0          7\n"
                       "    emulated instructions                   2          2          0\n";
    cr_assert_str_eq(buf, want);
    free(buf);
}

Test(stats, table_of_a_failed_run)
{
    make_run();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    stats_print(s, &(struct stats_outcome){true, 0, "guest triple fault"}, f);
    fclose(f);
    cr_assert(strstr(buf, "(setup 2.500 ms), VM failed: guest triple fault\n"), "%s", buf);
    free(buf);
}

/* ---- YAML, parsed back ---------------------------------------------------------------------- */

/* Writes the statistics of make_run() with outcome o and loads the file back into doc. */
static void write_and_load(const struct stats_outcome *o, yaml_document_t *doc)
{
    char path[] = "/tmp/chyve-stats-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(stats_write_yaml(s, o, path), 0, "%s", err_msg());
    cr_assert(yaml_load_file(path, doc), "%s is not a YAML document", path);
    unlink(path);
}

Test(stats, yaml_file)
{
    make_run();
    yaml_document_t doc;
    write_and_load(&(struct stats_outcome){false, -1, NULL}, &doc);
    static const struct {
        const char *path;
        long long v;
    } want[] = {
        {"exit_code", -1},
        {"vcpus", 2},
        {"wall_time_ns", 12345678},
        {"setup_time_ns", 2500000},
        {"total/run_time_ns", 12500000},
        {"total/exits/total", 23},
        {"total/exits/hypercall", 14},
        {"total/exits/io_in", 7},
        {"total/exits/emulated", 2},
        {"total/exits/mmio_read", 0},
        {"total/hypercalls/v1.SerialWriteByte", 5},
        {"total/hypercalls/v1.SerialWriteBuffer", 3},
        {"total/hypercalls/v1.Exit", 1},
        {"total/hypercalls/v2.SerialWriteByte", 4},
        {"total/hypercalls/other", 1},
        {"cpus/0/id", 0},
        {"cpus/0/run_time_ns", 10000000},
        {"cpus/0/exits/total", 11},
        {"cpus/0/hypercalls/v1.SerialWriteByte", 5},
        {"cpus/1/id", 1},
        {"cpus/1/exits/io_in", 7},
        {"cpus/1/hypercalls/v2.SerialWriteByte", 4},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert_eq(yaml_num(&doc, want[i].path), want[i].v, "%s = %lld, want %lld", want[i].path,
                     yaml_num(&doc, want[i].path), want[i].v);
    cr_assert_str_eq(yaml_get(&doc, "result"), "exited");
    cr_assert_str_eq(yaml_get(&doc, "chyve_version"), CHYVE_VERSION);
    /* kinds that did not occur are left out, per vCPU too */
    yaml_node_t *hc1 = yaml_node_at(&doc, "cpus/1/hypercalls");
    cr_assert(hc1 && hc1->type == YAML_MAPPING_NODE);
    cr_assert_eq(hc1->data.mapping.pairs.top - hc1->data.mapping.pairs.start, 2);
    cr_assert_null(yaml_node_at(&doc, "total/hypercalls/v1.FileWrite"));
    cr_assert_null(yaml_node_at(&doc, "cpus/2"));
    yaml_document_delete(&doc);
}

Test(stats, yaml_of_a_failed_run)
{
    make_run();
    yaml_document_t doc;
    write_and_load(&(struct stats_outcome){true, 0, "vCPU 0: it: broke"}, &doc);
    cr_assert_str_eq(yaml_get(&doc, "result"), "failed");
    cr_assert_str_eq(yaml_get(&doc, "error"), "vCPU 0: it: broke");
    cr_assert_null(yaml_node_at(&doc, "exit_code"));
    yaml_document_delete(&doc);
}

Test(stats, yaml_file_that_cannot_be_written)
{
    make_run();
    cr_assert_eq(stats_write_yaml(s, &(struct stats_outcome){false, 0, NULL}, "/nonexistent/s.y"),
                 -1);
    cr_assert_str_eq(err_msg(),
                     "cannot write statistics to '/nonexistent/s.y': No such file or directory");
}

/* ---- network counters ----------------------------------------------------------------------- */

Test(stats, network_counters)
{
    make_run();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    stats_print(s, &(struct stats_outcome){false, 0, NULL}, f);
    fclose(f);
    cr_assert_null(strstr(buf, "network"), "no --net, no network rows");
    free(buf);
    s->has_net = true;
    s->net = (struct net_stats){.rx_packets = 10,
                                .rx_bytes = 1000,
                                .tx_packets = 7,
                                .tx_bytes = 700,
                                .rx_drop_not_ready = 2,
                                .tx_drop_bad = 1};
    f = open_memstream(&buf, &len);
    stats_print(s, &(struct stats_outcome){false, 0, NULL}, f);
    fclose(f);
    cr_assert(strstr(buf, "  network (guest view: received = host to guest)\n"
                          "    packets received                       10\n"
                          "    bytes received                       1000\n"
                          "    packets sent                            7\n"
                          "    bytes sent                            700\n"
                          "    dropped: no RX buffer fits              0\n"
                          "    dropped: driver not ready               2\n"
                          "    dropped: malformed TX                   1\n"),
              "%s", buf);
    free(buf);
    yaml_document_t doc;
    write_and_load(&(struct stats_outcome){false, 0, NULL}, &doc);
    cr_assert_eq(yaml_num(&doc, "network/rx_packets"), 10);
    cr_assert_eq(yaml_num(&doc, "network/tx_bytes"), 700);
    cr_assert_eq(yaml_num(&doc, "network/rx_drop_not_ready"), 2);
    cr_assert_eq(yaml_num(&doc, "network/tx_drop_host"), 0);
    yaml_document_delete(&doc);
}
