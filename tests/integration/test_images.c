/*
 * test_images.c: Hermit images (gzip'd tar + hermit.toml) with the real binary: an image made
 * here from the project's files guest boots, its config gives arguments and environment, its
 * files are read-only for the guest; every malformed image gets one clear error line.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "run.h"

static char dir[256];
static char image[300];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/chyve-image-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(image, sizeof(image), "%s/app.hermit", dir);
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(image, .init = setup, .fini = teardown, .timeout = 300);

static const char config[] = "version = \"1\"\n"
                             "kernel = \"bin/files\"\n"
                             "[input]\n"
                             "kernel_args = []\n"
                             "app_args = [\"image\", \"/data/hello.txt\"]\n"
                             "env_vars = [\"IMGVAR=from image\", \"PATH=image path\"]\n"
                             "[requirements]\n"
                             "memory = \"%s\"\n"
                             "cpus = 1\n";

/* Writes bytes to the image path. */
static void write_image(const void *data, size_t len)
{
    FILE *f = fopen(image, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* The tar of a good image (the files guest as its kernel) with `conf` as hermit.toml. */
static void good_tar(struct tarb *t, const char *conf, const char *kernel_name)
{
    size_t klen;
    char *g = guest_path("files");
    uint8_t *k = fixture_read_file(g, &klen);
    cr_assert_not_null(k);
    free(g);
    tarb_init(t);
    tarb_add(t, "hermit.toml", '0', conf, strlen(conf));
    tarb_add(t, kernel_name, '0', k, klen);
    tarb_add(t, "data/hello.txt", '0', "hello image", 11);
    tarb_add(t, "./data/more.txt", '0', "more", 4);
    free(k);
}

/*
 * Writes the image: the good tar with hermit.toml = conf (its %s is the memory requirement), the
 * kernel named kernel_name, and, if extra_name is set, one more one-byte file of that name.
 */
static void build_image(const char *conf, const char *memory, const char *kernel_name,
                        const char *extra_name)
{
    char c[1024];
    snprintf(c, sizeof(c), conf, memory);
    struct tarb t;
    good_tar(&t, c, kernel_name);
    if (extra_name)
        tarb_add(&t, extra_name, '0', "x", 1);
    tarb_end(&t);
    size_t len;
    uint8_t *gz = fixture_gzip(t.buf, t.len, &len);
    write_image(gz, len);
    free(gz);
    tarb_free(&t);
}

static void make_image(const char *memory)
{
    build_image(config, memory, "bin/files", NULL);
}

static void boot(struct run *r, const char *const *extra)
{
    require_kvm();
    const char *args[16] = {image};
    size_t n = 1;
    for (size_t i = 0; extra && extra[i]; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    run_chyve(r, args, NULL);
}

Test(image, boots_with_its_config_and_files)
{
    make_image("32MiB");
    struct run r;
    boot(&r, NULL);
    cr_assert_eq(r.status, 0, "status %d\n%s\n%s", r.status, r.out, r.err);
    cr_assert_str_eq(r.out,
                     "arg 0: image\narg 1: /data/hello.txt\nenv IMGVAR=from image\n"
                     "read: 11\ncontent 'hello image'\nwrite: -30\nSET 6: 6\nread 'image'\n"
                     "END 0: 11\nCUR -100: -22\nopen for writing: -30\nunlink: -30\n"
                     "stat /data/hello.txt: mode 0x8124 size 11 nlink 1\nopen /hermit.toml: 0\n"
                     "/data: hello.txt/8 more.txt/8\nmount /bin\nmount /data\n",
                     "stderr:\n%s", r.err);
    cr_assert_eq(r.err_len, 0, "%s", r.err);
    run_free(&r);
}

/* Arguments on the command line replace the image's; the user's environment overrides it. */
Test(image, user_arguments_win)
{
    make_image("32MiB");
    struct run r;
    boot(&r, (const char *[]){"--", "--", "image", "/data/more.txt", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    static const char want[] = "arg 0: image\narg 1: /data/more.txt\nenv IMGVAR=from image\n"
                               "read: 4\ncontent 'more'\n";
    cr_assert(!strncmp(r.out, want, strlen(want)), "%s", r.out);
    run_free(&r);
}

/* The image's and the user's environment: the guest's PATH is the user's. */
Test(image, environment_merge)
{
    make_image("32MiB");
    struct run r;
    require_kvm();
    run_chyve(&r, (const char *[]){"-e", "IMGVAR=user", image, NULL}, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "env IMGVAR=user\n"), "%s", r.out);
    run_free(&r);
}

/* One line on stderr, status 2, containing `needle`. */
static void expect_refused(const char *needle, const char *const *extra)
{
    struct run r;
    boot(&r, extra);
    cr_assert_eq(r.status, 2, "status %d\nstdout:%s\nstderr:%s", r.status, r.out, r.err);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    cr_assert(strstr(r.err, needle), "stderr '%s' does not contain '%s'", r.err, needle);
    cr_assert(!strncmp(r.err, "chyve: error: ", 14), "%s", r.err);
    cr_assert_eq(r.out_len, 0);
    run_free(&r);
}

Test(image, requirements_are_checked)
{
    make_image("1GiB");
    expect_refused("the image needs at least 1024 MiB of guest memory (hermit.toml), this run "
                   "has 64 MiB: use -m",
                   NULL);
}

/* The good image with one change. */
static void image_with(const char *conf, const char *kernel_name, const char *extra_name)
{
    build_image(conf, "32MiB", kernel_name, extra_name);
}

Test(image, malformed_images)
{
    image_with(config, "bin/files", "../evil");
    expect_refused("tar entry '../evil' points outside the archive (absolute or '..')", NULL);
    image_with(config, "bin/files", "/abs/evil");
    expect_refused("tar entry '/abs/evil' points outside the archive", NULL);
    image_with(config, "bin/other", NULL);
    expect_refused("the archive has no kernel 'bin/files' (hermit.toml: kernel)", NULL);
    image_with("version = \"2\"\nkernel = \"bin/files\"\n# %s\n", "bin/files", NULL);
    expect_refused("hermit.toml: line 1: unsupported version \"2\"", NULL);
    image_with("version = \"1\"\nkernel = \"bin/files\"\n[input]\nkernel_args = []\napp_args = "
               "[]\n[requirements]\nmemory = \"lots%s\"\n",
               "bin/files", NULL);
    expect_refused("hermit.toml: line 7: requirements.memory: invalid memory size", NULL);
    image_with("version = \"1\"\nkernel = \"bin/files\"\n[input]\nkernel_args = []\napp_args = "
               "[]\n[requirements]\ncpus = -1 # %s\n",
               "bin/files", NULL);
    expect_refused("hermit.toml: line 7: requirements.cpus -1 is out of range", NULL);
    image_with("version = \"1\"\nkernel = 7 # %s\n", "bin/files", NULL);
    expect_refused("hermit.toml: line 2: 'kernel' must be a string, not an integer", NULL);
    image_with("version = \"1\"\nkernel = \"bin/files\"\n[input\n# %s\n", "bin/files", NULL);
    expect_refused("hermit.toml: line 3: expected ']' after the table name", NULL);

    /* no config at all */
    struct tarb t;
    tarb_init(&t);
    tarb_add(&t, "bin/files", '0', "\177ELF", 4);
    tarb_end(&t);
    size_t len;
    uint8_t *gz = fixture_gzip(t.buf, t.len, &len);
    write_image(gz, len);
    expect_refused("the archive has no hermit.toml", NULL);
    /* truncated gzip */
    write_image(gz, len / 2);
    expect_refused("truncated gzip data", NULL);
    free(gz);
    /* a bad tar header (checksum) */
    t.buf[0] ^= 1;
    gz = fixture_gzip(t.buf, t.len, &len);
    write_image(gz, len);
    expect_refused("tar header at offset 0: bad checksum (not a tar archive?)", NULL);
    free(gz);
    tarb_free(&t);
}

Test(image, decompression_bomb)
{
    size_t len;
    uint8_t *gz = fixture_gzip_zeros(300ull << 20, &len);
    write_image(gz, len);
    free(gz);
    expect_refused("decompresses to more than 256 MiB: too large (a decompression bomb?)", NULL);
}
