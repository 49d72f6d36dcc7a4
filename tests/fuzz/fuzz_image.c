/*
 * fuzz_image.c: Hermit image loading. The first byte picks the mode: the bytes as the gzip
 * stream itself (image_gunzip's checks), or the bytes gzip'd here first so the fuzzer reaches
 * the tar, hermit.toml and kernel lookup; an opened image is then applied to a user config.
 */
#include <string.h>
#define ZLIB_CONST /* next_in is const: deflate() does not write its input */
#include <zlib.h>

#include "fuzz.h"
#include "loader/image.h"
#include "log.h"

/* gzip'd copy of in[0, len) into out (capacity cap); its length, or 0. */
static size_t gzip(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 1, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    z.next_in = in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? n : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t gz[1 << 20];
    log_threshold = LOG_ERROR;
    if (size < 1 || size > (512u << 10))
        return 0;
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    if (data[0] & 1) {
        len = gzip(in, len, gz, sizeof(gz));
        if (len == 0)
            return 0;
        in = gz;
    } else {
        (void)image_is_gzip(in, len);
    }
    struct image img;
    if (image_open(in, len, "fuzz.hermit", &img) == 0) {
        static const char *user_env[] = {"HOME=/", "A=b"};
        struct vm_config user;
        memset(&user, 0, sizeof(user));
        user.kernel_path = "fuzz.hermit";
        user.mem_size = (data[0] & 2) ? (1ull << 30) : (64ull << 20);
        user.ncpus = (data[0] & 4) ? 4 : 1;
        user.env = user_env;
        user.nenv = 2;
        const struct vm_config *run;
        if (image_apply(&img, &user, &run) == 0) {
            for (size_t i = 0; i < run->nargs; i++)
                (void)strlen(run->args[i]);
            for (size_t i = 0; i < run->nenv; i++)
                (void)strlen(run->env[i]);
        }
        volatile uint8_t sink = img.kernel_len ? img.kernel[img.kernel_len - 1] : 0;
        (void)sink;
    }
    image_free(&img);
    return 0;
}
