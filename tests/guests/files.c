/*
 * files.c: a guest that exercises the file hypercalls; the first application argument picks a
 * scenario (see the table at the end), the others are its paths. It prints one line per step
 * with the exact results, which the integration tests (tests/integration/test_files.c) compare.
 * Built for v2 (UHYVEIF 3 note) and, with -DFILES_V1, for the v1 ports with virtual buffers.
 */
#include "files_hc.h"

static struct rt_args args;
static uint8_t big[1 << 20] __attribute__((aligned(4096))); /* 1 MiB transfer buffer */

#define SAY(...) rt_printf(__VA_ARGS__)

/* "name: value" for a result, so the tests see the exact numbers. */
static long show(const char *what, long v)
{
    SAY("%s: %ld\n", what, v);
    return v;
}

static int32_t create(const char *path, const char *text)
{
    int32_t fd = hf_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        hf_write(fd, text, strlen(text));
        hf_close(fd);
    }
    return fd;
}

/* rw PATH: write a file, read it back. */
static int rw(const char *path)
{
    static const char text[] = "hello, chyve files\n";
    int32_t fd = hf_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    SAY("open for writing: %s\n", fd >= 3 ? "ok" : "FAIL");
    show("write", hf_write(fd, text, sizeof(text) - 1));
    show("close", hf_close(fd));
    fd = hf_open(path, O_RDONLY, 0);
    char buf[64];
    memset(buf, 0, sizeof(buf));
    long n = show("read", hf_read(fd, buf, sizeof(buf)));
    SAY("same bytes: %s\n", n == sizeof(text) - 1 && !memcmp(buf, text, (size_t)n) ? "yes" : "no");
    show("read at the end", hf_read(fd, buf, sizeof(buf)));
    show("close", hf_close(fd));
    show("close again", hf_close(fd));
    return 0;
}

/* readmap PATH N: a host file of N bytes with byte i = (i * 31 + 7) & 0xff. */
static int readmap(const char *path, long size)
{
    int32_t fd = hf_open(path, O_RDONLY, 0);
    long total = 0, bad = -1;
    for (;;) {
        int64_t n = hf_read(fd, big, 4096);
        if (n <= 0) {
            if (n < 0)
                show("read error", n);
            break;
        }
        for (int64_t i = 0; i < n && bad < 0; i++)
            if (big[i] != (uint8_t)((total + i) * 31 + 7))
                bad = total + i;
        total += n;
    }
    hf_close(fd);
    SAY("read %ld of %ld bytes, %s\n", total, size, bad < 0 ? "all as expected" : "DIFFERENT");
    return 0;
}

/* lseek PATH: every whence on "0123456789". */
static int lseek_all(const char *path)
{
    create(path, "0123456789");
    int32_t fd = hf_open(path, O_RDWR, 0);
    char b[8];
    show("SET 3", hf_lseek(fd, 3, 0));
    memset(b, 0, sizeof(b));
    hf_read(fd, b, 2);
    SAY("read '%s'\n", b);
    show("CUR +2", hf_lseek(fd, 2, 1));
    memset(b, 0, sizeof(b));
    hf_read(fd, b, 1);
    SAY("read '%s'\n", b);
    show("CUR -3", hf_lseek(fd, -3, 1));
    show("END -4", hf_lseek(fd, -4, 2));
    memset(b, 0, sizeof(b));
    hf_read(fd, b, 4);
    SAY("read '%s'\n", b);
    show("END 0", hf_lseek(fd, 0, 2));
    show("whence 3", hf_lseek(fd, 0, 3));
    show("SET -1", hf_lseek(fd, -1, 0));
    show("SET 12", hf_lseek(fd, 12, 0));
    show("write at 12", hf_write(fd, "X", 1));
    show("END 0 after", hf_lseek(fd, 0, 2));
    show("bad fd", hf_lseek(12345, 0, 0));
    show("stdout", hf_lseek(1, 0, 0));
    hf_close(fd);
    return 0;
}

/* unlink PATH: create, unlink, and it is gone. */
static int unlink_one(const char *path)
{
    SAY("create: %s\n", create(path, "bye") >= 3 ? "ok" : "FAIL");
    show("unlink", hf_unlink(path));
    show("open after unlink", hf_open(path, O_RDONLY, 0));
    show("unlink again", hf_unlink(path));
    return 0;
}

/* Lists directory fd's records (getdents with a buffer of bufsize) as "name/type" lines. */
static void list_dir(const char *path, uint64_t bufsize)
{
    int32_t fd = hf_open(path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) {
        show("open directory", fd);
        return;
    }
    static char names[64][64];
    static uint8_t types[64];
    int n = 0;
    for (;;) {
        int64_t got = hf_getdents(fd, big, bufsize);
        if (got <= 0) {
            if (got < 0)
                show("getdents", got);
            break;
        }
        for (int64_t off = 0; off < got;) {
            uint16_t reclen = (uint16_t)(big[off + 16] | big[off + 17] << 8);
            if (n < 64) {
                rt_snprintf(names[n], sizeof(names[n]), "%s", (const char *)big + off + 19);
                types[n++] = big[off + 18];
            }
            off += reclen;
        }
    }
    /* host order is arbitrary: sort by name */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) {
                char t[64];
                memcpy(t, names[i], 64);
                memcpy(names[i], names[j], 64);
                memcpy(names[j], t, 64);
                uint8_t ty = types[i];
                types[i] = types[j];
                types[j] = ty;
            }
    SAY("%s:", path);
    for (int i = 0; i < n; i++)
        SAY(" %s/%u", names[i], types[i]);
    SAY("\n");
    hf_close(fd);
}

static void show_stat(const char *path, bool lstat)
{
    struct uhyve_file_attr a;
    memset(&a, 0, sizeof(a));
    int32_t r = hf_stat(path, lstat, &a);
    if (r != 0)
        SAY("%s %s: %d\n", lstat ? "lstat" : "stat", path, r);
    else
        SAY("%s %s: mode 0x%x size %ld nlink %lu\n", lstat ? "lstat" : "stat", path,
            (unsigned)a.mode, (long)a.size, (unsigned long)a.nlink);
}

/* dirs DIR VIRTDIR: mkdir, getdents, stat, fstat on a mapped host directory and a virtual one. */
static int dirs(const char *dir, const char *virt)
{
    char sub[256], a[256], b[256];
    rt_snprintf(sub, sizeof(sub), "%s/sub", dir);
    rt_snprintf(a, sizeof(a), "%s/a.txt", sub);
    rt_snprintf(b, sizeof(b), "%s/b.txt", sub);
    show("mkdir", hf_mkdir(sub));
    show("mkdir again", hf_mkdir(sub));
    create(b, "bb");
    create(a, "a");
    show_stat(a, false);
    show_stat(sub, false);
    int32_t fd = hf_open(b, O_RDONLY, 0);
    struct uhyve_file_attr at;
    show("fstat", hf_fstat(fd, &at));
    SAY("fstat: mode 0x%x size %ld\n", (unsigned)at.mode, (long)at.size);
    hf_close(fd);
    show("fstat stdin", hf_fstat(0, &at));
    list_dir(sub, 4096);
    list_dir(sub, 32); /* one record per call */
    fd = hf_open(sub, O_RDONLY | O_DIRECTORY, 0);
    show("getdents into 8 bytes", hf_getdents(fd, big, 8));
    show("read a directory", hf_read(fd, big, 8));
    show("getdents of a file fd", hf_getdents(0, big, 64));
    hf_close(fd);
    list_dir(virt, 4096);
    show_stat(virt, false);
    show("mkdir in a missing dir", hf_mkdir("/data/no/such/dir"));
    for (unsigned i = 0; hf_mount(i); i++)
        SAY("mount %s\n", hf_mount(i));
    return 0;
}

/* temp PATH: a file at an unmapped path lives in the run's temporary directory. */
static int temp(const char *path)
{
    show("open without O_CREAT", hf_open(path, O_RDWR, 0));
    int32_t fd = hf_open(path, O_RDWR | O_CREAT, 0600);
    SAY("create: %s\n", fd >= 3 ? "ok" : "FAIL");
    show("write", hf_write(fd, "temporary", 9));
    show("seek", hf_lseek(fd, 0, 0));
    char buf[16];
    memset(buf, 0, sizeof(buf));
    show("read", hf_read(fd, buf, sizeof(buf)));
    SAY("content '%s'\n", buf);
    hf_close(fd);
    if (rt_v2) {
        show_stat(path, false);
        show("mkdir /newdir", hf_mkdir("/newdir"));
        fd = create("/newdir/inside.txt", "x");
        SAY("create in it: %s\n", fd >= 3 ? "ok" : "FAIL");
        list_dir("/newdir", 4096);
        show("O_EXCL on it", hf_open("/newdir/inside.txt", O_WRONLY | O_CREAT | O_EXCL, 0600));
    }
    return 0;
}

/* copy SRC DST: 1 MiB reads and writes, so the host does the work. */
static int copy(const char *src, const char *dst)
{
    int32_t in = hf_open(src, O_RDONLY, 0), out = hf_open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    long total = 0;
    for (;;) {
        int64_t n = hf_read(in, big, sizeof(big));
        if (n <= 0) {
            if (n < 0)
                show("read error", n);
            break;
        }
        int64_t w = hf_write(out, big, (uint64_t)n);
        if (w != n) {
            show("write error", w);
            break;
        }
        total += n;
    }
    SAY("copied %ld bytes\n", total);
    show("close", hf_close(out));
    hf_close(in);
    return 0;
}

/* many PATH N: opens PATH N times without closing. */
static int many(const char *path, long count)
{
    long ok = 0, failed = 0;
    int32_t first = -1, last = -1, err = 0, other = 0;
    for (long i = 0; i < count; i++) {
        int32_t fd = hf_open(path, O_RDONLY, 0);
        if (fd >= 0) {
            if (first < 0)
                first = fd;
            last = fd;
            ok++;
        } else {
            if (!err)
                err = fd;
            if (fd != err)
                other = fd;
            failed++;
        }
    }
    SAY("opened %ld (fds %d..%d), then %ld failed with %d%s\n", ok, first, last, failed, err,
        other ? " and OTHERS" : "");
    show("close one", hf_close(first));
    int32_t fd = hf_open(path, O_RDONLY, 0);
    SAY("open after close: %s\n", fd > last ? "new fd" : "FAIL");
    show("close a closed fd", hf_close(first));
    return 0;
}

/* escape: paths that try to leave the mapping at /data (host symlinks planted by the test). */
static int escape(void)
{
    static const struct {
        const char *path;
        int32_t flags;
    } opens[] = {
        {"/data/abs_link", O_RDONLY},
        {"/data/abs_link", O_WRONLY | O_TRUNC},
        {"/data/rel_link", O_RDWR},
        {"/data/dir_link/canary.txt", O_RDONLY},
        {"/data/dir_link/canary.txt", O_WRONLY | O_CREAT | O_TRUNC},
        {"/data/dir_link", O_RDONLY | O_DIRECTORY},
        {"/data/sub/deep_link", O_RDONLY},
        {"/data/loop", O_RDONLY},
        {"/data/../canary.txt", O_RDONLY},
        {"//data//..//..//canary.txt", O_RDONLY},
        {"/data/sub/../../canary.txt", O_RDONLY},
        {"/data/\xff", O_RDONLY},
        {"/data/inside_link", O_RDONLY},
    };
    for (unsigned i = 0; i < sizeof(opens) / sizeof(opens[0]); i++) {
        int32_t r = hf_open(opens[i].path, opens[i].flags, 0644);
        SAY("open %s 0x%x: %d\n", opens[i].path[6] == '\xff' ? "/data/<0xff>" : opens[i].path,
            (unsigned)opens[i].flags, r >= 3 ? 3 : r);
        if (r >= 0) {
            hf_write(r, "ESCAPED", 7);
            hf_close(r);
        }
    }
    show_stat("/data/abs_link", false);
    struct uhyve_file_attr a;
    show("lstat /data/abs_link", hf_stat("/data/abs_link", true, &a));
    SAY("lstat type: 0x%x\n", (unsigned)(a.mode & 0170000));
    show_stat("/data/dir_link/canary.txt", false);
    show("unlink /data/dir_link/canary.txt", hf_unlink("/data/dir_link/canary.txt"));
    show("unlink /data/abs_link (the link itself)", hf_unlink("/data/abs_link"));
    show("mkdir /data/dir_link/x", hf_mkdir("/data/dir_link/x"));
    char *longp = rt_alloc(5000, 1);
    memset(longp, 'a', 4999);
    longp[0] = '/';
    longp[4999] = '\0';
    show("open 5000-byte path", hf_open(longp, O_RDONLY, 0));
    return 0;
}

/* Creates /sync/ready, then waits (polling) until the host creates /sync/go. */
static bool handshake(void)
{
    hf_close(hf_open("/sync/ready", O_WRONLY | O_CREAT, 0644));
    for (long i = 0; i < 20000; i++) {
        int32_t fd = hf_open("/sync/go", O_RDONLY, 0);
        if (fd >= 0) {
            hf_close(fd);
            return true;
        }
        for (int k = 0; k < 500; k++)
            rt_pause();
    }
    SAY("FAIL: the host never said go\n");
    return false;
}

/* late PATH: after the handshake (the host changed PATH meanwhile), read PATH. */
static int late(const char *path)
{
    if (!handshake())
        return 1;
    int32_t fd = hf_open(path, O_RDONLY, 0);
    if (fd < 0) {
        show("open after the change", fd);
        return 0;
    }
    char buf[64];
    memset(buf, 0, sizeof(buf));
    int64_t n = hf_read(fd, buf, sizeof(buf) - 1);
    SAY("read %ld: '%s'\n", (long)n, buf);
    hf_close(fd);
    return 0;
}

/* image: the read-only files of a Hermit image, and the arguments from its hermit.toml. */
static int image(const char *path)
{
    for (int i = 0; i < args.napp; i++)
        SAY("arg %d: %s\n", i, args.app[i]);
    for (int i = 0; i < args.nenv; i++)
        if (!strncmp(args.env[i], "IMG", 3))
            SAY("env %s\n", args.env[i]);
    int32_t fd = hf_open(path, O_RDONLY, 0);
    char buf[64];
    memset(buf, 0, sizeof(buf));
    show("read", hf_read(fd, buf, sizeof(buf) - 1));
    SAY("content '%s'\n", buf);
    show("write", hf_write(fd, "x", 1));
    show("SET 6", hf_lseek(fd, 6, 0));
    memset(buf, 0, sizeof(buf));
    hf_read(fd, buf, 5);
    SAY("read '%s'\n", buf);
    show("END 0", hf_lseek(fd, 0, 2));
    show("CUR -100", hf_lseek(fd, -100, 1));
    hf_close(fd);
    show("open for writing", hf_open(path, O_WRONLY, 0));
    show("unlink", hf_unlink(path));
    show_stat(path, false);
    show("open /hermit.toml", hf_open("/hermit.toml", O_RDONLY, 0) >= 3 ? 0 : -1);
    list_dir("/data", 4096);
    for (unsigned i = 0; hf_mount(i); i++)
        SAY("mount %s\n", hf_mount(i));
    return 0;
}

/*
 * readonly DIR FILE: DIR is mapped read-only with keep.txt ("keep\n"), sub/ and link ->
 * keep.txt, and a writable DIR/out inside; FILE is a read-only mapped file ("conf\n"). Every
 * change is tried and must get EROFS (-30); reads, seeks, stat and listings work; DIR/out is
 * writable.
 */
static int readonly(const char *dir, const char *file)
{
    char keep[256], p[256];
    rt_snprintf(keep, sizeof(keep), "%s/keep.txt", dir);
    int32_t fd = hf_open(keep, O_RDONLY, 0);
    SAY("open read-only: %s\n", fd >= 3 ? "ok" : "FAIL");
    char buf[64];
    memset(buf, 0, sizeof(buf));
    show("read", hf_read(fd, buf, sizeof(buf) - 1));
    SAY("content '%s'\n", buf);
    show("write to it", hf_write(fd, "x", 1));
    show("SET 1", hf_lseek(fd, 1, 0));
    struct uhyve_file_attr a;
    memset(&a, 0, sizeof(a));
    show("fstat", hf_fstat(fd, &a));
    SAY("fstat size %ld\n", (long)a.size);
    show("close", hf_close(fd));
    static const struct {
        const char *name;
        int32_t flags;
    } opens[] = {
        {"keep.txt", O_WRONLY},
        {"keep.txt", O_RDWR},
        {"keep.txt", O_WRONLY | O_TRUNC},
        {"keep.txt", O_RDONLY | O_TRUNC},
        {"keep.txt", O_WRONLY | O_APPEND},
        {"new.txt", O_WRONLY | O_CREAT},
        {"new.txt", O_RDONLY | O_CREAT},
        {"link", O_RDWR},
        {"out/../keep.txt", O_WRONLY},
        {"sub/new.txt", O_RDWR | O_CREAT | O_EXCL},
    };
    for (unsigned i = 0; i < sizeof(opens) / sizeof(opens[0]); i++) {
        rt_snprintf(p, sizeof(p), "%s/%s", dir, opens[i].name);
        int32_t r = hf_open(p, opens[i].flags, 0644);
        SAY("open %s 0x%x: %d\n", opens[i].name, (unsigned)opens[i].flags, r >= 3 ? 3 : r);
        if (r >= 0) {
            hf_write(r, "CHANGED", 7);
            hf_close(r);
        }
    }
    show("unlink keep.txt", hf_unlink(keep));
    rt_snprintf(p, sizeof(p), "%s/sub", dir);
    show("unlink sub", hf_unlink(p));
    show("mkdir sub", hf_mkdir(p));
    rt_snprintf(p, sizeof(p), "%s/newdir", dir);
    show("mkdir newdir", hf_mkdir(p));
    rt_snprintf(p, sizeof(p), "%s/link", dir);
    fd = hf_open(p, O_RDONLY, 0);
    memset(buf, 0, sizeof(buf));
    show("read through link", hf_read(fd, buf, sizeof(buf) - 1));
    hf_close(fd);
    show_stat(keep, false);
    list_dir(dir, 4096);
    /* the writable mapping inside */
    rt_snprintf(p, sizeof(p), "%s/out/made.txt", dir);
    fd = hf_open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    SAY("create in out: %s\n", fd >= 3 ? "ok" : "FAIL");
    show("write there", hf_write(fd, "made", 4));
    show("close", hf_close(fd));
    /* the read-only file */
    fd = hf_open(file, O_RDONLY, 0);
    memset(buf, 0, sizeof(buf));
    show("read file", hf_read(fd, buf, sizeof(buf) - 1));
    SAY("content '%s'\n", buf);
    show("write file", hf_write(fd, "x", 1));
    hf_close(fd);
    show("open file for writing", hf_open(file, O_WRONLY, 0));
    show("unlink file", hf_unlink(file));
    return 0;
}

/*
 * Fills the run directory below top (a path the guest creates): nested directories until mkdir
 * fails, files until open fails, bytes until write fails; prints how far each got and its errno.
 */
static int fill(const char *top)
{
    static char p[4096];
    size_t len = strlen(top);
    memcpy(p, top, len + 1);
    int32_t rc = hf_mkdir(p);
    int depth = 0;
    while (rc == 0 && len + 3 < sizeof(p)) {
        memcpy(p + len, "/d", 3);
        len += 2;
        if ((rc = hf_mkdir(p)) == 0)
            depth++;
    }
    SAY("nested directories: %d, then %d\n", depth, rc);
    int files = 0;
    int32_t fd = 0;
    for (;;) {
        char q[64];
        rt_snprintf(q, sizeof(q), "%s/f%d", top, files);
        if ((fd = hf_open(q, O_WRONLY | O_CREAT, 0600)) < 0)
            break;
        hf_close(fd);
        files++;
    }
    SAY("files: %d, then %d\n", files, fd);
    rt_snprintf(p, 64, "%s/f0", top);
    fd = hf_open(p, O_WRONLY | O_APPEND, 0);
    static char chunk[4096];
    int64_t total = 0, n = 0;
    while ((n = hf_write(fd, chunk, sizeof(chunk))) > 0 && total < (64 << 20))
        total += n;
    SAY("bytes: %ld, then %ld\n", (long)total, (long)n);
    hf_close(fd);
    return 0;
}

int guest_main(void)
{
#ifndef FILES_V1
    rt_v2 = true;
#endif
    if (rt_parse_bootargs(&args) != 0 || args.napp < 1) {
        SAY("FAIL: usage: files -- MODE [PATH...]\n");
        return 100;
    }
    const char *m = args.app[0], *p1 = args.napp > 1 ? args.app[1] : "";
    const char *p2 = args.napp > 2 ? args.app[2] : "";
    long n = 0;
    if (args.napp > 2)
        rt_parse_int(args.app[2], &n);
    if (!strcmp(m, "rw"))
        return rw(p1);
    if (!strcmp(m, "readmap"))
        return readmap(p1, n);
    if (!strcmp(m, "lseek"))
        return lseek_all(p1);
    if (!strcmp(m, "unlink"))
        return unlink_one(p1);
    if (!strcmp(m, "dirs"))
        return dirs(p1, p2);
    if (!strcmp(m, "temp"))
        return temp(p1);
    if (!strcmp(m, "copy"))
        return copy(p1, p2);
    if (!strcmp(m, "many"))
        return many(p1, n);
    if (!strcmp(m, "escape"))
        return escape();
    if (!strcmp(m, "late"))
        return late(p1);
    if (!strcmp(m, "image"))
        return image(p1);
    if (!strcmp(m, "fill"))
        return fill(p1);
    if (!strcmp(m, "readonly"))
        return readonly(p1, p2);
    SAY("FAIL: unknown mode '%s'\n", m);
    return 100;
}
