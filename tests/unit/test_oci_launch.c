/*
 * test_oci_launch.c: the chyve command line chyve-oci builds from a spec (launch.c): every
 * option in its place, the rootfs mapped entry by entry, and the specs it cannot express refused.
 */
#include "oci_test.h"

#include <limits.h>

#include "err.h"
#include "launch.h"

static char dir[64];    /* the test's scratch directory */
static char rootfs[96]; /* DIR/rootfs: bin/, etc/, hello */
static char **argv;

static void setup(void)
{
    oci_test_dir(dir, sizeof(dir), "launch");
    snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dir);
    cr_assert_eq(mkdir(rootfs, 0700), 0);
    char p[160];
    snprintf(p, sizeof(p), "%s/bin", rootfs);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/etc", rootfs);
    cr_assert_eq(mkdir(p, 0700), 0);
    oci_test_write(rootfs, "hello", "\177ELF", 4);
}

static void teardown(void)
{
    oci_argv_free(argv);
    argv = NULL;
    oci_test_rmrf(dir);
}

TestSuite(oci_launch, .init = setup, .fini = teardown);

static char arg0[] = "/hello", arg1[] = "-v", arg2[] = "--", env0[] = "RUST_LOG=info",
            env1[] = "A=b c", slash[] = "/";
static char *args3[] = {arg0, arg1, arg2, NULL};
static char *env2[] = {env0, env1, NULL};

/* A spec over rootfs with three args and two variables, no mounts or limits. */
static struct oci_spec spec(void)
{
    return (struct oci_spec){
        .root = rootfs, .args = args3, .nargs = 3, .env = env2, .nenv = 2, .cwd = slash};
}

static const struct oci_launch launch = {.chyve = "/usr/bin/chyve",
                                         .kernel = "/host/rootfs/hello",
                                         .fifo = "/run/chyve-oci/c1/start",
                                         .tempdir = "/run/chyve-oci/c1"};

/* Builds argv for s and l, which must succeed. */
static void build(const struct oci_spec *s, const struct oci_launch *l)
{
    oci_argv_free(argv);
    argv = NULL;
    cr_assert_eq(oci_launch_argv(s, l, &argv), 0, "%s", err_msg());
    cr_assert(argv);
}

/* Expects building for s and l to fail with exactly msg, leaving no argv. */
static void expect_error(const struct oci_spec *s, const struct oci_launch *l, const char *msg)
{
    char **v = (char **)1;
    cr_assert_eq(oci_launch_argv(s, l, &v), -1, "accepted, expected: %s", msg);
    cr_assert_null(v);
    cr_assert_str_eq(err_msg(), msg);
}

/* Expects argv[*i] to be want, and moves on. */
static void word(size_t *i, const char *want)
{
    cr_assert(argv[*i], "argv ends at %zu, expected '%s'", *i, want);
    cr_assert_str_eq(argv[*i], want, "argv[%zu]", *i);
    (*i)++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Expects n --file-mapping pairs at argv[*i], in any order, to be want[0..n) (sorted here). */
static void mappings(size_t *i, const char **want, size_t n)
{
    const char *got[16];
    cr_assert(n <= 16);
    for (size_t k = 0; k < n; k++) {
        word(i, "--file-mapping");
        cr_assert(argv[*i], "argv ends in the mappings");
        got[k] = argv[(*i)++];
    }
    qsort(got, n, sizeof(got[0]), cmp_str);
    qsort(want, n, sizeof(want[0]), cmp_str);
    for (size_t k = 0; k < n; k++)
        cr_assert_str_eq(got[k], want[k], "mapping %zu: %s, expected %s", k, got[k], want[k]);
}

/* The three mappings of the rootfs, with suffix (":ro" or ""). */
static void rootfs_mappings(size_t *i, const char *suffix)
{
    char m[3][192];
    const char *want[3] = {m[0], m[1], m[2]};
    snprintf(m[0], sizeof(m[0]), "%s/bin:/bin%s", rootfs, suffix);
    snprintf(m[1], sizeof(m[1]), "%s/etc:/etc%s", rootfs, suffix);
    snprintf(m[2], sizeof(m[2]), "%s/hello:/hello%s", rootfs, suffix);
    mappings(i, want, 3);
}

Test(oci_launch, plain)
{
    struct oci_spec s = spec();
    build(&s, &launch);
    size_t i = 0;
    word(&i, "/usr/bin/chyve");
    word(&i, "--start-fifo");
    word(&i, "/run/chyve-oci/c1/start");
    word(&i, "--tempdir");
    word(&i, "/run/chyve-oci/c1");
    rootfs_mappings(&i, "");
    word(&i, "--env");
    word(&i, "RUST_LOG=info");
    word(&i, "--env");
    word(&i, "A=b c");
    word(&i, "--");
    word(&i, "/host/rootfs/hello");
    word(&i, "--");
    word(&i, "-v");
    word(&i, "--"); /* an application argument like any other */
    cr_assert_null(argv[i], "argv[%zu] is '%s'", i, argv[i]);
}

Test(oci_launch, everything)
{
    char d0[] = "/etc/hostname", s0[] = "/run/userdata/hostname", d1[] = "/data",
         s1[] = "/srv/data";
    struct oci_mount mounts[] = {{.dest = d0, .source = s0},
                                 {.dest = d1, .source = s1, .ro = true}};
    struct oci_spec s = spec();
    s.root_ro = true;
    s.mounts = mounts;
    s.nmounts = 2;
    s.mem_limit = (256ull << 20) + (2ull << 20) - 1; /* rounded down to 256 MiB */
    s.cpus = 3;
    struct oci_guest_net net = {.tap = "chyve0",
                                .mac = "02:00:0a:58:00:05",
                                .ip = "HERMIT_IP=10.88.0.5",
                                .gateway = "HERMIT_GATEWAY=10.88.0.1",
                                .mask = "HERMIT_MASK=255.255.0.0"};
    struct oci_launch l = launch;
    l.net = &net;
    build(&s, &l);
    size_t i = 0;
    word(&i, "/usr/bin/chyve");
    word(&i, "--start-fifo");
    word(&i, "/run/chyve-oci/c1/start");
    word(&i, "--tempdir");
    word(&i, "/run/chyve-oci/c1");
    word(&i, "--memory-size");
    word(&i, "268435456");
    word(&i, "--cpu-count");
    word(&i, "3");
    rootfs_mappings(&i, ":ro");
    word(&i, "--file-mapping");
    word(&i, "/run/userdata/hostname:/etc/hostname");
    word(&i, "--file-mapping");
    word(&i, "/srv/data:/data:ro");
    word(&i, "--env");
    word(&i, "RUST_LOG=info");
    word(&i, "--env");
    word(&i, "A=b c");
    word(&i, "--net");
    word(&i, "tap:chyve0");
    word(&i, "--mac");
    word(&i, "02:00:0a:58:00:05");
    word(&i, "--env");
    word(&i, "HERMIT_IP=10.88.0.5");
    word(&i, "--env");
    word(&i, "HERMIT_MASK=255.255.0.0");
    word(&i, "--env");
    word(&i, "HERMIT_GATEWAY=10.88.0.1");
    word(&i, "--");
    word(&i, "/host/rootfs/hello");
    word(&i, "--");
    word(&i, "-v");
    word(&i, "--");
    cr_assert_null(argv[i], "argv[%zu] is '%s'", i, argv[i]);

    /* no gateway: no HERMIT_GATEWAY */
    net.gateway = NULL;
    build(&s, &l);
    for (i = 0; argv[i]; i++)
        cr_assert_null(strstr(argv[i], "HERMIT_GATEWAY"), "argv[%zu] is '%s'", i, argv[i]);
}

Test(oci_launch, one_arg)
{
    /* nothing for the application: no second "--" */
    struct oci_spec s = spec();
    s.nargs = 1;
    s.nenv = 0;
    s.env = NULL;
    build(&s, &launch);
    size_t i = 5;
    rootfs_mappings(&i, "");
    word(&i, "--");
    word(&i, "/host/rootfs/hello");
    cr_assert_null(argv[i], "argv[%zu] is '%s'", i, argv[i]);
}

Test(oci_launch, memory)
{
    struct oci_spec s = spec();
    s.mem_limit = OCI_MEM_MIN;
    build(&s, &launch);
    cr_assert_str_eq(argv[5], "--memory-size");
    cr_assert_str_eq(argv[6], "16777216");
    s.mem_limit = (1ull << 40) + 4095;
    build(&s, &launch);
    cr_assert_str_eq(argv[6], "1099511627776");
    s.mem_limit = (18ull << 20) - 1; /* 16 MiB once rounded down */
    build(&s, &launch);
    cr_assert_str_eq(argv[6], "16777216");

    s.mem_limit = OCI_MEM_MIN - 1;
    expect_error(&s, &launch,
                 "the memory limit of 16777215 bytes is below chyve's smallest guest (16MiB)");
    s.mem_limit = 4096;
    expect_error(&s, &launch,
                 "the memory limit of 4096 bytes is below chyve's smallest guest (16MiB)");
}

Test(oci_launch, colons)
{
    /* chyve splits HOST:GUEST at the first ':': such a path cannot be said */
    char r[128];
    snprintf(r, sizeof(r), "%s/root:fs", dir);
    cr_assert_eq(mkdir(r, 0700), 0);
    struct oci_spec s = spec();
    s.root = r;
    char want[256];
    snprintf(want, sizeof(want),
             "the rootfs '%s' holds a ':', which a chyve file mapping cannot express", r);
    expect_error(&s, &launch, want);

    char data[] = "/data", src_colon[] = "/srv/a:b", dest_colon[] = "/da:ta", src[] = "/srv/data";
    struct oci_mount m = {.dest = data, .source = src_colon};
    s = spec();
    s.mounts = &m;
    s.nmounts = 1;
    expect_error(&s, &launch,
                 "the mount source '/srv/a:b' holds a ':', which a chyve file mapping cannot "
                 "express");
    m = (struct oci_mount){.dest = dest_colon, .source = src};
    expect_error(&s, &launch,
                 "the mount destination '/da:ta' holds a ':', which a chyve file mapping "
                 "cannot express");

    /* a top-level name with ':' is left out, the others are mapped */
    oci_test_write(rootfs, "a:b", "", 0);
    s = spec();
    build(&s, &launch);
    size_t i = 5;
    rootfs_mappings(&i, "");
    word(&i, "--env");
}

Test(oci_launch, rootfs_entries)
{
    /* bin, etc, hello and 509 more: 512, the most */
    for (int k = 0; k < OCI_ROOT_ENTRIES_MAX - 3; k++) {
        char name[16];
        snprintf(name, sizeof(name), "f%03d", k);
        oci_test_write(rootfs, name, "", 0);
    }
    struct oci_spec s = spec();
    build(&s, &launch);
    size_t maps = 0;
    for (size_t i = 0; argv[i]; i++)
        maps += strcmp(argv[i], "--file-mapping") == 0;
    cr_assert_eq(maps, OCI_ROOT_ENTRIES_MAX);

    oci_test_write(rootfs, "one-more", "", 0);
    char want[256];
    snprintf(want, sizeof(want), "the rootfs %s has more than 512 top-level entries", rootfs);
    expect_error(&s, &launch, want);
}

/* symlink(target, ROOTFS/name) */
static void link_in_rootfs(const char *target, const char *name)
{
    char p[192];
    snprintf(p, sizeof(p), "%s/%s", rootfs, name);
    cr_assert_eq(symlink(target, p), 0, "%s: %s", p, strerror(errno));
}

Test(oci_launch, rootfs_symlinks)
{
    /*
     * chyve resolves a mapping's host path on the host: ROOTFS/lib -> / mapped as it is would
     * give the guest the host's root. A top-level symlink is mapped as what it names inside the
     * rootfs, as the container would see it; one that leads nowhere there is left out.
     */
    char usr[160], outside[128];
    snprintf(usr, sizeof(usr), "%s/usr", rootfs);
    cr_assert_eq(mkdir(usr, 0700), 0);
    snprintf(usr, sizeof(usr), "%s/usr/lib", rootfs);
    cr_assert_eq(mkdir(usr, 0700), 0);
    snprintf(outside, sizeof(outside), "%s/outside", dir);
    cr_assert_eq(mkdir(outside, 0700), 0);
    link_in_rootfs("usr/lib", "lib");    /* relative, inside */
    link_in_rootfs("/etc", "etc2");      /* absolute: the rootfs's /etc, not the host's */
    link_in_rootfs("/", "host");         /* the rootfs itself */
    link_in_rootfs("../../../..", "up"); /* ".." stops at the rootfs */
    link_in_rootfs(outside, "out");      /* DIR/outside is not in the rootfs: left out */
    link_in_rootfs("/nonexistent", "dangling");
    link_in_rootfs("loop", "loop");
    link_in_rootfs("hello/x", "notdir");

    struct oci_spec s = spec();
    s.root_ro = true;
    build(&s, &launch);
    char real[PATH_MAX];
    cr_assert(realpath(rootfs, real));
    char m[8][PATH_MAX + 32];
    const char *want[8];
    snprintf(m[0], sizeof(m[0]), "%s/bin:/bin:ro", rootfs);
    snprintf(m[1], sizeof(m[1]), "%s/etc:/etc:ro", rootfs);
    snprintf(m[2], sizeof(m[2]), "%s/hello:/hello:ro", rootfs);
    snprintf(m[3], sizeof(m[3]), "%s/usr:/usr:ro", rootfs);
    snprintf(m[4], sizeof(m[4]), "%s/usr/lib:/lib:ro", real);
    snprintf(m[5], sizeof(m[5]), "%s/etc:/etc2:ro", real);
    snprintf(m[6], sizeof(m[6]), "%s:/host:ro", real);
    snprintf(m[7], sizeof(m[7]), "%s:/up:ro", real);
    for (int k = 0; k < 8; k++)
        want[k] = m[k];
    size_t i = 5;
    mappings(&i, want, 8);
    word(&i, "--env");
}

Test(oci_launch, rootfs_missing)
{
    struct oci_spec s = spec();
    char r[128];
    snprintf(r, sizeof(r), "%s/nothing", dir);
    s.root = r;
    char want[256];
    snprintf(want, sizeof(want), "cannot list the rootfs %s: No such file or directory", r);
    expect_error(&s, &launch, want);
}
