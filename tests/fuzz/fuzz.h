/* fuzz.h: what every fuzz target defines, for libFuzzer and for the plain replay driver. */
#ifndef CHYVE_FUZZ_H
#define CHYVE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* One input; always returns 0 (libFuzzer's convention). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
