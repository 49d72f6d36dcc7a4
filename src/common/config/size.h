/* size.h: byte sizes as people write them ("64MiB", "1.5G", "100MB"), for options and images. */
#ifndef CHYVE_SIZE_H
#define CHYVE_SIZE_H

#include <stdint.h>

/*
 * Parses a size such as "64MiB", "1GiB", "2G", "100MB", "4096" into bytes. Returns 0, or -1 with
 * err_msg() such as "invalid memory size '12XB': unknown unit 'XB' (...)".
 */
int size_parse(const char *s, uint64_t *out);

#endif
