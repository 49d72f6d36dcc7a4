/* test_image.c: Hermit images: gunzip limits, hermit.toml schema, kernel lookup, run config. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fixture.h"
#include "loader/image.h"

/* ---- gunzip -------------------------------------------------------------------------------- */

Test(gunzip, round_trip_and_limits)
{
    char text[5000];
    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = (char)('a' + i % 23);
    size_t gzlen;
    uint8_t *gz = fixture_gzip(text, sizeof(text), &gzlen);
    cr_assert(image_is_gzip(gz, gzlen));
    uint8_t *out;
    size_t n;
    cr_assert_eq(image_gunzip(gz, gzlen, 1 << 20, &out, &n), 0, "%s", err_msg());
    cr_assert_eq(n, sizeof(text));
    cr_assert_eq(memcmp(out, text, n), 0);
    free(out);
    /* exactly the limit is fine, one byte less is a bomb */
    cr_assert_eq(image_gunzip(gz, gzlen, sizeof(text), &out, &n), 0);
    free(out);
    cr_assert_eq(image_gunzip(gz, gzlen, sizeof(text) - 1, &out, &n), -1);
    cr_assert_str_eq(err_msg(),
                     "decompresses to more than 0 MiB: too large (a decompression bomb?)");
    free(gz);
}

Test(gunzip, bomb_stops_at_the_limit)
{
    size_t gzlen;
    uint8_t *gz = fixture_gzip_zeros(64ull << 20, &gzlen);
    cr_assert_lt(gzlen, 200000, "64 MiB of zeros compress to %zu bytes", gzlen);
    uint8_t *out;
    size_t n;
    cr_assert_eq(image_gunzip(gz, gzlen, 16 << 20, &out, &n), -1);
    cr_assert_str_eq(err_msg(),
                     "decompresses to more than 16 MiB: too large (a decompression bomb?)");
    free(gz);
}

Test(gunzip, truncated_corrupt_trailing)
{
    char text[3000];
    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = (char)(i * 13 + i / 7);
    size_t gzlen;
    uint8_t *gz = fixture_gzip(text, sizeof(text), &gzlen);
    uint8_t *out;
    size_t n;
    for (size_t cut = 1; cut < gzlen; cut += gzlen / 7 + 1) {
        cr_assert_eq(image_gunzip(gz, gzlen - cut, 1 << 20, &out, &n), -1, "cut %zu", cut);
        cr_assert(!strcmp(err_msg(), "truncated gzip data") ||
                      !strncmp(err_msg(), "corrupt gzip data: ", 19),
                  "cut %zu: %s", cut, err_msg());
    }
    cr_assert_eq(image_gunzip(gz, gzlen - 1, 1 << 20, &out, &n), -1);
    cr_assert_str_eq(err_msg(), "truncated gzip data");
    /* a flipped byte in the CRC */
    gz[gzlen - 6] ^= 0x55;
    cr_assert_eq(image_gunzip(gz, gzlen, 1 << 20, &out, &n), -1);
    cr_assert_str_eq(err_msg(), "corrupt gzip data: incorrect data check");
    gz[gzlen - 6] ^= 0x55;
    /* garbage after the member */
    uint8_t *more = malloc(gzlen + 3);
    memcpy(more, gz, gzlen);
    memcpy(more + gzlen, "xyz", 3);
    cr_assert_eq(image_gunzip(more, gzlen + 3, 1 << 20, &out, &n), -1);
    cr_assert_str_eq(err_msg(), "3 bytes of data after the gzip stream");
    free(more);
    free(gz);
    cr_assert(!image_is_gzip((const uint8_t *)"\177ELF", 4));
}

/* ---- hermit.toml --------------------------------------------------------------------------- */

static const char good_config[] = "version = \"1\"\n"
                                  "kernel = \"bin/kernel\"\n"
                                  "[input]\n"
                                  "kernel_args = [\"-freq\", \"2000\"]\n"
                                  "app_args = [\"one\", \"two words\"]\n"
                                  "env_vars = [\"A=1\", \"NOEQ\", \"B=2\"]\n"
                                  "[requirements]\n"
                                  "memory = \"128MiB\"\n"
                                  "cpus = 2\n";

Test(config, schema)
{
    struct image_config c;
    cr_assert_eq(image_parse_config(good_config, strlen(good_config), &c), 0, "%s", err_msg());
    cr_assert_str_eq(c.kernel, "bin/kernel");
    cr_assert_eq(c.nkernel_args, 2);
    cr_assert_str_eq(c.kernel_args[1], "2000");
    cr_assert_eq(c.napp_args, 2);
    cr_assert_str_eq(c.app_args[1], "two words");
    cr_assert_eq(c.nenv, 3);
    cr_assert_eq(c.memory, 128ull << 20);
    cr_assert_eq(c.cpus, 2);
    image_config_free(&c);
    static const char minimal[] = "version = '1'\nkernel = 'k'\n[input]\nkernel_args = []\n"
                                  "app_args = []\n[requirements]\nmemory = 67108864\n";
    cr_assert_eq(image_parse_config(minimal, strlen(minimal), &c), 0, "%s", err_msg());
    cr_assert_eq(c.nenv, 0);
    cr_assert_not_null(c.env);
    cr_assert_eq(c.memory, 64ull << 20);
    cr_assert_eq(c.cpus, 0);
    image_config_free(&c);
}

/* The config with line `line` (1-based) replaced must fail with msg. */
static void bad_config(const char *text, const char *msg)
{
    struct image_config c;
    cr_assert_eq(image_parse_config(text, strlen(text), &c), -1, "accepted:\n%s", text);
    cr_assert_str_eq(err_msg(), msg, "for:\n%s", text);
}

Test(config, errors)
{
    bad_config("kernel = 'k'\n", "hermit.toml: missing key 'version'");
    bad_config("version = 1\n", "hermit.toml: line 1: 'version' must be a string, not an integer");
    bad_config("version = '2'\n",
               "hermit.toml: line 1: unsupported version \"2\" (chyve reads version \"1\")");
    bad_config("version = '1'\n", "hermit.toml: missing key 'kernel'");
    bad_config("version = '1'\nkernel = ''\n", "hermit.toml: line 2: 'kernel' is empty");
    bad_config("version = '1'\nkernel = 'k'\n", "hermit.toml: missing key 'input.kernel_args'");
    bad_config("version = '1'\nkernel = 'k'\n[input]\nkernel_args = 'x'\n",
               "hermit.toml: line 4: 'input.kernel_args' must be an array, not a string");
    bad_config("version = '1'\nkernel = 'k'\n[input]\nkernel_args = []\n",
               "hermit.toml: missing key 'input.app_args'");
    bad_config("version = '1'\nkernel = 'k'\n[input]\nkernel_args = [1]\napp_args = []\n",
               "hermit.toml: line 4: 'kernel_args' must hold only strings");
    bad_config("version = '1'\nkernel = 'k'\n[input]\nkernel_args = []\napp_args = []\n"
               "[requirements]\nmemory = 'lots'\n",
               "hermit.toml: line 7: requirements.memory: invalid memory size 'lots': expected a "
               "number such as 64MiB");
    bad_config("version = '1'\nkernel = 'k'\n[input]\nkernel_args = []\napp_args = []\n"
               "[requirements]\nmemory = -1\n",
               "hermit.toml: line 7: requirements.memory is negative");
    bad_config("version = '1'\nkernel = 'k'\n[input]\nkernel_args = []\napp_args = []\n"
               "[requirements]\nmemory = true\n",
               "hermit.toml: line 7: requirements.memory must be a size such as \"64MiB\" or a "
               "number of bytes");
    bad_config("version = '1'\nkernel = 'k'\n[input]\nkernel_args = []\napp_args = []\n"
               "[requirements]\ncpus = 4294967296\n",
               "hermit.toml: line 7: requirements.cpus 4294967296 is out of range");
    bad_config("version = '1'\nkernel = 'k'\n[input]\nkernel_args = []\napp_args = []\n"
               "[requirements]\ncpus = '2'\n",
               "hermit.toml: line 7: 'requirements.cpus' must be an integer, not a string");
    bad_config("version = '1'\nversion = '1'\n",
               "hermit.toml: line 2: key 'version' defined twice");
}

/* ---- images -------------------------------------------------------------------------------- */

static uint8_t *make_image(const char *config, const char *kernel_name, const char *extra,
                           size_t *len)
{
    struct tarb t;
    tarb_init(&t);
    if (config)
        tarb_add(&t, "hermit.toml", '0', config, strlen(config));
    if (kernel_name)
        tarb_add(&t, kernel_name, '0', "\177ELF-not-really", 15);
    if (extra)
        tarb_add(&t, extra, '0', "extra", 5);
    tarb_end(&t);
    uint8_t *gz = fixture_gzip(t.buf, t.len, len);
    tarb_free(&t);
    return gz;
}

Test(image, open_finds_config_and_kernel)
{
    size_t len;
    uint8_t *gz = make_image(good_config, "./bin/kernel", "data/x.txt", &len);
    struct image img;
    cr_assert_eq(image_open(gz, len, "app.hermit", &img), 0, "%s", err_msg());
    cr_assert_eq(img.kernel_len, 15);
    cr_assert_eq(memcmp(img.kernel, "\177ELF-not-really", 15), 0);
    cr_assert_eq(img.nentries, 3);
    cr_assert_str_eq(img.entries[2].name, "data/x.txt");
    image_free(&img);
    free(gz);
}

static void bad_image(const char *config, const char *kernel, const char *extra, const char *msg)
{
    size_t len;
    uint8_t *gz = make_image(config, kernel, extra, &len);
    struct image img;
    cr_assert_eq(image_open(gz, len, "app.hermit", &img), -1);
    cr_assert_str_eq(err_msg(), msg);
    cr_assert_null(img.tar);
    image_free(&img);
    free(gz);
}

Test(image, open_errors)
{
    bad_image(NULL, "bin/kernel", NULL,
              "Hermit image 'app.hermit': the archive has no hermit.toml");
    bad_image(good_config, "kernel", NULL,
              "Hermit image 'app.hermit': the archive has no kernel 'bin/kernel' (hermit.toml: "
              "kernel)");
    bad_image(good_config, "bin/kernel", "bin/kernel",
              "Hermit image 'app.hermit': the archive holds 'bin/kernel' twice");
    bad_image("version = '3'\n", "bin/kernel", NULL,
              "Hermit image 'app.hermit': hermit.toml: line 1: unsupported version \"3\" (chyve "
              "reads version \"1\")");
    bad_image(good_config, "bin/kernel", "../escape",
              "Hermit image 'app.hermit': tar entry '../escape' points outside the archive "
              "(absolute or '..')");
    /* not gzip at all, and gzip of something that is not a tar */
    struct image img;
    cr_assert_eq(image_open((const uint8_t *)"\x1f\x8b\x08garbage", 10, "x", &img), -1);
    cr_assert_str_eq(err_msg(), "Hermit image 'x': corrupt gzip data: unknown header flags set");
    size_t len;
    char junk[1024];
    memset(junk, 'j', sizeof(junk));
    uint8_t *gz = fixture_gzip(junk, sizeof(junk), &len);
    cr_assert_eq(image_open(gz, len, "x", &img), -1);
    cr_assert_str_eq(err_msg(),
                     "Hermit image 'x': tar header at offset 0: bad checksum (not a tar archive?)");
    free(gz);
}

/* A user configuration as cli.c would fill it. */
static struct vm_config user_cfg(const char *const *args, size_t nargs, const char *const *env,
                                 size_t nenv)
{
    struct vm_config c;
    memset(&c, 0, sizeof(c));
    c.kernel_path = "app.hermit";
    c.args = args;
    c.nargs = nargs;
    c.env = env;
    c.nenv = nenv;
    c.mem_size = 256ull << 20;
    c.ncpus = 2;
    return c;
}

Test(image, apply_args_env_requirements)
{
    size_t len;
    uint8_t *gz = make_image(good_config, "bin/kernel", NULL, &len);
    struct image img;
    cr_assert_eq(image_open(gz, len, "app.hermit", &img), 0);
    free(gz);
    const char *env[] = {"B=user", "C=3"};
    struct vm_config u = user_cfg(NULL, 0, env, 2);
    const struct vm_config *run;
    cr_assert_eq(image_apply(&img, &u, &run), 0, "%s", err_msg());
    cr_assert_eq(run, &img.run);
    /* no user arguments: kernel_args, "--", app_args */
    cr_assert_eq(run->nargs, 5);
    const char *want_args[] = {"-freq", "2000", "--", "one", "two words"};
    for (size_t i = 0; i < 5; i++)
        cr_assert_str_eq(run->args[i], want_args[i]);
    /* image first, user's variables override, entries without '=' dropped */
    cr_assert_eq(run->nenv, 3);
    cr_assert_str_eq(run->env[0], "A=1");
    cr_assert_str_eq(run->env[1], "B=user");
    cr_assert_str_eq(run->env[2], "C=3");
    cr_assert_eq(run->mem_size, 256ull << 20);
    cr_assert_str_eq(run->kernel_path, "app.hermit");

    /* user arguments win entirely */
    const char *args[] = {"mine"};
    u = user_cfg(args, 1, NULL, 0);
    cr_assert_eq(image_apply(&img, &u, &run), 0);
    cr_assert_eq(run->nargs, 1);
    cr_assert_str_eq(run->args[0], "mine");
    cr_assert_eq(run->nenv, 2);

    /* requirements */
    u.mem_size = 64ull << 20;
    cr_assert_eq(image_apply(&img, &u, &run), -1);
    cr_assert_str_eq(err_msg(), "the image needs at least 128 MiB of guest memory (hermit.toml), "
                                "this run has 64 MiB: use -m");
    u.mem_size = 128ull << 20;
    u.ncpus = 1;
    cr_assert_eq(image_apply(&img, &u, &run), -1);
    cr_assert_str_eq(err_msg(), "the image needs at least 2 CPUs (hermit.toml), this run has 1: "
                                "use -c");
    image_free(&img);
}

Test(image, app_args_empty_means_no_separator)
{
    static const char cfg[] = "version = '1'\nkernel = 'k'\n[input]\nkernel_args = ['x']\n"
                              "app_args = []\n";
    size_t len;
    uint8_t *gz = make_image(cfg, "k", NULL, &len);
    struct image img;
    cr_assert_eq(image_open(gz, len, "i", &img), 0, "%s", err_msg());
    free(gz);
    struct vm_config u = user_cfg(NULL, 0, NULL, 0);
    const struct vm_config *run;
    cr_assert_eq(image_apply(&img, &u, &run), 0);
    cr_assert_eq(run->nargs, 1);
    cr_assert_str_eq(run->args[0], "x");
    image_free(&img);
}
