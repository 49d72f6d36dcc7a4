/* test_tar.c: tar archives in memory: names, long names, skipped types, and every malformation. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "fixture.h"
#include "loader/tar.h"

static struct tarb tb;
static struct tar_entry *ents;
static size_t nents;

static void setup(void)
{
    tarb_init(&tb);
    ents = NULL;
    nents = 0;
}

static void fini(void)
{
    tar_free(ents, nents);
    tarb_free(&tb);
}

TestSuite(tar, .init = setup, .fini = fini);

static void read_ok(void)
{
    cr_assert_eq(tar_read(tb.buf, tb.len, &ents, &nents), 0, "tar_read: %s", err_msg());
}

static void read_err(const char *msg)
{
    struct tar_entry *e = NULL;
    size_t n = 0;
    cr_assert_eq(tar_read(tb.buf, tb.len, &e, &n), -1, "tar_read succeeded, want '%s'", msg);
    cr_assert_str_eq(err_msg(), msg);
}

Test(tar, files_dirs_and_data)
{
    tarb_add(&tb, "./hermit.toml", '0', "version = \"1\"\n", 14);
    tarb_add(&tb, "data/", '5', NULL, 0);
    char big[1500];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7);
    tarb_add(&tb, "data//./big.bin", '\0', big, sizeof(big));
    tarb_add(&tb, "empty", '0', NULL, 0);
    tarb_add(&tb, "link", '2', NULL, 0); /* symlink: skipped */
    tarb_add(&tb, "fifo", '6', NULL, 0); /* FIFO: skipped */
    tarb_add(&tb, "cont", '7', "c", 1);  /* contiguous file = regular */
    tarb_end(&tb);
    read_ok();
    cr_assert_eq(nents, 5);
    cr_assert_str_eq(ents[0].name, "hermit.toml");
    cr_assert_eq(ents[0].size, 14);
    cr_assert_eq(memcmp(ents[0].data, "version = \"1\"\n", 14), 0);
    cr_assert_str_eq(ents[1].name, "data");
    cr_assert(ents[1].dir);
    cr_assert_str_eq(ents[2].name, "data/big.bin");
    cr_assert_eq(ents[2].size, sizeof(big));
    cr_assert_eq(memcmp(ents[2].data, big, sizeof(big)), 0);
    cr_assert_eq(ents[2].data, tb.buf + 3 * 512 + 512); /* data points into the archive */
    cr_assert_str_eq(ents[3].name, "empty");
    cr_assert_eq(ents[3].size, 0);
    cr_assert_str_eq(ents[4].name, "cont");
}

Test(tar, ustar_prefix_gnu_long_name_and_pax_path)
{
    char name[200];
    memset(name, 'p', 120);
    strcpy(name + 120, "/file.txt");
    tarb_add(&tb, name, '0', "1", 1);
    char longname[400];
    memset(longname, 'L', 300);
    strcpy(longname + 300, "/gnu.txt");
    tarb_add(&tb, "././@LongLink", 'L', longname, strlen(longname) + 1);
    tarb_add(&tb, "truncated-name", '0', "2", 1);
    static const char pax[] = "30 path=dir/from-pax-path.txt\n"
                              "10 size=3\n"
                              "16 mtime=123456\n";
    tarb_add(&tb, "PaxHeader/x", 'x', pax, strlen(pax));
    tarb_add(&tb, "ignored", '0', "abc", 3);
    tarb_add(&tb, "global", 'g', "17 comment=hello\n", 17);
    tarb_end(&tb);
    read_ok();
    cr_assert_eq(nents, 3);
    cr_assert_eq(strlen(ents[0].name), 129);
    cr_assert_str_eq(ents[0].name + 120, "/file.txt");
    cr_assert_str_eq(ents[1].name, longname);
    cr_assert_eq(*ents[1].data, '2');
    cr_assert_str_eq(ents[2].name, "dir/from-pax-path.txt");
    cr_assert_eq(ents[2].size, 3);
}

Test(tar, no_end_marker_at_a_block_boundary_is_accepted)
{
    tarb_add(&tb, "a", '0', "x", 1);
    read_ok();
    cr_assert_eq(nents, 1);
}

/* Appends a header whose size field (12 bytes at 124) is `size`, checksum fixed. */
static void header_with_size(const char *name, const char size[12])
{
    uint8_t h[512];
    tarb_header(h, name, '0', 0);
    memcpy(h + 124, size, 12);
    tarb_checksum(h);
    tarb_raw(&tb, h, 512);
}

Test(tar, base256_size)
{
    header_with_size("b256", "\x80\0\0\0\0\0\0\0\0\0\0\5");
    uint8_t data[512] = "hello";
    tarb_raw(&tb, data, 512);
    tarb_end(&tb);
    read_ok();
    cr_assert_eq(nents, 1);
    cr_assert_eq(ents[0].size, 5);
}

Test(tar, bad_checksum)
{
    tarb_add(&tb, "a", '0', "x", 1);
    tb.buf[0] = 'b';
    read_err("tar header at offset 0: bad checksum (not a tar archive?)");
}

Test(tar, garbage_is_not_a_tar)
{
    tarb_raw(&tb, "this is not a tar archive, just text that goes on for a while......", 68);
    uint8_t pad[512 - 68];
    memset(pad, 'x', sizeof(pad));
    tarb_raw(&tb, pad, sizeof(pad));
    read_err("tar header at offset 0: bad checksum (not a tar archive?)");
}

Test(tar, bad_size_field)
{
    header_with_size("a", "00000000009x");
    tarb_end(&tb);
    read_err("tar header at offset 0: bad size field");
}

Test(tar, truncated_data)
{
    char data[3000] = {0};
    tarb_add(&tb, "ok", '0', "1", 1);
    tarb_add(&tb, "big", '0', data, sizeof(data));
    tb.len -= 1024;
    read_err("tar archive truncated: entry at offset 1024 needs 3000 bytes");
}

Test(tar, truncated_header)
{
    tarb_add(&tb, "ok", '0', "1", 1);
    tarb_raw(&tb, "partial", 7);
    read_err("tar archive truncated at offset 1024");
}

Test(tar, empty_input)
{
    read_err("empty tar archive");
}

Test(tar, huge_size_does_not_wrap)
{
    header_with_size("huge", "77777777777");
    tarb_end(&tb);
    read_err("tar archive truncated: entry at offset 0 needs 8589934591 bytes");
}

/* An archive of the one entry (name, type, data) alone must be refused with msg. */
static void lone_entry_err(const char *name, char type, const char *data, const char *msg)
{
    tarb_free(&tb);
    tarb_add(&tb, name, type, data, strlen(data) + (type == 'L'));
    tarb_end(&tb);
    read_err(msg);
}

/* Names that would lead outside the archive root are refused, whatever their form. */
Test(tar, path_traversal_names)
{
    static const char *const bad[] = {"../evil", "a/../../evil", "/etc/passwd", "a/..", "./../x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char want[128];
        snprintf(want, sizeof(want), "tar entry '%s' points outside the archive (absolute or '..')",
                 bad[i]);
        lone_entry_err(bad[i], '0', "x", want);
    }
    /* through a GNU long name too */
    tarb_free(&tb);
    tarb_add(&tb, "././@LongLink", 'L', "x/../../y", 10);
    tarb_add(&tb, "short", '0', "x", 1);
    tarb_end(&tb);
    read_err("tar entry 'x/../../y' points outside the archive (absolute or '..')");
}

Test(tar, malformed_pax_dangling_long_name_nameless_file)
{
    lone_entry_err("p", 'x', "99 path=x\n", "tar header at offset 0: malformed pax header");
    lone_entry_err("p", 'x', "0 path=x\n", "tar header at offset 0: malformed pax header");
    lone_entry_err("././@LongLink", 'L', "name", "tar archive ends after a long-name header");
    lone_entry_err("./", '0', "x", "tar header at offset 0: a file without a name");
}
