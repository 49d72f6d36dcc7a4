/*
 * tar.h: the entries of a tar archive held in memory (ustar and v7 headers, GNU long names, pax
 * `path` and `size` records). Every header is checked (checksum, numbers, bounds) and every name
 * must stay inside the archive: absolute names and ".." components are refused.
 */
#ifndef CHYVE_TAR_H
#define CHYVE_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAR_MAX_ENTRIES 65536

struct tar_entry {
    char *name; /* cleaned: no leading "./", no empty or "." components, no "/" at the end */
    const uint8_t *data; /* inside the archive buffer */
    uint64_t size;
    bool dir; /* a directory entry (size 0) */
};

/*
 * Lists the regular files and directories of the archive buf[0, len); links, devices and FIFOs
 * are skipped. Returns 0 with a malloc'd array in *entries, or -1 with err_msg() naming the entry
 * (bad checksum, bad number, truncated archive, unsafe name, too many entries).
 */
int tar_read(const uint8_t *buf, size_t len, struct tar_entry **entries, size_t *n);

void tar_free(struct tar_entry *entries, size_t n);

#endif
