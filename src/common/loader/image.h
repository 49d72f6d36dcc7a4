/*
 * image.h: Hermit images (ABI §8): a gzip'd tar holding a kernel, its config file hermit.toml
 * and other files. Reading one gives the kernel ELF, the config and the files to offer the
 * guest; applying the config gives the run's arguments and environment.
 */
#ifndef CHYVE_IMAGE_H
#define CHYVE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader/tar.h"
#include "vm_config.h"

#define IMAGE_MAX_SIZE (256ull << 20)    /* decompressed archives larger than this are refused */
#define IMAGE_GUNZIP_HINT_MAX (1u << 20) /* the gzip trailer's size sizes at most this first */
#define IMAGE_CONFIG "hermit.toml"

/* hermit.toml, version "1" (hermit-entry's schema). */
struct image_config {
    char *kernel; /* path of the kernel inside the archive */
    char **kernel_args, **app_args, **env;
    size_t nkernel_args, napp_args, nenv;
    uint64_t memory; /* [requirements] memory in bytes, 0 = none */
    uint32_t cpus;   /* [requirements] cpus, 0 = none */
};

struct image {
    uint8_t *tar; /* the decompressed archive */
    size_t tar_len;
    struct tar_entry *entries;
    size_t nentries;
    struct image_config cfg;
    const uint8_t *kernel; /* the kernel ELF inside tar */
    size_t kernel_len;
    /* The run's configuration with the image applied (image_apply). */
    struct vm_config run;
    const char **args, **env;
};

/* True if buf starts like a gzip stream (1f 8b, deflate). */
bool image_is_gzip(const uint8_t *buf, size_t len);

/*
 * Decompresses the single gzip member gz[0, len) (CRC and length checked, nothing may follow)
 * into a malloc'd buffer of at most max bytes. Returns 0, or -1 with err_msg() (truncated or
 * corrupt data, larger than max).
 */
int image_gunzip(const uint8_t *gz, size_t len, size_t max, uint8_t **out, size_t *out_len);

/*
 * Parses hermit.toml text into c (strict: missing or wrongly typed keys are errors, unknown ones
 * get a warning). Returns 0, or -1 with err_msg() "hermit.toml: ...".
 */
int image_parse_config(const char *text, size_t len, struct image_config *c);
void image_config_free(struct image_config *c);

/*
 * Reads the image gz[0, len) named `name` (for messages): decompresses (at most IMAGE_MAX_SIZE),
 * lists the tar, parses the config and finds the kernel. Returns 0, or -1 with one-line err_msg().
 * img is then empty (image_free is still safe).
 */
int image_open(const uint8_t *gz, size_t len, const char *name, struct image *img);

/*
 * Builds the run's configuration from the user's: arguments come from the image only when the
 * user gave none (kernel_args, then "--" and app_args if any); the image's environment comes
 * first and every variable of the user's environment overrides it; the memory and CPU
 * requirements must be met. Returns 0 with *out = &img->run, or -1 with err_msg().
 */
int image_apply(struct image *img, const struct vm_config *user, const struct vm_config **out);

void image_free(struct image *img);

#endif
