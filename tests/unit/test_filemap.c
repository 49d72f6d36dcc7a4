/* test_filemap.c: guest path cleaning, the mapping tree, lookups, mount points, the fd table. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "files/fdtable.h"
#include "files/file_abi.h"
#include "files/filemap.h"

/* ---- cleaning ------------------------------------------------------------------------------ */

static void clean_is(const char *in, const char *want)
{
    char out[FILEMAP_PATH_MAX];
    cr_assert_eq(filemap_clean(in, out, sizeof(out)), 0, "clean('%s') failed", in);
    cr_assert_str_eq(out, want, "clean('%s')", in);
}

Test(clean, lexical_rules)
{
    clean_is("/", "/");
    clean_is("a", "/a");
    clean_is("//a//b//", "/a/b");
    clean_is("/a/./b/.", "/a/b");
    clean_is("/a/b/../c", "/a/c");
    clean_is("/../../etc/passwd", "/etc/passwd");
    clean_is("/data/../..//../x", "/x");
    clean_is("/a/..", "/");
    clean_is("..", "/");
    clean_is("/.../x", "/.../x"); /* "..." is a name */
    clean_is("/a/b c/\xc3\xa9", "/a/b c/\xc3\xa9");
}

Test(clean, refusals)
{
    char out[FILEMAP_PATH_MAX];
    cr_assert_eq(filemap_clean("", out, sizeof(out)), -H_EINVAL);
    cr_assert_eq(filemap_clean("/a/\xff", out, sizeof(out)), -H_EINVAL);
    cr_assert_eq(filemap_clean("/\xc0\xaf", out, sizeof(out)), -H_EINVAL);     /* overlong '/' */
    cr_assert_eq(filemap_clean("/\xed\xa0\x80", out, sizeof(out)), -H_EINVAL); /* surrogate */
    char name[300];
    memset(name, 'n', sizeof(name));
    name[0] = '/';
    name[256] = '\0';
    cr_assert_eq(filemap_clean(name, out, sizeof(out)), 0); /* 255-byte component */
    name[256] = 'n';
    name[257] = '\0';
    cr_assert_eq(filemap_clean(name, out, sizeof(out)), -H_ENAMETOOLONG);
    cr_assert_eq(filemap_clean("/abcdef", out, 7), -H_ENAMETOOLONG);
    cr_assert_eq(filemap_clean("/abcde", out, 7), 0);
}

/* ---- the map ------------------------------------------------------------------------------- */

static char tmp[256];
static struct filemap map;

static void setup(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/chyve-filemap-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    filemap_init(&map);
}

static void teardown(void)
{
    filemap_fini(&map);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(map, .init = setup, .fini = teardown);

static void mkfile(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", tmp, rel);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f, "%s", p);
    fputs(text, f);
    fclose(f);
}

static void mkd(const char *rel)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", tmp, rel);
    cr_assert_eq(mkdir(p, 0755), 0, "%s", p);
}

static int map_spec(const char *host_rel, const char *guest)
{
    char spec[600];
    snprintf(spec, sizeof(spec), "%s/%s:%s", tmp, host_rel, guest);
    return filemap_map_host(&map, spec);
}

static struct fm_where look(const char *path)
{
    char clean[FILEMAP_PATH_MAX];
    cr_assert_eq(filemap_clean(path, clean, sizeof(clean)), 0);
    static char keep[8][FILEMAP_PATH_MAX];
    static int k;
    char *c = keep[k++ % 8];
    strcpy(c, clean);
    struct fm_where w;
    filemap_lookup(&map, c, &w);
    return w;
}

Test(map, host_paths_and_lookups)
{
    mkd("data");
    mkfile("data/in.txt", "x");
    mkfile("notes.txt", "n");
    cr_assert_eq(map_spec("data", "/data"), 0, "%s", err_msg());
    cr_assert_eq(map_spec("notes.txt", "root/./notes.txt"), 0, "%s", err_msg());
    cr_assert_eq(map_spec("missing.txt", "/out/result.txt"), 0, "%s", err_msg());
    cr_assert_eq(map_spec("data/..//data/in.txt", "/other/in.txt:rw"), 0, "%s", err_msg());

    struct fm_where w = look("/data/in.txt");
    cr_assert_eq(w.node->kind, FM_HOST);
    cr_assert_str_eq(w.node->name, "data");
    cr_assert_str_eq(w.rest, "in.txt");
    cr_assert_geq(w.node->dirfd, 0);
    char want[512];
    snprintf(want, sizeof(want), "%s/data", tmp);
    char *real = realpath(want, NULL);
    cr_assert_str_eq(w.node->host, real);
    free(real);

    w = look("/data");
    cr_assert_str_eq(w.rest, "");
    w = look("/root/notes.txt");
    cr_assert_eq(w.node->kind, FM_HOST);
    cr_assert_eq(w.node->dirfd, -1);
    cr_assert_str_eq(w.node->base, "notes.txt");
    cr_assert_str_eq(w.rest, "");
    w = look("/root");
    cr_assert_eq(w.node->kind, FM_DIR);
    cr_assert_str_eq(w.rest, "");
    w = look("/root/other/x");
    cr_assert_eq(w.node->kind, FM_DIR);
    cr_assert_str_eq(w.node->name, "root");
    cr_assert_str_eq(w.rest, "other/x");
    w = look("/nowhere/x");
    cr_assert_eq(w.node, &map.root);
    cr_assert_str_eq(w.rest, "nowhere/x");
    w = look("/out/result.txt");
    cr_assert_str_eq(w.node->base, "missing.txt");
    w = look("/other/in.txt");
    cr_assert_str_eq(w.node->base, "in.txt"); /* canonical host path */
    cr_assert_not(w.node->ro, "rw is the default mode, also when given");

    char path[FILEMAP_PATH_MAX];
    cr_assert(filemap_path(look("/root/notes.txt").node, path, sizeof(path)));
    cr_assert_str_eq(path, "/root/notes.txt");
    cr_assert(!filemap_path(look("/root/notes.txt").node, path, 10));
    cr_assert(filemap_path(&map.root, path, sizeof(path)));
    cr_assert_str_eq(path, "/");

    /* mounts: host directories, and directories holding mapped files; never "/" */
    const char *const *m = filemap_mounts(&map);
    cr_assert_not_null(m);
    cr_assert_str_eq(m[0], "/data");
    cr_assert_str_eq(m[1], "/other");
    cr_assert_str_eq(m[2], "/out");
    cr_assert_str_eq(m[3], "/root");
    cr_assert_null(m[4]);
}

Test(map, mapping_errors)
{
    mkd("d");
    mkfile("f", "x");
    cr_assert_eq(map_spec("f", "/f"), 0);
    cr_assert_eq(map_spec("d", "/f"), -1);
    cr_assert(strstr(err_msg(), "guest path '/f' is mapped twice"), "%s", err_msg());
    cr_assert_eq(map_spec("d", "/f/below"), -1);
    cr_assert(strstr(err_msg(), "guest path '/f/below' lies below a mapped file"), "%s", err_msg());
    cr_assert_eq(map_spec("d", "/"), -1);
    cr_assert(strstr(err_msg(), "cannot map onto the guest root '/'"), "%s", err_msg());
    cr_assert_eq(map_spec("no/such/dir", "/x"), -1);
    cr_assert(strstr(err_msg(), "neither host path"), "%s", err_msg());
    cr_assert_eq(filemap_map_host(&map, "nocolon"), -1);
    cr_assert(strstr(err_msg(), "expected HOST:GUEST"), "%s", err_msg());
    cr_assert_eq(filemap_map_host(&map, ":/x"), -1);
    cr_assert_eq(filemap_map_host(&map, "/tmp:"), -1);
    cr_assert_eq(filemap_map_host(&map, "/tmp:/a/\xff"), -1);
    cr_assert(strstr(err_msg(), "invalid guest path"), "%s", err_msg());
    /* a mapped file first, then its directory mapped as a host directory: nested is fine */
    mkfile("d/inner", "i");
    cr_assert_eq(map_spec("f", "/top/file"), 0);
    cr_assert_eq(map_spec("d", "/top"), 0, "%s", err_msg());
    struct fm_where w = look("/top/file");
    cr_assert_str_eq(w.node->base, "f");
    w = look("/top/inner");
    cr_assert_str_eq(w.node->name, "top");
    cr_assert_str_eq(w.rest, "inner");
    /* but a host file cannot hold mapped paths below it */
    cr_assert_eq(map_spec("f", "/h/x"), 0);
    cr_assert_eq(map_spec("f", "/h"), -1);
    cr_assert(strstr(err_msg(), "is not a directory but paths below it are mapped"), "%s",
              err_msg());
}

/* ---- modes -------------------------------------------------------------------------------- */

static void spec_is(const char *spec, const char *host, const char *guest, bool ro)
{
    struct fm_spec sp;
    cr_assert_eq(filemap_spec(spec, &sp), 0, "'%s': %s", spec, err_msg());
    cr_assert_eq(sp.host_len, strlen(host), "'%s'", spec);
    cr_assert_eq(memcmp(sp.host, host, sp.host_len), 0, "'%s'", spec);
    cr_assert_eq(sp.guest_len, strlen(guest), "'%s'", spec);
    cr_assert_eq(memcmp(sp.guest, guest, sp.guest_len), 0, "'%s'", spec);
    cr_assert_eq(sp.ro, ro, "'%s'", spec);
}

static void spec_refused(const char *spec, const char *msg)
{
    struct fm_spec sp;
    cr_assert_eq(filemap_spec(spec, &sp), -1, "'%s' accepted", spec);
    cr_assert_str_eq(err_msg(), msg);
}

Test(spec, third_part_is_the_mode)
{
    spec_is("h:/g", "h", "/g", false);
    spec_is("h:/g:rw", "h", "/g", false);
    spec_is("./h/x:g/y:ro", "./h/x", "g/y", true);
    spec_refused("h:/g:x", "invalid file mapping 'h:/g:x': unknown mode 'x' (expected ro or rw)");
    spec_refused("h:/g:Ro",
                 "invalid file mapping 'h:/g:Ro': unknown mode 'Ro' (expected ro or rw)");
    spec_refused("h:/g:ro:", "invalid file mapping 'h:/g:ro:': unknown mode 'ro:' (expected ro or "
                             "rw)");
    spec_refused("h:/g:ignored", "invalid file mapping 'h:/g:ignored': unknown mode 'ignored' "
                                 "(expected ro or rw)");
    spec_refused("h:/g:", "invalid file mapping 'h:/g:': empty mode after GUEST (expected ro or "
                          "rw)");
    spec_refused("h::ro", "invalid file mapping 'h::ro': expected HOST:GUEST or HOST:GUEST:ro");
    spec_refused(":/g:ro", "invalid file mapping ':/g:ro': expected HOST:GUEST or HOST:GUEST:ro");
}

Test(map, read_only_mappings_and_the_innermost_mode)
{
    mkd("ro");
    mkd("ro/out");
    mkd("vol");
    mkfile("ro/f", "f");
    mkfile("conf", "c");
    /* the nested writable mapping first: the read-only one takes over its virtual parent */
    cr_assert_eq(map_spec("vol", "/ro/a/vol"), 0, "%s", err_msg());
    cr_assert_eq(map_spec("ro/out", "/ro/out:rw"), 0, "%s", err_msg());
    cr_assert_eq(map_spec("ro", "/ro:ro"), 0, "%s", err_msg());
    cr_assert_eq(map_spec("conf", "/etc/conf:ro"), 0, "%s", err_msg());
    cr_assert_eq(map_spec("rw-missing", "/new:rw"), 0, "%s", err_msg());

    struct fm_where w = look("/ro/f");
    cr_assert_eq(w.node->kind, FM_HOST);
    cr_assert(w.node->ro);
    cr_assert(filemap_read_only(w.node));
    cr_assert(filemap_read_only(look("/ro/deep/er").node));
    cr_assert(filemap_read_only(look("/etc/conf").node));
    cr_assert_not(filemap_read_only(look("/etc").node), "/etc is not below the file mapping");
    cr_assert_not(filemap_read_only(look("/etc/other").node));
    /* a virtual directory between two mappings takes the outer one's mode, */
    w = look("/ro/a");
    cr_assert_eq(w.node->kind, FM_DIR);
    cr_assert(filemap_read_only(w.node));
    cr_assert(filemap_read_only(look("/ro/a/x").node));
    /* the nested writable mappings their own */
    cr_assert_not(filemap_read_only(look("/ro/a/vol").node));
    cr_assert_not(filemap_read_only(look("/ro/a/vol/x/y").node));
    cr_assert_not(filemap_read_only(look("/ro/out/z").node));
    cr_assert_not(filemap_read_only(look("/new").node));
    cr_assert_not(filemap_read_only(&map.root));
    cr_assert_not(filemap_read_only(look("/elsewhere").node));

    /* a read-only mapping must name something that exists: the guest could never create it */
    cr_assert_eq(map_spec("missing", "/m:ro"), -1);
    cr_assert(strstr(err_msg(), "does not exist (a read-only mapping needs an existing file or "
                                "directory)"),
              "%s", err_msg());
    cr_assert_eq(map_spec("ro", "/bad:wr"), -1);
    cr_assert(strstr(err_msg(), "unknown mode 'wr'"), "%s", err_msg());
    cr_assert_eq(look("/bad").node, &map.root, "a refused mapping leaves no node");
}

Test(map, virtual_files_and_runtime_paths)
{
    cr_assert_eq(filemap_add_virtual(&map, "data/a.txt", (const uint8_t *)"A", 1), 0);
    cr_assert_eq(filemap_add_virtual(&map, "data/b.txt", (const uint8_t *)"BB", 2), 0);
    cr_assert_eq(filemap_add_virtual(&map, "top.txt", (const uint8_t *)"T", 1), 0);
    cr_assert_eq(filemap_add_virtual(&map, "data/a.txt", (const uint8_t *)"A", 1), -1);
    cr_assert_eq(filemap_add_virtual(&map, "data", (const uint8_t *)"A", 1), -1);
    cr_assert_eq(filemap_add_virtual(&map, "top.txt/x", (const uint8_t *)"A", 1), -1);
    struct fm_where w = look("/data/b.txt");
    cr_assert_eq(w.node->kind, FM_VIRT);
    cr_assert_eq(w.node->size, 2);
    cr_assert_str_eq(look("/data/a.txt").node->name, "a.txt");
    const char *const *m = filemap_mounts(&map);
    cr_assert_str_eq(m[0], "/data"); /* top.txt is in "/", which is never mounted */
    cr_assert_null(m[1]);

    int err = 0;
    w = look("/new/deep/file");
    struct fm_node *n = filemap_add_path(&map, w.node, w.rest, &err);
    cr_assert_not_null(n);
    cr_assert_eq(n->kind, FM_DIR);
    cr_assert_eq(look("/new/deep/file").node, n);
    cr_assert_null(filemap_add_path(&map, look("/top.txt").node, "x", &err));
    cr_assert_eq(err, -H_ENOTDIR);
    unsigned before = map.nodes;
    filemap_remove(&map, n);
    cr_assert_eq(map.nodes, before - 1);
    cr_assert_str_eq(look("/new/deep/file").rest, "file");
    filemap_remove(&map, look("/new").node); /* has a child: refused */
    cr_assert_eq(map.nodes, before - 1);
}

/* The limit, reached in one flat directory: lookups stay fast however many siblings there are. */
Test(map, node_limit, .timeout = 10)
{
    int err = 0;
    char name[32];
    for (unsigned i = 0; i < FILEMAP_MAX_NODES; i++) {
        snprintf(name, sizeof(name), "n%u", i);
        cr_assert_not_null(filemap_add_path(&map, &map.root, name, &err));
    }
    cr_assert_null(filemap_add_path(&map, &map.root, "onemore", &err));
    cr_assert_eq(err, -H_ENOSPC);
    struct fm_where w = look("/n12345/below");
    cr_assert_str_eq(w.node->name, "n12345");
    cr_assert_str_eq(w.rest, "below");
    for (unsigned i = 0; i < FILEMAP_MAX_NODES; i += 2) { /* remove half, find the others */
        snprintf(name, sizeof(name), "/n%u", i);
        filemap_remove(&map, look(name).node);
    }
    cr_assert_eq(map.nodes, FILEMAP_MAX_NODES / 2);
    cr_assert_str_eq(look("/n2").rest, "n2");
    cr_assert_str_eq(look("/n3").node->name, "n3");
    cr_assert_not_null(filemap_add_path(&map, &map.root, "onemore", &err));
}

/* ---- fd table ------------------------------------------------------------------------------ */

Test(fdtable, limit_numbers_release)
{
    struct fdtab *t;
    cr_assert_eq(fdtab_create(&t), 0);
    struct fd_entry e = {.kind = FD_VIRT_FILE, .host = -1};
    int32_t first = fdtab_add(t, &e);
    cr_assert_eq(first, FDTAB_FIRST);
    for (int i = 1; i < FDTAB_MAX_OPEN; i++)
        cr_assert_eq(fdtab_add(t, &e), FDTAB_FIRST + i);
    cr_assert_eq(fdtab_count(t), FDTAB_MAX_OPEN);
    cr_assert_eq(fdtab_add(t, &e), -1);
    cr_assert_eq(fdtab_close(t, first), 0);
    cr_assert_eq(fdtab_close(t, first), -1);
    cr_assert_null(fdtab_get(t, first));
    /* numbers are never reused: the next one is new */
    cr_assert_eq(fdtab_add(t, &e), FDTAB_FIRST + FDTAB_MAX_OPEN);
    cr_assert_not_null(fdtab_get(t, FDTAB_FIRST + FDTAB_MAX_OPEN));
    cr_assert_null(fdtab_get(t, 0));
    cr_assert_null(fdtab_get(t, -1));
    cr_assert_null(fdtab_get(t, INT32_MIN));
    cr_assert_null(fdtab_get(t, INT32_MAX));
    fdtab_destroy(t);
}

/*
 * Numbers stay consecutive when a long-lived fd holds a newer number's home slot: the newer one is
 * placed further on, found there, and lookups after it closes (the probe bound shrinks) still
 * find every open fd and nothing closed.
 */
Test(fdtable, displaced_numbers_are_found_and_stale_ones_are_not)
{
    struct fdtab *t;
    cr_assert_eq(fdtab_create(&t), 0);
    struct fd_entry e = {.kind = FD_VIRT_FILE, .host = -1};
    for (int i = 0; i < FDTAB_MAX_OPEN; i++) {
        e.pos = (uint64_t)(FDTAB_FIRST + i); /* a tag to check which entry a lookup finds */
        cr_assert_eq(fdtab_add(t, &e), FDTAB_FIRST + i);
    }
    int32_t n = FDTAB_FIRST + FDTAB_MAX_OPEN; /* the next number: its home slot holds fd 3 */
    cr_assert_eq(fdtab_close(t, 500), 0);
    e.pos = (uint64_t)n;
    cr_assert_eq(fdtab_add(t, &e), n, "numbers stay consecutive");
    cr_assert_not_null(fdtab_get(t, n));
    cr_assert_eq(fdtab_get(t, n)->pos, (uint64_t)n, "the displaced fd is found");
    cr_assert_null(fdtab_get(t, 500), "a closed number stays closed");
    cr_assert_null(fdtab_get(t, n + 1), "a number not issued yet finds nothing");
    cr_assert_eq(fdtab_close(t, 3), 0); /* frees n's home; n stays where it is */
    cr_assert_eq(fdtab_get(t, n)->pos, (uint64_t)n);
    cr_assert_eq(fdtab_close(t, n), 0);
    cr_assert_null(fdtab_get(t, n));
    for (int32_t fd = 4; fd < n; fd++) {
        if (fd == 500)
            continue;
        cr_assert_not_null(fdtab_get(t, fd), "fd %d lost", fd);
        cr_assert_eq(fdtab_get(t, fd)->pos, (uint64_t)fd);
    }
    cr_assert_eq(fdtab_count(t), FDTAB_MAX_OPEN - 2); /* 500, 3 and n closed; n added */
    fdtab_destroy(t);
}

Test(fdtable, closes_host_fds)
{
    struct fdtab *t;
    cr_assert_eq(fdtab_create(&t), 0);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct fd_entry e = {.kind = FD_HOST_FILE, .host = fd};
    int32_t g = fdtab_add(t, &e);
    cr_assert_eq(fdtab_get(t, g)->host, fd);
    cr_assert_eq(fcntl(fd, F_GETFD), FD_CLOEXEC);
    int fd2 = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct fd_entry e2 = {.kind = FD_HOST_FILE, .host = fd2};
    fdtab_add(t, &e2);
    cr_assert_eq(fdtab_close(t, g), 0);
    cr_assert_eq(fcntl(fd, F_GETFD), -1, "host fd still open after close");
    fdtab_destroy(t);
    cr_assert_eq(fcntl(fd2, F_GETFD), -1, "host fd still open after destroy");
}
