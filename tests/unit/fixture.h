/*
 * fixture.h: test fixtures made at test time: tar archives and gzip streams in memory (Hermit
 * images, malformed and oversized ones), so no binary fixture has to be committed; file helpers.
 */
#ifndef CHYVE_FIXTURE_H
#define CHYVE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

struct tarb {
    uint8_t *buf;
    size_t len, cap;
};

void tarb_init(struct tarb *t);
void tarb_free(struct tarb *t);

/*
 * Fills a 512-byte ustar header: name (up to 100 bytes in the name field, longer ones split
 * into prefix + name at a '/'), type, size, mode 0644, checksum.
 */
void tarb_header(uint8_t h[512], const char *name, char type, uint64_t size);

/* Recomputes the checksum of a header after it was edited. */
void tarb_checksum(uint8_t h[512]);

/* Appends raw bytes (e.g. a hand-made header). */
void tarb_raw(struct tarb *t, const void *data, size_t len);

/* Appends an entry: header plus data padded to 512 bytes. */
void tarb_add(struct tarb *t, const char *name, char type, const void *data, size_t len);

/* Appends the end-of-archive marker (two zero blocks). */
void tarb_end(struct tarb *t);

/* gzip (one member) of data[0, len) into a malloc'd buffer. */
uint8_t *fixture_gzip(const void *data, size_t len, size_t *out_len);

/*
 * A gzip stream that inflates to `size` zero bytes, produced in chunks (cheap even for hundreds
 * of MiB): the decompression-bomb fixture.
 */
uint8_t *fixture_gzip_zeros(uint64_t size, size_t *out_len);

/* Reads a whole file into a malloc'd buffer (NULL on failure). */
uint8_t *fixture_read_file(const char *path, size_t *len);

/* Number of entries of directory path, "." and ".." not counted; -1 if it cannot be read. */
int fixture_dir_entries(const char *path);

#endif
