/*
 * test_options.c: the run, memory and CPU options of ABI §9.1 on the command line: every value
 * syntax (good and bad), refused options, --affinity, and the files cli_open_output() creates.
 */
#include "cli_test.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include "config/affinity.h"

TestSuite(options, .fini = cli_teardown);

/* Parses "chyve <opt> <val> k" (val NULL: just the option). */
static int parse1(const char *opt, const char *val)
{
    const char *argv[] = {"chyve", opt, val, "k"};
    if (!val) {
        argv[2] = "k";
        return parse(3, argv, no_env);
    }
    return parse(4, argv, no_env);
}

static void expect1_error(const char *opt, const char *val, const char *msg)
{
    cr_assert_eq(parse1(opt, val), -1, "%s %s accepted, expected: %s", opt, val ? val : "", msg);
    cr_assert_str_eq(err_msg(), msg);
}

Test(options, flags)
{
    const char *argv[] = {"chyve", "--stats",  "--thp",     "--ksm",
                          "--pit", "--cpu-pm", "--no-aslr", "k"};
    expect_ok(N(argv), argv, no_env);
    cr_assert(c->cfg.stats && c->cfg.thp && c->cfg.ksm && c->cfg.pit && c->cfg.cpu_pm);
    cr_assert_not(c->cfg.aslr);
    cr_assert_eq(c->src[OPT_THP], OPT_SRC_CLI);
    static const char *const flags[] = {"--stats", "--thp", "--ksm", "--pit", "--cpu-pm"};
    for (size_t i = 0; i < 5; i++) {
        char opt[32], msg[64];
        snprintf(opt, sizeof(opt), "%s=1", flags[i]);
        snprintf(msg, sizeof(msg), "option '%s' takes no value", flags[i]);
        expect1_error(opt, NULL, msg);
    }
}

Test(options, output_and_paths)
{
    const char *argv[] = {"chyve", "-o", "out.txt", "--stats-file", "s.yaml", "--tempdir=/var/tmp",
                          "k"};
    expect_ok(N(argv), argv, no_env);
    cr_assert_str_eq(c->output, "out.txt");
    cr_assert_str_eq(c->cfg.stats_file, "s.yaml");
    cr_assert_str_eq(c->cfg.tempdir, "/var/tmp");
    cr_assert_eq(c->cfg.out_fd, STDOUT_FILENO); /* opened only by cli_open_output() */
    cr_assert_eq(parse1("-onone", NULL), 0, "%s", err_msg());
    cr_assert_str_eq(c->output, "none");
    expect1_error("--output=", NULL, "expected a path, got an empty value");
    expect1_error("--tempdir", "", "expected a path, got an empty value");
    expect1_error("--stats-file", "", "expected a path, got an empty value");
    const char *missing[] = {"chyve", "k", "-o"}; /* after the kernel an option still */
    expect_error(N(missing), missing, no_env, "option '-o' needs a value");
    const char *guest[] = {"chyve", "k", "--", "-o"}; /* after "--": the guest's */
    expect_ok(N(guest), guest, no_env);
    cr_assert_null(c->output);
    cr_assert_eq(c->cfg.nargs, 1);
    cr_assert_str_eq(c->cfg.args[0], "-o");
    const char *end[] = {"chyve", "-o"};
    expect_error(N(end), end, no_env, "option '-o' needs a value");
}

Test(options, file_mappings)
{
    const char *argv[] = {"chyve", "--file-mapping", "./data:/data",
                          "--file-mapping=notes.txt:/root/notes.txt", "k"};
    expect_ok(N(argv), argv, no_env);
    cr_assert_eq(c->cfg.nfile_maps, 2);
    cr_assert_str_eq(c->cfg.file_maps[0], "./data:/data");
    cr_assert_str_eq(c->cfg.file_maps[1], "notes.txt:/root/notes.txt");
    static const char *const bad[] = {"nocolon", ":/guest", "host:", ":", "host::ro"};
    for (size_t i = 0; i < 5; i++) {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "invalid file mapping '%s': expected HOST:GUEST or HOST:GUEST:ro", bad[i]);
        expect1_error("--file-mapping", bad[i], msg);
    }
}

/* The third part is the mode: ro or rw (the default), nothing else (uhyve ignores it). */
Test(options, file_mapping_modes)
{
    const char *argv[] = {"chyve",          "--file-mapping", "./data:/data:ro",
                          "--file-mapping", "out:/out:rw",    "k"};
    expect_ok(N(argv), argv, no_env);
    cr_assert_eq(c->cfg.nfile_maps, 2);
    cr_assert_str_eq(c->cfg.file_maps[0], "./data:/data:ro");
    cr_assert_str_eq(c->cfg.file_maps[1], "out:/out:rw");
    expect1_error("--file-mapping", "d:/d:RO",
                  "invalid file mapping 'd:/d:RO': unknown mode 'RO' (expected ro or rw)");
    expect1_error("--file-mapping", "d:/d:readonly",
                  "invalid file mapping 'd:/d:readonly': unknown mode 'readonly' (expected ro or "
                  "rw)");
    expect1_error("--file-mapping", "d:/d:ro:x",
                  "invalid file mapping 'd:/d:ro:x': unknown mode 'ro:x' (expected ro or rw)");
    expect1_error("--file-mapping", "d:/d:",
                  "invalid file mapping 'd:/d:': empty mode after GUEST (expected ro or rw)");
}

Test(options, file_isolation)
{
    static const struct {
        const char *s;
        enum vm_isolation v;
    } good[] = {{"normal", VM_ISOLATION_NORMAL},
                {"none", VM_ISOLATION_NONE},
                {"strict", VM_ISOLATION_STRICT},
                {"Strict", VM_ISOLATION_STRICT},
                {"NONE", VM_ISOLATION_NONE}};
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(parse1("--file-isolation", good[i].s), 0, "%s: %s", good[i].s, err_msg());
        cr_assert_eq(c->cfg.isolation, good[i].v, "%s", good[i].s);
    }
    expect1_error("--file-isolation", "paranoid",
                  "invalid file isolation 'paranoid': expected normal, none or strict");
    expect1_error("--file-isolation", "",
                  "invalid file isolation '': expected normal, none or strict");
}

Test(options, io_mode)
{
    static const struct {
        const char *s;
        bool direct, sync;
    } good[] = {{"host=direct", true, false},
                {"host=sync", false, true},
                {"host=direct,sync", true, true},
                {"host=sync,direct", true, true},
                {"default", false, false}, /* uhyve's --help spelling of the default */
                {"DEFAULT", false, false},
                {"Host=Direct,SYNC", true, true}}; /* uhyve lowercases the value */
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        cr_assert_eq(parse1("--io-mode", good[i].s), 0, "%s: %s", good[i].s, err_msg());
        cr_assert_eq(c->cfg.io_direct, good[i].direct, "%s", good[i].s);
        cr_assert_eq(c->cfg.io_sync, good[i].sync, "%s", good[i].s);
    }
    static const char *const bad[] = {
        "direct",         "host=",      "host=fast",         "host=direct,",
        "host=sync,sync", "guest=sync", "host=direct,,sync", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "invalid io mode '%s': expected default, host=direct, host=sync or "
                 "host=direct,sync",
                 bad[i]);
        expect1_error("--io-mode", bad[i], msg);
    }
    /* uhyve's help names these, but its parser reads them as default */
    expect1_error("--io-mode", "hostdirect",
                  "invalid io mode 'hostdirect': write host=direct (uhyve reads 'hostdirect' as "
                  "default)");
    expect1_error("--io-mode", "hostdirectsync",
                  "invalid io mode 'hostdirectsync': write host=direct,sync (uhyve reads "
                  "'hostdirectsync' as default)");
}

Test(options, run_directory_limits)
{
    cr_assert_eq(parse1("--io-mode", "default"), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.tempdir_max_size, VM_TEMPDIR_MAX_SIZE); /* the defaults */
    cr_assert_eq(c->cfg.tempdir_max_files, VM_TEMPDIR_MAX_FILES);
    cr_assert_eq(c->cfg.tempdir_max_depth, VM_TEMPDIR_MAX_DEPTH);
    const char *argv[] = {"chyve",
                          "--tempdir-max-size",
                          "10MiB",
                          "--tempdir-max-files=7",
                          "--tempdir-max-depth",
                          "2048",
                          "k"};
    expect_ok(N(argv), argv, no_env);
    cr_assert_eq(c->cfg.tempdir_max_size, 10 << 20);
    cr_assert_eq(c->cfg.tempdir_max_files, 7);
    cr_assert_eq(c->cfg.tempdir_max_depth, 2048);
    expect1_error("--tempdir-max-size", "1KiB",
                  "invalid --tempdir-max-size '1KiB': expected a size of at least 4KiB, such as "
                  "1GiB");
    expect1_error("--tempdir-max-size", "lots",
                  "invalid --tempdir-max-size 'lots': expected a size of at least 4KiB, such as "
                  "1GiB");
    expect1_error("--tempdir-max-files", "0",
                  "invalid --tempdir-max-files '0': expected a number from 1 to 100000000");
    expect1_error("--tempdir-max-files", "-1",
                  "invalid --tempdir-max-files '-1': expected a number from 1 to 100000000");
    expect1_error("--tempdir-max-depth", "2049",
                  "invalid --tempdir-max-depth '2049': expected a number from 1 to 2048");
}

/* ---- networking ----------------------------------------------------------------------------- */

Test(options, net)
{
    cr_assert_eq(parse1("--net", "tap:tap0"), 0, "%s", err_msg());
    cr_assert_str_eq(c->cfg.net, "tap:tap0");
    cli_teardown();
    cr_assert_eq(parse1("-ntap", NULL), 0, "%s", err_msg());
    cr_assert_str_eq(c->cfg.net, "tap");
    cli_teardown();
    cr_assert_eq(parse1("--net", "user,hostfwd=tcp:127.0.0.1:8080-:80"), 0, "%s", err_msg());
    cli_teardown();
    cr_assert_eq(parse1("--mac", "02:00:0a:00:05:03"), 0, "%s", err_msg());
    cr_assert_str_eq(c->cfg.mac, "02:00:0a:00:05:03");
    cli_teardown();
    expect1_error("--net", "vde",
                  "--net: unknown network 'vde'; use tap, tap:NAME or user[,hostfwd=...]");
    cli_teardown();
    expect1_error("--net", "tap:", "--net tap:: '' is not a network interface name");
    cli_teardown();
    expect1_error("--net", "user,hostfwd=tcp::0-:80",
                  "--net: bad rule 'hostfwd=tcp::0-:80'; expected "
                  "hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT");
    cli_teardown();
    expect1_error("--net", "user,restrict=yes",
                  "--net: unknown user-mode option 'restrict=yes' (known: hostfwd=, "
                  "restrict=on|off)");
    cli_teardown();
    expect1_error("--mac", "01:00:00:00:00:01",
                  "--mac: '01:00:00:00:00:01' is not a unicast MAC address like "
                  "02:00:00:00:00:01");
    cli_teardown();
    expect1_error("--mac", "02:00:00:00:00",
                  "--mac: '02:00:00:00:00' is not a unicast MAC address like 02:00:00:00:00:01");
}

/* ---- the debugger's port: an optional value, as in uhyve ------------------------------------ */

/* Parses argv (kernel last unless told) and checks the port and the kernel path. */
static void expect_port(int n, const char *const *argv, const char *const *envp, unsigned port,
                        const char *kernel)
{
    expect_ok(n, argv, envp);
    cr_assert_eq(c->cfg.gdb_port, port, "%s %s", argv[1], n > 2 ? argv[2] : "");
    cr_assert_str_eq(c->cfg.kernel_path, kernel);
    cli_teardown();
}

Test(options, gdb_port)
{
    const char *a1[] = {"chyve", "-s", "k"};
    expect_port(N(a1), a1, no_env, 6677, "k");
    const char *a2[] = {"chyve", "-s", "1234", "k"};
    expect_port(N(a2), a2, no_env, 1234, "k");
    const char *a3[] = {"chyve", "-s4321", "k"};
    expect_port(N(a3), a3, no_env, 4321, "k");
    const char *a4[] = {"chyve", "--gdb-port", "k"};
    expect_port(N(a4), a4, no_env, 6677, "k");
    const char *a5[] = {"chyve", "--gdb-port", "65535", "k"};
    expect_port(N(a5), a5, no_env, 65535, "k");
    const char *a6[] = {"chyve", "--gdb-port=1", "k"};
    expect_port(N(a6), a6, no_env, 1, "k");
    const char *a7[] = {"chyve", "-vs", "k"};
    expect_port(N(a7), a7, no_env, 6677, "k");
    const char *a8[] = {"chyve", "k", "-s"}; /* last word: the default */
    expect_port(N(a8), a8, no_env, 6677, "k");
    const char *a9[] = {"chyve", "k"};
    expect_port(N(a9), a9, no_env, 0, "k");
    const char *env[] = {"HERMIT_GDB_PORT=7000", NULL};
    expect_port(N(a9), a9, env, 7000, "k");
    expect_port(N(a2), a2, env, 1234, "k"); /* the command line wins */
    const char *empty[] = {"HERMIT_GDB_PORT=", NULL};
    expect_port(N(a9), a9, empty, 0, "k"); /* set but empty: not asked for */
    const char *bad_env[] = {"HERMIT_GDB_PORT=x", NULL};
    expect_error(N(a9), a9, bad_env,
                 "HERMIT_GDB_PORT: invalid GDB port 'x': expected a number from 1 to 65535");
    cli_teardown();
    expect1_error("-s0", NULL, "invalid GDB port '0': expected a number from 1 to 65535");
    cli_teardown();
    expect1_error("--gdb-port=65536", NULL,
                  "invalid GDB port '65536': expected a number from 1 to 65535");
    cli_teardown();
    expect1_error("--gdb-port=", NULL, "invalid GDB port '': expected a number from 1 to 65535");
    cli_teardown();
    expect1_error("-s12x", NULL, "invalid GDB port '12x': expected a number from 1 to 65535");
}

/* ---- refused options ------------------------------------------------------------------------ */

Test(options, refused)
{
    expect1_error("--trace-dir", NULL,
                  "option '--trace-dir' is not supported: chyve has no function tracing");
    expect1_error("--hermit-image-mode", "internal",
                  "image mode 'internal' is not supported: chyve has only the external mode");
    expect1_error("--hermit-image-mode", "inline",
                  "invalid image mode 'inline': expected external");
    cr_assert_eq(parse1("--hermit-image-mode=External", NULL), 0, "%s", err_msg());
    cr_assert_eq(c->src[OPT_IMAGE_MODE], OPT_SRC_CLI);
}

/* ---- affinity ------------------------------------------------------------------------------- */

/* Parses s with affinity_parse and compares with want[0 .. n). */
static void expect_cpus(const char *s, const unsigned *want, size_t n)
{
    unsigned got[VM_MAX_CPUS];
    size_t k = 99;
    cr_assert_eq(affinity_parse(s, got, VM_MAX_CPUS, &k), 0, "'%s': %s", s, err_msg());
    cr_assert_eq(k, n, "'%s': %zu CPUs, want %zu", s, k, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "'%s': cpu[%zu] = %u, want %u", s, i, got[i], want[i]);
}

Test(options, affinity_syntax)
{
    expect_cpus("0", (unsigned[]){0}, 1);
    expect_cpus("0-3,5", (unsigned[]){0, 1, 2, 3, 5}, 5);
    expect_cpus("0 1 2", (unsigned[]){0, 1, 2}, 3);
    expect_cpus(" 7,\t2 , 2-2,", (unsigned[]){7, 2, 2}, 3);
    expect_cpus("1023", (unsigned[]){1023}, 1);
}

Test(options, affinity_syntax_errors)
{
    static const struct {
        const char *s, *msg;
    } bad[] = {
        {"", "invalid CPU list '': no CPU given"},
        {" , ", "invalid CPU list ' , ': no CPU given"},
        {"3-1", "invalid CPU list '3-1': range '3-1' goes backwards"},
        {"0,x", "invalid CPU list '0,x': 'x' is not a CPU number (0-1023) or range"},
        {"1-", "invalid CPU list '1-': '1-' is not a CPU number (0-1023) or range"},
        {"-1", "invalid CPU list '-1': '-1' is not a CPU number (0-1023) or range"},
        {"1024", "invalid CPU list '1024': '1024' is not a CPU number (0-1023) or range"},
        {"2x", "invalid CPU list '2x': '2x' is not a CPU number (0-1023) or range"},
        {"1;2", "invalid CPU list '1;2': '1;2' is not a CPU number (0-1023) or range"},
        {"0-64", "invalid CPU list '0-64': more than 64 CPUs"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned got[VM_MAX_CPUS];
        size_t n;
        cr_assert_eq(affinity_parse(bad[i].s, got, VM_MAX_CPUS, &n), -1, "'%s' accepted", bad[i].s);
        cr_assert_str_eq(err_msg(), bad[i].msg);
        /* the command line reports the same */
        expect1_error("-a", bad[i].s, bad[i].msg);
    }
}

/* The first n CPUs this process may use, as "a,b,..." in buf; false if there are fewer. */
static bool usable_cpus(size_t n, unsigned *cpus, char *buf, size_t cap)
{
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
    size_t k = 0, pos = 0;
    for (unsigned cpu = 0; cpu < CPU_SETSIZE && k < n; cpu++)
        if (CPU_ISSET(cpu, &set)) {
            cpus[k++] = cpu;
            pos += (size_t)snprintf(buf + pos, cap - pos, "%s%u", pos ? "," : "", cpu);
        }
    return k == n;
}

Test(options, affinity_pins_one_cpu_per_vcpu)
{
    unsigned cpus[2];
    char list[64];
    cr_assert(usable_cpus(1, cpus, list, sizeof(list)));
    const char *a1[] = {"chyve", "-a", list, "k"};
    expect_ok(N(a1), a1, no_env);
    cr_assert_eq(c->cfg.naffinity, 1);
    cr_assert_eq(c->cfg.affinity[0], cpus[0]);
    if (!usable_cpus(2, cpus, list, sizeof(list)))
        cr_skip_test("this process may run on one CPU only");
    const char *a2[] = {"chyve", "-c", "2", "--affinity", list, "k"};
    expect_ok(N(a2), a2, no_env);
    cr_assert_eq(c->cfg.naffinity, 2);
    cr_assert_eq(c->cfg.affinity[0], cpus[0]);
    cr_assert_eq(c->cfg.affinity[1], cpus[1]);
}

Test(options, affinity_must_match_cpu_count)
{
    const char *a1[] = {"chyve", "-c", "3", "-a", "0-1", "k"};
    expect_error(N(a1), a1, no_env, "affinity: 2 host CPUs for 3 vCPUs: give exactly one per vCPU");
    const char *a2[] = {"chyve", "-a", "0 0", "k"};
    expect_error(N(a2), a2, no_env, "affinity: 2 host CPUs for 1 vCPU: give exactly one per vCPU");
}

Test(options, affinity_cpu_must_exist)
{
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
    if (CPU_ISSET(1023, &set))
        cr_skip_test("this host has a CPU 1023");
    const char *argv[] = {"chyve", "-a", "1023", "k"};
    cr_assert_eq(parse(N(argv), argv, no_env), -1);
    cr_assert(strstr(err_msg(), "affinity: host CPU 1023 is not available (chyve may use CPUs "),
              "%s", err_msg());
}

/* ---- the files cli_open_output() creates ---------------------------------------------------- */

Test(options, output_file_is_created_exclusively)
{
    char *dir = temp_dir();
    char *out;
    cr_assert(asprintf(&out, "%s/guest.txt", dir) > 0);
    const char *argv[] = {"chyve", "-o", out, "k"};
    expect_ok(N(argv), argv, no_env);
    cr_assert_eq(cli_open_output(c), 0, "%s", err_msg());
    int fd = c->cfg.out_fd;
    cr_assert(fd > 2);
    cr_assert_eq(write(fd, "x", 1), 1);
    struct stat st;
    cr_assert_eq(stat(out, &st), 0);
    cr_assert_eq(st.st_size, 1);
    cli_reset();
    cr_assert_eq(fcntl(fd, F_GETFD), -1, "cli_free did not close the output file");
    /* a second run must not overwrite it */
    expect_ok(N(argv), argv, no_env);
    cr_assert_eq(cli_open_output(c), -1);
    char want[512];
    snprintf(want, sizeof(want), "output file '%s' already exists (chyve does not overwrite it)",
             out);
    cr_assert_str_eq(err_msg(), want);
    cr_assert_eq(stat(out, &st), 0);
    cr_assert_eq(st.st_size, 1);
    free(out);
    remove_dir(dir);
}

Test(options, output_none_discards)
{
    static const char *const names[] = {"none", "None"};
    for (int i = 0; i < 2; i++) {
        const char *argv[] = {"chyve", "-o", names[i], "k"};
        expect_ok(N(argv), argv, no_env);
        cr_assert_eq(cli_open_output(c), 0, "%s", err_msg());
        cr_assert_eq(c->cfg.out_fd, -1, "-o %s", names[i]);
        cr_assert_eq(access(names[i], F_OK), -1, "a file '%s' was created", names[i]);
    }
}

Test(options, output_in_missing_directory)
{
    const char *argv[] = {"chyve", "-o", "/nonexistent/dir/out.txt", "k"};
    expect_ok(N(argv), argv, no_env);
    cr_assert_eq(cli_open_output(c), -1);
    cr_assert_str_eq(err_msg(), "cannot create output file '/nonexistent/dir/out.txt': No such "
                                "file or directory");
}

Test(options, stats_file_is_created_before_the_run)
{
    char *dir = temp_dir();
    char *sf = write_file(dir, "stats.yaml", "old content\n");
    char *out;
    cr_assert(asprintf(&out, "%s/out.txt", dir) > 0);
    const char *argv[] = {"chyve", "--stats-file", sf, "-o", out, "k"};
    expect_ok(N(argv), argv, no_env);
    cr_assert_eq(cli_open_output(c), 0, "%s", err_msg());
    struct stat st;
    cr_assert_eq(stat(sf, &st), 0);
    cr_assert_eq(st.st_size, 0, "the statistics file was not truncated");
    /* a bad statistics path fails before the -o file is created */
    const char *bad[] = {"chyve", "--stats-file", "/nonexistent/s.yaml", "-o", out, "k"};
    unlink(out);
    expect_ok(N(bad), bad, no_env);
    cr_assert_eq(cli_open_output(c), -1);
    cr_assert_str_eq(err_msg(), "cannot create statistics file '/nonexistent/s.yaml': No such "
                                "file or directory");
    cr_assert_eq(access(out, F_OK), -1, "the -o file was created anyway");
    free(sf);
    free(out);
    remove_dir(dir);
}
