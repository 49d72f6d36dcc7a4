/* fixture.c: test fixtures: in-memory tar archives and gzip streams, file helpers. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define ZLIB_CONST /* next_in is const: deflate() does not write its input */
#include <zlib.h>

#include "fixture.h"

/* Test setup cannot go on without memory or zlib. */
static void need(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fixture: %s failed\n", what);
        abort();
    }
}

void tarb_init(struct tarb *t)
{
    memset(t, 0, sizeof(*t));
}

void tarb_free(struct tarb *t)
{
    free(t->buf);
    tarb_init(t);
}

void tarb_raw(struct tarb *t, const void *data, size_t len)
{
    if (t->len + len > t->cap) {
        t->cap = (t->len + len) * 2 + 4096;
        t->buf = realloc(t->buf, t->cap);
        need(t->buf != NULL, "realloc");
    }
    memcpy(t->buf + t->len, data, len);
    t->len += len;
}

void tarb_checksum(uint8_t h[512])
{
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
}

void tarb_header(uint8_t h[512], const char *name, char type, uint64_t size)
{
    memset(h, 0, 512);
    size_t n = strlen(name);
    if (n > 100) { /* ustar: prefix (155) + '/' + name (100) */
        const char *cut = name + n - 100;
        while (*cut && *cut != '/')
            cut++;
        need(*cut == '/' && (size_t)(cut - name) <= 155, "name split");
        memcpy(h + 345, name, (size_t)(cut - name));
        memcpy(h, cut + 1, strlen(cut + 1));
    } else {
        memcpy(h, name, n);
    }
    snprintf((char *)h + 100, 8, "%07o", 0644);
    snprintf((char *)h + 108, 8, "%07o", 0);
    snprintf((char *)h + 116, 8, "%07o", 0);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
    snprintf((char *)h + 136, 12, "%011o", 0);
    h[156] = (uint8_t)type;
    static const uint8_t ustar_magic[8] = {'u', 's', 't', 'a', 'r', '\0', '0', '0'};
    memcpy(h + 257, ustar_magic, sizeof(ustar_magic));
    tarb_checksum(h);
}

void tarb_add(struct tarb *t, const char *name, char type, const void *data, size_t len)
{
    uint8_t h[512];
    tarb_header(h, name, type, len);
    tarb_raw(t, h, 512);
    if (len)
        tarb_raw(t, data, len);
    static const uint8_t zero[512];
    if (len % 512)
        tarb_raw(t, zero, 512 - len % 512);
}

void tarb_end(struct tarb *t)
{
    static const uint8_t zero[1024];
    tarb_raw(t, zero, sizeof(zero));
}

/* Deflates `chunks` times the same input (gzip wrapper) into a growing buffer. */
static uint8_t *deflate_repeat(const void *data, size_t len, uint64_t chunks, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    need(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK,
         "deflateInit2");
    size_t cap = len / 2 + 4096, got = 0;
    uint8_t *out = malloc(cap);
    need(out != NULL, "malloc");
    for (uint64_t c = 0; c < chunks; c++) {
        zs.next_in = data;
        zs.avail_in = (uInt)len;
        int flush = c + 1 == chunks ? Z_FINISH : Z_NO_FLUSH;
        int zr;
        do {
            if (cap - got < 65536) {
                cap = cap * 2 + 65536;
                out = realloc(out, cap);
                need(out != NULL, "realloc");
            }
            zs.next_out = out + got;
            zs.avail_out = (uInt)(cap - got);
            zr = deflate(&zs, flush);
            need(zr != Z_STREAM_ERROR, "deflate");
            got = cap - zs.avail_out;
        } while (zs.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
    }
    deflateEnd(&zs);
    *out_len = got;
    return out;
}

uint8_t *fixture_gzip(const void *data, size_t len, size_t *out_len)
{
    return deflate_repeat(data, len, 1, out_len);
}

uint8_t *fixture_gzip_zeros(uint64_t size, size_t *out_len)
{
    enum { CHUNK = 1 << 20 };
    void *zero = calloc(1, CHUNK);
    need(zero != NULL && size % CHUNK == 0, "zeros");
    uint8_t *out = deflate_repeat(zero, CHUNK, size / CHUNK, out_len);
    free(zero);
    return out;
}

uint8_t *fixture_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    for (size_t r; b && (r = fread(b + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n == cap)
            b = realloc(b, cap *= 2);
    }
    fclose(f);
    *len = n;
    return b;
}

int fixture_dir_entries(const char *path)
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
