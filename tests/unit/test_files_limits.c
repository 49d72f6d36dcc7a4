/*
 * test_files_limits.c: what a guest can leave on the host or cost it (issue 12): the run
 * directory is removed whatever its depth and however few fds chyve may open.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "files/files.h"
#include "files/files_priv.h"
#include "files/tempdir.h"
#include "fixture.h"
#include "le.h"

static char tmp[256];

static void setup(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/chyve-limits-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    cr_assert_eq(system(cmd), 0);
}

/* Builds a chain of `depth` directories below dir fd, with a file and a sibling at each level. */
static int make_deep(int dir, int depth)
{
    int cur = dup(dir);
    for (int i = 0; i < depth && cur >= 0; i++) {
        int fd = openat(cur, "file", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, "x", 1) != 1 || mkdirat(cur, "sib", 0700) != 0 ||
            mkdirat(cur, "d", 0700) != 0)
            return -1;
        close(fd);
        int next = openat(cur, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(cur);
        cur = next;
    }
    if (cur < 0)
        return -1;
    close(cur);
    return 0;
}

TestSuite(tempdir, .init = setup, .fini = teardown);

Test(tempdir, a_deep_tree_is_removed_with_few_fds)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct rlimit rl = {64, 64};
        struct tempdir t;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || tempdir_create(&t, tmp) != 0)
            _exit(10);
        if (make_deep(t.fd, 2000) != 0)
            _exit(11);
        tempdir_remove(&t);
        _exit(fixture_dir_entries(tmp) == 0 ? 0 : 12);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 0, "child status %d (12: something was left)",
                 WEXITSTATUS(status));
    cr_assert_eq(fixture_dir_entries(tmp), 0);
}

Test(tempdir, wide_directories_are_removed)
{
    struct tempdir t;
    cr_assert_eq(tempdir_create(&t, tmp), 0, "%s", err_msg());
    for (int i = 0; i < 300; i++) {
        char n[32];
        snprintf(n, sizeof(n), "w%d", i);
        cr_assert_eq(mkdirat(t.fd, n, 0700), 0);
        int d = openat(t.fd, n, O_RDONLY | O_DIRECTORY);
        cr_assert_eq(make_deep(d, 3), 0);
        close(d);
    }
    tempdir_remove(&t);
    cr_assert_eq(fixture_dir_entries(tmp), 0);
}

/* ---- the guest's file operations --------------------------------------------------------- */

static struct vm_config cfg;
static struct files *f;

static void files_setup(void)
{
    setup();
    memset(&cfg, 0, sizeof(cfg));
    cfg.tempdir = tmp;
    cfg.isolation = VM_ISOLATION_NONE;
    cr_assert_eq(files_create(&cfg, &f), 0, "%s", err_msg());
}

static void files_teardown(void)
{
    files_destroy(f);
    cr_assert_eq(fixture_dir_entries(tmp), 0, "the run directory was left behind");
    teardown();
}

/* Open fds of this process. */
static int open_fds(void)
{
    return fixture_dir_entries("/proc/self/fd") - 1; /* the listing's own fd */
}

TestSuite(runfiles, .init = files_setup, .fini = files_teardown);

Test(runfiles, directories_the_guest_makes_pin_no_host_fds)
{
    int before = open_fds();
    char p[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(p, sizeof(p), "/t/d%d", i);
        cr_assert_eq(files_mkdir(f, p), 0, "%s", p);
    }
    cr_assert_leq(open_fds() - before, 2, "%d host fds for 5000 directories", open_fds() - before);
    /* and they still work as directories */
    cr_assert_eq(files_mkdir(f, "/t/d4999/inner"), 0);
    int32_t fd = files_open(f, "/t/d4999/inner/x", 0x41, 0600);
    cr_assert_geq(fd, 3);
    cr_assert_eq(files_close(f, fd), 0);
    cr_assert_eq(files_mkdir(f, "/t/d7"), -H_EEXIST);
    cr_assert_eq(files_unlink(f, "/t/d7"), -H_EISDIR);
    uint8_t attr[FILE_ATTR_SIZE];
    cr_assert_eq(files_stat(f, "/t/d4999/inner/x", true, attr), 0);
    fd = files_open(f, "/t/d3", 0x10000, 0);
    cr_assert_geq(fd, 3);
    uint8_t buf[256];
    uint64_t n = 0;
    cr_assert_eq(files_getdents(f, fd, buf, sizeof(buf), &n), 1); /* "." and ".." */
    cr_assert_eq(files_close(f, fd), 0);
}

/* Creates files /big/n0 ... /big/n<count-1> (in the run directory). */
static void make_big_dir(int count)
{
    char p[64];
    for (int i = 0; i < count; i++) {
        snprintf(p, sizeof(p), "/big/n%d", i);
        int32_t fd = files_open(f, p, 0x41, 0600);
        cr_assert_geq(fd, 3, "%s: %d", p, fd);
        cr_assert_eq(files_close(f, fd), 0);
    }
}

/* Reads directory fd to its end with a buffer of len bytes: the number of records. */
static int read_all(int32_t fd, uint64_t len)
{
    uint8_t buf[4096];
    int records = 0;
    for (;;) {
        uint64_t n = 0;
        int32_t rc = files_getdents(f, fd, buf, len, &n);
        cr_assert_geq(rc, 0);
        if (rc == 0)
            return records;
        for (uint64_t at = 0; at < n; at += le16_get(buf + at + 16))
            records++;
    }
}

Test(runfiles, opens_of_a_directory_share_one_listing)
{
    enum { N = 3000, OPENS = 128 };
    make_big_dir(N);
    uint64_t built = files_listings_built;
    int32_t fds[OPENS];
    for (int i = 0; i < OPENS; i++)
        cr_assert_geq(fds[i] = files_open(f, "/big", 0x10000, 0), 3);
    cr_assert_eq(files_listings_built - built, 1, "%llu listings built for %d opens",
                 (unsigned long long)(files_listings_built - built), OPENS);
    uint64_t one = f->map.listing_bytes;
    cr_assert_gt(one, (uint64_t)N * 24);
    /* a new child: the next open sees it, the fds opened before keep what they had */
    make_big_dir(N + 1);
    int32_t fresh = files_open(f, "/big", 0x10000, 0);
    cr_assert_eq(files_listings_built - built, 2);
    cr_assert_eq(read_all(fresh, sizeof(uint8_t[4096])), N + 1);
    cr_assert_eq(read_all(fds[0], 4096), N);
    for (int i = 0; i < OPENS; i++)
        cr_assert_eq(files_close(f, fds[i]), 0);
    cr_assert_eq(files_close(f, fresh), 0);
    cr_assert_eq(f->map.listing_bytes, one + 32, "only the map's current listing is alive");
}

Test(runfiles, getdents_keeps_a_cursor)
{
    enum { N = 3000 };
    make_big_dir(N);
    int32_t fd = files_open(f, "/big", 0x10000, 0);
    cr_assert_geq(fd, 3);
    uint64_t scanned = files_records_scanned;
    cr_assert_eq(read_all(fd, 32), N); /* one record per call */
    cr_assert_leq(files_records_scanned - scanned, 2 * N, "%llu records stepped over",
                  (unsigned long long)(files_records_scanned - scanned));
    /* seeking still works: back to the start, then forward to a boundary */
    cr_assert_eq(files_lseek(f, fd, 0, 0), 0);
    cr_assert_eq(read_all(fd, 4096), N);
    cr_assert_eq(files_close(f, fd), 0);
}

Test(runfiles, listings_alive_are_capped)
{
    make_big_dir(100);
    uint64_t cap = files_listing_cap;
    files_listing_cap = 100 * 24 + 10 * 8; /* "n0".."n99": 24 bytes each; room for one */
    int32_t a = files_open(f, "/big", 0x10000, 0);
    cr_assert_geq(a, 3);
    make_big_dir(101); /* the map drops its listing; fd a keeps the old one alive */
    cr_assert_eq(files_open(f, "/big", 0x10000, 0), -H_ENOMEM);
    cr_assert_eq(files_close(f, a), 0);
    int32_t b = files_open(f, "/big", 0x10000, 0);
    files_listing_cap = cap;
    cr_assert_geq(b, 3);
    cr_assert_eq(files_close(f, b), 0);
}

/* ---- run directory limits ---------------------------------------------------------------- */

/* A fresh file state with the given limits (the default fixture's is destroyed first). */
static void limits(uint64_t bytes, uint32_t entries, uint32_t depth)
{
    files_destroy(f);
    cfg.tempdir_max_size = bytes;
    cfg.tempdir_max_files = entries;
    cfg.tempdir_max_depth = depth;
    cr_assert_eq(files_create(&cfg, &f), 0, "%s", err_msg());
}

/* Sum of the sizes of the regular files below host directory path (recursively). */
static long long host_bytes(const char *path)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "find '%s' -type f -printf '%%s\\n' | awk '{s+=$1} END {print s+0}'",
             path);
    FILE *p = popen(cmd, "r");
    long long n = -1;
    cr_assert_eq(fscanf(p, "%lld", &n), 1);
    pclose(p);
    return n;
}

Test(runfiles, bytes_are_limited)
{
    limits(64 << 10, 0, 0);
    static uint8_t chunk[10000];
    int32_t fd = files_open(f, "/w/a", 0x41, 0600);
    cr_assert_geq(fd, 3);
    int64_t total = 0, n;
    while ((n = files_write(f, fd, chunk, sizeof(chunk))) > 0 && total < (1 << 20))
        total += n; /* bounded, so that without the limit the test fails instead of the disk */
    cr_assert_eq(n, -H_EDQUOT);
    cr_assert_eq(total, 64 << 10, "wrote %lld", (long long)total); /* the last write cut short */
    /* a write inside the file still works; a hole far out counts as its size */
    cr_assert_eq(files_lseek(f, fd, 0, 0), 0);
    cr_assert_eq(files_write(f, fd, chunk, 100), 100);
    cr_assert_eq(files_lseek(f, fd, 1ll << 40, 0), 1ll << 40);
    cr_assert_eq(files_write(f, fd, chunk, 1), -H_EDQUOT);
    /* another file, below a directory the guest made: the same budget */
    cr_assert_eq(files_mkdir(f, "/w/d"), 0);
    int32_t fd2 = files_open(f, "/w/d/b", 0x441, 0600); /* O_APPEND */
    cr_assert_geq(fd2, 3);
    cr_assert_eq(files_write(f, fd2, chunk, 1), -H_EDQUOT);
    cr_assert_leq(host_bytes(tmp), 64 << 10);
    /* unlinking an open file frees its bytes only when it is closed */
    cr_assert_eq(files_unlink(f, "/w/a"), 0);
    cr_assert_eq(files_write(f, fd2, chunk, 1), -H_EDQUOT);
    cr_assert_eq(files_close(f, fd), 0);
    cr_assert_eq(files_write(f, fd2, chunk, sizeof(chunk)), sizeof(chunk));
    /* O_TRUNC gives bytes back */
    cr_assert_eq(files_close(f, fd2), 0);
    fd = files_open(f, "/w/c", 0x41, 0600);
    for (int i = 0; i < 100 && files_write(f, fd, chunk, sizeof(chunk)) > 0; i++)
        ;
    cr_assert_eq(files_close(f, fd), 0);
    fd = files_open(f, "/w/c", 0x241, 0600);
    cr_assert_geq(fd, 3);
    cr_assert_eq(files_write(f, fd, chunk, sizeof(chunk)), sizeof(chunk));
    cr_assert_eq(files_close(f, fd), 0);
    cr_assert_leq(host_bytes(tmp), 64 << 10);
}

Test(runfiles, entries_are_limited)
{
    limits(0, 10, 0);
    char p[64];
    int made = 0;
    for (int i = 0; i < 5; i++) { /* flat files, directories, and entries inside those */
        snprintf(p, sizeof(p), "/e/f%d", i);
        int32_t fd = files_open(f, p, 0x41, 0600);
        if (fd >= 0) {
            made++;
            files_close(f, fd);
        } else {
            cr_assert_eq(fd, -H_EDQUOT);
        }
    }
    cr_assert_eq(files_mkdir(f, "/e/d"), 0);
    made++;
    for (int i = 0; made < 10; i++, made++) {
        snprintf(p, sizeof(p), i % 2 ? "/e/d/s%d" : "/e/d/g%d", i);
        if (i % 2) {
            cr_assert_eq(files_mkdir(f, p), 0, "%s", p);
        } else {
            int32_t fd = files_open(f, p, 0x41, 0600);
            cr_assert_geq(fd, 3, "%s", p);
            files_close(f, fd);
        }
    }
    cr_assert_eq(files_open(f, "/e/more", 0x41, 0600), -H_EDQUOT);
    cr_assert_eq(files_open(f, "/e/d/more", 0x41, 0600), -H_EDQUOT);
    cr_assert_eq(files_mkdir(f, "/e/dd"), -H_EDQUOT);
    cr_assert_eq(files_mkdir(f, "/e/d/dd"), -H_EDQUOT);
    /* opening what exists is no new entry; removing one makes room */
    int32_t fd = files_open(f, "/e/f0", 0x41, 0600);
    cr_assert_geq(fd, 3);
    files_close(f, fd);
    cr_assert_eq(files_unlink(f, "/e/d/g0"), 0);
    fd = files_open(f, "/e/d/again", 0x41, 0600);
    cr_assert_geq(fd, 3);
    files_close(f, fd);
    cr_assert_eq(files_open(f, "/e/d/again2", 0x41, 0600), -H_EDQUOT);
}

Test(runfiles, depth_is_limited)
{
    limits(0, 0, 4);
    cr_assert_eq(files_mkdir(f, "/x/1"), 0);
    cr_assert_eq(files_mkdir(f, "/x/1/2"), 0);
    cr_assert_eq(files_mkdir(f, "/x/1/2/3"), 0);
    cr_assert_eq(files_mkdir(f, "/x/1/2/3/4"), 0);
    cr_assert_eq(files_mkdir(f, "/x/1/2/3/4/5"), -H_ENAMETOOLONG);
    int32_t fd = files_open(f, "/x/1/2/3/4/file", 0x41, 0600); /* files still fit at the bottom */
    cr_assert_geq(fd, 3);
    files_close(f, fd);
}

Test(runfiles, the_default_depth_holds_a_guest_deep_tree)
{
    /* 2000 levels are what a 4096-byte guest path allows; the default stops at 64 */
    char p[4096] = "/deep";
    int ok = 0;
    for (int i = 0; i < 2000; i++) {
        strcat(p, "/d");
        if (files_mkdir(f, p) == 0)
            ok++;
        else
            break;
    }
    cr_assert_eq(ok, 64);
}
