/*
 * test_compat.c: the command lines and configuration file a uhyve user writes, taken from
 * uhyve's README, its --help text, its scripts and its sample data/uhyve.toml, run through the
 * real chyve binary with this project's test guests; each case checks what the guest received
 * (its printed arguments and environment), the statistics, or the one-line refusal and status.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "run.h"

#define ASSERT_RUN(r, cond, ...)                                                                   \
    cr_assert((cond), "%s\n--- status %d\n--- stdout:\n%s\n--- stderr:\n%s", fmt(__VA_ARGS__),     \
              (r)->status, (r)->out, (r)->err)

static char msg_buf[512];

static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(msg_buf, sizeof(msg_buf), f, ap);
    va_end(ap);
    return msg_buf;
}

static char *dir; /* a temporary working directory, removed by the suite's fini */
static char *old_cwd;

static void teardown(void)
{
    if (old_cwd && chdir(old_cwd) != 0)
        fprintf(stderr, "cannot return to %s\n", old_cwd);
    free(old_cwd);
    old_cwd = NULL;
    if (dir) {
        remove_tree(dir);
        free(dir);
        dir = NULL;
    }
}

TestSuite(compat, .fini = teardown);

/* Moves into a fresh empty directory (for ./uhyve.toml) until the test ends. */
static void enter_temp_dir(void)
{
    dir = strdup("/tmp/chyve-compat-XXXXXX");
    cr_assert(dir && mkdtemp(dir));
    old_cwd = getcwd(NULL, 0);
    cr_assert(old_cwd && chdir(dir) == 0);
}

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(name, "w");
    cr_assert(f && fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", name);
}

/* chyve's command line with the guest's path put where "@" stands. */
static void run_with(struct run *r, const char *guest, const char *const *args,
                     const char *const *envp)
{
    require_kvm();
    char *g = guest_path(guest);
    const char *argv[32];
    size_t n = 0;
    for (; args[n]; n++)
        argv[n] = strcmp(args[n], "@") ? args[n] : g;
    argv[n] = NULL;
    run_chyve(r, argv, envp);
    free(g);
}

/* Exit status 0 and exactly want on stdout after the bootargs line the guest prints first. */
static void expect_guest(struct run *r, const char *bootargs, const char *want)
{
    ASSERT_RUN(r, r->status == 0, "exit status %d, want 0", r->status);
    char line[512];
    snprintf(line, sizeof(line), "bootargs=%s\n", bootargs);
    ASSERT_RUN(r, strncmp(r->out, line, strlen(line)) == 0, "want first line %s", line);
    ASSERT_RUN(r, strcmp(r->out + strlen(line), want) == 0, "want after it:\n%s", want);
}

/* A refusal: status 2, nothing on stdout, one line on stderr: want, or starting with it. */
static void refusal(struct run *r, const char *want, bool prefix)
{
    ASSERT_RUN(r, r->status == 2, "exit status %d, want 2", r->status);
    ASSERT_RUN(r, r->out_len == 0, "the guest ran");
    ASSERT_RUN(r,
               count_lines(r->err) == 1 && strncmp(r->err, want, strlen(want)) == 0 &&
                   (prefix || r->err[strlen(want)] == '\n'),
               "want the one line %s: %s", prefix ? "starting with" : "", want);
}

static void expect_refusal(struct run *r, const char *want)
{
    refusal(r, want, false);
}

static void expect_refusal_prefix(struct run *r, const char *want)
{
    refusal(r, want, true);
}

static bool landlock_abi3(void)
{
#ifdef SYS_landlock_create_ruleset
    return syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* VERSION */) >= 3;
#else
    return false;
#endif
}

/* ---- uhyve's README ------------------------------------------------------------------------- */

/* `uhyve /path/to/the/unikernel/binary`: no arguments, and an empty environment. */
Test(compat, readme_plain_run)
{
    struct run r;
    const char *const env[] = {"SECRET_TOKEN=hunter2", "PATH=/usr/bin:/bin", NULL};
    run_with(&r, "args_fdt", (const char *[]){"@", NULL}, env);
    expect_guest(&r, "", "argc=1\narg[0]=args_fdt\nenvc=0\n");
    ASSERT_RUN(&r, r.err_len == 0, "diagnostics on stderr");
    run_free(&r);
}

/* `uhyve -m 4GiB -c 4 path/to/unikernel`: 4 GiB of RAM (above 4 GiB) and four vCPUs. */
Test(compat, readme_memory_and_cpus)
{
    struct run r;
    run_with(&r, "v2", (const char *[]){"-m", "4GiB", "-c", "4", "@", "--stats", NULL}, NULL);
    ASSERT_RUN(&r, r.status == 0, "status");
    ASSERT_RUN(&r, strstr(r.out, "v2: RAM above 4 GiB: yes\n"), "no RAM above 4 GiB");
    ASSERT_RUN(&r, strstr(r.err, " cpu3\n") && !strstr(r.err, "cpu4"), "not four vCPUs");
    run_free(&r);
}

/*
 * `uhyve --net=tap:tap10 path/to/image`: the option is read as uhyve reads it, and (as uhyve)
 * refused for a kernel older than 0.13.2, whose version note this guest carries (0.11.0).
 */
Test(compat, readme_net_needs_a_recent_kernel)
{
    struct run r;
    run_with(&r, "args_fdt", (const char *[]){"--net=tap:tap10", "@", NULL}, NULL);
    expect_refusal(&r, "chyve: error: --net needs a Hermit kernel 0.13.2 or newer; this one is "
                       "0.11.0 (older kernels never enable the device's interrupt)");
    run_free(&r);
}

/* ---- uhyve's scripts/run_images.sh: `uhyve $kernel --stats $param` -------------------------- */

static void run_images_case(const char *isolation)
{
    struct run r;
    run_with(&r, "args_fdt", (const char *[]){"@", "--stats", "--file-isolation", isolation, NULL},
             NULL);
    if (!strcmp(isolation, "strict") && !landlock_abi3()) {
        expect_refusal_prefix(&r, "chyve: error: --file-isolation strict: ");
        run_free(&r);
        return;
    }
    /* the options are chyve's, not the guest's: no arguments reach it, statistics are printed */
    expect_guest(&r, "", "argc=1\narg[0]=args_fdt\nenvc=0\n");
    ASSERT_RUN(&r, strncmp(r.err, "chyve: run statistics\n", 22) == 0, "no statistics");
    run_free(&r);
}

Test(compat, run_images_isolation_none)
{
    run_images_case("none");
}
Test(compat, run_images_isolation_normal)
{
    run_images_case("normal");
}
Test(compat, run_images_isolation_strict)
{
    run_images_case("strict");
}

/* ---- the first bare "--" (ABI §9.1) ---------------------------------------------------------- */

Test(compat, double_dash_kernel_and_application_arguments)
{
    struct run r;
    run_with(&r, "args_fdt", (const char *[]){"@", "--", "-freq", "2000", "--", "a", "b", NULL},
             NULL);
    expect_guest(&r, "-freq 2000 -- a b",
                 "karg[0]=-freq\nkarg[1]=2000\nargc=3\narg[0]=args_fdt\narg[1]=a\narg[2]=b\n"
                 "envc=0\n");
    run_free(&r);
    run_with(&r, "args_fdt", (const char *[]){"@", "x", "--", "a", NULL}, NULL);
    expect_guest(&r, "x a", "karg[0]=x\nkarg[1]=a\nargc=1\narg[0]=args_fdt\nenvc=0\n");
    run_free(&r);
}

/* Pre-0.10 kernels get every argument through Cmdsize/Cmdval, the first "--" dropped. */
Test(compat, double_dash_cmdval)
{
    struct run r;
    run_with(&r, "args_v1", (const char *[]){"@", "--stats", "x", "--", "-y", "--", "z", NULL},
             NULL);
    char *g = guest_path("args_v1");
    char want[512];
    snprintf(want, sizeof(want),
             "argc=5\narg[0]=%s\narg[1]=x\narg[2]=-y\narg[3]=--\narg[4]=z\nenvc=0\n", g);
    ASSERT_RUN(&r, r.status == 0 && strcmp(r.out, want) == 0, "want:\n%s", want);
    free(g);
    run_free(&r);
}

Test(compat, dash_word_before_double_dash_is_refused)
{
    struct run r;
    run_with(&r, "args_fdt", (const char *[]){"@", "-freq", "2000", NULL}, NULL);
    expect_refusal(&r, "chyve: error: unknown option '-freq' (an argument for the guest that "
                       "starts with '-' goes after '--': chyve [OPTIONS] KERNEL -- ARGS)");
    run_free(&r);
}

/* ---- the environment, as uhyve's --help describes -e ----------------------------------------- */

/* `--env-vars ASDF=jlk -e TERM=uhyveterm2000` (the help's example, with clap's real spelling). */
Test(compat, help_env_example)
{
    struct run r;
    run_with(&r, "args_fdt",
             (const char *[]){"--env-vars", "ASDF=jlk", "-e", "TERM=uhyveterm2000", "@", NULL},
             NULL);
    expect_guest(&r, "env=ASDF=jlk env=TERM=uhyveterm2000",
                 "argc=1\narg[0]=args_fdt\nenvc=2\nenv ASDF=jlk\nenv TERM=uhyveterm2000\n");
    run_free(&r);
    /* the help writes --env_vars, which clap does not know either */
    run_with(&r, "args_fdt", (const char *[]){"--env_vars", "ASDF=jlk", "@", NULL}, NULL);
    expect_refusal(&r, "chyve: error: unknown option '--env_vars' (see chyve --help)");
    run_free(&r);
}

/* `-e host` passes everything; repeated keys keep the last value, as uhyve's map. */
Test(compat, env_host_and_last_value_wins)
{
    struct run r;
    const char *const env[] = {"CHYVE_COMPAT=1 2", "PATH=/usr/bin:/bin", NULL};
    run_with(&r, "args_fdt", (const char *[]){"-e", "host", "@", NULL}, env);
    expect_guest(&r, "env=CHYVE_COMPAT='1 2' env=PATH=/usr/bin:/bin",
                 "argc=1\narg[0]=args_fdt\nenvc=2\nenv CHYVE_COMPAT=1 2\nenv PATH=/usr/bin:/bin\n");
    run_free(&r);
    run_with(&r, "args_fdt", (const char *[]){"-e", "X=y", "-e", "X=z", "@", NULL}, env);
    expect_guest(&r, "env=X=z", "argc=1\narg[0]=args_fdt\nenvc=1\nenv X=z\n");
    run_free(&r);
}

/* ---- other spellings of uhyve's --help --------------------------------------------------------
 */

/* `--io-mode default` and the host=... spellings are accepted. */
Test(compat, io_mode_spellings)
{
    static const char *const modes[] = {"default", "host=direct", "host=sync", "host=direct,sync"};
    for (size_t i = 0; i < 4; i++) {
        struct run r;
        run_with(&r, "args_fdt", (const char *[]){"--io-mode", modes[i], "@", NULL}, NULL);
        expect_guest(&r, "", "argc=1\narg[0]=args_fdt\nenvc=0\n");
        run_free(&r);
    }
}

/* `--file-mapping host_dir:guest_dir --file-mapping file.txt:guest_file.txt` (the help's example).
 */
Test(compat, help_file_mapping_example)
{
    enter_temp_dir();
    cr_assert_eq(system("mkdir host_dir && echo hi > file.txt"), 0);
    struct run r;
    run_with(&r, "args_fdt",
             (const char *[]){"--file-mapping", "host_dir:guest_dir", "--file-mapping",
                              "file.txt:guest_file.txt", "@", NULL},
             NULL);
    expect_guest(&r, "", "argc=1\narg[0]=args_fdt\nenvc=0\n");
    run_free(&r);
}

/* ---- data/uhyve.toml
 * ----------------------------------------------------------------------------- */

/* The sample's settings, written in this test's own layout; affinity is added where it fits. */
static void write_sample(bool with_affinity)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "# uhyve's sample settings\n[uhyve]\nstats = true\nfile_isolation = \"strict\"\n"
             "[memory]\nmemory_size = '100MiB'\nno_aslr = true\nthp = true\nksm = true\n"
             "[cpu]\ncpu_count = 4\n%spit = true\n[guest]\nenv_vars = ['foo=bar']\n",
             with_affinity ? "affinity = [1, 2, 3, 4]\n" : "");
    write_text("uhyve.toml", text);
}

static bool have_cpus_1_to_4(void)
{
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
    for (int i = 1; i <= 4; i++)
        if (!CPU_ISSET(i, &set))
            return false;
    return true;
}

/* ./uhyve.toml is found and used: four vCPUs, statistics, foo=bar, 100 MiB without ASLR. */
Test(compat, uhyve_toml_in_working_directory)
{
    enter_temp_dir();
    write_sample(have_cpus_1_to_4());
    struct run r;
    run_with(&r, "args_fdt", (const char *[]){"@", NULL}, NULL);
    if (!landlock_abi3()) {
        expect_refusal_prefix(&r, "chyve: error: --file-isolation strict: ");
        run_free(&r);
        /* the rest of the sample's settings, with the isolation this host has */
        run_with(&r, "args_fdt", (const char *[]){"--file-isolation", "normal", "@", NULL}, NULL);
    }
    expect_guest(&r, "env=foo=bar", "argc=1\narg[0]=args_fdt\nenvc=1\nenv foo=bar\n");
    ASSERT_RUN(&r, strstr(r.err, "chyve: run statistics\n") && strstr(r.err, " cpu3\n"),
               "no statistics for four vCPUs");
    run_free(&r);
}

/* The whole sample where this host cannot pin to CPUs 1-4: the error names file, line and key. */
Test(compat, uhyve_toml_affinity_on_a_small_host)
{
    if (have_cpus_1_to_4())
        cr_skip_test("this host has CPUs 1-4: the sample's pinning works (previous case)");
    enter_temp_dir();
    write_sample(true);
    struct run r;
    run_with(&r, "args_fdt", (const char *[]){"--config", "uhyve.toml", "@", NULL}, NULL);
    expect_refusal_prefix(&r, "chyve: error: uhyve.toml:12: key 'affinity': host CPU ");
    run_free(&r);
}
