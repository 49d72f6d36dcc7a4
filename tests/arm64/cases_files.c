/*
 * cases_files.c: the arm64 driver's file cases: the files guest (v2, and v1 with virtual
 * buffers) reads and writes host files through --file-mapping and the temporary directory, with
 * the expectations of tests/integration/test_files.c. Each case gets a fresh directory in /tmp.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"

static char dir[64]; /* this case's directory */

/* dir + "/" + rel, in one of a few rotating static buffers. */
static const char *at(const char *rel)
{
    static char buf[8][160];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, sizeof(buf[0]), "%s/%s", dir, rel);
    return b;
}

/* "HOST:GUEST" for --file-mapping with HOST relative to the case directory. */
static const char *map(const char *rel, const char *guest_path)
{
    static char buf[8][200];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, sizeof(buf[0]), "%s/%s:%s", dir, rel, guest_path);
    return b;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Runs body in a fresh directory with data/ and temps/, which is removed afterwards. */
static bool in_dir(struct run *r, bool (*body)(struct run *))
{
    snprintf(dir, sizeof(dir), "/tmp/chyve-files-XXXXXX");
    CHECK(mkdtemp(dir) && mkdir(at("data"), 0755) == 0 && mkdir(at("temps"), 0755) == 0,
          "cannot make the case directory: %s", strerror(errno));
    bool ok = body(r);
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return ok;
}

static bool write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    return f && fclose(f) == 0 && ok;
}

/* The whole file at path (malloc'd, NUL-terminated) and its length, or NULL. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = malloc(1 << 20);
    size_t n = b ? fread(b, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (b) {
        b[n] = '\0';
        *len = n;
    }
    return b;
}

static int entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return n;
}

/* Runs the files guest (v2, or v1) with opts, then "--" and the scenario words. */
static void run_files(struct run *r, bool v1, const char *const *opts, const char *const *scen)
{
    const char *args[32];
    size_t n = 0;
    for (; opts && opts[n]; n++)
        args[n] = opts[n];
    args[n++] = guest(v1 ? "files_v1" : "files");
    args[n++] = "--";
    for (size_t i = 0; scen[i]; i++)
        args[n++] = scen[i];
    args[n] = NULL;
    run_chyve(r, args, NULL);
}

/* rw PATH: write a file, read it back; the host sees the bytes. */
static bool rw(struct run *r, bool v1)
{
    run_files(r, v1, (const char *[]){"--file-mapping", map("data", "/data"), NULL},
              (const char *[]){"rw", "/data/rw.txt", NULL});
    if (!clean(r, 0,
               "open for writing: ok\nwrite: 19\nclose: 0\nread: 19\nsame bytes: yes\n"
               "read at the end: 0\nclose: 0\nclose again: -9\n"))
        return false;
    size_t len;
    char *t = read_file(at("data/rw.txt"), &len);
    bool same = t && strcmp(t, "hello, chyve files\n") == 0;
    free(t);
    CHECK(same, "data/rw.txt on the host does not hold what the guest wrote");
    return true;
}

static bool rw_v2(struct run *r)
{
    return rw(r, false);
}

static bool rw_v1(struct run *r)
{
    return rw(r, true);
}

static bool read_mapped(struct run *r)
{
    enum { N = 10000 };
    uint8_t b[N];
    for (int i = 0; i < N; i++)
        b[i] = (uint8_t)(i * 31 + 7);
    CHECK(write_file(at("in.bin"), b, N), "cannot write in.bin");
    run_files(r, false, (const char *[]){"--file-mapping", map("in.bin", "/in/data.bin"), NULL},
              (const char *[]){"readmap", "/in/data.bin", "10000", NULL});
    return clean(r, 0, "read 10000 of 10000 bytes, all as expected\n");
}

static bool lseek_v2(struct run *r)
{
    run_files(r, false, (const char *[]){"--file-mapping", map("data", "/data"), NULL},
              (const char *[]){"lseek", "/data/seek.txt", NULL});
    if (!clean(r, 0,
               "SET 3: 3\nread '34'\nCUR +2: 7\nread '7'\nCUR -3: 5\nEND -4: 6\n"
               "read '6789'\nEND 0: 10\nwhence 3: -22\nSET -1: -22\nSET 12: 12\n"
               "write at 12: 1\nEND 0 after: 13\nbad fd: -9\nstdout: -29\n"))
        return false;
    size_t len = 0;
    char *b = read_file(at("data/seek.txt"), &len);
    bool ok = b && len == 13 && memcmp(b, "0123456789\0\0X", 13) == 0;
    free(b);
    CHECK(ok, "seek.txt is not 0123456789, two zero bytes, X");
    return true;
}

static bool lseek_v1(struct run *r)
{
    run_files(r, true, (const char *[]){"--file-mapping", map("data", "/data"), NULL},
              (const char *[]){"lseek", "/data/seek.txt", NULL});
    return clean(r, 0,
                 "SET 3: 3\nread '34'\nCUR +2: 7\nread '7'\nCUR -3: 5\nEND -4: 6\nread '6789'\n"
                 "END 0: 10\nwhence 3: -1\nSET -1: -1\nSET 12: 12\nwrite at 12: 1\n"
                 "END 0 after: 13\nbad fd: -1\nstdout: -1\n");
}

static bool unlink_file(struct run *r)
{
    run_files(r, false, (const char *[]){"--file-mapping", map("data", "/data"), NULL},
              (const char *[]){"unlink", "/data/gone.txt", NULL});
    if (!clean(r, 0, "create: ok\nunlink: 0\nopen after unlink: -2\nunlink again: -2\n"))
        return false;
    CHECK(access(at("data/gone.txt"), F_OK) != 0, "data/gone.txt still exists on the host");
    return true;
}

static bool dirs(struct run *r)
{
    CHECK(write_file(at("one.txt"), "virt\n", 5), "cannot write one.txt");
    run_files(r, false,
              (const char *[]){"--file-mapping", map("data", "/data"), "--file-mapping",
                               map("one.txt", "/virt/one.txt"), NULL},
              (const char *[]){"dirs", "/data", "/virt", NULL});
    struct stat st;
    CHECK(stat(at("data/sub"), &st) == 0, "the guest's mkdir did not reach the host");
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
    return clean(r, 0, want);
}

static bool temp_vanish(struct run *r)
{
    run_files(r, false, (const char *[]){"--tempdir", at("temps"), NULL},
              (const char *[]){"temp", "/scratch/t/new.txt", NULL});
    if (!clean(r, 0,
               "open without O_CREAT: -2\ncreate: ok\nwrite: 9\nseek: 0\nread: 9\n"
               "content 'temporary'\nstat /scratch/t/new.txt: mode 0x8180 size 9 nlink 1\n"
               "mkdir /newdir: 0\ncreate in it: ok\n/newdir: ./4 ../4 inside.txt/8\n"
               "O_EXCL on it: -17\n"))
        return false;
    CHECK(entries(at("temps")) == 0, "the run left files in --tempdir");
    return true;
}

static bool c_rw_v2(struct run *r) { return in_dir(r, rw_v2); }
static bool c_rw_v1(struct run *r) { return in_dir(r, rw_v1); }
static bool c_read_mapped(struct run *r) { return in_dir(r, read_mapped); }
static bool c_lseek_v2(struct run *r) { return in_dir(r, lseek_v2); }
static bool c_lseek_v1(struct run *r) { return in_dir(r, lseek_v1); }
static bool c_unlink(struct run *r) { return in_dir(r, unlink_file); }
static bool c_dirs(struct run *r) { return in_dir(r, dirs); }
static bool c_temp(struct run *r) { return in_dir(r, temp_vanish); }

const struct driver_case file_cases[] = {
    {"files.write_and_read_back_v2", c_rw_v2},
    {"files.write_and_read_back_v1_virtual_buffers", c_rw_v1},
    {"files.read_a_mapped_file", c_read_mapped},
    {"files.lseek_every_whence", c_lseek_v2},
    {"files.lseek_v1_reports_errors_as_minus_one", c_lseek_v1},
    {"files.unlink", c_unlink},
    {"files.mkdir_getdents_stat", c_dirs},
    {"files.unmapped_files_vanish_after_the_run", c_temp},
};
const size_t n_file_cases = sizeof(file_cases) / sizeof(file_cases[0]);
