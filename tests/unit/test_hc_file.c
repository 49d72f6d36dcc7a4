/*
 * test_hc_file.c: the file hypercalls with real file state behind a fake guest: v1 buffers
 * through the guest's page tables into a host file, and the v2 result unions of Getdents, Stat,
 * Fstat and Mkdir on success (the error paths are in test_hypercall.c).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fake_backend.h"
#include "fake_guest.h"
#include "files/files.h"
#include "guest_virt.h"
#include "hypercall/hypercall.h"

#define SIZE (2ull << 20)
#define VA0 0x100000000ull /* two virtual pages onto non-adjacent physical ones */
#define PA0 0x50000ull
#define PA1 0x30000ull

static struct fake_guest g;
static char tmp[256], spec[300];
static const char *maps[1];

static void setup(void)
{
    fake_guest_init(&g, 0, SIZE);
    snprintf(tmp, sizeof(tmp), "/tmp/chyve-hcfile-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(spec, sizeof(spec), "%s:/data", tmp);
    maps[0] = spec;
    g.cfg.file_maps = maps;
    g.cfg.nfile_maps = 1;
    g.cfg.tempdir = tmp;
    cr_assert_eq(files_create(&g.cfg, &g.vm.files), 0, "%s", err_msg());
}

static void teardown(void)
{
    files_destroy(g.vm.files);
    fake_guest_fini(&g);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(hcf, .init = setup, .fini = teardown);

static void hc(uint64_t addr, uint64_t data)
{
    cr_assert_eq(hypercall_handle(&g.vm, fake_vcpu, addr, data), HC_CONTINUE);
    cr_assert_not(atomic_load(&g.vm.stopping), "VM stopped: %s", g.vm.fail_msg);
}

/* v1/v2 FileOpen of `path` (packed block at 0x2000, name at 0x2100): the result. */
static int32_t open_path(uint64_t port, const char *path, int32_t flags)
{
    fg_wbytes(&g, 0x2100, path, strlen(path) + 1);
    fg_w64(&g, 0x2000, 0x2100);
    fg_w32(&g, 0x2008, (uint32_t)flags);
    fg_w32(&g, 0x200c, 0644);
    fg_w32(&g, 0x2010, 0x7777);
    hc(port, 0x2000);
    return (int32_t)fg_r32(&g, 0x2010);
}

Test(hcf, v1_read_and_write_through_guest_page_tables)
{
    struct fg_pt pt;
    fg_pt_init(&pt, &g, 0x10000, 0x20000);
    fg_pt_map4k(&pt, VA0, PA0);
    fg_pt_map4k(&pt, VA0 + 0x1000, PA1);
    fake_pt_root = pt.root;
    static const char msg[] = "0123456789abcdef|second page holds this!";
    fg_wbytes(&g, PA0 + 0xff0, msg, 16);
    fg_wbytes(&g, PA1, msg + 16, 24);
    int32_t fd = open_path(UHYVE_V1_FILE_OPEN, "/data/v1.txt", 0x42);
    cr_assert_geq(fd, 3);
    /* WriteParams {i32 fd, u64 buf, u64 len} */
    fg_w32(&g, 0x3000, (uint32_t)fd);
    fg_w64(&g, 0x3004, VA0 + 0xff0);
    fg_w64(&g, 0x300c, 40);
    hc(UHYVE_V1_FILE_WRITE, 0x3000);
    char p[300], buf[64] = {0};
    snprintf(p, sizeof(p), "%s/v1.txt", tmp);
    FILE *f = fopen(p, "r");
    cr_assert_eq(fread(buf, 1, sizeof(buf), f), 40);
    fclose(f);
    cr_assert_str_eq(buf, msg);
    /* LseekParams v1 {i32 fd, i64 off, i32 whence}: back to 10 */
    fg_w32(&g, 0x3000, (uint32_t)fd);
    fg_w64(&g, 0x3004, 10);
    fg_w32(&g, 0x300c, 0);
    hc(UHYVE_V1_FILE_LSEEK, 0x3000);
    cr_assert_eq(fg_r64(&g, 0x3004), 10);
    /* ReadParams {i32 fd, u64 buf, u64 len, i64 ret}: 30 bytes into VA0 + 0xffa, across pages */
    fg_fill(&g, PA0 + 0xff0, 0, 16);
    fg_fill(&g, PA1, 0, 64);
    fg_w32(&g, 0x3000, (uint32_t)fd);
    fg_w64(&g, 0x3004, VA0 + 0xffa);
    fg_w64(&g, 0x300c, 100);
    hc(UHYVE_V1_FILE_READ, 0x3000);
    cr_assert_eq(fg_r64(&g, 0x3014), 30);
    char got[30];
    cr_assert_eq(guest_mem_read(&g.vm.mem, PA0 + 0xffa, got, 6), 0);
    cr_assert_eq(guest_mem_read(&g.vm.mem, PA1, got + 6, 24), 0);
    cr_assert_eq(memcmp(got, msg + 10, 30), 0);
    cr_assert_eq(fg_r8(&g, PA1 + 24), 0);
}

/* Counts the chunks guest_virt_for_each hands out. */
static int count_chunk(void *ctx, uint8_t *p, uint64_t n)
{
    (void)p;
    int *c = ctx;
    c[0]++;
    c[1] += (int)n;
    return 0;
}

Test(hcf, physically_adjacent_pages_are_one_chunk)
{
    struct fg_pt pt;
    fg_pt_init(&pt, &g, 0x10000, 0x20000);
    for (uint64_t i = 0; i < 16; i++) /* 16 pages, 8 adjacent, then 8 adjacent elsewhere */
        fg_pt_map4k(&pt, VA0 + i * 0x1000, (i < 8 ? 0x80000 : 0x100000) + (i % 8) * 0x1000);
    fake_pt_root = pt.root;
    int c[2] = {0, 0};
    cr_assert_eq(guest_virt_for_each(&g.vm.mem, pt.root, VA0 + 0x800, 15 * 0x1000, count_chunk, c),
                 0);
    cr_assert_eq(c[0], 2);
    cr_assert_eq(c[1], 15 * 0x1000);
}

Test(hcf, v2_getdents_stat_fstat_mkdir_success)
{
    /* MkdirParams {u64 path, u64 len, {u32 tag, i32 errno}} */
    fg_wbytes(&g, 0x2100, "/data/d", 8);
    fg_w64(&g, 0x2000, 0x2100);
    fg_w64(&g, 0x2010, 0);
    hc(UHYVE_V2_MKDIR, 0x2000);
    cr_assert_eq(fg_r32(&g, 0x2010), 1);
    hc(UHYVE_V2_MKDIR, 0x2000);
    cr_assert_eq(fg_r32(&g, 0x2010), 2);
    cr_assert_eq(fg_r32(&g, 0x2014), 17);

    /* StatParams {u64 name, u32 kind, u64 attr, {tag, errno}} */
    fg_fill(&g, 0x4000, 0xAA, 120);
    fg_w64(&g, 0x2000, 0x2100);
    fg_w32(&g, 0x2008, 0);
    fg_w64(&g, 0x2010, 0x4000);
    fg_w64(&g, 0x2018, 0);
    hc(UHYVE_V2_FILE_STAT, 0x2000);
    cr_assert_eq(fg_r32(&g, 0x2018), 1);
    cr_assert_eq(fg_r32(&g, 0x4000 + 24) & 0170000, 0040000);
    cr_assert_eq(fg_r32(&g, 0x4000 + 36), 0);
    /* attr outside RAM: EFAULT, nothing written */
    fg_w64(&g, 0x2010, SIZE - 100);
    hc(UHYVE_V2_FILE_STAT, 0x2000);
    cr_assert_eq(fg_r32(&g, 0x2018), 2);
    cr_assert_eq(fg_r32(&g, 0x201c), 14);

    /* FstatParams {i32 fd, u64 attr, {tag, errno}} of an open directory */
    int32_t fd = open_path(UHYVE_V2_FILE_OPEN, "/data/d", 0x10000);
    cr_assert_geq(fd, 3);
    fg_w32(&g, 0x2000, (uint32_t)fd);
    fg_w64(&g, 0x2008, 0x4000);
    fg_w64(&g, 0x2010, 0);
    hc(UHYVE_V2_FILE_FSTAT, 0x2000);
    cr_assert_eq(fg_r32(&g, 0x2010), 1);

    /* GetdentParams {i32 fd, u64 buf, u64 len, {u32 tag, pad, u64 bytes | i32 errno}} */
    fg_w32(&g, 0x2000, (uint32_t)fd);
    fg_w64(&g, 0x2008, 0x5000);
    fg_w64(&g, 0x2010, 4096);
    fg_fill(&g, 0x2018, 0, 16);
    hc(UHYVE_V2_GETDENTS, 0x2000);
    cr_assert_eq(fg_r32(&g, 0x2018), 1);
    cr_assert_eq(fg_r64(&g, 0x2020), 48, "'.' and '..' are 24 bytes each");
    hc(UHYVE_V2_GETDENTS, 0x2000);
    cr_assert_eq(fg_r32(&g, 0x2018), 2, "end of directory");
    fg_w64(&g, 0x2008, SIZE - 8);
    hc(UHYVE_V2_GETDENTS, 0x2000);
    cr_assert_eq(fg_r32(&g, 0x2018), 3);
    cr_assert_eq(fg_r32(&g, 0x2020), 14);
}

Test(hcf, paths_too_long_or_outside_ram)
{
    fg_fill(&g, 0x10000, 'a', 8192);
    fg_w64(&g, 0x2000, 0x10000);
    fg_w32(&g, 0x2008, 0);
    hc(UHYVE_V2_FILE_OPEN, 0x2000);
    cr_assert_eq((int32_t)fg_r32(&g, 0x2010), -36);
    fg_fill(&g, SIZE - 100, 'a', 100);
    fg_w64(&g, 0x2000, SIZE - 100);
    hc(UHYVE_V2_FILE_OPEN, 0x2000);
    cr_assert_eq((int32_t)fg_r32(&g, 0x2010), -14);
}
