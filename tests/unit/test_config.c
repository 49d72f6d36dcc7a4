/*
 * test_config.c: configuration files in INI and YAML (ABI §9.3): the shipped examples, every
 * key, and every kind of error, each reported as "FILE:LINE: ...".
 */
#include "cli_test.h"

#include <sched.h>
#include <sys/stat.h>

TestSuite(config, .fini = cfg_teardown);

/* Expects cfg_load() to fail with "<cfg_path>:<rest>". */
static void expect_load_error(const char *name, const char *text, const char *rest)
{
    int rc = cfg_load(name, text);
    char want[1024];
    snprintf(want, sizeof(want), "%s:%s", cfg_path, rest);
    cr_assert_eq(rc, -1, "accepted, expected: %s\n--- %s:\n%s", want, name, text);
    cr_assert_str_eq(err_msg(), want, "--- %s:\n%s", name, text);
}

/* The same error from an INI text and a YAML text. */
static void expect_both(const char *ini, const char *yaml, const char *rest)
{
    expect_load_error("c.ini", ini, rest);
    expect_load_error("c.yaml", yaml, rest);
}

/* The first usable host CPU, for affinity values that must exist. */
static unsigned first_cpu(void)
{
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
    for (unsigned i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set))
            return i;
    cr_assert_fail("no usable CPU");
    return 0;
}

/* ---- the shipped examples -------------------------------------------------------------------- */

static void check_example(const char *file)
{
    char *p;
    cr_assert(asprintf(&p, "%s/examples/config/%s", CHYVE_SOURCE_ROOT, file) > 0);
    const char *argv[] = {"chyve", "--config", p, "k"};
    expect_ok(N(argv), argv, no_env);
    cr_assert_str_eq(c->config_path, p);
    cr_assert(c->cfg.stats, "%s: stats", file);
    cr_assert_eq(c->cfg.isolation, VM_ISOLATION_NORMAL);
    cr_assert_eq(c->cfg.mem_size, 128 * MIB, "%s: memory_size", file);
    cr_assert(c->cfg.aslr);
    cr_assert_not(c->cfg.thp || c->cfg.ksm || c->cfg.cpu_pm || c->cfg.pit);
    cr_assert_eq(c->cfg.ncpus, 2, "%s: cpu_count", file);
    cr_assert_null(c->output);
    cr_assert_eq(c->cfg.nfile_maps, 0);
    cr_assert_eq(c->cfg.nenv, 2, "%s: env_vars", file);
    cr_assert_str_eq(c->cfg.env[0], "GREETING=hello from a chyve config file");
    cr_assert_str_eq(c->cfg.env[1], "RUST_LOG=info");
    cr_assert_eq(c->src[OPT_MEMORY], OPT_SRC_FILE);
    cli_reset();
    free(p);
}

Test(config, shipped_examples)
{
    check_example("chyve.ini");
    check_example("chyve.yaml");
}

/* ---- every key ------------------------------------------------------------------------------- */

/* The settings both every_key files give. */
static void check_every_key(unsigned cpu)
{
    cr_assert_str_eq(c->output, "guest.txt");
    cr_assert(c->cfg.stats);
    cr_assert_str_eq(c->cfg.stats_file, "stats.yaml");
    cr_assert_eq(c->cfg.nfile_maps, 2);
    cr_assert_str_eq(c->cfg.file_maps[0], "./data:/data");
    cr_assert_str_eq(c->cfg.file_maps[1], "notes.txt:/root/notes.txt");
    cr_assert_str_eq(c->cfg.tempdir, "/var/tmp");
    cr_assert_str_eq(c->cfg.net, "tap:tap3");
    cr_assert_str_eq(c->cfg.mac, "02:00:00:00:00:07");
    cr_assert_eq(c->cfg.isolation, VM_ISOLATION_STRICT);
    cr_assert_eq(c->cfg.seccomp, VM_SECCOMP_LOG);
    cr_assert_eq(c->cfg.gdb_port, 1234);
    cr_assert(c->cfg.io_direct && c->cfg.io_sync);
    cr_assert_eq(c->cfg.tempdir_max_size, 2 * GIB);
    cr_assert_eq(c->cfg.tempdir_max_files, 100);
    cr_assert_eq(c->cfg.tempdir_max_depth, 8);
    cr_assert_eq(c->cfg.mem_size, GIB);
    cr_assert_not(c->cfg.aslr);
    cr_assert(c->cfg.thp && c->cfg.ksm && c->cfg.cpu_pm && c->cfg.pit);
    cr_assert_eq(c->cfg.ncpus, 2);
    cr_assert_eq(c->cfg.naffinity, 2);
    cr_assert_eq(c->cfg.affinity[0], cpu);
    cr_assert_eq(c->cfg.affinity[1], cpu);
    cr_assert_eq(c->cfg.nenv, 2);
    cr_assert_str_eq(c->cfg.env[0], "A=1");
    cr_assert_str_eq(c->cfg.env[1], "B=two words");
    cr_assert_eq(c->cfg.nargs, 3);
    cr_assert_str_eq(c->cfg.args[0], "karg");
    cr_assert_str_eq(c->cfg.args[1], "--");
    cr_assert_str_eq(c->cfg.args[2], "app arg");
    for (int i = 0; i < OPT_COUNT; i++)
        if (opt_defs[i].key && !opt_defs[i].refused)
            cr_assert_eq(c->src[i], OPT_SRC_FILE, "key %s was not applied", opt_defs[i].key);
}

/* Loads name from fmt, whose two %u are the affinity CPUs, and checks every key. */
static void check_every_key_file(const char *name, const char *fmt)
{
    unsigned cpu = first_cpu();
    char text[2048];
    snprintf(text, sizeof(text), fmt, cpu, cpu);
    cr_assert_eq(cfg_load(name, text), 0, "%s", err_msg());
    check_every_key(cpu);
}

Test(config, every_key_ini)
{
    check_every_key_file(
        "every.ini",
        "[uhyve]\noutput = guest.txt\nstats = true\nstats_file = stats.yaml\n"
        "file_mapping = ./data:/data\nfile_mapping = notes.txt:/root/notes.txt\n"
        "tempdir = /var/tmp\nfile_isolation = strict\nseccomp = log\nio_mode = host=direct,sync\n"
        "tempdir_max_size = 2GiB\ntempdir_max_files = 100\ntempdir_max_depth = 8\n"
        "net = tap:tap3\nmac = 02:00:00:00:00:07\n"
        "hermit_image_mode = external\ngdb_port = 1234\n"
        "[memory]\nmemory_size = 1GiB\nno_aslr = yes\nthp = on\nksm = 1\n"
        "[cpu]\ncpu_count = 2\naffinity = %u\naffinity = %u\ncpu_pm = TRUE\npit = True\n"
        "[guest]\nenv_vars = A=1\nenv_vars = \"B=two words\"\n"
        "kernel_args = karg\nkernel_args = --\nkernel_args = 'app arg'\n");
}

Test(config, every_key_yaml)
{
    check_every_key_file("every.yaml",
                         "uhyve:\n  output: guest.txt\n  stats: true\n  stats_file: 'stats.yaml'\n"
                         "  file_mapping:\n    - ./data:/data\n    - notes.txt:/root/notes.txt\n"
                         "  tempdir: /var/tmp\n  file_isolation: strict\n  seccomp: log\n"
                         "  io_mode: host=direct,sync\n"
                         "  tempdir_max_size: 2GiB\n  tempdir_max_files: 100\n"
                         "  tempdir_max_depth: 8\n"
                         "  net: tap:tap3\n  mac: 02:00:00:00:00:07\n"
                         "  hermit_image_mode: EXTERNAL\n  gdb_port: 1234\n"
                         "memory: {memory_size: 1GiB, no_aslr: yes, thp: on, ksm: 1}\n"
                         "cpu:\n  cpu_count: 2\n  affinity: [%u, %u]\n  cpu_pm: TRUE\n  pit: True\n"
                         "guest:\n  env_vars: [A=1, \"B=two words\"]\n"
                         "  kernel_args: [karg, \"--\", app arg]\n");
}

Test(config, affinity_as_one_string)
{
    unsigned cpu = first_cpu();
    char text[256];
    snprintf(text, sizeof(text), "cpu:\n  cpu_count: 2\n  affinity: \"%u %u\"\n", cpu, cpu);
    cr_assert_eq(cfg_load("a.yml", text), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.naffinity, 2);
    snprintf(text, sizeof(text), "[cpu]\ncpu_count = 2\naffinity = %u,%u\n", cpu, cpu);
    cr_assert_eq(cfg_load("a.ini", text), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.naffinity, 2);
    cr_assert_eq(c->cfg.affinity[1], cpu);
}

/* ---- what the formats allow ------------------------------------------------------------------ */

Test(config, ini_layout)
{
    /* BOM, CRLF, indentation, both comment styles, inline comments, quotes, blank lines */
    static const char text[] = "\xEF\xBB\xBF; a comment\r\n# another\r\n\r\n  [memory]\r\n"
                               "    memory_size = 32MiB ; inline comment\r\n"
                               "[guest]\r\n  env_vars = 'Q=a ; b'\r\n";
    cr_assert_eq(cfg_load("l.ini", text), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.mem_size, 32 * MIB);
    cr_assert_eq(c->cfg.nenv, 1);
    cr_assert_str_eq(c->cfg.env[0], "'Q=a"); /* "; b" is a comment, so the quotes do not pair */
}

Test(config, empty_files_and_sections)
{
    static const char *const ini[] = {"", "; only a comment\n", "[memory]\n[cpu]\n"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(cfg_load("e.ini", ini[i]), 0, "'%s': %s", ini[i], err_msg());
        cr_assert_eq(c->cfg.mem_size, 64 * MIB);
    }
    static const char *const yaml[] = {"", "# only a comment\n", "---\n", "memory:\ncpu: ~\n",
                                       "memory: {}\n"};
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(cfg_load("e.yaml", yaml[i]), 0, "'%s': %s", yaml[i], err_msg());
        cr_assert_eq(c->cfg.ncpus, 1);
    }
}

/* ---- errors: every one names the file and the line ------------------------------------------- */

Test(config, unknown_keys_and_sections)
{
    expect_both("[memory]\nfoo = 1\n", "memory:\n  foo: 1\n",
                "2: key 'foo': unknown key in [memory]");
    expect_both("[memory]\ncpu_count = 2\n", "memory:\n  cpu_count: 2\n",
                "2: key 'cpu_count': unknown key in [memory] (it belongs in [cpu])");
    expect_both("[cpu]\ncpu_count = 1\n[mem]\n", "cpu:\n  cpu_count: 1\nmem:\n",
                "3: unknown section [mem] (use [uhyve], [memory], [cpu], [guest])");
    expect_both("[uhyve]\nhermit_image_mode = internal\n",
                "uhyve:\n  hermit_image_mode: internal\n",
                "2: key 'hermit_image_mode': image mode 'internal' is not supported: chyve has "
                "only the external mode");
    expect_both("[uhyve]\nconfigs = other.ini\n", "uhyve:\n  configs: other.ini\n",
                "2: key 'configs': unknown key in [uhyve]");
    /* the keys uhyve itself skips are ignored, with a warning */
    cr_assert_eq(cfg_load("c.ini", "[uhyve]\nconfig = other.ini\n[guest]\nkernel = k2\n"), 0, "%s",
                 err_msg());
    cr_assert_str_eq(c->config_path, cfg_path);
    cr_assert_str_eq(c->cfg.kernel_path, "k");
    expect_load_error("c.ini", "stats = true\n",
                      "1: key 'stats': outside a section (put it under [uhyve], [memory], [cpu] "
                      "or [guest])");
}

Test(config, duplicates)
{
    expect_both("[cpu]\npit = true\n\n[cpu]\n", "cpu:\n  pit: true\n\ncpu:\n",
                "4: duplicate section [cpu] (first on line 1)");
    expect_both("[cpu]\ncpu_count = 2\ncpu_count = 3\n", "cpu:\n  cpu_count: 2\n  cpu_count: 3\n",
                "3: key 'cpu_count': given twice (first on line 2)");
    expect_load_error("c.yaml", "guest:\n  env_vars: [A=1]\n  env_vars: [B=2]\n",
                      "3: key 'env_vars': given twice (first on line 2)");
}

Test(config, wrong_types_and_values)
{
    expect_both("[uhyve]\nstats = maybe\n", "uhyve:\n  stats: maybe\n",
                "2: key 'stats': expected a boolean (true or false), got 'maybe'");
    expect_both("[cpu]\ncpu_count = two\n", "cpu:\n  cpu_count: two\n",
                "2: key 'cpu_count': invalid cpu count 'two': expected a number from 1 to 64");
    expect_both("[memory]\nmemory_size = 100MB\n", "memory:\n  memory_size: 100MB\n",
                "2: key 'memory_size': memory size 100MB must be a multiple of 2MiB");
    expect_both("[memory]\nmemory_size =\n", "memory:\n  memory_size:\n",
                "2: key 'memory_size': no value");
    expect_both("[guest]\nenv_vars = FOO\n", "guest:\n  env_vars: [FOO]\n",
                "2: key 'env_vars': invalid environment variable 'FOO': expected KEY=VALUE or "
                "host");
    expect_both("[uhyve]\nseccomp = loose\n", "uhyve:\n  seccomp: loose\n",
                "2: key 'seccomp': invalid seccomp mode 'loose': expected strict, log or none");
    expect_both("[uhyve]\nfile_isolation = tight\n", "uhyve:\n  file_isolation: tight\n",
                "2: key 'file_isolation': invalid file isolation 'tight': expected normal, none "
                "or strict");
    expect_both("[cpu]\naffinity = 0-x\n", "cpu:\n  affinity: 0-x\n",
                "2: key 'affinity': invalid CPU list '0-x': '0-x' is not a CPU number (0-1023) "
                "or range");
    expect_load_error("c.yaml", "cpu:\n  cpu_count:\n    - 2\n",
                      "2: key 'cpu_count': expected a single value, not a list");
    expect_load_error("c.yaml", "guest:\n  env_vars: A=1\n",
                      "2: key 'env_vars': expected a list (a YAML sequence such as [a, b])");
    expect_load_error("c.yaml", "uhyve:\n  stats:\n    on: true\n",
                      "3: key 'stats': expected a value, not a mapping");
    expect_load_error("c.yaml", "guest:\n  env_vars:\n    - [A=1]\n",
                      "3: key 'env_vars': list items must be single values");
    expect_load_error("c.yaml", "memory: 64MiB\n", "1: section 'memory' must be a mapping of keys");
    expect_load_error("c.yaml", "- memory\n",
                      "1: the file must be a mapping of sections (uhyve, memory, cpu, guest)");
}

Test(config, affinity_against_cpu_count)
{
    expect_load_error("c.ini", "[cpu]\n\naffinity = 0\naffinity = 0\n",
                      "3: key 'affinity': 2 host CPUs for 1 vCPU: give exactly one per vCPU");
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
    if (CPU_ISSET(1023, &set))
        cr_skip_test("this host has a CPU 1023");
    cr_assert_eq(cfg_load("c.yaml", "cpu:\n  affinity: [1023]\n"), -1);
    char want[512];
    snprintf(want, sizeof(want),
             "%s:2: key 'affinity': host CPU 1023 is not available (chyve may use CPUs ", cfg_path);
    cr_assert(!strncmp(err_msg(), want, strlen(want)), "%s", err_msg());
}

Test(config, malformed_ini)
{
    expect_load_error("c.ini", "[cpu]\npit = true\ngarbage\n",
                      "3: syntax error: expected [section], key = value or a comment");
    expect_load_error("c.ini", "[cpu\npit = true\n",
                      "1: syntax error: expected [section], key = value or a comment");
    /* the first error wins, whichever side found it */
    expect_load_error("c.ini", "[cpu]\nnope\nfoo = 1\n",
                      "2: syntax error: expected [section], key = value or a comment");
    expect_load_error("c.ini", "[cpu]\nfoo = 1\nnope\n", "2: key 'foo': unknown key in [cpu]");
    char text[400] = "[guest]\nenv_vars = A=";
    memset(text + strlen(text), 'x', 250);
    expect_load_error("c.ini", text, "2: line longer than 199 characters");
}

Test(config, malformed_yaml)
{
    cr_assert_eq(cfg_load("c.yaml", "cpu:\n  cpu_count: 2\n pit: true\n"), -1);
    char want[512];
    snprintf(want, sizeof(want), "%s:3: YAML syntax error: ", cfg_path);
    cr_assert(!strncmp(err_msg(), want, strlen(want)), "%s", err_msg());
    cr_assert_eq(cfg_load("c.yaml", "uhyve:\n  output: \"unterminated\n"), -1);
    snprintf(want, sizeof(want), "%s:3: YAML syntax error: ", cfg_path);
    cr_assert(!strncmp(err_msg(), want, strlen(want)), "%s", err_msg());
    expect_load_error("c.yaml", "cpu:\n  pit: true\n---\ncpu:\n",
                      "3: only one YAML document is allowed");
    expect_load_error("c.yaml", "guest:\n  env_vars: &e [A=1]\nuhyve:\n  file_mapping: *e\n",
                      "4: YAML aliases (*name) are not supported");
}

Test(config, unusable_files)
{
    cfg_dir = temp_dir();
    const char *argv[] = {"chyve", "--config", NULL, "k"};
    char want[512];
    char *conf = write_file(cfg_dir, "chyve.conf", "[memory]\n");
    argv[2] = conf;
    snprintf(want, sizeof(want),
             "%s: unknown configuration file type: name it *.toml, *.ini, *.yaml or *.yml", conf);
    expect_error(N(argv), argv, no_env, want);
    argv[2] = "/nonexistent/chyve.ini";
    expect_error(N(argv), argv, no_env,
                 "cannot read configuration file '/nonexistent/chyve.ini': No such file or "
                 "directory");
    argv[2] = cfg_dir;
    char *d;
    cr_assert(asprintf(&d, "%s/sub.yaml", cfg_dir) > 0 && mkdir(d, 0700) == 0);
    argv[2] = d;
    snprintf(want, sizeof(want), "configuration file '%s' is not a regular file of at most 1 MiB",
             d);
    expect_error(N(argv), argv, no_env, want);
    cr_assert_eq(rmdir(d), 0);
    free(conf);
    free(d);
}

Test(config, nul_bytes)
{
    cfg_dir = temp_dir();
    char *p;
    cr_assert(asprintf(&p, "%s/nul.ini", cfg_dir) > 0);
    FILE *f = fopen(p, "wb");
    cr_assert(f && fwrite("[cpu]\n\0\n", 1, 8, f) == 8 && fclose(f) == 0);
    const char *argv[] = {"chyve", "--config", p, "k"};
    char want[512];
    snprintf(want, sizeof(want),
             "configuration file '%s' is not a text file (it contains NUL bytes)", p);
    expect_error(N(argv), argv, no_env, want);
    free(p);
}

/* ---- precedence: command line > environment > file > defaults -------------------------------- */

/* Writes the file and parses "chyve --config <file> <args...>" with envp. */
static int load_with(const char *name, const char *text, const char *const *args, int nargs,
                     const char *const *envp)
{
    if (!cfg_dir)
        cfg_dir = temp_dir();
    free(cfg_path);
    cfg_path = write_file(cfg_dir, name, text);
    const char *argv[16] = {"chyve", "--config", cfg_path};
    cr_assert(nargs <= 13);
    memcpy(argv + 3, args, (size_t)nargs * sizeof(char *));
    return parse(3 + nargs, argv, envp);
}

Test(config, precedence_of_scalars)
{
    static const char text[] = "[memory]\nmemory_size = 128MiB\n[cpu]\ncpu_count = 2\n"
                               "[uhyve]\noutput = from-file.txt\n";
    const char *k[] = {"k"};
    cr_assert_eq(load_with("p.ini", text, k, 1, no_env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.mem_size, 128 * MIB);
    cr_assert_eq(c->cfg.ncpus, 2);
    cr_assert_str_eq(c->output, "from-file.txt");
    const char *env[] = {"HERMIT_MEMORY_SIZE=256MiB", NULL};
    cr_assert_eq(load_with("p.ini", text, k, 1, env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.mem_size, 256 * MIB);
    cr_assert_eq(c->src[OPT_MEMORY], OPT_SRC_ENV);
    cr_assert_eq(c->cfg.ncpus, 2);
    const char *cli[] = {"-m", "32MiB", "-c", "3", "-o", "cli.txt", "k"};
    cr_assert_eq(load_with("p.ini", text, cli, 7, env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.mem_size, 32 * MIB);
    cr_assert_eq(c->cfg.ncpus, 3);
    cr_assert_str_eq(c->output, "cli.txt");
}

/* Booleans from the file take effect (unlike uhyve's file, where flags always win as false). */
Test(config, file_booleans_take_effect)
{
    const char *k[] = {"k"};
    cr_assert_eq(load_with("b.yaml",
                           "uhyve: {stats: true}\nmemory: {no_aslr: true, thp: true}\n"
                           "cpu: {pit: true}\n",
                           k, 1, no_env),
                 0, "%s", err_msg());
    cr_assert(c->cfg.stats && c->cfg.thp && c->cfg.pit);
    cr_assert_not(c->cfg.aslr);
    /* a flag on the command line wins over false in the file */
    const char *cli[] = {"--stats", "k"};
    cr_assert_eq(load_with("b.ini", "[uhyve]\nstats = false\n", cli, 2, no_env), 0, "%s",
                 err_msg());
    cr_assert(c->cfg.stats);
}

/* A file value that the command line overrides must still be valid. */
Test(config, overridden_file_values_are_checked)
{
    const char *cli[] = {"-c", "2", "k"};
    cr_assert_eq(load_with("o.ini", "[cpu]\ncpu_count = many\n", cli, 3, no_env), -1);
    char want[512];
    snprintf(want, sizeof(want),
             "%s:2: key 'cpu_count': invalid cpu count 'many': expected a number from 1 to 64",
             cfg_path);
    cr_assert_str_eq(err_msg(), want);
}

Test(config, guest_environment_is_merged)
{
    static const char text[] = "[guest]\nenv_vars = A=from-file\nenv_vars = C=3\n";
    const char *cli[] = {"-e", "A=1", "-e", "B=2", "k"};
    const char *host[] = {"H=host", NULL};
    cr_assert_eq(load_with("g.ini", text, cli, 5, host), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.nenv, 3);
    cr_assert_str_eq(c->cfg.env[0], "A=1");
    cr_assert_str_eq(c->cfg.env[1], "B=2");
    cr_assert_str_eq(c->cfg.env[2], "C=3");
    /* the file alone replaces the host environment */
    const char *k[] = {"k"};
    cr_assert_eq(load_with("g.ini", text, k, 1, host), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.nenv, 2);
    cr_assert_str_eq(c->cfg.env[0], "A=from-file");
    /* `host` in the file passes the host environment */
    cr_assert_eq(load_with("g.yaml", "guest:\n  env_vars: [host]\n", k, 1, host), 0, "%s",
                 err_msg());
    cr_assert_eq(c->cfg.nenv, 1);
    cr_assert_eq(c->cfg.env[0], host[0]);
}

Test(config, file_mappings_and_kernel_args)
{
    static const char text[] = "uhyve:\n  file_mapping: [f:/f]\nguest:\n  kernel_args: [a, b]\n";
    const char *cli[] = {"--file-mapping", "c:/c", "k"};
    cr_assert_eq(load_with("m.yaml", text, cli, 3, no_env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.nfile_maps, 2);
    cr_assert_str_eq(c->cfg.file_maps[0], "c:/c");
    cr_assert_str_eq(c->cfg.file_maps[1], "f:/f");
    cr_assert_eq(c->cfg.nargs, 2);
    cr_assert_str_eq(c->cfg.args[0], "a");
    cr_assert_str_eq(c->cfg.args[1], "b");
    const char *args[] = {"k", "x"};
    cr_assert_eq(load_with("m.yaml", text, args, 2, no_env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.nargs, 1);
    cr_assert_str_eq(c->cfg.args[0], "x");
}

/* A mapping's mode is checked where the file says it, with the line; ro and rw pass. */
Test(config, file_mapping_modes)
{
    cr_assert_eq(cfg_load("m.ini", "[uhyve]\nfile_mapping = a:/a:ro\nfile_mapping = b:/b:rw\n"), 0,
                 "%s", err_msg());
    cr_assert_eq(c->cfg.nfile_maps, 2);
    cr_assert_str_eq(c->cfg.file_maps[0], "a:/a:ro");
    expect_load_error("c.ini", "[uhyve]\nfile_mapping = a:/a:ro\nfile_mapping = b:/b:wr\n",
                      "3: key 'file_mapping': invalid file mapping 'b:/b:wr': unknown mode 'wr' "
                      "(expected ro or rw)");
    expect_load_error("c.yaml", "uhyve:\n  file_mapping:\n    - a:/a:ro\n    - b:/b:wr\n",
                      "4: key 'file_mapping': invalid file mapping 'b:/b:wr': unknown mode 'wr' "
                      "(expected ro or rw)");
    expect_load_error("c.toml", "[uhyve]\nfile_mapping = ['a:/a:ro', 'b:/b:']\n",
                      "2: key 'file_mapping': invalid file mapping 'b:/b:': empty mode after "
                      "GUEST (expected ro or rw)");
}

/* ---- where the file is found ----------------------------------------------------------------- */

Test(config, lookup_in_working_directory)
{
    cfg_dir = temp_dir();
    free(write_file(cfg_dir, "chyve.yml", "cpu: {cpu_count: 5}\n"));
    cr_assert_eq(chdir(cfg_dir), 0);
    const char *argv[] = {"chyve", "k"};
    expect_ok(N(argv), argv, no_env);
    cr_assert_eq(c->cfg.ncpus, 5);
    cr_assert_str_eq(c->config_path, "chyve.yml");
    free(write_file(cfg_dir, "chyve.ini", "[cpu]\ncpu_count = 6\n"));
    expect_error(N(argv), argv, no_env,
                 "both chyve.ini and chyve.yml exist: remove one or choose with --config");
}

Test(config, lookup_in_xdg_config_home)
{
    cfg_dir = temp_dir();
    char *sub, *cwd, *xdg;
    cr_assert(asprintf(&sub, "%s/chyve", cfg_dir) > 0 && mkdir(sub, 0700) == 0);
    cr_assert(asprintf(&cwd, "%s/cwd", cfg_dir) > 0 && mkdir(cwd, 0700) == 0);
    cr_assert(asprintf(&xdg, "XDG_CONFIG_HOME=%s", cfg_dir) > 0);
    free(write_file(sub, "chyve.ini", "[cpu]\ncpu_count = 7\n"));
    cr_assert_eq(chdir(cwd), 0);
    const char *argv[] = {"chyve", "k"};
    const char *env[] = {xdg, NULL};
    expect_ok(N(argv), argv, env);
    cr_assert_eq(c->cfg.ncpus, 7);
    char want[512];
    snprintf(want, sizeof(want), "%s/chyve/chyve.ini", cfg_dir);
    cr_assert_str_eq(c->config_path, want);
    /* unset or empty XDG_CONFIG_HOME: no fallback */
    const char *empty[] = {"XDG_CONFIG_HOME=", NULL};
    expect_ok(N(argv), argv, empty);
    cr_assert_eq(c->cfg.ncpus, 1);
    expect_ok(N(argv), argv, no_env);
    cr_assert_eq(c->cfg.ncpus, 1);
    /* the working directory comes first */
    free(write_file(cwd, "chyve.ini", "[cpu]\ncpu_count = 8\n"));
    expect_ok(N(argv), argv, env);
    cr_assert_eq(c->cfg.ncpus, 8);
    free(sub);
    free(cwd);
    free(xdg);
}

Test(config, hermit_config_and_config_option)
{
    cfg_dir = temp_dir();
    char *a = write_file(cfg_dir, "a.ini", "[cpu]\ncpu_count = 3\n");
    char *var;
    cr_assert(asprintf(&var, "HERMIT_CONFIG=%s", a) > 0);
    const char *env[] = {var, NULL};
    const char *argv[] = {"chyve", "k"};
    expect_ok(N(argv), argv, env);
    cr_assert_eq(c->cfg.ncpus, 3);
    cr_assert_str_eq(c->config_path, a);
    char *b = write_file(cfg_dir, "b.yaml", "cpu: {cpu_count: 4}\n");
    const char *with[] = {"chyve", "--config", b, "k"};
    expect_ok(N(with), with, env);
    cr_assert_eq(c->cfg.ncpus, 4);
    const char *missing[] = {"HERMIT_CONFIG=/nonexistent/x.yaml", NULL};
    expect_error(N(argv), argv, missing,
                 "cannot read configuration file '/nonexistent/x.yaml': No such file or "
                 "directory");
    free(a);
    free(b);
    free(var);
}
