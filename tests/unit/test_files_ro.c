/*
 * test_files_ro.c: read-only file mappings (HOST:GUEST:ro) on a real host directory: every
 * write-like operation below one gets EROFS and changes nothing on the host, reads, stat, lseek
 * and listings work, host fds there are read-only, a writable mapping nested inside keeps its
 * own mode, '..' and symlinks do not get around it, and Landlock grants such mappings only read
 * rights (proven from inside a sandboxed child).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "files/file_abi.h"
#include "files/files.h"
#include "files/files_priv.h"
#include "fixture.h"
#include "le.h"
#include "log.h"

/*
 * The fixture, below tmp:
 *   ro/        mapped at /ro:ro: keep.txt, sub/inner.txt, link_in -> sub, to_out -> out,
 *              up -> .. (leaves the mapping)
 *   ro/out/    mapped at /ro/out (writable, nested inside the read-only mapping, host beneath it)
 *   vol/       mapped at /ro/a/vol:rw (writable, its host elsewhere; /ro/a is a virtual directory)
 *   conf.txt   mapped at /etc/conf.txt:ro
 *   rw/        mapped at /rw:rw
 *   temps/     --tempdir
 */
static char tmp[256], temps[300];
static char specs[5][700];
static const char *maps[5];
static struct vm_config cfg;
static struct files *f;

static const char *at(const char *rel)
{
    static char buf[8][512];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, 512, "%s/%s", tmp, rel);
    return b;
}

static void sh(const char *cmd)
{
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void put(const char *rel, const char *text)
{
    FILE *o = fopen(at(rel), "w");
    cr_assert_not_null(o, "%s", at(rel));
    fputs(text, o);
    fclose(o);
}

static void setup(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/chyve-files-ro-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(temps, sizeof(temps), "%s/temps", tmp);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && mkdir -p ro/sub ro/out vol rw && mkdir -m 700 temps && "
             "ln -s sub ro/link_in && ln -s out ro/to_out && ln -s .. ro/up",
             tmp);
    sh(cmd);
    put("ro/keep.txt", "keep\n");
    put("ro/sub/inner.txt", "inner\n");
    put("conf.txt", "conf\n");
    snprintf(specs[0], sizeof(specs[0]), "%s/ro:/ro:ro", tmp);
    snprintf(specs[1], sizeof(specs[1]), "%s/ro/out:/ro/out", tmp);
    snprintf(specs[2], sizeof(specs[2]), "%s/vol:/ro/a/vol:rw", tmp);
    snprintf(specs[3], sizeof(specs[3]), "%s/conf.txt:/etc/conf.txt:ro", tmp);
    snprintf(specs[4], sizeof(specs[4]), "%s/rw:/rw:rw", tmp);
    for (int i = 0; i < 5; i++)
        maps[i] = specs[i];
    memset(&cfg, 0, sizeof(cfg));
    cfg.file_maps = maps;
    cfg.nfile_maps = 5;
    cfg.tempdir = temps;
    cfg.isolation = VM_ISOLATION_NONE;
    cfg.mem_size = 64 << 20;
    cfg.ncpus = 1;
    cr_assert_eq(files_create(&cfg, &f), 0, "%s", err_msg());
}

static void teardown(void)
{
    files_destroy(f);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    sh(cmd);
}

TestSuite(ro, .init = setup, .fini = teardown);

/* ---- what the host holds ------------------------------------------------------------------- */

static char *snap;
static size_t snap_len, snap_cap;

static void snap_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void snap_add(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (snap_len + (size_t)n + 1 > snap_cap) {
        snap_cap = (snap_len + (size_t)n + 1) * 2;
        snap = realloc(snap, snap_cap);
        cr_assert_not_null(snap);
    }
    memcpy(snap + snap_len, line, (size_t)n + 1);
    snap_len += (size_t)n;
}

/* One line per entry: path, mode, size, mtime, and a file's bytes or a link's target. */
static int snap_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag;
    (void)ftw;
    if (!strcmp(path, at("ro/out")))
        return FTW_SKIP_SUBTREE; /* the nested writable mapping's own */
    snap_add("%s %o %lld %lld.%09ld", path, (unsigned)st->st_mode, (long long)st->st_size,
             (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
    if (S_ISREG(st->st_mode)) {
        size_t len;
        uint8_t *b = fixture_read_file(path, &len);
        snap_add(" '%.*s'", b ? (int)len : 0, b ? (const char *)b : "");
        free(b);
    } else if (S_ISLNK(st->st_mode)) {
        char t[256];
        ssize_t n = readlink(path, t, sizeof(t) - 1);
        snap_add(" -> %.*s", n > 0 ? (int)n : 0, t);
    }
    snap_add("\n");
    return FTW_CONTINUE;
}

/* Everything the read-only mappings show, as text (caller frees). */
static char *host_state(void)
{
    snap = NULL;
    snap_len = snap_cap = 0;
    snap_add("state:\n");
    cr_assert_eq(nftw(at("ro"), snap_entry, 16, FTW_PHYS | FTW_ACTIONRETVAL), 0);
    cr_assert_eq(nftw(at("conf.txt"), snap_entry, 16, FTW_PHYS | FTW_ACTIONRETVAL), 0);
    return snap;
}

/* Entries in the run directory inside --tempdir (there is exactly one run directory). */
static int run_dir_entries(void)
{
    DIR *d = opendir(temps);
    cr_assert_not_null(d);
    char run[600] = "";
    for (struct dirent *de; (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            snprintf(run, sizeof(run), "%s/%s", temps, de->d_name);
    closedir(d);
    cr_assert_neq(run[0], '\0', "no run directory");
    return fixture_dir_entries(run);
}

/* ---- refusals ------------------------------------------------------------------------------ */

/* Hermit open flags (ABI §6.4). */
#define RD 0x0
#define WR 0x1
#define RDWR 0x2
#define CREAT 0x40
#define EXCL 0x80
#define TRUNC 0x200
#define APPEND 0x400
#define DIRECTORY 0x10000

Test(ro, every_write_is_erofs_and_the_host_stays_as_it_was)
{
    char *before = host_state();
    static const char *const paths[] = {
        "/ro/keep.txt",
        "/ro/sub/inner.txt",
        "/ro/new.txt",      /* missing: nothing may be created */
        "/ro/sub/new/deep", /* below a missing directory */
        "/ro",
        "/ro/sub",
        "/ro/a",         /* the virtual directory between /ro and /ro/a/vol */
        "/ro/a/new.txt", /* would otherwise go to the run directory */
        "/etc/conf.txt",
        "/ro/link_in/inner.txt",      /* a symlink inside the mapping */
        "/ro/to_out/new.txt",         /* a symlink into the nested writable host directory */
        "/ro/up/conf.txt",            /* a symlink out of the mapping */
        "/ro/out/../keep.txt",        /* '..' out of the nested writable mapping */
        "/ro/a/vol/../../keep.txt",   /* and out of the other one */
        "/rw/../ro/sub/../keep.txt",  /* from a writable mapping elsewhere */
        "//ro//./sub/../../ro/x.txt", /* any spelling */
    };
    static const int32_t flags[] = {
        WR,          RDWR,         RD | CREAT, WR | CREAT | EXCL,    RD | TRUNC,        RD | APPEND,
        WR | APPEND, RDWR | TRUNC, WR | TRUNC, RDWR | CREAT | TRUNC, RD | CREAT | EXCL,
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        for (size_t j = 0; j < sizeof(flags) / sizeof(flags[0]); j++)
            cr_assert_eq(files_open(f, paths[i], flags[j], 0644), -H_EROFS, "open %s 0x%x",
                         paths[i], (unsigned)flags[j]);
    static const char *const gone[] = {
        "/ro/keep.txt",  "/ro/sub/inner.txt",   "/ro/sub", "/ro/missing",
        "/ro/a",         "/ro/link_in",         "/ro/up",  "/ro",
        "/etc/conf.txt", "/ro/out/../keep.txt",
    };
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
        cr_assert_eq(files_unlink(f, gone[i]), -H_EROFS, "unlink %s", gone[i]);
    static const char *const dirs[] = {
        "/ro/newdir", "/ro/sub",       "/ro/a/b",   "/ro/sub/x/y",  "/ro/link_in/d",
        "/ro/a",      "/etc/conf.txt", "/ro/up/d2", "/ro/to_out/d",
    };
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        cr_assert_eq(files_mkdir(f, dirs[i]), -H_EROFS, "mkdir %s", dirs[i]);
    /* an invalid access mode is still EINVAL, before any mapping is looked at */
    cr_assert_eq(files_open(f, "/ro/keep.txt", 3, 0), -H_EINVAL);

    char *after = host_state();
    cr_assert_str_eq(after, before);
    free(before);
    free(after);
    cr_assert_eq(fixture_dir_entries(at("ro/out")), 0, "created through the symlink to out");
    cr_assert_eq(run_dir_entries(), 0, "something went to the run directory");
    cr_assert_eq(access(at("newdir"), F_OK), -1);
}

/* The open mode of guest fd `fd`'s host fd, and whether the table marks it read-only. */
static int host_access_mode(int32_t fd, bool *ro)
{
    struct fd_entry *e = files_fd_locked(f, fd);
    cr_assert_not_null(e, "fd %d", fd);
    int fl = fcntl(e->kind == FD_HOST_DIR ? dirfd(e->dir) : e->host, F_GETFL);
    *ro = e->ro;
    pthread_mutex_unlock(&f->lock);
    cr_assert_neq(fl, -1);
    return fl & O_ACCMODE;
}

static void read_is(int32_t fd, const char *want)
{
    uint8_t b[64] = {0};
    cr_assert_eq(files_read(f, fd, b, sizeof(b) - 1), (int64_t)strlen(want));
    cr_assert_str_eq((char *)b, want);
}

Test(ro, reads_stat_seek_and_listings_work_and_host_fds_are_read_only)
{
    char *before = host_state();
    int32_t fd = files_open(f, "/ro/keep.txt", RD, 0);
    cr_assert_geq(fd, 3);
    bool ro = false;
    cr_assert_eq(host_access_mode(fd, &ro), O_RDONLY);
    cr_assert(ro);
    read_is(fd, "keep\n");
    cr_assert_eq(files_lseek(f, fd, 1, 0), 1);
    read_is(fd, "eep\n");
    cr_assert_eq(files_lseek(f, fd, 0, 2), 5);
    uint8_t attr[FILE_ATTR_SIZE];
    cr_assert_eq(files_fstat(f, fd, attr), 0);
    cr_assert_eq(le32_get(attr + 24) & 0170000, 0100000);
    cr_assert_eq(le64_get(attr + 48), 5);
    cr_assert_eq(files_write(f, fd, (const uint8_t *)"x", 1), -H_EROFS);
    cr_assert_eq(files_write(f, fd, (const uint8_t *)"", 0), -H_EROFS);
    cr_assert_eq(files_close(f, fd), 0);

    /* O_EXCL without O_CREAT means nothing: a plain read-only open */
    fd = files_open(f, "/ro/link_in/inner.txt", RD | EXCL, 0);
    cr_assert_geq(fd, 3, "%d", fd);
    read_is(fd, "inner\n");
    files_close(f, fd);
    fd = files_open(f, "/etc/conf.txt", RD, 0);
    cr_assert_eq(host_access_mode(fd, &ro), O_RDONLY);
    read_is(fd, "conf\n");
    cr_assert_eq(files_write(f, fd, (const uint8_t *)"x", 1), -H_EROFS);
    files_close(f, fd);

    cr_assert_eq(files_stat(f, "/ro/keep.txt", true, attr), 0);
    cr_assert_eq(le64_get(attr + 48), 5);
    cr_assert_eq(files_stat(f, "/ro/link_in", false, attr), 0);
    cr_assert_eq(le32_get(attr + 24) & 0170000, 0120000, "lstat sees the link");
    cr_assert_eq(files_stat(f, "/ro/a", true, attr), 0);
    cr_assert_eq(le32_get(attr + 24) & 0170000, 040000);
    /* the mapping's confinement still holds for reads */
    cr_assert_eq(files_open(f, "/ro/up/conf.txt", RD, 0), -H_EACCES);
    cr_assert_eq(files_open(f, "/ro/missing", RD, 0), -H_ENOENT);

    /* listings: the host directory, and the virtual one inside it */
    fd = files_open(f, "/ro", RD | DIRECTORY, 0);
    cr_assert_geq(fd, 3);
    cr_assert_eq(host_access_mode(fd, &ro), O_RDONLY);
    cr_assert(ro);
    static uint8_t buf[4096];
    uint64_t n = 0;
    cr_assert_eq(files_getdents(f, fd, buf, sizeof(buf), &n), 1);
    char names[512] = "";
    for (uint64_t off = 0; off < n; off += le16_get(buf + off + 16)) {
        strcat(names, (const char *)buf + off + 19);
        strcat(names, " ");
    }
    static const char *const want[] = {"keep.txt ", "sub ", "out ", "link_in ", "to_out ", "up "};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert(strstr(names, want[i]), "'%s' not in %s", want[i], names);
    cr_assert_eq(files_write(f, fd, buf, 1), -H_EROFS);
    cr_assert_eq(files_lseek(f, fd, 0, 0), 0);
    files_close(f, fd);
    fd = files_open(f, "/ro/a", RD | DIRECTORY, 0);
    cr_assert_geq(fd, 3);
    cr_assert_eq(files_getdents(f, fd, buf, sizeof(buf), &n), 1);
    cr_assert_str_eq((const char *)buf + 19, "vol");
    cr_assert_eq(files_write(f, fd, buf, 1), -H_EROFS);
    files_close(f, fd);

    char *after = host_state();
    cr_assert_str_eq(after, before);
    free(before);
    free(after);
}

Test(ro, a_writable_mapping_nested_inside_keeps_its_own_mode)
{
    char *before = host_state();
    /* host beneath the read-only directory */
    int32_t fd = files_open(f, "/ro/out/new.txt", WR | CREAT | TRUNC, 0644);
    cr_assert_geq(fd, 3, "%d", fd);
    bool ro = true;
    cr_assert_eq(host_access_mode(fd, &ro), O_WRONLY);
    cr_assert_not(ro);
    cr_assert_eq(files_write(f, fd, (const uint8_t *)"new", 3), 3);
    files_close(f, fd);
    size_t len;
    uint8_t *b = fixture_read_file(at("ro/out/new.txt"), &len);
    cr_assert(b && len == 3 && !memcmp(b, "new", 3));
    free(b);
    cr_assert_eq(files_mkdir(f, "/ro/out/d"), 0);
    cr_assert_eq(files_open(f, "/ro/out/d/x", RDWR | CREAT, 0600) >= 3, 1);
    cr_assert_eq(files_unlink(f, "/ro/out/d/x"), 0);
    cr_assert_eq(files_unlink(f, "/ro/out/new.txt"), 0);
    /* host elsewhere, below a virtual directory of the read-only mapping */
    fd = files_open(f, "/ro/a/vol/v.txt", WR | CREAT, 0644);
    cr_assert_geq(fd, 3, "%d", fd);
    cr_assert_eq(files_write(f, fd, (const uint8_t *)"v", 1), 1);
    files_close(f, fd);
    cr_assert_eq(access(at("vol/v.txt"), F_OK), 0);
    cr_assert_eq(files_mkdir(f, "/ro/a/vol/dd"), 0);
    cr_assert_eq(access(at("vol/dd"), F_OK), 0);
    /* an explicit :rw mapping elsewhere is an ordinary one */
    fd = files_open(f, "/rw/w.txt", RDWR | CREAT | APPEND, 0644);
    cr_assert_geq(fd, 3, "%d", fd);
    cr_assert_eq(files_write(f, fd, (const uint8_t *)"w", 1), 1);
    files_close(f, fd);
    cr_assert_eq(files_unlink(f, "/rw/w.txt"), 0);
    /* and '..' from the writable subtree back into the read-only one is read-only again */
    cr_assert_eq(files_open(f, "/ro/out/../out/../sub/inner.txt", RDWR, 0), -H_EROFS);

    char *after = host_state();
    cr_assert_str_eq(after, before);
    free(before);
    free(after);
    cr_assert_eq(run_dir_entries(), 0);
}

/* ---- start-up ------------------------------------------------------------------------------ */

Test(ro_setup, a_read_only_path_a_writable_mapping_reaches_is_warned_about,
     .init = cr_redirect_stderr)
{
    char dir[] = "/tmp/chyve-files-ro-w-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char s1[600], s2[600], s3[600], t[600], cmd[700];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/w/sub' && mkdir -m 700 '%s/t' && touch '%s/w/sub/f'",
             dir, dir, dir);
    cr_assert_eq(system(cmd), 0);
    snprintf(s1, sizeof(s1), "%s/w:/w", dir);
    snprintf(s2, sizeof(s2), "%s/w/sub/f:/f:ro", dir);
    snprintf(s3, sizeof(s3), "%s/w/sub:/s:ro", dir);
    snprintf(t, sizeof(t), "%s/t", dir);
    const char *m[] = {s1, s2, s3};
    struct vm_config c = cfg;
    c.file_maps = m;
    c.nfile_maps = 3;
    c.tempdir = t;
    struct files *g = NULL;
    cr_assert_eq(files_create(&c, &g), 0, "%s", err_msg());
    /* the other way round (writable inside read-only) is the nesting this feature is for */
    files_destroy(g);
    snprintf(s1, sizeof(s1), "%s/w:/w:ro", dir);
    snprintf(s2, sizeof(s2), "%s/w/sub:/sub", dir);
    c.nfile_maps = 2;
    cr_assert_eq(files_create(&c, &g), 0, "%s", err_msg());
    files_destroy(g);
    fflush(stderr);
    char out[4096];
    size_t n = fread(out, 1, sizeof(out) - 1, cr_get_redirected_stderr());
    out[n] = '\0';
    char want[2][1024];
    snprintf(want[0], sizeof(want[0]),
             "chyve: warning: file mapping of '%s/w/sub/f' at '/f' is read-only, but the guest "
             "can change it through the writable mapping of '%s/w' at '/w'\n",
             dir, dir);
    snprintf(want[1], sizeof(want[1]),
             "chyve: warning: file mapping of '%s/w/sub' at '/s' is read-only, but the guest can "
             "change it through the writable mapping of '%s/w' at '/w'\n",
             dir, dir);
    cr_assert(strstr(out, want[0]), "%s", out);
    cr_assert(strstr(out, want[1]), "%s", out);
    cr_assert_eq(strlen(out), strlen(want[0]) + strlen(want[1]), "%s", out);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* ---- file isolation ------------------------------------------------------------------------ */

/* The checks inside the sandbox; the step number is the exit status on failure. */
static int confined(void)
{
    /* chyve itself may read below the read-only mappings, and change nothing there */
    int fd = open(at("ro/keep.txt"), O_RDONLY);
    if (fd < 0)
        return 1;
    close(fd);
    if (open(at("ro/keep.txt"), O_WRONLY) != -1 || errno != EACCES)
        return 2;
    if (open(at("ro/sub/inner.txt"), O_RDWR) != -1 || errno != EACCES)
        return 3;
    if (open(at("ro/made.txt"), O_WRONLY | O_CREAT, 0644) != -1 || errno != EACCES)
        return 4;
    if (unlink(at("ro/keep.txt")) != -1 || errno != EACCES)
        return 5;
    if (mkdir(at("ro/d"), 0755) != -1 || errno != EACCES)
        return 6;
    if (truncate(at("ro/keep.txt"), 0) != -1 || errno != EACCES)
        return 7;
    if (open(at("conf.txt"), O_WRONLY) != -1 || errno != EACCES)
        return 8;
    if (unlink(at("conf.txt")) != -1 || errno != EACCES)
        return 9; /* a read-only file gets no remove right in its directory */
    /* the guest's reads and listings go through */
    int32_t g = files_open(f, "/ro/sub/inner.txt", RD, 0);
    uint8_t b[16] = {0};
    if (g < 3 || files_read(f, g, b, sizeof(b)) != 6 || files_close(f, g) != 0)
        return 10;
    static uint8_t buf[4096];
    uint64_t n = 0;
    if ((g = files_open(f, "/ro/sub", RD | DIRECTORY, 0)) < 3 ||
        files_getdents(f, g, buf, sizeof(buf), &n) != 1)
        return 11;
    if ((g = files_open(f, "/etc/conf.txt", RD, 0)) < 3 || files_read(f, g, b, 5) != 5)
        return 12;
    /* the nested and the other writable mappings are writable */
    if ((g = files_open(f, "/ro/out/n.txt", WR | CREAT, 0644)) < 3 ||
        files_write(f, g, (const uint8_t *)"n", 1) != 1)
        return 13;
    if (files_mkdir(f, "/ro/out/sub") != 0 || files_unlink(f, "/ro/out/n.txt") != 0)
        return 14;
    if ((g = files_open(f, "/ro/a/vol/v.txt", WR | CREAT, 0644)) < 3)
        return 15;
    if ((g = files_open(f, "/rw/r.txt", WR | CREAT, 0644)) < 3)
        return 16;
    files_destroy(f); /* the run directory can still be removed */
    return 0;
}

Test(ro, landlock_grants_read_only_mappings_only_reading)
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        cfg.isolation = VM_ISOLATION_STRICT;
        if (files_isolate(f, &cfg) != 0)
            _exit(strstr(err_msg(), "Landlock") ? 77 : 78);
        _exit(confined());
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "the sandboxed child crashed");
    if (WEXITSTATUS(status) == 77)
        cr_skip_test("this kernel has no usable Landlock (ABI 3)");
    cr_assert_eq(WEXITSTATUS(status), 0, "step %d failed in the sandbox", WEXITSTATUS(status));
    cr_assert_eq(access(at("ro/out/sub"), F_OK), 0);
    cr_assert_eq(access(at("vol/v.txt"), F_OK), 0);
    cr_assert_eq(fixture_dir_entries(temps), 0, "the sandboxed run did not remove its directory");
    log_threshold = LOG_ERROR; /* this process's copy of the state finds it gone: no warning */
}
