/*
 * fuzz_files.c: the guest's file operations (files_*: the file map, path resolution, the fd
 * table, reads, writes and directory listings), resolve_*() directly (openat2 and the portable
 * walk) and filemap_clean(), against a real temporary directory rebuilt for every input:
 *   TOP/outside            a file the guest must never reach
 *   TOP/map/               mapped at /data: f (16 bytes), d/g, dl -> d, up -> ../outside,
 *                          abs -> TOP/outside, self -> self
 *   TOP/one                a single file mapped at /single/file
 *   TOP/ro/                mapped read-only at /ro: r, rd/h, rl -> rd, ru -> ../outside; with
 *                          TOP/map/d mapped writable inside it at /ro/w
 *   TOP/tmp/               the parent of the run's temporary directory (must be empty after)
 * Input: operations, each an opcode byte, an argument byte and a NUL-terminated path (the rest
 * of the input if no NUL follows). Opcodes (mod 12): open, close, read, write, lseek, unlink,
 * mkdir, stat, fstat, getdents, resolve_*, filemap_clean; the argument picks flags, the fd
 * (3 + arg % 8; 255 = -1), lengths and whence; paths go in as the guest sent them. After each input
 * nothing outside TOP/map, TOP/one and TOP/tmp has changed (TOP/ro least of all), and every fd
 * resolve_open() returned lies beneath TOP/map.
 */
#define _GNU_SOURCE /* nftw */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files/file_abi.h"
#include "files/filemap.h"
#include "files/files.h"
#include "files/resolve.h"
#include "fuzz.h"
#include "log.h"
#include "vm_config.h"

static char top[256], map[288], one[288], tmp[288], outside[288], ro[288];
static char spec_map[320], spec_one[320], spec_ro[320], spec_nested[320];
static const char *maps[4];
static struct vm_config cfg;
static uint8_t buf[4096 + 64];

static int rm_inside(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (ftw->level == 0)
        return 0; /* keep the directory itself */
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static int rm_all(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Removes everything inside dir. */
static void empty_dir(const char *dir)
{
    nftw(dir, rm_inside, 16, FTW_DEPTH | FTW_PHYS);
}

static void cleanup(void)
{
    empty_dir(top);
    rmdir(top);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
}

static void at(char *out, size_t cap, const char *dir, const char *name)
{
    if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap)
        abort();
}

/* The mapped directory as each input starts with it. */
static void build_map(void)
{
    char p[256];
    empty_dir(map);
    at(p, sizeof(p), map, "f");
    write_file(p, "0123456789abcdef");
    at(p, sizeof(p), map, "d");
    if (mkdir(p, 0755) != 0)
        abort();
    at(p, sizeof(p), map, "d/g");
    write_file(p, "g");
    at(p, sizeof(p), map, "dl");
    if (symlink("d", p) != 0)
        abort();
    at(p, sizeof(p), map, "up");
    if (symlink("../outside", p) != 0)
        abort();
    at(p, sizeof(p), map, "abs");
    if (symlink(outside, p) != 0)
        abort();
    at(p, sizeof(p), map, "self");
    if (symlink("self", p) != 0)
        abort();
    /* the guest may have replaced the mapped file, e.g. by a directory of the same name */
    nftw(one, rm_all, 16, FTW_DEPTH | FTW_PHYS);
    write_file(one, "one");
    empty_dir(tmp);
}

/* The read-only directory, made once: no input may change it (check_ro). */
static void build_ro(void)
{
    char p[320];
    at(p, sizeof(p), ro, "r");
    write_file(p, "ro");
    at(p, sizeof(p), ro, "rd");
    if (mkdir(p, 0755) != 0)
        abort();
    at(p, sizeof(p), ro, "rd/h");
    write_file(p, "h");
    at(p, sizeof(p), ro, "rl");
    if (symlink("rd", p) != 0)
        abort();
    at(p, sizeof(p), ro, "ru");
    if (symlink("../outside", p) != 0)
        abort();
}

/* True if file dir/name holds exactly text. */
static bool holds(const char *dir, const char *name, const char *text)
{
    char p[320], b[16] = {0};
    at(p, sizeof(p), dir, name);
    FILE *f = fopen(p, "rb");
    if (!f)
        return false;
    size_t n = fread(b, 1, sizeof(b) - 1, f);
    fclose(f);
    return n == strlen(text) && !memcmp(b, text, n);
}

/* Entries of directory dir ("." and ".." too), each of which must be one of names[0, n). */
static int entries_among(const char *dir, const char *const *names, size_t n)
{
    DIR *d = opendir(dir);
    if (!d)
        abort();
    int count = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL; count++) {
        bool known = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
        for (size_t i = 0; i < n; i++)
            known |= !strcmp(de->d_name, names[i]);
        if (!known)
            abort(); /* created through the read-only mapping */
    }
    closedir(d);
    return count;
}

/* The read-only directory is exactly as build_ro() made it. */
static void check_ro(void)
{
    static const char *const top_names[] = {"r", "rd", "rl", "ru"}, *const rd_names[] = {"h"};
    char rd[320], p[320], t[32];
    at(rd, sizeof(rd), ro, "rd");
    at(p, sizeof(p), ro, "rl");
    ssize_t l = readlink(p, t, sizeof(t));
    if (entries_among(ro, top_names, 4) != 6 || entries_among(rd, rd_names, 1) != 3 ||
        !holds(ro, "r", "ro") || !holds(rd, "h", "h") || l != 2 || memcmp(t, "rd", 2) != 0)
        abort();
}

static void setup(void)
{
    log_threshold = LOG_ERROR;
    if ((size_t)snprintf(top, sizeof(top), "%s/chyve-fuzz-files-XXXXXX", fuzz_tmp_base()) >=
            sizeof(top) ||
        !mkdtemp(top))
        abort();
    atexit(cleanup);
    at(map, sizeof(map), top, "map");
    at(one, sizeof(one), top, "one");
    at(tmp, sizeof(tmp), top, "tmp");
    at(outside, sizeof(outside), top, "outside");
    at(ro, sizeof(ro), top, "ro");
    if (mkdir(map, 0755) != 0 || mkdir(tmp, 0755) != 0 || mkdir(ro, 0755) != 0)
        abort();
    write_file(outside, "secret");
    build_ro();
    snprintf(spec_map, sizeof(spec_map), "%s:/data", map);
    snprintf(spec_one, sizeof(spec_one), "%s:/single/file", one);
    snprintf(spec_ro, sizeof(spec_ro), "%s:/ro:ro", ro);
    snprintf(spec_nested, sizeof(spec_nested), "%s/d:/ro/w:rw", map);
    maps[0] = spec_map;
    maps[1] = spec_one;
    maps[2] = spec_ro;
    maps[3] = spec_nested;
    cfg.file_maps = maps;
    cfg.nfile_maps = 4;
    cfg.tempdir = tmp;
}

/* Nothing but the mapped paths and the temporary directory changed; tmp is empty again. */
static void check_outside(void)
{
    char text[16] = {0};
    FILE *f = fopen(outside, "rb");
    if (!f || fread(text, 1, sizeof(text) - 1, f) != 6 || strcmp(text, "secret") != 0)
        abort();
    fclose(f);
    DIR *d = opendir(top);
    if (!d)
        abort();
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strcmp(n, ".") && strcmp(n, "..") && strcmp(n, "outside") && strcmp(n, "map") &&
            strcmp(n, "one") && strcmp(n, "tmp") && strcmp(n, "ro"))
            abort(); /* the guest created something beside its directories */
    }
    closedir(d);
    d = opendir(tmp);
    if (!d)
        abort();
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            abort(); /* the run's temporary directory outlived the run */
    closedir(d);
    check_ro();
}

/* A resolve_open() result must be a file beneath map (the kernel's name for the fd says). */
static void check_beneath(int fd)
{
    char link[64], target[4096];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    close(fd);
    if (n < 0)
        return; /* no /proc: nothing to compare with */
    target[n] = 0;
    size_t ml = strlen(map);
    if (strncmp(target, map, ml) != 0 || (target[ml] != 0 && target[ml] != '/'))
        abort();
}

/* filemap_clean(): "/" or '/' + components, none empty, ".", ".." or over 255 bytes. */
static void check_clean(const char *path)
{
    char out[FILEMAP_PATH_MAX];
    if (filemap_clean(path, out, sizeof(out)) != 0)
        return;
    if (out[0] != '/' || strlen(out) >= sizeof(out))
        abort();
    if (out[1] == 0)
        return;
    for (const char *c = out + 1;;) {
        size_t n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.') || n > 255)
            abort();
        c += n;
        if (*c == 0)
            break;
        c++;
    }
}

static const int32_t open_flags[16] = {
    0,
    H_O_WRONLY | H_O_CREAT,
    H_O_RDWR | H_O_CREAT | H_O_TRUNC,
    H_O_WRONLY | H_O_CREAT | H_O_EXCL,
    H_O_DIRECTORY,
    H_O_WRONLY | H_O_APPEND,
    H_O_RDWR,
    H_O_WRONLY | H_O_TRUNC,
    H_O_RDWR | H_O_CREAT | H_O_EXCL,
    H_O_DIRECTORY | H_O_CREAT,
    H_O_ACCMODE,
    H_O_RDWR | H_O_APPEND | H_O_CREAT,
    H_O_WRONLY | H_O_DIRECTORY,
    -1,
    ~H_O_ALLOWED,
    H_O_CREAT,
};

static int32_t fd_of(uint8_t arg)
{
    return arg == 255 ? -1 : 3 + arg % 8;
}

/* One operation; lengths and results are checked against what the call promises. */
static void run_op(struct files *f, int rootfd, unsigned op, uint8_t arg, const char *path)
{
    uint64_t len = (uint64_t)arg * 16;
    switch (op) {
    case 0:
        (void)files_open(f, path, open_flags[arg & 15], arg & 0x80 ? 0 : 0644);
        break;
    case 1:
        (void)files_close(f, fd_of(arg));
        break;
    case 2: {
        int64_t r = files_read(f, fd_of(arg), buf, len);
        if (r > (int64_t)len)
            abort();
        break;
    }
    case 3: {
        size_t pl = strlen(path);
        memset(buf, 'w', len);
        memcpy(buf, path, pl < len ? pl : len);
        int64_t r = files_write(f, fd_of(arg), buf, len);
        if (r > (int64_t)len)
            abort();
        break;
    }
    case 4:
        (void)files_lseek(f, fd_of(arg), (int64_t)(int8_t)path[0] * 7, arg >> 6);
        break;
    case 5:
        (void)files_unlink(f, path);
        break;
    case 6:
        (void)files_mkdir(f, path);
        break;
    case 7:
        (void)files_stat(f, path, arg & 1, buf);
        break;
    case 8:
        (void)files_fstat(f, fd_of(arg), buf);
        break;
    case 9:
        /* a whole listing with arg-byte buffers (some too small for any record) */
        for (int i = 0; i < 64; i++) {
            uint64_t written = 0;
            int32_t r = files_getdents(f, fd_of(arg & 7), buf, arg >> 3 << 4, &written);
            if (r == 1 && (written == 0 || written > (uint64_t)(arg >> 3 << 4)))
                abort();
            if (r != 1)
                break;
        }
        break;
    case 10: {
        struct stat st;
        resolve_force_walk = arg & 1;
        int r;
        switch ((arg >> 1) & 3) {
        case 0:
            r = resolve_open(rootfd, path, arg & 8 ? O_RDONLY | O_NOFOLLOW : O_RDONLY, 0);
            if (r >= 0)
                check_beneath(r);
            break;
        case 1:
            (void)resolve_stat(rootfd, path, arg & 8, &st);
            break;
        case 2:
            (void)resolve_unlink(rootfd, path);
            break;
        default:
            (void)resolve_mkdir(rootfd, path, 0755);
            break;
        }
        resolve_force_walk = false;
        break;
    }
    default:
        check_clean(path);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static char path[FILEMAP_PATH_MAX + 1];
    if (!ready) {
        setup();
        ready = 1;
    }
    build_map();
    struct files *f;
    if (files_create(&cfg, &f) != 0)
        abort();
    int rootfd = open(map, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        abort();
    size_t i = 0;
    while (i + 2 <= size) {
        unsigned op = data[i] % 12;
        uint8_t arg = data[i + 1];
        i += 2;
        size_t n = 0;
        while (i < size && data[i] != 0 && n < FILEMAP_PATH_MAX)
            path[n++] = (char)data[i++];
        path[n] = 0;
        if (i < size && data[i] == 0)
            i++;
        run_op(f, rootfd, op, arg, path);
    }
    close(rootfd);
    files_destroy(f);
    check_outside();
    return 0;
}
