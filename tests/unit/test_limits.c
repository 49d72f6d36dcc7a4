/*
 * test_limits.c: what hostile Hermit images and TOML documents may cost (issue 12): allocations
 * of the TOML reader stay proportional to the text, a document's totals are bounded, the
 * archive's duplicate-name check is not quadratic, a gzip trailer's ISIZE is only a hint.
 * Allocations and strcmp calls are counted by alloc_count.c (linker --wrap).
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_count.h"
#include "err.h"
#include "fixture.h"
#include "loader/image.h"
#include "loader/toml.h"

/* A growing text buffer for generated documents. */
struct text {
    char *s;
    size_t len, cap;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    cr_assert_geq(n, 0);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        cr_assert_not_null(t->s);
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* nkeys keys, each an array of nitems empty strings. */
static struct text empty_string_arrays(int nkeys, int nitems)
{
    struct text t = {0};
    for (int k = 0; k < nkeys; k++) {
        put(&t, "k%d = [", k);
        for (int i = 0; i < nitems; i++)
            put(&t, "\"\",");
        put(&t, "]\n");
    }
    return t;
}

/*
 * 61 440 empty strings (15 arrays of 4096) in 250 KB of text: each string used to take a 64 KiB
 * buffer (3.75 GiB for this document). Now everything asked for is a small multiple of the text.
 */
Test(toml_limits, many_strings_stay_small)
{
    struct text t = empty_string_arrays(15, 4096);
    struct toml_doc d;
    alloc_count_start(256u << 20);
    int rc = toml_parse(t.s, t.len, &d);
    struct alloc_count c = alloc_count_stop();
    cr_assert_eq(rc, 0, "%s (allocations refused: %zu)", err_msg(), c.refused);
    cr_assert_eq(d.n, 15);
    cr_assert_eq(d.e[14].v.n, 4096);
    cr_assert_str_eq(d.e[14].v.items[4095].s, "");
    cr_assert_lt(c.bytes, 16u << 20, "%zu bytes allocated for a %zu-byte document", c.bytes, t.len);
    cr_assert_leq(c.largest, 1u << 20, "largest allocation %zu bytes", c.largest);
    toml_free(&d);
    free(t.s);
}

Test(toml_limits, array_items_in_a_document)
{
    struct text t = empty_string_arrays(17, 4096);
    struct toml_doc d;
    cr_assert_eq(toml_parse(t.s, t.len, &d), -1);
    cr_assert_str_eq(err_msg(), "line 17: key 'k16': more than 65536 array items in the document");
    free(t.s);
}

/* 300 strings of 60 000 bytes: 18 MB of strings, more than the 16 MiB a document may hold. */
Test(toml_limits, string_bytes_in_a_document)
{
    struct text t = {0};
    char *big = malloc(60001);
    memset(big, 'x', 60000);
    big[60000] = '\0';
    for (int k = 0; k < 300; k++)
        put(&t, "s%d = '%s'\n", k, big);
    struct toml_doc d;
    alloc_count_start(256u << 20);
    int rc = toml_parse(t.s, t.len, &d);
    struct alloc_count c = alloc_count_stop();
    cr_assert_eq(rc, -1);
    cr_assert_str_eq(err_msg(),
                     "line 280: key 's279': more than 16 MiB of strings and keys in the document");
    cr_assert_lt(c.bytes, 64u << 20, "%zu bytes allocated", c.bytes);
    free(big);
    free(t.s);
}

Test(toml_limits, key_path_length)
{
    struct text t = {0};
    put(&t, "a");
    for (int i = 0; i < 600; i++)
        put(&t, ".b");
    put(&t, " = 1\n");
    struct toml_doc d;
    cr_assert_eq(toml_parse(t.s, t.len, &d), -1);
    cr_assert_str_eq(err_msg(), "line 1: key path longer than 1024 bytes");
    free(t.s);
    t = (struct text){0};
    put(&t, "[");
    for (int i = 0; i < 1100; i++)
        put(&t, "c");
    put(&t, "]\n");
    cr_assert_eq(toml_parse(t.s, t.len, &d), -1);
    cr_assert_str_eq(err_msg(), "line 1: key longer than 1024 bytes");
    free(t.s);
    /* a path of exactly 1024 bytes (table and key together) is fine */
    t = (struct text){0};
    put(&t, "[%0511d.%0510d]\nx = 1\n", 0, 0);
    cr_assert_eq(toml_parse(t.s, t.len, &d), 0, "%s", err_msg());
    toml_free(&d);
    free(t.s);
}

Test(toml_limits, tables_in_a_document)
{
    struct text t = {0};
    for (int i = 0; i < 4096; i++)
        put(&t, "[t%d]\n", i);
    struct toml_doc d;
    cr_assert_eq(toml_parse(t.s, t.len, &d), 0, "%s", err_msg());
    toml_free(&d);
    put(&t, "[one_more]\n");
    cr_assert_eq(toml_parse(t.s, t.len, &d), -1);
    cr_assert_str_eq(err_msg(), "line 4097: more than 4096 tables");
    free(t.s);
}

/*
 * 65 531 files and then a second "f65530", the last: the pairwise check made 2.1 billion
 * comparisons (half a minute) to find it; sorting needs about n log2 n = 1 million.
 */
Test(image_limits, duplicate_check_is_not_quadratic)
{
    enum { N = 65532 };
    struct tarb t;
    tarb_init(&t);
    char name[16];
    for (int i = 0; i < N - 1; i++) {
        snprintf(name, sizeof(name), "f%05d", i);
        tarb_add(&t, name, '0', NULL, 0);
    }
    tarb_add(&t, "f65530", '0', NULL, 0);
    tarb_end(&t);
    size_t gzlen;
    uint8_t *gz = fixture_gzip(t.buf, t.len, &gzlen);
    struct image img;
    alloc_count_start((size_t)1 << 30);
    int rc = image_open(gz, gzlen, "many.hermit", &img);
    struct alloc_count c = alloc_count_stop();
    cr_assert_eq(rc, -1);
    cr_assert_str_eq(err_msg(), "Hermit image 'many.hermit': the archive holds 'f65530' twice");
    cr_assert_lt(c.strcmps, 4u * 1000 * 1000, "%zu name comparisons for %d entries", c.strcmps, N);
    image_free(&img);
    free(gz);
    tarb_free(&t);
}

/* The error names the duplicate that comes first in the archive, as the pairwise check did. */
Test(image_limits, duplicate_named_in_archive_order)
{
    struct tarb t;
    tarb_init(&t);
    tarb_add(&t, "z", '0', "1", 1);
    tarb_add(&t, "d", '5', NULL, 0);
    tarb_add(&t, "a", '0', "1", 1);
    tarb_add(&t, "d", '5', NULL, 0); /* a directory may repeat */
    tarb_add(&t, "a", '0', "2", 1);
    tarb_add(&t, "z", '0', "2", 1);
    tarb_end(&t);
    size_t gzlen;
    uint8_t *gz = fixture_gzip(t.buf, t.len, &gzlen);
    struct image img;
    cr_assert_eq(image_open(gz, gzlen, "x", &img), -1);
    cr_assert_str_eq(err_msg(), "Hermit image 'x': the archive holds 'z' twice");
    image_free(&img);
    free(gz);
    tarb_free(&t);
}

/*
 * 20 bytes: a gzip header, an empty final deflate block, CRC 0 and ISIZE 0xFFFFFFFF. The first
 * buffer used to be sized from ISIZE (the whole 256 MiB cap); now the claim is clamped to 1 MiB.
 */
Test(image_limits, isize_is_only_a_hint)
{
    static const uint8_t gz[20] = {0x1f, 0x8b, 0x08, 0, 0, 0, 0,    0,    0,    0x03,
                                   0x03, 0x00, 0,    0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    uint8_t *out = NULL;
    size_t n;
    alloc_count_start((size_t)1 << 30);
    int rc = image_gunzip(gz, sizeof(gz), IMAGE_MAX_SIZE, &out, &n);
    struct alloc_count c = alloc_count_stop();
    cr_assert_eq(rc, -1);
    cr_assert(!strncmp(err_msg(), "corrupt gzip data: ", 19), "%s", err_msg());
    cr_assert_leq(c.largest, IMAGE_GUNZIP_HINT_MAX, "largest allocation %zu bytes", c.largest);
    cr_assert_leq(c.bytes, 2u << 20, "%zu bytes allocated", c.bytes);
}

/* A stream that really is large still decompresses: the buffer grows past the hint. */
Test(image_limits, buffer_grows_past_the_hint)
{
    size_t len = 5u << 20;
    char *text = malloc(len);
    for (size_t i = 0; i < len; i++)
        text[i] = (char)('a' + (i * 7 + i / 4096) % 26);
    size_t gzlen;
    uint8_t *gz = fixture_gzip(text, len, &gzlen);
    uint8_t *out;
    size_t n;
    cr_assert_eq(image_gunzip(gz, gzlen, IMAGE_MAX_SIZE, &out, &n), 0, "%s", err_msg());
    cr_assert_eq(n, len);
    cr_assert_eq(memcmp(out, text, len), 0);
    free(out);
    free(gz);
    free(text);
}
