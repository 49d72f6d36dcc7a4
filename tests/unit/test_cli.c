/* test_cli.c: command-line and environment parsing into a vm_config (ABI §9.1, §9.2). */
#include "cli_test.h"

#include <stdint.h>

#include "config/size.h"
#include "log.h"

static const char *host_env[] = {"HOME=/home/u", "PATH=/bin", "LANG=C", NULL};

TestSuite(cli, .fini = cli_teardown);

/* Parses "chyve -m <size> k" and returns the memory size. */
static uint64_t mem_of(const char *size)
{
    const char *argv[] = {"chyve", "-m", size, "k"};
    cr_assert_eq(parse(N(argv), argv, no_env), 0, "-m %s: %s", size, err_msg());
    uint64_t v = c->cfg.mem_size;
    cli_reset();
    return v;
}

/* ---- defaults -------------------------------------------------------------------------------- */

Test(cli, defaults)
{
    const char *argv[] = {"chyve", "kernel.elf"};
    cr_assert_eq(parse(N(argv), argv, host_env), 0, "%s", err_msg());
    cr_assert_eq(c->action, CLI_RUN);
    cr_assert_str_eq(c->cfg.kernel_path, "kernel.elf");
    cr_assert_eq(c->cfg.kernel_path, argv[1]);
    cr_assert_eq(c->cfg.nargs, 0);
    cr_assert_eq(c->cfg.mem_size, 64 * MIB);
    cr_assert_eq(c->cfg.ncpus, 1);
    cr_assert(c->cfg.aslr);
    cr_assert_eq(c->cfg.out_fd, STDOUT_FILENO);
    cr_assert_eq(c->verbosity, 0);
    /* as uhyve: nothing of chyve's environment reaches the guest unless asked for */
    cr_assert_eq(c->cfg.nenv, 0);
}

Test(cli, defaults_with_null_and_empty_envp)
{
    const char *argv[] = {"chyve", "k"};
    cr_assert_eq(parse(N(argv), argv, NULL), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.nenv, 0);
    cli_reset();
    cr_assert_eq(parse(N(argv), argv, no_env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.nenv, 0);
}

Test(cli, no_aslr)
{
    const char *argv[] = {"chyve", "--no-aslr", "k"};
    cr_assert_eq(parse(N(argv), argv, no_env), 0, "%s", err_msg());
    cr_assert_not(c->cfg.aslr);
}

Test(cli, flag_with_value_rejected)
{
    const char *argv[] = {"chyve", "--no-aslr=yes", "k"};
    expect_error(N(argv), argv, no_env, "option '--no-aslr' takes no value");
}

/* ---- memory size ----------------------------------------------------------------------------- */

Test(cli, memory_option_spellings)
{
    const char *a1[] = {"chyve", "-m", "128MiB", "k"};
    const char *a2[] = {"chyve", "--memory-size", "256MiB", "k"};
    const char *a3[] = {"chyve", "--memory-size=512MiB", "k"};
    const char *a4[] = {"chyve", "-m32MiB", "k"};
    cr_assert_eq(parse(N(a1), a1, no_env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.mem_size, 128 * MIB);
    cli_reset();
    cr_assert_eq(parse(N(a2), a2, no_env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.mem_size, 256 * MIB);
    cli_reset();
    cr_assert_eq(parse(N(a3), a3, no_env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.mem_size, 512 * MIB);
    cli_reset();
    cr_assert_eq(parse(N(a4), a4, no_env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.mem_size, 32 * MIB);
    cr_assert_str_eq(c->cfg.kernel_path, "k");
}

Test(cli, memory_sizes_accepted)
{
    cr_assert_eq(mem_of("16MiB"), 16 * MIB);
    cr_assert_eq(mem_of("1GiB"), GIB);
    cr_assert_eq(mem_of("2G"), 2 * GIB); /* chyve: single letters are binary (cli.c) */
    cr_assert_eq(mem_of("1.5GiB"), GIB + GIB / 2);
    cr_assert_eq(mem_of("64mib"), 64 * MIB);
    cr_assert_eq(mem_of("64 MiB"), 64 * MIB);
    cr_assert_eq(mem_of("67108864"), 64 * MIB);
    cr_assert_eq(mem_of("4194304KiB"), 4 * GIB);
    cr_assert_eq(mem_of("18M"), 18 * MIB);
    cr_assert_eq(mem_of("2097152000B"), 2000 * MIB);
}

Test(cli, parse_size_values)
{
    uint64_t v;
    cr_assert_eq(size_parse("4096", &v), 0);
    cr_assert_eq(v, 4096);
    cr_assert_eq(size_parse("100MB", &v), 0);
    cr_assert_eq(v, 100000000);
    cr_assert_eq(size_parse("1kB", &v), 0);
    cr_assert_eq(v, 1000);
    cr_assert_eq(size_parse("1.25KiB", &v), 0);
    cr_assert_eq(v, 1280);
    cr_assert_eq(size_parse("0.5MiB", &v), 0);
    cr_assert_eq(v, 512 * 1024);
    cr_assert_eq(size_parse("1TiB", &v), 0);
    cr_assert_eq(v, 1ull << 40);
    cr_assert_eq(size_parse("16777216TiB", &v), -1); /* 2^64 */
    cr_assert_str_eq(err_msg(), "invalid memory size '16777216TiB': too large");
    cr_assert_eq(size_parse("lots", &v), -1);
    cr_assert_str_eq(err_msg(), "invalid memory size 'lots': expected a number such as 64MiB");
    cr_assert_eq(size_parse("12XB", &v), -1);
    cr_assert_str_eq(err_msg(), "invalid memory size '12XB': unknown unit 'XB' (use B, KiB, MiB, "
                                "GiB, TiB, K, M, G, KB, MB, GB)");
    cr_assert_eq(size_parse("99999999999999999999", &v), -1);
    cr_assert_str_eq(err_msg(), "invalid memory size '99999999999999999999': too large");
}

Test(cli, memory_not_2mib_multiple)
{
    const char *argv[] = {"chyve", "-m", "100MB", "k"};
    expect_error(N(argv), argv, no_env, "memory size 100MB must be a multiple of 2MiB");
}

Test(cli, memory_odd_mib)
{
    const char *argv[] = {"chyve", "--memory-size=17MiB", "k"};
    expect_error(N(argv), argv, no_env, "memory size 17MiB must be a multiple of 2MiB");
}

Test(cli, memory_too_small)
{
    const char *argv[] = {"chyve", "-m", "15MiB", "k"};
    expect_error(N(argv), argv, no_env, "memory size 15MiB is too small: at least 16MiB");
    const char *zero[] = {"chyve", "-m", "0", "k"};
    expect_error(N(zero), zero, no_env, "memory size 0 is too small: at least 16MiB");
}

Test(cli, memory_garbage)
{
    const char *argv[] = {"chyve", "-m", "lots", "k"};
    expect_error(N(argv), argv, no_env,
                 "invalid memory size 'lots': expected a number such as 64MiB");
    const char *empty[] = {"chyve", "--memory-size=", "k"};
    expect_error(N(empty), empty, no_env,
                 "invalid memory size '': expected a number such as 64MiB");
}

Test(cli, memory_unknown_unit)
{
    const char *argv[] = {"chyve", "-m", "12XB", "k"};
    expect_error(N(argv), argv, no_env,
                 "invalid memory size '12XB': unknown unit 'XB' (use B, KiB, MiB, GiB, TiB, K, "
                 "M, G, KB, MB, GB)");
    const char *trail[] = {"chyve", "-m", "64MiB ", "k"};
    cr_assert_eq(parse(N(trail), trail, no_env), -1);
    cr_assert(strstr(err_msg(), "unknown unit"), "%s", err_msg());
    const char *longu[] = {"chyve", "-m", "64megabytes", "k"};
    cr_assert_eq(parse(N(longu), longu, no_env), -1);
    cr_assert(strstr(err_msg(), "invalid memory size '64megabytes': unknown unit 'megabytes'"),
              "%s", err_msg());
}

Test(cli, memory_missing_value)
{
    const char *a1[] = {"chyve", "-m"};
    expect_error(N(a1), a1, no_env, "option '-m' needs a value");
    const char *a2[] = {"chyve", "--memory-size"};
    expect_error(N(a2), a2, no_env, "option '--memory-size' needs a value");
}

/* ---- HERMIT_* environment variables ---------------------------------------------------------- */

Test(cli, env_vars_set_memory_and_cpus)
{
    const char *env[] = {"HERMIT_MEMORY_SIZE=128MiB", "HERMIT_CPU_COUNT=4", "X=1", NULL};
    const char *argv[] = {"chyve", "k"};
    cr_assert_eq(parse(N(argv), argv, env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.mem_size, 128 * MIB);
    cr_assert_eq(c->cfg.ncpus, 4);
    cr_assert_eq(c->cfg.nenv, 0); /* the guest's environment is empty by default */
    const char *a2[] = {"chyve", "-e", "host", "k"};
    cr_assert_eq(parse(N(a2), a2, env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.nenv, 3); /* with -e host they reach the guest unchanged */
    cr_assert_eq(c->cfg.env[0], env[0]);
}

Test(cli, command_line_overrides_env_vars)
{
    const char *env[] = {"HERMIT_MEMORY_SIZE=128MiB", "HERMIT_CPU_COUNT=4", NULL};
    const char *argv[] = {"chyve", "-c", "2", "-m", "32MiB", "k"};
    cr_assert_eq(parse(N(argv), argv, env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.mem_size, 32 * MIB);
    cr_assert_eq(c->cfg.ncpus, 2);
}

Test(cli, invalid_env_var_reported_with_its_name)
{
    const char *env[] = {"HERMIT_MEMORY_SIZE=lots", NULL};
    const char *argv[] = {"chyve", "k"};
    expect_error(N(argv), argv, env,
                 "HERMIT_MEMORY_SIZE: invalid memory size 'lots': expected a number such as 64MiB");
}

Test(cli, invalid_env_memory_range_reported_with_its_name)
{
    const char *env[] = {"HERMIT_MEMORY_SIZE=8MiB", NULL};
    const char *argv[] = {"chyve", "k"};
    expect_error(N(argv), argv, env,
                 "HERMIT_MEMORY_SIZE: memory size 8MiB is too small: at least 16MiB");
}

Test(cli, invalid_env_cpu_count_reported_with_its_name)
{
    const char *env[] = {"HERMIT_CPU_COUNT=0", NULL};
    const char *argv[] = {"chyve", "k"};
    expect_error(N(argv), argv, env,
                 "HERMIT_CPU_COUNT: invalid cpu count '0': expected a number from 1 to 64");
}

/* The command line wins over the variable (as with uhyve/clap), so a bad value it overrides
 * must not stop the run. */
Test(cli, command_line_overrides_invalid_env_vars)
{
    const char *env[] = {"HERMIT_MEMORY_SIZE=lots", "HERMIT_CPU_COUNT=many", NULL};
    const char *argv[] = {"chyve", "-m", "32MiB", "-c", "3", "k"};
    cr_assert_eq(parse(N(argv), argv, env), 0, "rejected: %s", err_msg());
    cr_assert_eq(c->cfg.mem_size, 32 * MIB);
    cr_assert_eq(c->cfg.ncpus, 3);
}

/* ---- cpu count ------------------------------------------------------------------------------- */

Test(cli, cpu_count_spellings)
{
    const char *a1[] = {"chyve", "-c", "64", "k"};
    const char *a2[] = {"chyve", "--cpu-count=3", "k"};
    const char *a3[] = {"chyve", "-c7", "k"};
    cr_assert_eq(parse(N(a1), a1, no_env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.ncpus, 64);
    cli_reset();
    cr_assert_eq(parse(N(a2), a2, no_env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.ncpus, 3);
    cli_reset();
    cr_assert_eq(parse(N(a3), a3, no_env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.ncpus, 7);
}

Test(cli, cpu_count_rejected)
{
    static const char *bad[] = {
        "0", "abc", "65", "", "-1", "+2", "2x", " 2", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[] = {"chyve", "-c", bad[i], "k"};
        char want[128];
        snprintf(want, sizeof(want), "invalid cpu count '%s': expected a number from 1 to 64",
                 bad[i]);
        expect_error(N(argv), argv, no_env, want);
        cli_reset();
    }
}

/* ---- guest environment ----------------------------------------------------------------------- */

Test(cli, env_values_replace_host_env)
{
    const char *argv[] = {
        "chyve", "-e", "A=1", "--env-vars", "B=two=2", "-eC=", "--env-vars=D=4", "k"};
    cr_assert_eq(parse(N(argv), argv, host_env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.nenv, 4);
    cr_assert_str_eq(c->cfg.env[0], "A=1");
    cr_assert_str_eq(c->cfg.env[1], "B=two=2");
    cr_assert_str_eq(c->cfg.env[2], "C=");
    cr_assert_str_eq(c->cfg.env[3], "D=4");
}

/* uhyve keeps the last value of a repeated KEY (a map); chyve keeps its first place. */
Test(cli, env_last_of_a_key_wins)
{
    const char *argv[] = {"chyve", "-e", "X=y", "-e", "A=1", "-e", "X=z", "-e", "X=", "k"};
    expect_ok(N(argv), argv, host_env);
    cr_assert_eq(c->cfg.nenv, 2);
    cr_assert_str_eq(c->cfg.env[0], "X=");
    cr_assert_str_eq(c->cfg.env[1], "A=1");
}

Test(cli, env_host)
{
    const char *argv[] = {"chyve", "-e", "host", "k"};
    cr_assert_eq(parse(N(argv), argv, host_env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.nenv, 3);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(c->cfg.env[i], host_env[i]);
}

Test(cli, env_host_discards_other_values)
{
    const char *argv[] = {"chyve", "-e", "A=1", "-e", "host", "-e", "B=2", "k"};
    cr_assert_eq(parse(N(argv), argv, host_env), 0, "%s", err_msg());
    cr_assert_eq(c->cfg.nenv, 3);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(c->cfg.env[i], host_env[i]);
}

Test(cli, env_without_equals_rejected)
{
    const char *argv[] = {"chyve", "-e", "NOVALUE", "k"};
    expect_error(N(argv), argv, host_env,
                 "invalid environment variable 'NOVALUE': expected KEY=VALUE or host");
    const char *a2[] = {"chyve", "-e", "=x", "k"};
    expect_error(N(a2), a2, host_env,
                 "invalid environment variable '=x': expected KEY=VALUE or host");
}

/* ---- verbosity, help, version, errors -------------------------------------------------------- */

Test(cli, verbosity)
{
    const char *argv[] = {"chyve", "-vv", "k"};
    cr_assert_eq(parse(N(argv), argv, no_env), 0, "%s", err_msg());
    cr_assert_eq(c->verbosity, 2);
    cr_assert_eq(log_threshold, LOG_DEBUG);
    cli_reset();
    const char *a2[] = {"chyve", "-v", "--verbose", "-vvm32MiB", "k"};
    cr_assert_eq(parse(N(a2), a2, no_env), 0, "%s", err_msg());
    cr_assert_eq(c->verbosity, 4);
    cr_assert_eq(log_threshold, LOG_TRACE);
    cr_assert_eq(c->cfg.mem_size, 32 * MIB);
}

Test(cli, chyve_log_env)
{
    const char *env[] = {"CHYVE_LOG=debug", NULL};
    const char *argv[] = {"chyve", "k"};
    cr_assert_eq(parse(N(argv), argv, env), 0, "%s", err_msg());
    cr_assert_eq(log_threshold, LOG_DEBUG);
    cli_reset();
    const char *bad[] = {"CHYVE_LOG=loud", NULL};
    expect_error(N(argv), argv, bad,
                 "CHYVE_LOG: unknown level 'loud' (use error, warn, info, debug or trace)");
}

Test(cli, help_and_version)
{
    static const struct {
        const char *opt;
        enum cli_action action;
    } cases[] = {
        {"-h", CLI_HELP}, {"--help", CLI_HELP}, {"-V", CLI_VERSION}, {"--version", CLI_VERSION}};
    for (size_t i = 0; i < 4; i++) {
        const char *argv[] = {"chyve", cases[i].opt};
        cr_assert_eq(parse(N(argv), argv, no_env), 0, "%s: %s", cases[i].opt, err_msg());
        cr_assert_eq(c->action, cases[i].action, "%s", cases[i].opt);
        cli_reset();
    }
    /* --help wins even with a kernel and other options */
    const char *argv[] = {"chyve", "-m", "32MiB", "--help", "k"};
    cr_assert_eq(parse(N(argv), argv, no_env), 0, "%s", err_msg());
    cr_assert_eq(c->action, CLI_HELP);
    cr_assert(strstr(cli_usage, "--memory-size"));
}

Test(cli, unknown_options)
{
    const char *a1[] = {"chyve", "--frobnicate", "k"};
    expect_error(N(a1), a1, no_env, "unknown option '--frobnicate' (see chyve --help)");
    const char *a2[] = {"chyve", "--frob=1", "k"};
    expect_error(N(a2), a2, no_env, "unknown option '--frob' (see chyve --help)");
    const char *a3[] = {"chyve", "-x", "k"};
    expect_error(N(a3), a3, no_env, "unknown option '-x' (see chyve --help)");
    const char *a4[] = {"chyve", "-vx", "k"};
    expect_error(N(a4), a4, no_env, "unknown option '-x' in '-vx' (see chyve --help)");
    const char *a5[] = {"chyve", "--memory", "64MiB", "k"};
    expect_error(N(a5), a5, no_env, "unknown option '--memory' (see chyve --help)");
}

Test(cli, missing_kernel)
{
    static const char want[] = "no kernel given (usage: chyve [OPTIONS] <KERNEL> [ARGS]...)";
    const char *a1[] = {"chyve"};
    expect_error(N(a1), a1, no_env, want);
    const char *a2[] = {"chyve", "-m", "32MiB", "-v"};
    expect_error(N(a2), a2, no_env, want);
    const char *a3[] = {"chyve", "--"};
    expect_error(N(a3), a3, no_env, want);
}

/* ---- kernel and its arguments ---------------------------------------------------------------- */

/* Expects the guest arguments of the last parse to be exactly want[0 .. n). */
static void expect_args(const char *const *want, size_t n)
{
    cr_assert_eq(c->cfg.nargs, n, "%zu arguments, expected %zu", c->cfg.nargs, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(c->cfg.args[i], want[i], "arg %zu", i);
}

Test(cli, seccomp_modes)
{
    static const char *const names[] = {"strict", "LOG", "none"};
    static const enum vm_seccomp modes[] = {VM_SECCOMP_STRICT, VM_SECCOMP_LOG, VM_SECCOMP_NONE};
    for (size_t i = 0; i < 3; i++) {
        const char *argv[] = {"chyve", "--seccomp", names[i], "k"};
        expect_ok(N(argv), argv, no_env);
        cr_assert_eq(c->cfg.seccomp, modes[i], "--seccomp %s", names[i]);
        cli_reset();
    }
    const char *bad[] = {"chyve", "--seccomp", "off", "k"};
    expect_error(N(bad), bad, no_env, "invalid seccomp mode 'off': expected strict, log or none");
}

/* uhyve's own scripts write `uhyve $kernel --stats $param`: options after the kernel count. */
Test(cli, options_after_the_kernel)
{
    const char *argv[] = {"chyve", "hello_c", "--stats", "--file-isolation", "strict"};
    expect_ok(N(argv), argv, no_env);
    cr_assert_str_eq(c->cfg.kernel_path, "hello_c");
    cr_assert(c->cfg.stats);
    cr_assert_eq(c->cfg.isolation, VM_ISOLATION_STRICT);
    expect_args(NULL, 0);
    const char *a2[] = {"chyve", "k", "x", "-c", "2", "y", "-m", "32MiB"};
    expect_ok(N(a2), a2, no_env);
    cr_assert_eq(c->cfg.ncpus, 2);
    cr_assert_eq(c->cfg.mem_size, 32 * MIB);
    expect_args((const char *[]){"x", "y"}, 2);
}

/* §9.1: the first bare "--" ends the options and is dropped; everything after it is the guest's. */
Test(cli, first_double_dash_ends_options_and_is_dropped)
{
    const char *argv[] = {"chyve", "k", "--", "-freq", "2000", "--", "a", "b"};
    expect_ok(N(argv), argv, no_env);
    expect_args((const char *[]){"-freq", "2000", "--", "a", "b"}, 5);
    const char *a2[] = {"chyve", "k", "x", "--", "a"};
    expect_ok(N(a2), a2, no_env);
    expect_args((const char *[]){"x", "a"}, 2);
    const char *a3[] = {"chyve", "-c", "2", "k", "--", "-m", "3", "--", "--help", ""};
    expect_ok(N(a3), a3, no_env);
    cr_assert_eq(c->action, CLI_RUN);
    cr_assert_eq(c->cfg.mem_size, 64 * MIB); /* "-m 3" belongs to the guest */
    cr_assert_eq(c->cfg.ncpus, 2);
    expect_args((const char *[]){"-m", "3", "--", "--help", ""}, 5);
    const char *a4[] = {"chyve", "k", "--", "--"};
    expect_ok(N(a4), a4, no_env);
    expect_args((const char *[]){"--"}, 1);
}

Test(cli, dash_word_before_double_dash_is_an_error)
{
    const char *a1[] = {"chyve", "k", "-freq", "2000"};
    expect_error(N(a1), a1, no_env,
                 "unknown option '-freq' (an argument for the guest that starts with '-' goes "
                 "after '--': chyve [OPTIONS] KERNEL -- ARGS)");
    const char *a2[] = {"chyve", "k", "a", "--port=8080"};
    expect_error(N(a2), a2, no_env,
                 "unknown option '--port' (an argument for the guest that starts with '-' goes "
                 "after '--': chyve [OPTIONS] KERNEL -- ARGS)");
}

Test(cli, double_dash_before_kernel)
{
    const char *argv[] = {"chyve", "-v", "--", "-kernel-with-dash", "a", "--", "-v"};
    cr_assert_eq(parse(N(argv), argv, no_env), 0, "%s", err_msg());
    cr_assert_str_eq(c->cfg.kernel_path, "-kernel-with-dash");
    expect_args((const char *[]){"a", "--", "-v"}, 3);
    cr_assert_eq(c->verbosity, 1);
}

Test(cli, single_dash_is_a_word)
{
    const char *argv[] = {"chyve", "-", "x", "-"};
    cr_assert_eq(parse(N(argv), argv, no_env), 0, "%s", err_msg());
    cr_assert_str_eq(c->cfg.kernel_path, "-");
    expect_args((const char *[]){"x", "-"}, 2);
}

/* ---- defaults of the run options, help text -------------------------------------------------- */

Test(cli, defaults_of_run_options)
{
    const char *argv[] = {"chyve", "k"};
    expect_ok(N(argv), argv, no_env);
    cr_assert_null(c->output);
    cr_assert_null(c->config_path);
    cr_assert_not(c->cfg.stats);
    cr_assert_null(c->cfg.stats_file);
    cr_assert_null(c->cfg.tempdir);
    cr_assert_eq(c->cfg.nfile_maps, 0);
    cr_assert_null(c->cfg.file_maps);
    cr_assert_eq(c->cfg.isolation, VM_ISOLATION_NORMAL);
    cr_assert_eq(c->cfg.seccomp, VM_SECCOMP_STRICT);
    cr_assert_not(c->cfg.io_direct || c->cfg.io_sync || c->cfg.thp || c->cfg.ksm || c->cfg.pit ||
                  c->cfg.cpu_pm);
    cr_assert_null(c->cfg.affinity);
    cr_assert_eq(c->cfg.naffinity, 0);
}

/* Every option with a long name is in --help, with its short name where it has one. */
Test(cli, help_names_every_option)
{
    for (int i = 0; i < OPT_COUNT; i++) {
        const struct opt_def *d = &opt_defs[i];
        if (!d->long_name)
            continue;
        char name[64];
        snprintf(name, sizeof(name), "--%s", d->long_name);
        cr_assert(strstr(cli_usage, name), "--help does not mention %s", name);
        if (d->short_name && !d->refused) {
            snprintf(name, sizeof(name), "-%c, --%s", d->short_name, d->long_name);
            cr_assert(strstr(cli_usage, name), "--help does not show '%s'", name);
        }
    }
    /* the sections of the configuration file head the groups */
    cr_assert(strstr(cli_usage, "Run options (configuration file section [uhyve]):\n"));
    cr_assert(strstr(cli_usage, "Memory options (configuration file section [memory]):\n"));
    cr_assert(strstr(cli_usage, "CPU options (configuration file section [cpu]):\n"));
    cr_assert(strstr(cli_usage, "Guest options (configuration file section [guest]):\n"));
}

Test(cli, env_alias)
{
    const char *argv[] = {"chyve", "--env", "A=1", "--env=B=2", "k"};
    expect_ok(N(argv), argv, host_env);
    cr_assert_eq(c->cfg.nenv, 2);
    cr_assert_str_eq(c->cfg.env[0], "A=1");
    cr_assert_str_eq(c->cfg.env[1], "B=2");
}

Test(cli, log_levels)
{
    const char *env[] = {"CHYVE_LOG=error", NULL};
    const char *argv[] = {"chyve", "k"};
    expect_ok(N(argv), argv, env);
    cr_assert_eq(log_threshold, LOG_ERROR);
    const char *trace[] = {"CHYVE_LOG=TRACE", NULL};
    expect_ok(N(argv), argv, trace);
    cr_assert_eq(log_threshold, LOG_TRACE);
    /* -v counts up from warn and wins over CHYVE_LOG */
    const char *v[] = {"chyve", "-v", "k"};
    expect_ok(N(v), v, env);
    cr_assert_eq(log_threshold, LOG_INFO);
}

/* uhyve's RUST_LOG, when CHYVE_LOG is unset: env_logger directives, the most verbose wins. */
Test(cli, rust_log)
{
    static const struct {
        const char *var;
        enum log_level want;
    } cases[] = {
        {"RUST_LOG=info", LOG_INFO},
        {"RUST_LOG=DEBUG", LOG_DEBUG},
        {"RUST_LOG=off", LOG_ERROR},
        {"RUST_LOG=error", LOG_ERROR},
        {"RUST_LOG=warn,uhyve=trace", LOG_TRACE},
        {"RUST_LOG=uhyvelib::vm=debug,info", LOG_DEBUG},
        {"RUST_LOG=uhyve", LOG_TRACE}, /* a bare target: everything */
        {"RUST_LOG=info/some.*regex", LOG_INFO},
    };
    const char *argv[] = {"chyve", "k"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        log_threshold = LOG_WARN;
        const char *env[] = {cases[i].var, NULL};
        expect_ok(N(argv), argv, env);
        cr_assert_eq(log_threshold, cases[i].want, "%s", cases[i].var);
    }
    const char *both[] = {"RUST_LOG=trace", "CHYVE_LOG=error", NULL}; /* CHYVE_LOG first */
    expect_ok(N(argv), argv, both);
    cr_assert_eq(log_threshold, LOG_ERROR);
    const char *bad[] = {"RUST_LOG=uhyve=loud", NULL};
    expect_error(N(argv), argv, bad,
                 "RUST_LOG: unknown level 'loud' in 'uhyve=loud' (use off, error, warn, info, "
                 "debug or trace)");
    log_threshold = LOG_WARN;
}
