/*
 * test_resolve.c: host path operations confined beneath a directory, through openat2 and
 * through the portable walk: the same answers for every escape attempt and every good path.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files/resolve.h"

static char tmp[256];
static int root; /* <tmp>/root, beneath which everything is resolved */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/*
 * <tmp>/canary.txt             outside
 * <tmp>/root/file.txt          "inside"
 * <tmp>/root/sub/deeper/x.txt
 * <tmp>/root/abs -> <tmp>/canary.txt      absolute: always refused
 * <tmp>/root/up -> ../canary.txt          leaves root
 * <tmp>/root/updir -> ..                  leaves root
 * <tmp>/root/sub/back -> ../file.txt      stays inside
 * <tmp>/root/sub/deeper/far -> ../../../canary.txt
 * <tmp>/root/sub/dot -> .                 stays inside
 * <tmp>/root/loop -> loop
 * <tmp>/root/dangling -> newfile.txt      inside, missing target
 * <tmp>/root/proc -> /proc/self/root      absolute (and magic)
 */
static void setup(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/chyve-resolve-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    sh("cd '%s' && echo canary > canary.txt && mkdir -p root/sub/deeper && "
       "echo inside > root/file.txt && echo x > root/sub/deeper/x.txt && "
       "ln -s '%s/canary.txt' root/abs && ln -s ../canary.txt root/up && ln -s .. root/updir && "
       "ln -s ../file.txt root/sub/back && ln -s ../../../canary.txt root/sub/deeper/far && "
       "ln -s . root/sub/dot && ln -s loop root/loop && ln -s newfile.txt root/dangling && "
       "ln -s /proc/self/root root/proc",
       tmp, tmp);
    char p[300];
    snprintf(p, sizeof(p), "%s/root", tmp);
    root = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(root, 0);
}

static void teardown(void)
{
    close(root);
    sh("rm -rf '%s'", tmp);
    resolve_force_walk = false;
}

TestSuite(resolve, .init = setup, .fini = teardown);

/* Reads the file fd and compares its text. */
static void expect_text(int fd, const char *want, const char *what)
{
    cr_assert_geq(fd, 0, "%s: open failed with %d (%s)", what, fd, strerror(-fd));
    char buf[64] = {0};
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    cr_assert_geq(n, 0, "%s", what);
    cr_assert_str_eq(buf, want, "%s", what);
    close(fd);
}

static void canary_intact(void)
{
    char p[300], buf[32] = {0};
    snprintf(p, sizeof(p), "%s/canary.txt", tmp);
    int fd = open(p, O_RDONLY);
    cr_assert_geq(fd, 0, "canary gone");
    cr_assert_eq(read(fd, buf, sizeof(buf)), 7);
    cr_assert_str_eq(buf, "canary\n");
    close(fd);
}

/* Runs body once with openat2 and once with the walk. */
#define BOTH_WAYS(...)                                                                             \
    for (int walk_ = 0; walk_ < 2; walk_++) {                                                      \
        resolve_force_walk = walk_;                                                                \
        const char *way = walk_ ? "walk" : "openat2";                                              \
        (void)way;                                                                                 \
        __VA_ARGS__;                                                                               \
    }

Test(resolve, good_paths_are_followed_inside)
{
    BOTH_WAYS({
        expect_text(resolve_open(root, "file.txt", O_RDONLY, 0), "inside\n", way);
        expect_text(resolve_open(root, "sub/deeper/x.txt", O_RDONLY, 0), "x\n", way);
        expect_text(resolve_open(root, "sub/back", O_RDONLY, 0), "inside\n", way);
        expect_text(resolve_open(root, "sub/dot/dot/back", O_RDONLY, 0), "inside\n", way);
        expect_text(resolve_open(root, "sub/deeper/../../file.txt", O_RDONLY, 0), "inside\n", way);
        int d = resolve_open(root, "", O_RDONLY | O_DIRECTORY, 0);
        cr_assert_geq(d, 0, "%s: root itself", way);
        close(d);
        struct stat st;
        cr_assert_eq(resolve_stat(root, "sub/back", true, &st), 0, "%s", way);
        cr_assert(S_ISREG(st.st_mode));
        cr_assert_eq(st.st_size, 7);
        cr_assert_eq(resolve_stat(root, "sub/back", false, &st), 0, "%s", way);
        cr_assert(S_ISLNK(st.st_mode), "%s: lstat of a link", way);
        cr_assert_eq(resolve_stat(root, "", true, &st), 0);
        cr_assert(S_ISDIR(st.st_mode));
    });
}

Test(resolve, escapes_are_exdev)
{
    static const char *const bad[] = {"abs",
                                      "up",
                                      "updir/canary.txt",
                                      "updir",
                                      "sub/deeper/far",
                                      "sub/../../canary.txt",
                                      "../canary.txt",
                                      "/etc/passwd",
                                      "sub/dot/../../canary.txt",
                                      "proc"};
    BOTH_WAYS({
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            cr_assert_eq(resolve_open(root, bad[i], O_RDONLY, 0), -EXDEV, "%s: open %s", way,
                         bad[i]);
            cr_assert_eq(resolve_open(root, bad[i], O_WRONLY | O_CREAT | O_TRUNC, 0644), -EXDEV,
                         "%s: create %s", way, bad[i]);
            struct stat st;
            cr_assert_eq(resolve_stat(root, bad[i], true, &st), -EXDEV, "%s: stat %s", way, bad[i]);
        }
        cr_assert_eq(resolve_unlink(root, "updir/canary.txt"), -EXDEV, "%s", way);
        cr_assert_eq(resolve_mkdir(root, "updir/newdir", 0755), -EXDEV, "%s", way);
        cr_assert_eq(resolve_open(root, "loop", O_RDONLY, 0), -ELOOP, "%s", way);
        cr_assert_eq(resolve_open(root, "nothere", O_RDONLY, 0), -ENOENT, "%s", way);
        cr_assert_eq(resolve_open(root, "file.txt/x", O_RDONLY, 0), -ENOTDIR, "%s", way);
    });
    canary_intact();
    char p[300];
    snprintf(p, sizeof(p), "%s/newdir", tmp);
    cr_assert_neq(access(p, F_OK), 0, "a directory was made outside root");
}

Test(resolve, nofollow_excl_create_unlink_mkdir)
{
    BOTH_WAYS({
        /* lstat-like open of a link refuses, O_EXCL does not follow a dangling link */
        cr_assert_eq(resolve_open(root, "sub/back", O_RDONLY | O_NOFOLLOW, 0), -ELOOP, "%s", way);
        cr_assert_eq(resolve_open(root, "dangling", O_WRONLY | O_CREAT | O_EXCL, 0644), -EEXIST,
                     "%s", way);
        /* a plain O_CREAT follows the dangling link and creates its target inside */
        int fd = resolve_open(root, "dangling", O_WRONLY | O_CREAT, 0644);
        cr_assert_geq(fd, 0, "%s: create through a dangling link: %d", way, fd);
        cr_assert_eq(write(fd, "new", 3), 3);
        close(fd);
        expect_text(resolve_open(root, "newfile.txt", O_RDONLY, 0), "new", way);
        cr_assert_eq(resolve_unlink(root, "newfile.txt"), 0, "%s", way);
        cr_assert_eq(resolve_unlink(root, "newfile.txt"), -ENOENT, "%s", way);
        /* unlink removes a link, not its target */
        cr_assert_eq(resolve_unlink(root, "sub/dot/back"), 0, "%s", way);
        char p[300];
        snprintf(p, sizeof(p), "%s/root/sub/back", tmp);
        cr_assert_eq(symlink("../file.txt", p), 0);
        expect_text(resolve_open(root, "file.txt", O_RDONLY, 0), "inside\n", way);
        cr_assert_eq(resolve_unlink(root, ""), -EISDIR, "%s", way);
        cr_assert_eq(resolve_mkdir(root, "sub/newdir", 0755), 0, "%s", way);
        cr_assert_eq(resolve_mkdir(root, "sub/newdir", 0755), -EEXIST, "%s", way);
        cr_assert_eq(resolve_mkdir(root, "", 0755), -EEXIST, "%s", way);
        cr_assert_eq(resolve_mkdir(root, "no/such/dir", 0755), -ENOENT, "%s", way);
        snprintf(p, sizeof(p), "%s/root/sub/newdir", tmp);
        cr_assert_eq(rmdir(p), 0, "%s: mkdir did not make it inside", way);
    });
}

/* A symlink swapped in for a directory between two operations never leads outside. */
Test(resolve, links_planted_later)
{
    BOTH_WAYS({
        char p[300], q[300];
        snprintf(p, sizeof(p), "%s/root/sub/deeper", tmp);
        snprintf(q, sizeof(q), "%s/root/sub/deeper.old", tmp);
        cr_assert_eq(rename(p, q), 0);
        cr_assert_eq(symlink(tmp, p), 0); /* sub/deeper -> <tmp> (absolute) */
        cr_assert_eq(resolve_open(root, "sub/deeper/canary.txt", O_RDWR, 0), -EXDEV, "%s", way);
        cr_assert_eq(unlink(p), 0);
        cr_assert_eq(symlink("../../..", p), 0); /* relative, leads above root */
        cr_assert_eq(resolve_open(root, "sub/deeper/canary.txt", O_RDWR, 0), -EXDEV, "%s", way);
        cr_assert_eq(resolve_unlink(root, "sub/deeper/canary.txt"), -EXDEV, "%s", way);
        cr_assert_eq(unlink(p), 0);
        cr_assert_eq(rename(q, p), 0);
    });
    canary_intact();
}

Test(resolve, long_and_deep_paths)
{
    char *deep = malloc(8192);
    strcpy(deep, "sub");
    for (int i = 0; i < 600; i++)
        strcat(deep, "/dot");
    strcat(deep, "/back");
    BOTH_WAYS({
        /* 600 links: more than 40 */
        cr_assert_eq(resolve_open(root, deep, O_RDONLY, 0), -ELOOP, "%s", way);
    });
    memset(deep, 'a', 8191);
    deep[8191] = '\0';
    resolve_force_walk = true;
    cr_assert_eq(resolve_open(root, deep, O_RDONLY, 0), -ENAMETOOLONG);
    free(deep);
}
