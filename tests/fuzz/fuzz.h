/* fuzz.h: what every fuzz target defines, for libFuzzer and for the plain replay driver. */
#ifndef CHYVE_FUZZ_H
#define CHYVE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* One input; always returns 0 (libFuzzer's convention). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Where targets that need a real directory make it: $TMPDIR if set (scripts/fuzz.sh points it
 * at a tmpfs, several times faster than ext4 for the mkdir/unlink every input does), else /tmp.
 */
static inline const char *fuzz_tmp_base(void)
{
    const char *t = getenv("TMPDIR");
    return t && t[0] == '/' ? t : "/tmp";
}

#endif
