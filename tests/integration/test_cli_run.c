/*
 * test_cli_run.c: the run options with the real chyve binary and real guests: --stats and
 * --stats-file checked against what the guest did, -o FILE / -o none, configuration files whose
 * settings reach the guest, host tuning flags, logging, and the one-line errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/yaml_lookup.h"
#include "run.h"

/* Fails the test with what chyve did when cond is false. */
#define CHECK(r, cond, ...)                                                                        \
    cr_assert((cond), "%s\n--- status %d\n--- stdout:\n%s\n--- stderr:\n%s",                       \
              format_msg(__VA_ARGS__), (r)->status, (r)->out, (r)->err)

static char msg_buf[512];

static const char *format_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *format_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg_buf, sizeof(msg_buf), fmt, ap);
    va_end(ap);
    return msg_buf;
}

/* A fresh temporary directory for the test's files (removed by the suite's fini). */
static char *dir;

static void teardown(void)
{
    if (dir) {
        remove_tree(dir);
        free(dir);
        dir = NULL;
    }
}

TestSuite(cli_run, .fini = teardown);

/* dir/name (malloc'd), creating dir on first use. */
static char *tmp_path(const char *name)
{
    if (!dir) {
        dir = strdup("/tmp/chyve-integ-XXXXXX");
        cr_assert(dir && mkdtemp(dir));
    }
    char *p;
    cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

static char *write_tmp(const char *name, const char *text)
{
    char *p = tmp_path(name);
    FILE *f = fopen(p, "w");
    cr_assert(f && fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", p);
    return p;
}

/* The whole file at path (malloc'd, NUL-terminated), or NULL if it does not exist. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap * 2 + 4096;
            buf = realloc(buf, cap);
            cr_assert(buf);
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* A user error: status 2, nothing on stdout, exactly the line want on stderr. */
static void expect_usage_line(struct run *r, const char *want)
{
    CHECK(r, r->status == 2, "status %d, want 2", r->status);
    CHECK(r, r->out_len == 0, "stdout is not empty");
    CHECK(r, strcmp(r->err, want) == 0, "stderr is not exactly: %s", want);
}

/* ---- --stats and --stats-file against what the guest did ---------------------------------- */

/* "\n  LABEL  TOTAL  CPU0  CPU1 ..." as --stats prints it: cpu0 has first, the others each. */
static void table_row(char *buf, size_t cap, const char *label, long total, unsigned cpus,
                      long first, long each)
{
    int n = snprintf(buf, cap, "\n  %-30s %12ld %10ld", label, total, first);
    for (unsigned i = 1; i < cpus; i++)
        n += snprintf(buf + n, cap - (size_t)n, " %10ld", each);
    snprintf(buf + n, cap - (size_t)n, "\n");
}

/* Runs hcount with -c cpus and `-- bytes buffers ap_bytes`; checks the YAML and the table. */
static void check_hcount(unsigned cpus, long bytes, long buffers, long ap_bytes)
{
    require_kvm();
    struct run r;
    char *g = guest_path("hcount"), *yaml = tmp_path("stats.yaml");
    char ncpu[8], b[16], w[16], a[16];
    snprintf(ncpu, sizeof(ncpu), "%u", cpus);
    snprintf(b, sizeof(b), "%ld", bytes);
    snprintf(w, sizeof(w), "%ld", buffers);
    snprintf(a, sizeof(a), "%ld", ap_bytes);
    run_chyve(
        &r,
        (const char *[]){"--stats", "--stats-file", yaml, "-c", ncpu, g, "--", "--", b, w, a, NULL},
        NULL);
    CHECK(&r, r.status == 0, "status %d", r.status);
    long ap_total = ap_bytes * (long)(cpus - 1);
    CHECK(&r, r.out_len == (size_t)(ap_total + bytes + 7 * buffers), "stdout has %zu bytes",
          r.out_len);

    yaml_document_t doc;
    cr_assert(yaml_load_file(yaml, &doc), "%s is not YAML", yaml);
    cr_assert_str_eq(yaml_get(&doc, "result"), "exited");
    cr_assert_eq(yaml_num(&doc, "exit_code"), 0);
    cr_assert_eq(yaml_num(&doc, "vcpus"), cpus);
    long long wall = yaml_num(&doc, "wall_time_ns");
    cr_assert(wall > 0 && yaml_num(&doc, "setup_time_ns") < wall);
    /* absent kinds count 0: the guest made no other hypercalls */
    long long byte0 = bytes ? bytes : -1, buf0 = buffers ? buffers : -1;
    cr_assert_eq(yaml_num(&doc, "cpus/0/hypercalls/v1.SerialWriteByte"), byte0);
    cr_assert_eq(yaml_num(&doc, "cpus/0/hypercalls/v1.SerialWriteBuffer"), buf0);
    cr_assert_eq(yaml_num(&doc, "cpus/0/hypercalls/v1.Exit"), 1);
    cr_assert_eq(yaml_num(&doc, "cpus/0/exits/hypercall"), bytes + buffers + 1);
    yaml_node_t *h0 = yaml_node_at(&doc, "cpus/0/hypercalls");
    cr_assert_eq(h0->data.mapping.pairs.top - h0->data.mapping.pairs.start,
                 1 + (bytes > 0) + (buffers > 0));
    for (unsigned i = 1; i < cpus; i++) {
        char p[64];
        snprintf(p, sizeof(p), "cpus/%u/hypercalls/v1.SerialWriteByte", i);
        cr_assert_eq(yaml_num(&doc, p), ap_bytes ? ap_bytes : -1, "%s", p);
        snprintf(p, sizeof(p), "cpus/%u/exits/hypercall", i);
        cr_assert_eq(yaml_num(&doc, p), ap_bytes, "%s", p);
        snprintf(p, sizeof(p), "cpus/%u/run_time_ns", i);
        cr_assert(yaml_num(&doc, p) > 0 && yaml_num(&doc, p) <= wall, "%s", p);
    }
    cr_assert_eq(yaml_num(&doc, "total/exits/hypercall"), bytes + buffers + 1 + ap_total);
    cr_assert_eq(yaml_num(&doc, "total/hypercalls/v1.SerialWriteByte"),
                 bytes + ap_total ? bytes + ap_total : -1);
    yaml_document_delete(&doc);

    /* the same numbers in the table on stderr, which holds nothing else */
    CHECK(&r, strncmp(r.err, "chyve: run statistics\n  boot to exit: ", 38) == 0,
          "stderr does not start with the statistics");
    char line[256];
    table_row(line, sizeof(line), "    v1.Exit", 1, cpus, 1, 0);
    CHECK(&r, strstr(r.err, line), "no row '%s'", line + 1);
    table_row(line, sizeof(line), "  hypercalls", bytes + buffers + 1 + ap_total, cpus,
              bytes + buffers + 1, ap_bytes);
    CHECK(&r, strstr(r.err, line), "no row '%s'", line + 1);
    CHECK(&r, !strstr(r.err, "error") && !strstr(r.err, "warning"), "diagnostics on stderr");
    run_free(&r);
    free(g);
    free(yaml);
}

Test(cli_run, stats_one_cpu)
{
    check_hcount(1, 7, 3, 0);
}

Test(cli_run, stats_two_cpus)
{
    check_hcount(2, 5, 2, 4);
}

Test(cli_run, stats_only_exit)
{
    check_hcount(1, 0, 0, 0);
}

/* A VM failure still writes the statistics, with the error. */
Test(cli_run, stats_of_a_failed_run)
{
    require_kvm();
    struct run r;
    char *g = guest_path("badport"), *yaml = tmp_path("fail.yaml");
    run_chyve(&r, (const char *[]){"--stats-file", yaml, g, NULL}, NULL);
    CHECK(&r, r.status == 3, "status %d, want 3", r.status);
    yaml_document_t doc;
    cr_assert(yaml_load_file(yaml, &doc));
    cr_assert_str_eq(yaml_get(&doc, "result"), "failed");
    const char *e = yaml_get(&doc, "error");
    cr_assert(e && strstr(e, "0x9990"), "error: %s", e ? e : "(none)");
    CHECK(&r, strstr(r.err, e) != NULL, "stderr does not carry the same error");
    yaml_document_delete(&doc);
    run_free(&r);
    free(g);
    free(yaml);
}

/* ---- where the guest's output goes -------------------------------------------------------- */

Test(cli_run, output_file_holds_exactly_the_guest_output)
{
    require_kvm();
    struct run r;
    char *g = guest_path("hcount"), *out = tmp_path("guest.txt");
    run_chyve(&r, (const char *[]){"-o", out, "-c", "2", g, "--", "--", "3", "2", "1", NULL}, NULL);
    CHECK(&r, r.status == 0 && r.out_len == 0 && r.err_len == 0, "not a clean run");
    char *text = slurp(out);
    cr_assert(text, "%s was not created", out);
    cr_assert_str_eq(text, "abbbbuffer\nbuffer\n");
    struct stat st;
    cr_assert(stat(out, &st) == 0 && (st.st_mode & 0777) != 0);
    free(text);
    /* a second run must not overwrite it */
    run_free(&r);
    run_chyve(&r, (const char *[]){"--output", out, g, "--", "--", "9", "9", "9", NULL}, NULL);
    char want[512];
    snprintf(want, sizeof(want),
             "chyve: error: output file '%s' already exists (chyve does not overwrite it)\n", out);
    expect_usage_line(&r, want);
    text = slurp(out);
    cr_assert_str_eq(text, "abbbbuffer\nbuffer\n");
    free(text);
    run_free(&r);
    free(g);
    free(out);
}

Test(cli_run, output_none_discards)
{
    require_kvm();
    struct run r;
    char *g = guest_path("exitcode");
    run_chyve(&r, (const char *[]){"-o", "none", g, "--", "--", "7", NULL}, NULL);
    CHECK(&r, r.status == 7 && r.out_len == 0 && r.err_len == 0, "want status 7, no output");
    run_free(&r);
    run_chyve(&r, (const char *[]){"--output=None", g, "--", "--", "0", NULL}, NULL);
    CHECK(&r, r.status == 0 && r.out_len == 0 && r.err_len == 0, "want status 0, no output");
    cr_assert_neq(access("None", F_OK), 0, "a file 'None' was created");
    run_free(&r);
    free(g);
}

/* ---- configuration files reach the guest -------------------------------------------------- */

static const char fdt_want[] = "bootargs=kx env=FOO=from-file env=X='y z' -- app1 'app 2'\n"
                               "karg[0]=kx\n"
                               "argc=3\narg[0]=args_fdt\narg[1]=app1\narg[2]=app 2\n"
                               "envc=2\nenv FOO=from-file\nenv X=y z\n";

static void check_config_run(const char *name, const char *text)
{
    require_kvm();
    struct run r;
    char *g = guest_path("args_fdt"), *conf = write_tmp(name, text);
    run_chyve(&r, (const char *[]){"--config", conf, g, NULL}, NULL);
    CHECK(&r, r.status == 0 && strcmp(r.out, fdt_want) == 0 && r.err_len == 0, "want exactly:\n%s",
          fdt_want);
    run_free(&r);
    free(g);
    free(conf);
}

Test(cli_run, config_ini_env_and_args_reach_the_guest)
{
    check_config_run("c.ini", "[guest]\nenv_vars = FOO=from-file\nenv_vars = X=y z\n"
                              "kernel_args = kx\nkernel_args = --\nkernel_args = app1\n"
                              "kernel_args = app 2\n[memory]\nmemory_size = 32MiB\n");
}

Test(cli_run, config_yaml_env_and_args_reach_the_guest)
{
    check_config_run("c.yaml", "guest:\n  env_vars: [FOO=from-file, X=y z]\n"
                               "  kernel_args: [kx, \"--\", app1, app 2]\n"
                               "memory: {memory_size: 32MiB}\n");
}

/* The shipped example file, found through HERMIT_CONFIG: 2 vCPUs, stats, its environment. */
Test(cli_run, shipped_example_config)
{
    require_kvm();
    const char *ex = getenv("EXAMPLES_CONFIG");
    cr_assert(ex && *ex, "EXAMPLES_CONFIG is not set");
    char *var;
    cr_assert(asprintf(&var, "HERMIT_CONFIG=%s/chyve.yaml", ex) > 0);
    struct run r;
    char *g = guest_path("args_fdt");
    run_chyve(&r, (const char *[]){g, NULL}, (const char *[]){var, "PATH=/bin", NULL});
    const char *want_env = "envc=2\nenv GREETING=hello from a chyve config file\n"
                           "env RUST_LOG=info\n";
    CHECK(&r, r.status == 0 && strstr(r.out, want_env), "guest environment");
    CHECK(&r, strstr(r.err, "chyve: run statistics\n") && strstr(r.err, "cpu1"),
          "no statistics for 2 vCPUs on stderr");
    run_free(&r);
    free(g);
    free(var);
}

Test(cli_run, config_error_is_one_line)
{
    struct run r;
    char *g = guest_path("hello"), *conf = write_tmp("bad.ini", "[memory]\n\nfoo = 1\n");
    run_chyve(&r, (const char *[]){"--config", conf, g, NULL}, NULL);
    char want[512];
    snprintf(want, sizeof(want), "chyve: error: %s:3: key 'foo': unknown key in [memory]\n", conf);
    expect_usage_line(&r, want);
    run_free(&r);
    free(g);
    free(conf);
}

/* ---- host tuning, refused options, logging ------------------------------------------------- */

Test(cli_run, host_tuning_flags)
{
    require_kvm();
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
    int cpu = 0;
    while (!CPU_ISSET(cpu, &set))
        cpu++;
    char a[16];
    snprintf(a, sizeof(a), "%d", cpu);
    struct run r;
    char *g = guest_path("exitcode");
    run_chyve(
        &r,
        (const char *[]){"--thp", "--ksm", "--pit", "--cpu-pm", "-a", a, g, "--", "--", "5", NULL},
        NULL);
    /* hosts without these features say so in one line; that is all chyve can do there */
    if (r.status == 2 && (strstr(r.err, "--cpu-pm: this host's KVM cannot") ||
                          strstr(r.err, ": the host refused madvise on guest memory")))
        cr_skip_test("this host lacks a feature: %s", r.err);
    CHECK(&r, r.status == 5 && strcmp(r.out, "exiting with 5\n") == 0 && r.err_len == 0,
          "want a clean run with status 5");
    run_free(&r);
    free(g);
}

Test(cli_run, refused_options_are_one_line)
{
    struct run r;
    char *g = guest_path("hello");
    run_chyve(&r, (const char *[]){"--trace-dir", "t", g, NULL}, NULL);
    expect_usage_line(&r, "chyve: error: option '--trace-dir' is not supported: chyve has no "
                          "function tracing\n");
    run_free(&r);
    run_chyve(&r, (const char *[]){"--gdb-port=70000", g, NULL}, NULL);
    expect_usage_line(&r, "chyve: error: invalid GDB port '70000': expected a number from 1 to "
                          "65535\n");
    run_free(&r);
    run_chyve(&r, (const char *[]){"-a", "0-1", g, NULL}, NULL);
    expect_usage_line(&r, "chyve: error: affinity: 2 host CPUs for 1 vCPU: give exactly one per "
                          "vCPU\n");
    run_free(&r);
    free(g);
}

/* A debugger port someone else holds is one line and status 2, before the guest runs. */
Test(cli_run, gdb_port_in_use)
{
    require_kvm();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 1) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    char port[16], want[128];
    snprintf(port, sizeof(port), "%u", ntohs(a.sin_port));
    snprintf(want, sizeof(want),
             "chyve: error: --gdb-port: cannot listen on 127.0.0.1:%s: Address already in use\n",
             port);
    struct run r;
    char *g = guest_path("hello");
    run_chyve(&r, (const char *[]){"-s", port, g, NULL}, NULL);
    expect_usage_line(&r, want);
    run_free(&r);
    free(g);
    close(fd);
}

/* Diagnostics go to stderr and never into the guest's output. */
Test(cli_run, logging_stays_on_stderr)
{
    require_kvm();
    struct run r;
    char *g = guest_path("exitcode");
    run_chyve(&r, (const char *[]){g, "--", "--", "0", NULL},
              (const char *[]){"CHYVE_LOG=debug", "PATH=/bin", NULL});
    CHECK(&r, r.status == 0 && strcmp(r.out, "exiting with 0\n") == 0, "guest output");
    CHECK(&r, strstr(r.err, "chyve: info: kernel at 0x") && strstr(r.err, "chyve: debug: "),
          "no info and debug lines on stderr");
    for (const char *l = r.err; *l; l = strchr(l, '\n') + 1)
        CHECK(&r, !strncmp(l, "chyve: ", 7) && strchr(l, '\n'), "a stderr line without prefix");
    run_free(&r);
    run_chyve(&r, (const char *[]){"-v", g, "--", "--", "0", NULL}, NULL);
    CHECK(&r, strstr(r.err, "chyve: info: ") && !strstr(r.err, "chyve: debug: "), "-v is info");
    run_free(&r);
    free(g);
}
