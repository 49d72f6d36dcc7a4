/*
 * test_tempdir.c: run directory names carry the pid and a lock, and tempdir_reclaim() removes
 * exactly the directories of dead runs: our uid, no such process, not locked, a run-<pid>-<hex>
 * name; never a symlink, a file or anything else.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "files/tempdir.h"

static char dir[64];
static int dfd = -1;
static long dead; /* a pid that has exited and been reaped */

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/chyve-tempdir-XXXXXX");
    cr_assert(mkdtemp(dir));
    dfd = open(dir, O_RDONLY | O_DIRECTORY);
    cr_assert(dfd >= 0);
    pid_t p = fork();
    cr_assert(p >= 0);
    if (p == 0)
        _exit(0);
    cr_assert_eq(waitpid(p, NULL, 0), p);
    dead = p;
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    close(dfd);
}

TestSuite(tempdir, .init = setup, .fini = teardown);

static bool exists(const char *name)
{
    struct stat st;
    return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* mkdir dir/name (and a file and a subdirectory inside, as a guest leaves them). */
static void make_run(const char *name)
{
    cr_assert_eq(mkdirat(dfd, name, 0700), 0, "%s: %s", name, strerror(errno));
    char sub[256];
    snprintf(sub, sizeof(sub), "%s/d", name);
    cr_assert_eq(mkdirat(dfd, sub, 0700), 0);
    snprintf(sub, sizeof(sub), "%s/d/f", name);
    int f = openat(dfd, sub, O_WRONLY | O_CREAT, 0600);
    cr_assert(f >= 0);
    close(f);
}

Test(tempdir, name_has_pid_and_lock_is_held)
{
    struct tempdir t;
    cr_assert_eq(tempdir_create(&t, dir), 0);
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "run-%ld-", (long)getpid());
    cr_assert(!strncmp(t.name, prefix, strlen(prefix)), "%s", t.name);
    cr_assert_eq(strlen(t.name), strlen(prefix) + 12);
    int other = openat(dfd, t.name, O_RDONLY | O_DIRECTORY);
    cr_assert(other >= 0);
    /* a lock is per open file description: a second open conflicts even in this process */
    cr_assert_neq(flock(other, LOCK_EX | LOCK_NB), 0);
    cr_assert_eq(errno, EWOULDBLOCK);
    close(other);
    tempdir_remove(&t);
}

Test(tempdir, dead_runs_are_reclaimed)
{
    char name[64];
    snprintf(name, sizeof(name), "run-%ld-0123456789ab", dead);
    make_run(name);
    tempdir_reclaim(dfd, dir);
    cr_assert(!exists(name));
}

Test(tempdir, creating_reclaims_first)
{
    char name[64];
    snprintf(name, sizeof(name), "run-%ld-00000000beef", dead);
    make_run(name);
    struct tempdir t;
    cr_assert_eq(tempdir_create(&t, dir), 0);
    cr_assert(!exists(name));
    tempdir_remove(&t);
}

Test(tempdir, live_and_locked_runs_stay)
{
    char live[64], locked[64];
    snprintf(live, sizeof(live), "run-%ld-0123456789ab", (long)getppid());
    snprintf(locked, sizeof(locked), "run-%ld-abcdefabcdef", dead);
    make_run(live);
    make_run(locked);
    int l = openat(dfd, locked, O_RDONLY | O_DIRECTORY);
    cr_assert(l >= 0);
    cr_assert_eq(flock(l, LOCK_EX), 0); /* a live run in another pid namespace */
    tempdir_reclaim(dfd, dir);
    cr_assert(exists(live));
    cr_assert(exists(locked));
    close(l);
    tempdir_reclaim(dfd, dir);
    cr_assert(!exists(locked)); /* the lock went with its holder */
    cr_assert(exists(live));
}

Test(tempdir, other_names_and_kinds_stay)
{
    const char *fmt[] = {"run-%ld-0123456789a",   "run-%ld-0123456789abc", "run-%ld-0123456789aB",
                         "run-%ldx-0123456789ab", "xrun-%ld-0123456789ab", "run--%ld0123456789ab"};
    char name[64];
    for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
        snprintf(name, sizeof(name), fmt[i], dead);
        make_run(name);
    }
    make_run("run-0123456789ab"); /* an older chyve's name: no pid */
    make_run("run-99999999999-0123456789ab");
    /* a symlink and a file with a dead run's name: never followed, never removed */
    char target[128], link[64], file[64];
    snprintf(target, sizeof(target), "%s/target", dir);
    make_run("target");
    snprintf(link, sizeof(link), "run-%ld-111111111111", dead);
    cr_assert_eq(symlinkat(target, dfd, link), 0);
    snprintf(file, sizeof(file), "run-%ld-222222222222", dead);
    int f = openat(dfd, file, O_WRONLY | O_CREAT, 0600);
    cr_assert(f >= 0);
    close(f);

    tempdir_reclaim(dfd, dir);
    for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
        snprintf(name, sizeof(name), fmt[i], dead);
        cr_assert(exists(name), "%s was removed", name);
    }
    cr_assert(exists("run-0123456789ab"));
    cr_assert(exists("run-99999999999-0123456789ab"));
    cr_assert(exists(link));
    cr_assert(exists(file));
    cr_assert(exists("target/d/f"));
}
