/*
 * test_files.c: guests use host files through chyve: file mapping (also read-only), the
 * temporary directory, the fd limit, escapes that must fail, file isolation (Landlock) and Hermit
 * images, with the real binary. Fixtures are made per test in a private directory; big and
 * malformed ones are generated here (tests/unit/fixture.c) rather than committed.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "run.h"

static char dir[256]; /* this test's directory */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char *cmd;
    va_list ap;
    va_start(ap, fmt);
    cr_assert(vasprintf(&cmd, fmt, ap) > 0);
    va_end(ap);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    free(cmd);
}

/* dir + "/" + rel, in one of a few rotating static buffers. */
static const char *at(const char *rel)
{
    static char buf[8][512];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, 512, "%s/%s", dir, rel);
    return b;
}

/* "HOST:GUEST" for --file-mapping with HOST relative to the test directory. */
static const char *map(const char *rel, const char *guest)
{
    static char buf[8][600];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, 600, "%s/%s:%s", dir, rel, guest);
    return b;
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/chyve-files-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    sh("mkdir '%s/data' '%s/temps' '%s/sync'", dir, dir, dir);
}

static void teardown(void)
{
    sh("rm -rf '%s'", dir);
}

TestSuite(files, .init = setup, .fini = teardown, .timeout = 600);

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static char *read_text(const char *path)
{
    size_t len;
    uint8_t *b = fixture_read_file(path, &len);
    cr_assert_not_null(b, "cannot read %s", path);
    char *s = realloc(b, len + 1);
    s[len] = '\0';
    return s;
}

/* Runs the files guest (v2, or v1) with options, then "-- --" and the scenario arguments. */
static void run_files(struct run *r, bool v1, const char *const *opts, const char *const *scen)
{
    require_kvm();
    const char *args[32];
    size_t n = 0;
    for (; opts && opts[n]; n++)
        args[n] = opts[n];
    char *g = guest_path(v1 ? "files_v1" : "files");
    args[n++] = g;
    args[n++] = "--"; /* ends chyve's options (dropped) */
    args[n++] = "--"; /* then kernel arguments (none) and the application's */
    for (size_t i = 0; scen[i]; i++)
        args[n++] = scen[i];
    args[n] = NULL;
    run_chyve(r, args, NULL);
    free(g);
}

/* Status and stdout exactly, nothing on stderr. */
static void expect(struct run *r, int status, const char *want)
{
    cr_assert_eq(r->status, status, "status %d, want %d\n--- stdout:\n%s--- stderr:\n%s", r->status,
                 status, r->out, r->err);
    cr_assert_str_eq(r->out, want, "--- stderr:\n%s", r->err);
    cr_assert_eq(r->err_len, 0, "stderr: %s", r->err);
}

/* ---- reading and writing ------------------------------------------------------------------- */

static void rw_test(bool v1)
{
    struct run r;
    run_files(&r, v1, (const char *[]){"--file-mapping", map("data", "/data"), NULL},
              (const char *[]){"rw", "/data/rw.txt", NULL});
    expect(&r, 0,
           "open for writing: ok\nwrite: 19\nclose: 0\nread: 19\nsame bytes: yes\n"
           "read at the end: 0\nclose: 0\nclose again: -9\n");
    char *t = read_text(at("data/rw.txt"));
    cr_assert_str_eq(t, "hello, chyve files\n");
    free(t);
    run_free(&r);
}

Test(files, write_and_read_back_v2)
{
    rw_test(false);
}
Test(files, write_and_read_back_v1_virtual_buffers)
{
    rw_test(true);
}

Test(files, read_a_mapped_file)
{
    enum { N = 10000 };
    uint8_t *b = malloc(N);
    for (int i = 0; i < N; i++)
        b[i] = (uint8_t)(i * 31 + 7);
    write_file(at("in.bin"), b, N);
    free(b);
    struct run r;
    run_files(&r, false, (const char *[]){"--file-mapping", map("in.bin", "/in/data.bin"), NULL},
              (const char *[]){"readmap", "/in/data.bin", "10000", NULL});
    expect(&r, 0, "read 10000 of 10000 bytes, all as expected\n");
    run_free(&r);
}

static const char lseek_v2[] = "SET 3: 3\nread '34'\nCUR +2: 7\nread '7'\nCUR -3: 5\nEND -4: 6\n"
                               "read '6789'\nEND 0: 10\nwhence 3: -22\nSET -1: -22\nSET 12: 12\n"
                               "write at 12: 1\nEND 0 after: 13\nbad fd: -9\nstdout: -29\n";

Test(files, lseek_every_whence)
{
    struct run r;
    run_files(&r, false, (const char *[]){"--file-mapping", map("data", "/data"), NULL},
              (const char *[]){"lseek", "/data/seek.txt", NULL});
    expect(&r, 0, lseek_v2);
    run_free(&r);
    /* the file has a hole of two zero bytes, then X */
    size_t len;
    uint8_t *b = fixture_read_file(at("data/seek.txt"), &len);
    cr_assert_eq(len, 13);
    cr_assert_eq(memcmp(b, "0123456789\0\0X", 13), 0);
    free(b);
}

Test(files, lseek_v1_reports_errors_as_minus_one)
{
    struct run r;
    run_files(&r, true, (const char *[]){"--file-mapping", map("data", "/data"), NULL},
              (const char *[]){"lseek", "/data/seek.txt", NULL});
    expect(&r, 0,
           "SET 3: 3\nread '34'\nCUR +2: 7\nread '7'\nCUR -3: 5\nEND -4: 6\nread '6789'\n"
           "END 0: 10\nwhence 3: -1\nSET -1: -1\nSET 12: 12\nwrite at 12: 1\nEND 0 after: 13\n"
           "bad fd: -1\nstdout: -1\n");
    run_free(&r);
}

Test(files, unlink)
{
    struct run r;
    run_files(&r, false, (const char *[]){"--file-mapping", map("data", "/data"), NULL},
              (const char *[]){"unlink", "/data/gone.txt", NULL});
    expect(&r, 0, "create: ok\nunlink: 0\nopen after unlink: -2\nunlink again: -2\n");
    cr_assert_neq(access(at("data/gone.txt"), F_OK), 0);
    run_free(&r);
}

Test(files, mkdir_getdents_stat)
{
    write_file(at("one.txt"), "virt\n", 5);
    struct run r;
    run_files(&r, false,
              (const char *[]){"--file-mapping", map("data", "/data"), "--file-mapping",
                               map("one.txt", "/virt/one.txt"), NULL},
              (const char *[]){"dirs", "/data", "/virt", NULL});
    struct stat st;
    cr_assert_eq(stat(at("data/sub"), &st), 0);
    char want[2048];
    snprintf(want, sizeof(want),
             "mkdir: 0\nmkdir again: -17\n"
             "stat /data/sub/a.txt: mode 0x81a4 size 1 nlink 1\n"
             "stat /data/sub: mode 0x41ed size %ld nlink %lu\n"
             "fstat: 0\nfstat: mode 0x81a4 size 2\nfstat stdin: -9\n"
             "/data/sub: ./4 ../4 a.txt/8 b.txt/8\n"
             "/data/sub: ./4 ../4 a.txt/8 b.txt/8\n"
             "getdents into 8 bytes: -22\nread a directory: -21\ngetdents of a file fd: -9\n"
             "/virt: one.txt/8\nstat /virt: mode 0x41ed size 0 nlink 2\n"
             "mkdir in a missing dir: -2\nmount /data\nmount /virt\n",
             (long)st.st_size, (unsigned long)st.st_nlink);
    expect(&r, 0, want);
    run_free(&r);
}

static bool landlock_available(void);

/* ---- read-only mappings -------------------------------------------------------------------- */

static const char readonly_out[] =
    "open read-only: ok\nread: 5\ncontent 'keep\n'\nwrite to it: -30\nSET 1: 1\nfstat: 0\n"
    "fstat size 5\nclose: 0\n"
    "open keep.txt 0x1: -30\nopen keep.txt 0x2: -30\nopen keep.txt 0x201: -30\n"
    "open keep.txt 0x200: -30\nopen keep.txt 0x401: -30\nopen new.txt 0x41: -30\n"
    "open new.txt 0x40: -30\nopen link 0x2: -30\nopen out/../keep.txt 0x1: -30\n"
    "open sub/new.txt 0xc2: -30\n"
    "unlink keep.txt: -30\nunlink sub: -30\nmkdir sub: -30\nmkdir newdir: -30\n"
    "read through link: 5\nstat /ro/keep.txt: mode 0x81a4 size 5 nlink 1\n"
    "/ro: ./4 ../4 keep.txt/8 link/10 out/4 sub/4\n"
    "create in out: ok\nwrite there: 4\nclose: 0\n"
    "read file: 5\ncontent 'conf\n'\nwrite file: -30\nopen file for writing: -30\n"
    "unlink file: -30\n";

/* The host side of the read-only scenario: what it must look like before and after. */
static void readonly_fixture(void)
{
    sh("cd '%s' && rm -rf rodata conf.txt && mkdir -p rodata/sub rodata/out && "
       "printf 'keep\\n' > rodata/keep.txt && chmod 644 rodata/keep.txt && "
       "ln -s keep.txt rodata/link && printf 'conf\\n' > conf.txt",
       dir);
}

static void readonly_unchanged(void)
{
    char *t = read_text(at("rodata/keep.txt"));
    cr_assert_str_eq(t, "keep\n", "the read-only file changed");
    free(t);
    t = read_text(at("conf.txt"));
    cr_assert_str_eq(t, "conf\n", "the read-only mapped file changed");
    free(t);
    cr_assert_eq(fixture_dir_entries(at("rodata")), 4, "entries appeared or vanished");
    cr_assert_eq(fixture_dir_entries(at("rodata/sub")), 0);
    t = read_text(at("rodata/out/made.txt"));
    cr_assert_str_eq(t, "made", "the writable mapping inside did not work");
    free(t);
}

/*
 * HOST:GUEST:ro on the command line and in a configuration file, with the default isolation
 * and with strict isolation where Landlock has ABI 3 (so its read-only rules are in force): the
 * guest sees EROFS for every change, reads what is there, and the host bytes stay the same.
 */
Test(files, read_only_mappings_refuse_every_change)
{
    readonly_fixture();
    struct run r;
    run_files(&r, false,
              (const char *[]){"--file-mapping", map("rodata", "/ro:ro"), "--file-mapping",
                               map("rodata/out", "/ro/out:rw"), "--file-mapping",
                               map("conf.txt", "/conf/conf.txt:ro"), NULL},
              (const char *[]){"readonly", "/ro", "/conf/conf.txt", NULL});
    expect(&r, 0, readonly_out);
    run_free(&r);
    readonly_unchanged();

    readonly_fixture();
    char conf[2048];
    snprintf(conf, sizeof(conf),
             "[uhyve]\nfile_isolation = '%s'\nfile_mapping = ['%s/rodata:/ro:ro', "
             "'%s/rodata/out:/ro/out', '%s/conf.txt:/conf/conf.txt:ro']\n",
             landlock_available() ? "strict" : "normal", dir, dir, dir);
    write_file(at("ro.toml"), conf, strlen(conf));
    run_files(&r, false, (const char *[]){"--config", at("ro.toml"), NULL},
              (const char *[]){"readonly", "/ro", "/conf/conf.txt", NULL});
    expect(&r, 0, readonly_out);
    run_free(&r);
    readonly_unchanged();
}

Test(files, an_unknown_mapping_mode_is_refused)
{
    struct run r;
    char *g = guest_path("files");
    run_chyve(&r, (const char *[]){"--file-mapping", map("data", "/data:rx"), g, NULL}, NULL);
    cr_assert_eq(r.status, 2, "%s", r.err);
    char want[700];
    snprintf(want, sizeof(want),
             "chyve: error: invalid file mapping '%s': unknown mode 'rx' (expected ro or rw)\n",
             map("data", "/data:rx"));
    cr_assert_str_eq(r.err, want);
    cr_assert_eq(r.out_len, 0);
    run_free(&r);
    free(g);
}

/* ---- the temporary directory --------------------------------------------------------------- */

Test(files, unmapped_files_vanish_after_the_run)
{
    struct run r;
    run_files(&r, false, (const char *[]){"--tempdir", at("temps"), NULL},
              (const char *[]){"temp", "/scratch/t/new.txt", NULL});
    expect(&r, 0,
           "open without O_CREAT: -2\ncreate: ok\nwrite: 9\nseek: 0\nread: 9\n"
           "content 'temporary'\nstat /scratch/t/new.txt: mode 0x8180 size 9 nlink 1\n"
           "mkdir /newdir: 0\ncreate in it: ok\n/newdir: ./4 ../4 inside.txt/8\n"
           "O_EXCL on it: -17\n");
    cr_assert_eq(fixture_dir_entries(at("temps")), 0, "the run left files in --tempdir");
    run_free(&r);
}

Test(files, a_guest_filling_the_run_directory_meets_its_limits_and_leaves_nothing)
{
    /* few fds for chyve: the old removal needed two per level of a deep tree */
    struct rlimit rl = {256, 256};
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    struct run r;
    run_files(&r, false,
              (const char *[]){"--tempdir", at("temps"), "--tempdir-max-depth", "1500",
                               "--tempdir-max-files", "1700", "--tempdir-max-size", "1MiB", NULL},
              (const char *[]){"fill", "/fill", NULL});
    expect(&r, 0,
           "nested directories: 1499, then -36\nfiles: 200, then -122\n"
           "bytes: 1048576, then -122\n");
    cr_assert_eq(fixture_dir_entries(at("temps")), 0, "the run left files in --tempdir");
    run_free(&r);
}

Test(files, default_tempdir_is_chyve_uid_and_is_cleaned)
{
    struct run r;
    char env_tmp[600];
    snprintf(env_tmp, sizeof(env_tmp), "TMPDIR=%s", at("temps"));
    char *g = guest_path("files");
    require_kvm();
    run_chyve(&r, (const char *[]){g, "--", "--", "temp", "/x.txt", NULL},
              (const char *[]){"PATH=/usr/bin:/bin", env_tmp, NULL});
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    char parent[600];
    snprintf(parent, sizeof(parent), "%s/chyve-%u", at("temps"), (unsigned)geteuid());
    struct stat st;
    cr_assert_eq(lstat(parent, &st), 0, "no %s", parent);
    cr_assert(S_ISDIR(st.st_mode));
    cr_assert_eq(st.st_mode & 07777, 0700);
    cr_assert_eq(fixture_dir_entries(parent), 0);
    run_free(&r);
    /* someone else's (or a too open) chyve-<uid> is refused */
    cr_assert_eq(chmod(parent, 0755), 0);
    run_chyve(&r, (const char *[]){g, "--", "--", "temp", "/x.txt", NULL},
              (const char *[]){"PATH=/usr/bin:/bin", env_tmp, NULL});
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "must be owned by uid"), "%s", r.err);
    cr_assert_eq(count_lines(r.err), 1);
    run_free(&r);
    free(g);
}

/* The temporary directory goes away when chyve fails to start or the guest fails. */
Test(files, tempdir_removed_after_failures)
{
    struct run r;
    write_file(at("notakernel"), "text", 4);
    require_kvm();
    run_chyve(&r, (const char *[]){"--tempdir", at("temps"), at("notakernel"), NULL}, NULL);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert_eq(fixture_dir_entries(at("temps")), 0);
    run_free(&r);
    char *g = guest_path("badport");
    run_chyve(&r, (const char *[]){"--tempdir", at("temps"), g, NULL}, NULL);
    cr_assert_eq(r.status, 3, "%s", r.err);
    cr_assert_eq(fixture_dir_entries(at("temps")), 0);
    run_free(&r);
    free(g);
}

/* ---- big and many -------------------------------------------------------------------------- */

Test(files, copy_64_mib_byte_exact)
{
    enum { SIZE = 64 << 20 };
    uint8_t *b = malloc(SIZE);
    uint64_t x = 0x9E3779B97F4A7C15ull ^ (uint64_t)time(NULL);
    for (size_t i = 0; i < SIZE; i += 8) { /* xorshift: incompressible, different every run */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(b + i, &x, 8);
    }
    write_file(at("data/big"), b, SIZE);
    struct run r;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run_files(&r, false, (const char *[]){"--file-mapping", map("data", "/data"), NULL},
              (const char *[]){"copy", "/data/big", "/data/big.copy", NULL});
    clock_gettime(CLOCK_MONOTONIC, &t1);
    expect(&r, 0, "copied 67108864 bytes\nclose: 0\n");
    size_t len;
    uint8_t *c = fixture_read_file(at("data/big.copy"), &len);
    cr_assert_eq(len, SIZE);
    cr_assert_eq(memcmp(b, c, SIZE), 0, "the copy differs");
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_log_info("64 MiB copied in %.2f s", s);
    cr_assert_lt(s, 30.0, "copying 64 MiB took %.1f s", s);
    free(b);
    free(c);
    run_free(&r);
}

Test(files, ten_thousand_opens_hit_the_limit_cleanly)
{
    write_file(at("data/f"), "f", 1);
    struct run r;
    run_files(&r, false, (const char *[]){"--file-mapping", map("data", "/data"), NULL},
              (const char *[]){"many", "/data/f", "10000", NULL});
    expect(&r, 0,
           "opened 1024 (fds 3..1026), then 8976 failed with -24\nclose one: 0\n"
           "open after close: new fd\nclose a closed fd: -9\n");
    run_free(&r);
}

/* ---- escapes ------------------------------------------------------------------------------- */

/* data/ gets links out of it; canary.txt sits next to it. */
static void plant_links(void)
{
    write_file(at("canary.txt"), "canary\n", 7);
    sh("cd '%s/data' && mkdir sub && echo inside > sub/inside.txt && "
       "ln -s '%s/canary.txt' abs_link && ln -s ../canary.txt rel_link && ln -s .. dir_link && "
       "ln -s ../../canary.txt sub/deep_link && ln -s loop loop && "
       "ln -s sub/inside.txt inside_link",
       dir, dir);
}

static void canary_unchanged(void)
{
    char *t = read_text(at("canary.txt"));
    cr_assert_str_eq(t, "canary\n", "the canary changed");
    free(t);
    cr_assert_neq(access(at("x"), F_OK), 0, "a directory was made next to the mapping");
}

Test(files, every_escape_fails)
{
    plant_links();
    struct run r;
    run_files(&r, false, (const char *[]){"--file-mapping", map("data", "/data"), NULL},
              (const char *[]){"escape", NULL});
    expect(&r, 0,
           "open /data/abs_link 0x0: -13\n"
           "open /data/abs_link 0x201: -13\n"
           "open /data/rel_link 0x2: -13\n"
           "open /data/dir_link/canary.txt 0x0: -13\n"
           "open /data/dir_link/canary.txt 0x241: -13\n"
           "open /data/dir_link 0x10000: -13\n"
           "open /data/sub/deep_link 0x0: -13\n"
           "open /data/loop 0x0: -40\n"
           "open /data/../canary.txt 0x0: -2\n"
           "open //data//..//..//canary.txt 0x0: -2\n"
           "open /data/sub/../../canary.txt 0x0: -2\n"
           "open /data/<0xff> 0x0: -22\n"
           "open /data/inside_link 0x0: 3\n"
           "stat /data/abs_link: -13\n"
           "lstat /data/abs_link: 0\n"
           "lstat type: 0xa000\n"
           "stat /data/dir_link/canary.txt: -13\n"
           "unlink /data/dir_link/canary.txt: -13\n"
           "unlink /data/abs_link (the link itself): 0\n"
           "mkdir /data/dir_link/x: -13\n"
           "open 5000-byte path: -36\n");
    canary_unchanged();
    run_free(&r);
}

/*
 * Runs the guest's "late PATH" scenario: it creates /sync/ready, waits for /sync/go, then opens
 * PATH. Meanwhile a helper process, once ready exists, calls change() and creates go.
 */
static void run_late(struct run *r, const char *path, const char *isolation, void (*change)(void))
{
    require_kvm();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        for (int i = 0; i < 60000 && access(at("sync/ready"), F_OK) != 0; i++)
            usleep(1000);
        change();
        FILE *g = fopen(at("sync/go"), "w");
        _exit(g && fclose(g) == 0 ? 0 : 1);
    }
    run_files(r, false,
              (const char *[]){"--file-isolation", isolation, "--file-mapping",
                               map("data", "/data"), "--file-mapping", map("sync", "/sync"),
                               "--file-mapping", map("target.txt", "/target.txt"), NULL},
              (const char *[]){"late", path, NULL});
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the helper failed");
}

static void plant_absolute_link(void)
{
    if (symlink(at("canary.txt"), at("data/late")) != 0)
        _exit(2);
}

static void plant_relative_link(void)
{
    if (symlink("../canary.txt", at("data/late")) != 0)
        _exit(2);
}

Test(files, symlinks_planted_during_the_run_do_not_escape)
{
    write_file(at("canary.txt"), "canary\n", 7);
    write_file(at("target.txt"), "target", 6);
    struct run r;
    run_late(&r, "/data/late", "normal", plant_absolute_link);
    expect(&r, 0, "open after the change: -13\n");
    run_free(&r);
    unlink(at("data/late"));
    unlink(at("sync/ready"));
    unlink(at("sync/go"));
    run_late(&r, "/data/late", "none", plant_relative_link);
    expect(&r, 0, "open after the change: -13\n");
    run_free(&r);
    canary_unchanged();
}

/* ---- isolation ----------------------------------------------------------------------------- */

static bool landlock_available(void)
{
#ifdef SYS_landlock_create_ruleset
    return syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* VERSION */) >= 3;
#else
    return false;
#endif
}

static void replace_target(void)
{
    FILE *f = fopen(at("target.new"), "w");
    if (!f || fputs("replaced", f) < 0 || fclose(f) != 0 ||
        rename(at("target.new"), at("target.txt")) != 0)
        _exit(3);
}

/*
 * With isolation, chyve itself cannot open a host file outside its set: a mapped file replaced
 * on the host after the sandbox was applied is a new file, and the open that succeeds without
 * isolation is refused.
 */
Test(files, isolation_confines_chyve_itself)
{
    if (!landlock_available())
        cr_skip_test("this kernel has no Landlock ABI 3");
    write_file(at("target.txt"), "original", 8);
    struct run r;
    run_late(&r, "/target.txt", "none", replace_target);
    expect(&r, 0, "read 8: 'replaced'\n");
    run_free(&r);
    write_file(at("target.txt"), "original", 8);
    unlink(at("sync/ready"));
    unlink(at("sync/go"));
    run_late(&r, "/target.txt", "normal", replace_target);
    expect(&r, 0, "open after the change: -13\n");
    run_free(&r);
    unlink(at("sync/ready"));
    unlink(at("sync/go"));
    write_file(at("target.txt"), "original", 8);
    run_late(&r, "/target.txt", "strict", replace_target);
    expect(&r, 0, "open after the change: -13\n");
    run_free(&r);
}

Test(files, strict_isolation_runs_where_landlock_exists)
{
    if (!landlock_available())
        cr_skip_test("this kernel has no Landlock ABI 3");
    struct run r;
    run_files(&r, false,
              (const char *[]){"--file-isolation", "strict", "--file-mapping", map("data", "/data"),
                               NULL},
              (const char *[]){"rw", "/data/rw.txt", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(r.err_len, 0, "%s", r.err);
    run_free(&r);
}
