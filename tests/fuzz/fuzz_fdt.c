/*
 * fuzz_fdt.c: the device tree chyve gives the kernel, from arguments, environment and mount
 * points a user (or a script feeding chyve) chooses: bootargs_build() then fdt_build(). The blob
 * must pass libfdt's full check and hold exactly the bootargs and mounts it was given.
 * Input: byte 0 = vCPUs - 1, byte 1 bit 0 = PCI, bits 1-7 = TSC kHz / 1000 (0 = none), bytes 2-9
 * the memory size and 10-17 the guest base (little endian); then NUL-separated strings: the
 * arguments (an empty string ends them; "--" splits kernel from app arguments), then the
 * environment (ends with an empty string), then the mount points.
 */
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "boot/bootargs.h"
#include "boot/devtree.h"
#include "fuzz.h"
#include "loader/layout.h"
#include "log.h"

#define MAX_STRINGS 512
#define HEADER 18

static char text[8192];
static const char *args[MAX_STRINGS], *env[MAX_STRINGS], *mounts[MAX_STRINGS + 1];
static uint8_t blob[LAYOUT_FDT_MAX];

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* The string property `name` of node `path` must be `want`. */
static void expect_prop(const char *path, const char *name, const char *want)
{
    int node = fdt_path_offset(blob, path);
    int len;
    const char *v = node < 0 ? NULL : fdt_getprop(blob, node, name, &len);
    if (!v || len != (int)strlen(want) + 1 || memcmp(v, want, (size_t)len) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_threshold = LOG_ERROR;
    if (size < HEADER || size - HEADER >= sizeof(text))
        return 0;
    memcpy(text, data + HEADER, size - HEADER);
    text[size - HEADER] = 0;
    size_t nargs = 0, nenv = 0, nmounts = 0;
    int part = 0;
    for (char *s = text, *end = text + (size - HEADER); s <= end; s += strlen(s) + 1) {
        if (*s == 0 && part < 2) {
            part++;
        } else if (part == 0 && nargs < MAX_STRINGS) {
            args[nargs++] = s;
        } else if (part == 1 && nenv < MAX_STRINGS) {
            env[nenv++] = s;
        } else if (part == 2 && nmounts < MAX_STRINGS && *s) {
            mounts[nmounts++] = s;
        }
    }
    mounts[nmounts] = NULL;

    char *bootargs = bootargs_build(args, nargs, env, nenv);
    if (!bootargs)
        return 0;
    struct fdt_params p = {
        .guest_base = le64(data + 10),
        .mem_size = le64(data + 2),
        .ncpus = 1u + data[0],
        .tsc_khz = (uint32_t)(data[1] >> 1) * 1000u,
        .pci = data[1] & 1,
        .bootargs = bootargs,
        .mounts = nmounts ? mounts : NULL,
    };
    size_t n = 0;
    memset(blob, 0, sizeof(blob));
    if (fdt_build(blob, sizeof(blob), &p, &n) == 0) {
        if (n == 0 || n > sizeof(blob) || fdt_totalsize(blob) != n || fdt_check_full(blob, n) != 0)
            abort();
        expect_prop("/chosen", "bootargs", bootargs);
        /* /uhyve,mounts lists the mount points in order, NUL-separated */
        int node = fdt_path_offset(blob, "/uhyve,mounts");
        int len = 0;
        const char *v = node < 0 ? NULL : fdt_getprop(blob, node, "mounts", &len);
        if ((nmounts != 0) != (v != NULL))
            abort();
        if (v) {
            const char *q = v;
            for (size_t i = 0; i < nmounts; i++) {
                size_t l = strlen(mounts[i]) + 1;
                if ((size_t)(q - v) + l > (size_t)len || memcmp(q, mounts[i], l) != 0)
                    abort();
                q += l;
            }
            if (q - v != len)
                abort();
        }
    }
    /* every word that went in must come out quoted so that a shell reads it back unchanged */
    for (size_t i = 0; i < nargs; i++) {
        char *qt = bootargs_quote(args[i]);
        if (qt && (qt[0] == 0 || (strchr(args[i], '\'') && !strchr(qt, '\''))))
            abort();
        free(qt);
    }
    free(bootargs);
    return 0;
}
