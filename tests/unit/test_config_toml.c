/*
 * test_config_toml.c: TOML configuration files (uhyve.toml, ABI §9.3): uhyve's sample settings,
 * the types uhyve gives each key, errors naming file, line and key, and where files are found.
 */
#include "cli_test.h"

#include <sched.h>
#include <sys/stat.h>

TestSuite(config_toml, .fini = cfg_teardown);

static void expect_load_error(const char *text, const char *rest)
{
    int rc = cfg_load("c.toml", text);
    char want[1024];
    snprintf(want, sizeof(want), "%s:%s", cfg_path, rest);
    cr_assert_eq(rc, -1, "accepted, expected: %s\n--- text:\n%s", want, text);
    cr_assert_str_eq(err_msg(), want, "--- text:\n%s", text);
}

/* True if host CPUs 1-4 exist and are usable (the sample pins 4 vCPUs to them). */
static bool have_cpus_1_to_4(void)
{
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
    for (int i = 1; i <= 4; i++)
        if (!CPU_ISSET(i, &set))
            return false;
    return true;
}

/*
 * The settings of uhyve's data/uhyve.toml sample (written here in this test's own layout, with
 * the same tables, keys and values): stats, strict isolation, 100 MiB without ASLR, THP, KSM, 4
 * vCPUs pinned to host CPUs 1-4, a PIT and foo=bar, plus the keys its comments leave out.
 */
static const char uhyve_sample[] = "# the settings of uhyve's sample configuration\n"
                                   "[uhyve]\n"
                                   "# output = \"test.txt\"\n"
                                   "stats = true\n"
                                   "file_isolation = \"strict\"\n"
                                   "# gdb_port = 1\n"
                                   "\n"
                                   "[memory]\n"
                                   "memory_size = '100MiB'\n"
                                   "no_aslr = true\n"
                                   "thp = true\n"
                                   "ksm = true\n"
                                   "\n"
                                   "[cpu]\n"
                                   "cpu_count = 4\n"
                                   "affinity = [1, 2, 3, 4]\n"
                                   "pit = true\n"
                                   "\n"
                                   "[guest]\n"
                                   "env_vars = ['foo=bar']\n";

/* Every setting of the sample but the pinning, which needs host CPUs 1-4 (checked below). */
static void expect_sample_settings(void)
{
    cr_assert(c->cfg.stats);
    cr_assert_eq(c->cfg.isolation, VM_ISOLATION_STRICT);
    cr_assert_eq(c->cfg.mem_size, 100 * MIB);
    cr_assert_not(c->cfg.aslr);
    cr_assert(c->cfg.thp && c->cfg.ksm && c->cfg.pit);
    cr_assert_not(c->cfg.cpu_pm);
    cr_assert_eq(c->cfg.ncpus, 4);
    cr_assert_eq(c->cfg.nenv, 1);
    cr_assert_str_eq(c->cfg.env[0], "foo=bar");
    cr_assert_null(c->output);
}

Test(config_toml, uhyve_sample_gives_the_same_settings)
{
    /* without its affinity line it loads on any host */
    char text[sizeof(uhyve_sample)];
    snprintf(text, sizeof(text), "%s", uhyve_sample);
    char *aff = strstr(text, "affinity = [1, 2, 3, 4]\n");
    cr_assert_not_null(aff);
    memset(aff, ' ', strlen("affinity = [1, 2, 3, 4]"));
    cr_assert_eq(cfg_load("uhyve.toml", text), 0, "%s", err_msg());
    expect_sample_settings();
    cr_assert_null(c->cfg.affinity);
    /* whole: pinned to host CPUs 1-4 where they exist, else the error uhyve gives too */
    int rc = cfg_load("uhyve.toml", uhyve_sample);
    if (!have_cpus_1_to_4()) {
        cr_assert_eq(rc, -1);
        char want[512];
        snprintf(want, sizeof(want), "%s:16: key 'affinity': host CPU ", cfg_path);
        cr_assert(!strncmp(err_msg(), want, strlen(want)), "%s", err_msg());
        return;
    }
    cr_assert_eq(rc, 0, "%s", err_msg());
    expect_sample_settings();
    cr_assert_eq(c->cfg.naffinity, 4);
    for (unsigned i = 0; i < 4; i++)
        cr_assert_eq(c->cfg.affinity[i], i + 1);
}

/* uhyve's own tests write affinity as '0-1,2' and the other keys as below. */
Test(config_toml, every_key_and_type)
{
    cr_assert_eq(cfg_load("c.toml",
                          "[uhyve]\noutput = 'out.txt'\nstats = false\ntempdir = '/tmp/'\n"
                          "hermit_image_mode = 'external'\nfile_isolation = 'none'\n"
                          "io_mode = 'host=direct'\nstats_file = \"s.yaml\"\ngdb_port = 6677\n"
                          "file_mapping = ['./host:/root/guest.txt']\n"
                          "[memory]\nmemory_size = 33554432\n"
                          "[cpu]\ncpu_count = 1\ncpu_pm = true\naffinity = '0'\n"
                          "[guest]\nkernel_args = ['-freq', '2000']\n"),
                 0, "%s", err_msg());
    cr_assert_str_eq(c->output, "out.txt");
    cr_assert_not(c->cfg.stats);
    cr_assert_str_eq(c->cfg.tempdir, "/tmp/");
    cr_assert_eq(c->cfg.isolation, VM_ISOLATION_NONE);
    cr_assert_eq(c->cfg.gdb_port, 6677);
    cr_assert(c->cfg.io_direct && !c->cfg.io_sync);
    cr_assert_str_eq(c->cfg.stats_file, "s.yaml");
    cr_assert_eq(c->cfg.nfile_maps, 1);
    cr_assert_eq(c->cfg.mem_size, 32 * MIB);
    cr_assert(c->cfg.cpu_pm);
    cr_assert_eq(c->cfg.naffinity, 1);
    cr_assert_eq(c->cfg.affinity[0], 0);
    cr_assert_eq(c->cfg.nargs, 2);
    cr_assert_str_eq(c->cfg.args[1], "2000");
    /* the same as dotted keys and inline tables */
    cr_assert_eq(cfg_load("c.toml",
                          "memory.memory_size = '48MiB'\ncpu = { cpu_count = 2 }\n"
                          "[guest]\nenv_vars = [\n  'A=1',\n  'A=2', # the last wins\n]\n"),
                 0, "%s", err_msg());
    cr_assert_eq(c->cfg.mem_size, 48 * MIB);
    cr_assert_eq(c->cfg.ncpus, 2);
    cr_assert_eq(c->cfg.nenv, 1);
    cr_assert_str_eq(c->cfg.env[0], "A=2");
}

Test(config_toml, errors_name_file_line_and_key)
{
    expect_load_error("[cpu]\ncpu_count = 'x'\n",
                      "2: key 'cpu_count': invalid cpu count 'x': expected a number from 1 to 64");
    expect_load_error("[cpu]\n\ncpu_count = 1.5\n",
                      "3: key 'cpu_count': floats, dates and times are not supported");
    expect_load_error("[uhyve]\nstats = 'yes'\n",
                      "2: key 'stats': expected a boolean (true or false), not a string");
    expect_load_error("[guest]\nenv_vars = 'foo=bar'\n",
                      "2: key 'env_vars': expected an array of strings such as ['a']");
    expect_load_error("[guest]\nenv_vars = [1]\n",
                      "2: key 'env_vars': expected only strings in the array, not an integer");
    expect_load_error("[memory]\nmemory_size = true\n",
                      "2: key 'memory_size': expected a string or an integer, not a boolean");
    expect_load_error("[cpu]\naffinity = ['0']\n", "2: key 'affinity': expected CPU numbers in "
                                                   "the array");
    expect_load_error("[memory]\nno_aslr = [true]\n",
                      "2: key 'no_aslr': expected a single value, not a list");
    expect_load_error("[uhyve]\ngdb_port = 0\n",
                      "2: key 'gdb_port': invalid GDB port '0': expected a number from 1 to 65535");
    expect_load_error("[uhyve]\nhermit_image_mode = 'internal'\n",
                      "2: key 'hermit_image_mode': image mode 'internal' is not supported: chyve "
                      "has only the external mode");
    expect_load_error("[memory]\ncpu_count = 2\n",
                      "2: key 'cpu_count': unknown key in [memory] (it belongs in [cpu])");
    expect_load_error("stats = true\n", "1: key 'stats': outside a section (put it under [uhyve], "
                                        "[memory], [cpu] or [guest])");
    expect_load_error("[cpu.x]\na = 1\n",
                      "2: unknown section [cpu.x] (use [uhyve], [memory], [cpu], [guest])");
    expect_load_error("[cpu]\ncpu_count = 1\ncpu_count = 2\n",
                      "3: key 'cpu.cpu_count' defined twice");
    expect_load_error("[[cpu]]\n", "1: arrays of tables ([[...]]) are not supported");
}

/* Keys uhyve's parser skips in its files (uhyve's own tests write them) are ignored likewise. */
Test(config_toml, keys_uhyve_skips_are_ignored)
{
    cr_assert_eq(cfg_load("c.toml", "[uhyve]\nconfig = \"/ilikerecursion\"\n"
                                    "[guest]\nkernel = './data/0.6.0/x86_64/hello_c'\n"),
                 0, "%s", err_msg());
    cr_assert_str_eq(c->cfg.kernel_path, "k");
    cr_assert_str_eq(c->config_path, cfg_path);
}

/* ./uhyve.toml and $XDG_CONFIG_HOME/uhyve/uhyve.toml are found as uhyve finds them. */
Test(config_toml, lookup)
{
    cfg_dir = temp_dir();
    char *uh, *ch, *cwd, *xdg;
    cr_assert(asprintf(&uh, "%s/uhyve", cfg_dir) > 0 && mkdir(uh, 0700) == 0);
    cr_assert(asprintf(&ch, "%s/chyve", cfg_dir) > 0 && mkdir(ch, 0700) == 0);
    cr_assert(asprintf(&cwd, "%s/cwd", cfg_dir) > 0 && mkdir(cwd, 0700) == 0);
    cr_assert(asprintf(&xdg, "XDG_CONFIG_HOME=%s", cfg_dir) > 0);
    cr_assert_eq(chdir(cwd), 0);
    const char *argv[] = {"chyve", "k"};
    const char *env[] = {xdg, NULL};
    free(write_file(ch, "chyve.toml", "[cpu]\ncpu_count = 2\n"));
    expect_ok(N(argv), argv, env);
    cr_assert_eq(c->cfg.ncpus, 2);
    free(write_file(uh, "uhyve.toml", "[cpu]\ncpu_count = 3\n")); /* uhyve's directory first */
    expect_ok(N(argv), argv, env);
    cr_assert_eq(c->cfg.ncpus, 3);
    free(write_file(cwd, "uhyve.toml", "[cpu]\ncpu_count = 4\n")); /* the working directory first */
    expect_ok(N(argv), argv, env);
    cr_assert_eq(c->cfg.ncpus, 4);
    cr_assert_str_eq(c->config_path, "uhyve.toml");
    free(write_file(cwd, "chyve.ini", "[cpu]\ncpu_count = 5\n"));
    expect_error(N(argv), argv, env,
                 "both uhyve.toml and chyve.ini exist: remove one or choose with --config");
    free(uh);
    free(ch);
    free(cwd);
    free(xdg);
}
