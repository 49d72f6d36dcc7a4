/*
 * test_fileops.c: the file operations behind the hypercalls on a real host directory: errno
 * and flag translation, records, temporary files, the fd limit, Hermit image files, and file
 * isolation (Landlock) proven from inside this test process.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "files/file_abi.h"
#include "files/files.h"
#include "fixture.h"
#include "le.h"
#include "log.h"

/* ---- translations -------------------------------------------------------------------------- */

Test(abi, errno_translation)
{
    static const struct {
        int host, hermit;
    } cases[] = {{ENOENT, 2}, {EACCES, 13}, {EXDEV, 18},  {EMFILE, 24},    {ENOSPC, 28},
                 {EROFS, 30}, {ELOOP, 40},  {EEXIST, 17}, {ENOTEMPTY, 39}, {ENAMETOOLONG, 36},
                 {EBADF, 9},  {EISDIR, 21}, {EPERM, 1},   {EOVERFLOW, 75}, {EINVAL, 22},
                 {ECHILD, 5}, {ESRCH, 5},   {0, 5}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_eq(file_abi_errno(cases[i].host), cases[i].hermit, "host errno %d",
                     cases[i].host);
}

Test(abi, open_flags)
{
    int h;
    cr_assert_eq(file_abi_open_flags(0x41, &h), 0);
    cr_assert_eq(h, O_WRONLY | O_CREAT);
    cr_assert_eq(file_abi_open_flags(0x2 | 0x80 | 0x200 | 0x400 | 0x40, &h), 0);
    cr_assert_eq(h, O_RDWR | O_EXCL | O_TRUNC | O_APPEND | O_CREAT);
    cr_assert_eq(file_abi_open_flags(0x10000, &h), 0);
    cr_assert_eq(h, O_RDONLY | O_DIRECTORY);
    /* O_NONBLOCK, O_SYNC, O_CLOEXEC, O_NOFOLLOW and unknown bits are dropped */
    cr_assert_eq(file_abi_open_flags(0x800 | 0x101000 | 0x80000 | 0x20000 | 0x40000000, &h), 0);
    cr_assert_eq(h, O_RDONLY);
    cr_assert_eq(file_abi_open_flags(3, &h), -H_EINVAL);
    cr_assert_eq(file_abi_open_flags(0x40 | 0x10000, &h), -H_EINVAL);
    cr_assert_eq(file_abi_whence(0, &h), 0);
    cr_assert_eq(h, SEEK_SET);
    cr_assert_eq(file_abi_whence(2, &h), 0);
    cr_assert_eq(h, SEEK_END);
    cr_assert_eq(file_abi_whence(3, &h), -H_EINVAL);
    cr_assert_eq(file_abi_whence(0xFFFFFFFF, &h), -H_EINVAL);
}

Test(abi, file_attr_layout)
{
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_dev = 0x1122;
    st.st_ino = 0x33445566778899ull;
    st.st_nlink = 3;
    st.st_mode = S_IFREG | 04755;
    st.st_uid = 1000;
    st.st_gid = 100;
    st.st_rdev = 7;
    st.st_size = 123456789;
    st.st_blksize = 4096;
    st.st_blocks = 24;
    st.st_atim.tv_sec = 1700000000;
    st.st_atim.tv_nsec = 999999999;
    st.st_mtim.tv_sec = -5;
    st.st_ctim.tv_nsec = 1;
    uint8_t a[FILE_ATTR_SIZE];
    memset(a, 0xEE, sizeof(a));
    file_abi_attr(&st, a);
    cr_assert_eq(le64_get(a + 0), 0x1122);
    cr_assert_eq(le64_get(a + 8), 0x33445566778899ull);
    cr_assert_eq(le64_get(a + 16), 3);
    cr_assert_eq(le32_get(a + 24), 0104755);
    cr_assert_eq(le32_get(a + 28), 1000);
    cr_assert_eq(le32_get(a + 32), 100);
    cr_assert_eq(le32_get(a + 36), 0); /* padding zeroed */
    cr_assert_eq(le64_get(a + 40), 7);
    cr_assert_eq(le64_get(a + 48), 123456789);
    cr_assert_eq(le64_get(a + 56), 4096);
    cr_assert_eq(le64_get(a + 64), 24);
    cr_assert_eq(le64_get(a + 72), 1700000000);
    cr_assert_eq(le32_get(a + 80), 999999999);
    cr_assert_eq((int64_t)le64_get(a + 88), -5);
    cr_assert_eq(le32_get(a + 112), 1);
    st.st_mode = S_IFLNK | 0777;
    file_abi_attr(&st, a);
    cr_assert_eq(le32_get(a + 24), 0120777);

    file_abi_attr_virtual(false, 1025, a);
    cr_assert_eq(le32_get(a + 24), 0100444);
    cr_assert_eq(le64_get(a + 16), 1);
    cr_assert_eq(le64_get(a + 48), 1025);
    cr_assert_eq(le64_get(a + 56), 4096);
    cr_assert_eq(le64_get(a + 64), 3);
    file_abi_attr_virtual(true, 0, a);
    cr_assert_eq(le32_get(a + 24), 040755);
    cr_assert_eq(le64_get(a + 16), 2);
    cr_assert_eq(le64_get(a + 48), 0);
}

Test(abi, dirent_record)
{
    uint8_t b[64];
    memset(b, 0xEE, sizeof(b));
    cr_assert_eq(file_abi_dirent_len(1), 24);
    cr_assert_eq(file_abi_dirent_len(4), 24);
    cr_assert_eq(file_abi_dirent_len(5), 32);
    cr_assert_eq(file_abi_dirent(b, 42, 48, H_DT_REG, "abcde"), 32);
    cr_assert_eq(le64_get(b), 42);
    cr_assert_eq(le64_get(b + 8), 48);
    cr_assert_eq(le16_get(b + 16), 32);
    cr_assert_eq(b[18], 8);
    cr_assert_str_eq((const char *)b + 19, "abcde");
    for (int i = 25; i < 32; i++)
        cr_assert_eq(b[i], 0, "padding byte %d", i);
    cr_assert_eq(b[32], 0xEE);
}

/* ---- operations ---------------------------------------------------------------------------- */

static char tmp[256], data[300], temps[300];
static char spec[700], spec2[700];
static const char *maps[2];
static struct vm_config cfg;
static struct files *f;

static void sh(const char *cmd)
{
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void setup(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/chyve-fileops-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(data, sizeof(data), "%s/data", tmp);
    snprintf(temps, sizeof(temps), "%s/temps", tmp);
    cr_assert_eq(mkdir(data, 0755), 0);
    cr_assert_eq(mkdir(temps, 0700), 0);
    snprintf(spec, sizeof(spec), "%s:/data", data);
    snprintf(spec2, sizeof(spec2), "%s/outside.txt:/single/file.txt", tmp);
    maps[0] = spec;
    maps[1] = spec2;
    char p[400];
    snprintf(p, sizeof(p), "%s/outside.txt", tmp);
    FILE *fo = fopen(p, "w");
    fputs("single", fo);
    fclose(fo);
    memset(&cfg, 0, sizeof(cfg));
    cfg.file_maps = maps;
    cfg.nfile_maps = 2;
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

TestSuite(ops, .init = setup, .fini = teardown);

Test(ops, read_write_seek_close)
{
    int32_t fd = files_open(f, "/data/new.txt", 0x2 | 0x40, 0644);
    cr_assert_geq(fd, 3);
    cr_assert_eq(files_write(f, fd, (const uint8_t *)"0123456789", 10), 10);
    cr_assert_eq(files_lseek(f, fd, 4, 0), 4);
    uint8_t b[16] = {0};
    cr_assert_eq(files_read(f, fd, b, 3), 3);
    cr_assert_str_eq((char *)b, "456");
    cr_assert_eq(files_lseek(f, fd, -1, 2), 9);
    cr_assert_eq(files_lseek(f, fd, 0, 7), -H_EINVAL);
    cr_assert_eq(files_lseek(f, fd, -100, 1), -H_EINVAL);
    cr_assert_eq(files_close(f, fd), 0);
    cr_assert_eq(files_close(f, fd), -H_EBADF);
    cr_assert_eq(files_read(f, fd, b, 1), -H_EBADF);
    /* O_EXCL on an existing file, O_DIRECTORY on a file, write to a read-only fd */
    cr_assert_eq(files_open(f, "/data/new.txt", 0x1 | 0x40 | 0x80, 0644), -H_EEXIST);
    cr_assert_eq(files_open(f, "/data/new.txt", 0x10000, 0), -H_ENOTDIR);
    fd = files_open(f, "/data/new.txt", 0, 0);
    cr_assert_eq(files_write(f, fd, (const uint8_t *)"x", 1), -H_EBADF);
    cr_assert_eq(files_close(f, fd), 0);
    /* host view */
    char p[400], text[16] = {0};
    snprintf(p, sizeof(p), "%s/new.txt", data);
    FILE *h = fopen(p, "r");
    cr_assert_eq(fread(text, 1, sizeof(text), h), 10);
    fclose(h);
    cr_assert_str_eq(text, "0123456789");
    struct stat st;
    stat(p, &st);
    cr_assert_eq(st.st_mode & 0777, 0644 & ~umask(022));
    /* a mapped single file */
    fd = files_open(f, "/single/file.txt", 0, 0);
    cr_assert_geq(fd, 3);
    cr_assert_eq(files_read(f, fd, b, sizeof(b)), 6);
    files_close(f, fd);
    cr_assert_eq(files_open(f, "/single/file.txt/x", 0, 0), -H_ENOTDIR);
    cr_assert_eq(files_open(f, "/single", 0, 0) >= 3, true); /* a virtual directory, read-only */
    cr_assert_eq(files_open(f, "/single", 1, 0), -H_EISDIR);
    cr_assert_eq(files_open(f, "/", 0x10000, 0), -H_ENOENT);
}

Test(ops, stdio_is_not_in_the_table_and_fifos_are_refused)
{
    uint8_t b[4];
    for (int32_t fd = -1; fd < 3; fd++) {
        cr_assert_eq(files_read(f, fd, b, 1), -H_EBADF);
        cr_assert_eq(files_close(f, fd), -H_EBADF);
    }
    char p[400];
    snprintf(p, sizeof(p), "%s/fifo", data);
    cr_assert_eq(mkfifo(p, 0644), 0);
    cr_assert_eq(files_open(f, "/data/fifo", 0, 0), -H_EACCES); /* and it did not block */
    cr_assert_eq(files_open(f, "/data/fifo", 1, 0), -6);        /* ENXIO: no reader, no blocking */
}

Test(ops, unmapped_paths_live_in_the_temporary_directory)
{
    cr_assert_eq(files_open(f, "/scratch/a.txt", 2, 0600), -H_ENOENT);
    int32_t fd = files_open(f, "/scratch/a.txt", 2 | 0x40, 0600);
    cr_assert_geq(fd, 3);
    cr_assert_eq(files_write(f, fd, (const uint8_t *)"tmp", 3), 3);
    cr_assert_eq(files_close(f, fd), 0);
    /* one run directory inside --tempdir, holding the file under a generated name */
    cr_assert_eq(fixture_dir_entries(temps), 1);
    uint8_t attr[FILE_ATTR_SIZE];
    cr_assert_eq(files_stat(f, "/scratch/a.txt", true, attr), 0);
    cr_assert_eq(le64_get(attr + 48), 3);
    cr_assert_eq(files_stat(f, "/scratch", true, attr), 0);
    cr_assert_eq(le32_get(attr + 24), 040755);
    cr_assert_eq(files_mkdir(f, "/made"), 0);
    cr_assert_eq(files_mkdir(f, "/made"), -H_EEXIST);
    cr_assert_eq(files_mkdir(f, "/made/inner"), 0); /* on the host, inside the new directory */
    fd = files_open(f, "/made/inner/deep.txt", 1 | 0x40, 0644);
    cr_assert_geq(fd, 3);
    files_close(f, fd);
    cr_assert_eq(files_unlink(f, "/scratch/a.txt"), 0);
    cr_assert_eq(files_open(f, "/scratch/a.txt", 0, 0), -H_ENOENT);
    cr_assert_eq(files_unlink(f, "/scratch"), 0); /* now an empty virtual directory */
    cr_assert_eq(files_stat(f, "/scratch", true, attr), -H_ENOENT);
    /* the run directory and everything in it go with the file state */
    files_destroy(f);
    f = NULL;
    cr_assert_eq(fixture_dir_entries(temps), 0);
}

Test(ops, unlink_keeps_user_mappings)
{
    cr_assert_eq(files_unlink(f, "/single/file.txt"), 0);
    char p[400];
    snprintf(p, sizeof(p), "%s/outside.txt", tmp);
    cr_assert_neq(access(p, F_OK), 0, "the host file is still there");
    /* the mapping stays: creating the path again creates the host file again */
    int32_t fd = files_open(f, "/single/file.txt", 1 | 0x40, 0644);
    cr_assert_geq(fd, 3);
    files_close(f, fd);
    cr_assert_eq(access(p, F_OK), 0);
    cr_assert_eq(files_unlink(f, "/single"), -H_ENOTEMPTY);
    cr_assert_eq(files_unlink(f, "/data"), -H_EISDIR);
    cr_assert_eq(files_unlink(f, "/data/nothing"), -H_ENOENT);
    cr_assert_eq(files_unlink(f, "/"), -H_ENOENT);
}

/* Collects "name/type" of the records in buf[0, n). */
static void records(const uint8_t *buf, uint64_t n, char *out, size_t cap)
{
    for (uint64_t off = 0; off < n;) {
        uint16_t len = le16_get(buf + off + 16);
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%s/%u ", (const char *)buf + off + 19, buf[off + 18]);
        off += len;
    }
}

Test(ops, getdents_virtual_and_host)
{
    int32_t fd = files_open(f, "/single", 0x10000, 0);
    cr_assert_geq(fd, 3);
    uint8_t buf[256];
    uint64_t n = 0;
    char got[512] = "";
    cr_assert_eq(files_getdents(f, fd, buf, sizeof(buf), &n), 1);
    records(buf, n, got, sizeof(got));
    cr_assert_str_eq(got, "file.txt/8 ");
    cr_assert_eq(files_getdents(f, fd, buf, sizeof(buf), &n), 0);
    cr_assert_eq(files_lseek(f, fd, 0, 0), 0);
    cr_assert_eq(files_getdents(f, fd, buf, 8, &n), -H_EINVAL); /* not even one fits */
    cr_assert_eq(files_lseek(f, fd, 4, 0), 4);
    cr_assert_eq(files_getdents(f, fd, buf, sizeof(buf), &n), -H_EINVAL); /* inside a record */
    cr_assert_eq(files_lseek(f, fd, 0, 2), -H_EINVAL);
    uint8_t attr[FILE_ATTR_SIZE];
    cr_assert_eq(files_fstat(f, fd, attr), 0);
    cr_assert_eq(le32_get(attr + 24), 040755);
    cr_assert_eq(files_read(f, fd, buf, 1), -H_EISDIR);
    cr_assert_eq(files_write(f, fd, buf, 1), -H_EISDIR);
    files_close(f, fd);

    /* a host directory with more entries than one small buffer holds */
    char p[400];
    for (int i = 0; i < 40; i++) {
        snprintf(p, sizeof(p), "%s/entry-%02d", data, i);
        fclose(fopen(p, "w"));
    }
    fd = files_open(f, "/data", 0x10000, 0);
    cr_assert_geq(fd, 3);
    int seen = 0, calls = 0, r;
    while ((r = files_getdents(f, fd, buf, 70, &n)) == 1) {
        calls++;
        for (uint64_t off = 0; off < n;) {
            seen++;
            off += le16_get(buf + off + 16);
        }
    }
    cr_assert_eq(r, 0);
    cr_assert_eq(seen, 42, "40 files, '.' and '..'");
    cr_assert_gt(calls, 20);
    cr_assert_eq(files_lseek(f, fd, 0, 0), 0); /* rewind */
    cr_assert_eq(files_getdents(f, fd, buf, sizeof(buf), &n), 1);
    cr_assert_eq(files_lseek(f, fd, 5, 0), -H_EINVAL);
    cr_assert_eq(files_getdents(f, 0, buf, sizeof(buf), &n), -H_EBADF);
    files_close(f, fd);
}

Test(ops, fd_limit_is_emfile_and_creates_nothing)
{
    int32_t last = 0;
    for (int i = 0; i < 1024; i++) {
        last = files_open(f, "/single/file.txt", 0, 0);
        cr_assert_eq(last, 3 + i);
    }
    cr_assert_eq(files_open(f, "/single/file.txt", 0, 0), -H_EMFILE);
    cr_assert_eq(files_open(f, "/data/created.txt", 1 | 0x40, 0644), -H_EMFILE);
    char p[400];
    snprintf(p, sizeof(p), "%s/created.txt", data);
    cr_assert_neq(access(p, F_OK), 0, "a file was created although the open failed");
    cr_assert_eq(files_close(f, 500), 0);
    cr_assert_eq(files_open(f, "/single/file.txt", 0, 0), last + 1);
}

Test(ops, image_files_are_read_only)
{
    struct tarb t;
    tarb_init(&t);
    static const char conf[] = "version = '1'\nkernel = 'k'\n[input]\nkernel_args = []\n"
                               "app_args = ['a']\n";
    tarb_add(&t, "hermit.toml", '0', conf, strlen(conf));
    tarb_add(&t, "k", '0', "\177ELF", 4);
    tarb_add(&t, "docs/readme.txt", '0', "read me!", 8);
    tarb_end(&t);
    size_t len;
    uint8_t *gz = fixture_gzip(t.buf, t.len, &len);
    tarb_free(&t);
    const struct vm_config *run;
    const uint8_t *kernel;
    size_t klen;
    cr_assert_eq(files_add_image(f, gz, len, "img", &cfg, &run, &kernel, &klen), 0, "%s",
                 err_msg());
    free(gz);
    cr_assert_eq(klen, 4);
    cr_assert_eq(run->nargs, 2);
    int32_t fd = files_open(f, "/docs/readme.txt", 0, 0);
    cr_assert_geq(fd, 3);
    uint8_t b[16] = {0};
    cr_assert_eq(files_lseek(f, fd, 5, 0), 5);
    cr_assert_eq(files_read(f, fd, b, sizeof(b)), 3);
    cr_assert_str_eq((char *)b, "me!");
    cr_assert_eq(files_read(f, fd, b, sizeof(b)), 0);
    cr_assert_eq(files_write(f, fd, b, 1), -H_EROFS);
    cr_assert_eq(files_lseek(f, fd, -9, 2), -H_EINVAL);
    cr_assert_eq(files_lseek(f, fd, INT64_MAX, 2), -H_EOVERFLOW);
    files_close(f, fd);
    cr_assert_eq(files_open(f, "/docs/readme.txt", 2, 0), -H_EROFS);
    cr_assert_eq(files_open(f, "/docs/readme.txt", 0x200, 0), -H_EROFS);
    cr_assert_eq(files_open(f, "/docs/readme.txt", 0x41 | 0x80, 0), -H_EEXIST);
    cr_assert_eq(files_unlink(f, "/docs/readme.txt"), -H_EROFS);
    cr_assert_eq(files_mkdir(f, "/docs/readme.txt"), -H_EEXIST);
    cr_assert_eq(files_mkdir(f, "/docs/readme.txt/x"), -H_ENOTDIR);
    uint8_t attr[FILE_ATTR_SIZE];
    cr_assert_eq(files_stat(f, "/docs/readme.txt", true, attr), 0);
    cr_assert_eq(le32_get(attr + 24), 0100444);
    cr_assert_eq(le64_get(attr + 48), 8);
    const char *const *m = files_mounts(f);
    cr_assert_str_eq(m[0], "/data");
    cr_assert_str_eq(m[1], "/docs");
    cr_assert_str_eq(m[2], "/single");
    cr_assert_null(m[3]);
}

Test(ops, without_file_state_nothing_exists)
{
    uint8_t attr[FILE_ATTR_SIZE], b[4];
    uint64_t n;
    cr_assert_eq(files_open(NULL, "/x", 0x41, 0644), -H_ENOENT);
    cr_assert_eq(files_open(NULL, "/\xff", 0, 0), -H_EINVAL);
    cr_assert_eq(files_stat(NULL, "/x", true, attr), -H_ENOENT);
    cr_assert_eq(files_mkdir(NULL, "/x"), -H_ENOENT);
    cr_assert_eq(files_unlink(NULL, "/x"), -H_ENOENT);
    cr_assert_eq(files_read(NULL, 3, b, 1), -H_EBADF);
    cr_assert_eq(files_getdents(NULL, 3, b, 4, &n), -H_EBADF);
    cr_assert_null(files_mounts(NULL));
}

Test(ops, bad_tempdir_and_mapping_leave_nothing)
{
    struct vm_config c = cfg;
    struct files *g = NULL;
    c.tempdir = "/nonexistent/chyve-test";
    cr_assert_eq(files_create(&c, &g), -1);
    cr_assert_str_eq(err_msg(), "--tempdir '/nonexistent/chyve-test': No such file or directory");
    cr_assert_null(g);
    const char *bad[] = {"/nonexistent/a/b:/x"};
    c = cfg;
    c.file_maps = bad;
    c.nfile_maps = 1;
    cr_assert_eq(files_create(&c, &g), -1);
    cr_assert_eq(fixture_dir_entries(temps), 1, "only the run directory of the fixture");
}

/* ---- isolation ----------------------------------------------------------------------------- */

TestSuite(isolation, .init = setup, .fini = teardown);

static int ready[2], go[2]; /* child -> parent: sandboxed; parent -> child: file replaced */

/*
 * Runs check() in a child process that first sandboxes itself (strict), so this test process
 * stays free to clean up. The child's status: 0 all good, N the failing step, 77 no Landlock.
 */
static int in_sandbox(int (*check)(void))
{
    cr_assert_eq(pipe(ready), 0);
    cr_assert_eq(pipe(go), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        cfg.isolation = VM_ISOLATION_STRICT;
        if (files_isolate(f, &cfg) != 0)
            _exit(strstr(err_msg(), "Landlock") ? 77 : 78);
        _exit(check());
    }
    close(ready[1]);
    close(go[0]);
    char c;
    if (read(ready[0], &c, 1) == 1) { /* the child wants the mapped file replaced */
        char p[400], q[400];
        snprintf(p, sizeof(p), "%s/outside.txt", tmp);
        snprintf(q, sizeof(q), "%s/replacement.txt", tmp);
        FILE *o = fopen(q, "w");
        fputs("replaced", o);
        fclose(o);
        cr_assert_eq(rename(q, p), 0);
        cr_assert_eq(write(go[1], "g", 1), 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    close(ready[0]);
    close(go[1]);
    cr_assert(WIFEXITED(status), "the sandboxed child crashed");
    if (WEXITSTATUS(status) == 77)
        cr_skip_test("this kernel has no usable Landlock");
    return WEXITSTATUS(status);
}

/* The checks run inside the sandbox (step numbers are the exit status on failure). */
static int confined(void)
{
    char outside[400];
    snprintf(outside, sizeof(outside), "%s/outside-the-set.txt", tmp);
    /* chyve (this process) can no longer open a host file outside the set ... */
    if (open(outside, O_RDONLY) != -1 || errno != EACCES)
        return 1;
    if (open("/etc/hostname", O_RDONLY) != -1)
        return 2;
    /* ... but everything mapped works, and so does the temporary directory */
    int32_t g = files_open(f, "/data/inside.txt", 0, 0);
    if (g < 3 || files_close(f, g) != 0)
        return 3;
    if ((g = files_open(f, "/data/created.txt", 1 | 0x40, 0644)) < 3)
        return 4;
    if (files_mkdir(f, "/data/newdir") != 0)
        return 5;
    if (files_open(f, "/unmapped.txt", 2 | 0x40, 0600) < 3)
        return 6;
    if (files_open(f, "/single/file.txt", 0, 0) < 3)
        return 7;
    /* a mapped file can be unlinked, but not created again: its directory is not in the set */
    if (files_unlink(f, "/single/file.txt") != 0)
        return 8;
    if (files_open(f, "/single/file.txt", 1 | 0x40, 0644) != -H_EACCES)
        return 9;
    /* the end of the run still removes the temporary directory */
    files_destroy(f);
    return 0;
}

Test(isolation, landlock_confines_chyve_itself)
{
    char p[400];
    snprintf(p, sizeof(p), "%s/outside-the-set.txt", tmp);
    FILE *o = fopen(p, "w");
    fputs("secret", o);
    fclose(o);
    snprintf(p, sizeof(p), "%s/data/inside.txt", tmp);
    o = fopen(p, "w");
    fputs("inside", o);
    fclose(o);
    int rc = in_sandbox(confined);
    cr_assert_eq(rc, 0, "step %d failed in the sandbox", rc);
    cr_assert_eq(fixture_dir_entries(temps), 0, "the sandboxed run did not remove its directory");
    log_threshold = LOG_ERROR; /* this process's copy of the state finds it gone: no warning */
}

/* A mapped file replaced on the host after the sandbox is a new inode, outside the set. */
static int replaced(void)
{
    int32_t g = files_open(f, "/single/file.txt", 0, 0);
    if (g < 3)
        return 1;
    files_close(f, g);
    char c;
    if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
        return 2;
    return files_open(f, "/single/file.txt", 0, 0) == -H_EACCES ? 0 : 3;
}

Test(isolation, replaced_mapped_file_is_out_of_reach)
{
    cr_assert_eq(in_sandbox(replaced), 0);
}

Test(isolation, none_changes_nothing)
{
    cfg.isolation = VM_ISOLATION_NONE;
    cr_assert_eq(files_isolate(f, &cfg), 0);
    cr_assert_eq(system("true"), 0, "no sandbox: programs still run");
}
