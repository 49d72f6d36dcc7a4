/* test_fdt.c: fdt_build() output read back with libfdt (ABI §7.2). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "boot/devtree.h"
#include "err.h"
#include "loader/layout.h"

static uint8_t blob[LAYOUT_FDT_MAX];

/* Builds p into blob and checks the header. */
static size_t build(const struct fdt_params *p)
{
    size_t size = 0;
    memset(blob, 0xEE, sizeof(blob));
    int rc = fdt_build(blob, sizeof(blob), p, &size);
    cr_assert_eq(rc, 0, "fdt_build: %s", err_msg());
    cr_assert_eq(fdt_check_header(blob), 0);
    cr_assert_eq(fdt_magic(blob), FDT_MAGIC);
    cr_assert_eq(fdt_version(blob), 17);
    cr_assert_eq(fdt_totalsize(blob), size);
    cr_assert_eq(fdt_num_mem_rsv(blob), 0);
    return size;
}

static const char *get_str(const char *path, const char *prop)
{
    int node = fdt_path_offset(blob, path);
    cr_assert_geq(node, 0, "no node %s", path);
    int len;
    const char *v = fdt_getprop(blob, node, prop, &len);
    cr_assert_not_null(v, "no property %s in %s", prop, path);
    cr_assert_eq(v[len - 1], '\0');
    cr_assert_eq(strlen(v) + 1, (size_t)len);
    return v;
}

static uint32_t get_u32(const char *path, const char *prop)
{
    int node = fdt_path_offset(blob, path);
    cr_assert_geq(node, 0, "no node %s", path);
    int len;
    const fdt32_t *v = fdt_getprop(blob, node, prop, &len);
    cr_assert_not_null(v, "no property %s in %s", prop, path);
    cr_assert_eq(len, 4);
    return fdt32_to_cpu(*v);
}

static const char *const two_mounts[] = {"/data", "/tmp/x", NULL};

static const struct fdt_params sample = {
    .guest_base = 0x20000000,
    .mem_size = 0x4000000,
    .ncpus = 3,
    .tsc_khz = 2995123,
    .bootargs = "-freq 2995 env=A=1 -- 'a b'",
    .mounts = two_mounts,
};

Test(fdt, root_memory_chosen)
{
    build(&sample);
    cr_assert_str_eq(get_str("/", "compatible"), "hermit,uhyve");
    cr_assert_eq(get_u32("/", "#address-cells"), 2);
    cr_assert_eq(get_u32("/", "#size-cells"), 2);

    cr_assert_eq(fdt_path_offset(blob, "/memory@0"), -FDT_ERR_NOTFOUND);
    int mem = fdt_path_offset(blob, "/memory@20000000");
    cr_assert_geq(mem, 0);
    cr_assert_str_eq(fdt_get_name(blob, mem, NULL), "memory@20000000");
    cr_assert_str_eq(get_str("/memory@20000000", "device_type"), "memory");
    int len;
    const fdt64_t *reg = fdt_getprop(blob, mem, "reg", &len);
    cr_assert_not_null(reg);
    cr_assert_eq(len, 16);
    cr_assert_eq(fdt64_to_cpu(reg[0]), 0x20000000ull);
    cr_assert_eq(fdt64_to_cpu(reg[1]), 0x4000000ull);

    cr_assert_str_eq(get_str("/chosen", "bootargs"), "-freq 2995 env=A=1 -- 'a b'");
    cr_assert_eq(get_u32("/hermit,tsc", "khz"), 2995123);
}

Test(fdt, memory_name_lowercase_hex)
{
    struct fdt_params p = sample;
    p.guest_base = 0xABC00000;
    build(&p);
    cr_assert_geq(fdt_path_offset(blob, "/memory@abc00000"), 0);
    p.guest_base = 0;
    build(&p);
    cr_assert_geq(fdt_path_offset(blob, "/memory@0"), 0);
}

Test(fdt, cpus)
{
    build(&sample);
    cr_assert_eq(get_u32("/cpus", "#address-cells"), 1);
    cr_assert_eq(get_u32("/cpus", "#size-cells"), 0);
    int cpus = fdt_path_offset(blob, "/cpus");
    unsigned n = 0;
    int child;
    fdt_for_each_subnode(child, blob, cpus)
    {
        char want[16];
        snprintf(want, sizeof(want), "cpu@%u", n);
        cr_assert_str_eq(fdt_get_name(blob, child, NULL), want);
        cr_assert_str_eq(fdt_getprop(blob, child, "device_type", NULL), "cpu");
        cr_assert_null(fdt_getprop(blob, child, "reg", NULL));
        n++;
    }
    cr_assert_eq(n, 3);

    struct fdt_params p = sample;
    p.ncpus = 64;
    build(&p);
    n = 0;
    fdt_for_each_subnode(child, blob, fdt_path_offset(blob, "/cpus"))
    {
        n++;
    }
    cr_assert_eq(n, 64);
    cr_assert_geq(fdt_path_offset(blob, "/cpus/cpu@63"), 0);
}

Test(fdt, node_order)
{
    build(&sample);
    const char *want[] = {"memory@20000000", "uhyve,mounts", "cpus", "hermit,tsc", "chosen"};
    size_t i = 0;
    int child;
    fdt_for_each_subnode(child, blob, 0)
    {
        cr_assert_lt(i, sizeof(want) / sizeof(want[0]));
        cr_assert_str_eq(fdt_get_name(blob, child, NULL), want[i]);
        i++;
    }
    cr_assert_eq(i, sizeof(want) / sizeof(want[0]));

    /* Root properties in ABI order. */
    const char *props[] = {"compatible", "#address-cells", "#size-cells"};
    i = 0;
    int off;
    fdt_for_each_property_offset(off, blob, 0)
    {
        const char *name;
        cr_assert_not_null(fdt_getprop_by_offset(blob, off, &name, NULL));
        cr_assert_lt(i, 3);
        cr_assert_str_eq(name, props[i]);
        i++;
    }
    cr_assert_eq(i, 3);
}

Test(fdt, tsc_absent_when_unknown)
{
    struct fdt_params p = sample;
    p.tsc_khz = 0;
    build(&p);
    cr_assert_eq(fdt_path_offset(blob, "/hermit,tsc"), -FDT_ERR_NOTFOUND);
}

Test(fdt, mounts_list)
{
    build(&sample);
    int node = fdt_path_offset(blob, "/uhyve,mounts");
    cr_assert_geq(node, 0);
    int len;
    const char *v = fdt_getprop(blob, node, "mounts", &len);
    cr_assert_not_null(v);
    cr_assert_eq(len, 13);
    cr_assert_arr_eq(v, "/data\0/tmp/x", 13);
    cr_assert_eq(fdt_stringlist_count(blob, node, "mounts"), 2);
    cr_assert_str_eq(fdt_stringlist_get(blob, node, "mounts", 1, NULL), "/tmp/x");
}

Test(fdt, mounts_absent)
{
    struct fdt_params p = sample;
    p.mounts = NULL;
    build(&p);
    cr_assert_eq(fdt_path_offset(blob, "/uhyve,mounts"), -FDT_ERR_NOTFOUND);
    static const char *const none[] = {NULL};
    p.mounts = none;
    build(&p);
    cr_assert_eq(fdt_path_offset(blob, "/uhyve,mounts"), -FDT_ERR_NOTFOUND);
}

Test(fdt, empty_bootargs_present)
{
    struct fdt_params p = sample;
    p.bootargs = "";
    build(&p);
    cr_assert_str_eq(get_str("/chosen", "bootargs"), "");
}

Test(fdt, too_small_cap)
{
    size_t size = build(&sample);
    uint8_t *exact = malloc(size);
    size_t got = 0;
    cr_assert_eq(fdt_build(exact, size, &sample, &got), 0, "%s", err_msg());
    cr_assert_eq(got, size);
    cr_assert_arr_eq(exact, blob, size);
    free(exact);

    uint8_t small[128];
    memset(small, 0x77, sizeof(small));
    cr_assert_eq(fdt_build(small, sizeof(small), &sample, &got), -1);
    cr_assert_str_eq(err_msg(), "device tree needs more than 128 bytes "
                                "(too many environment variables or arguments?)");
    for (size_t i = 0; i < sizeof(small); i++) {
        cr_assert_eq(small[i], 0x77, "buffer written on failure");
    }

    uint8_t *one_less = malloc(size - 1);
    cr_assert_eq(fdt_build(one_less, size - 1, &sample, &got), -1);
    free(one_less);
}

Test(fdt, huge_bootargs_rejected)
{
    char *big = malloc(LAYOUT_FDT_MAX + 1);
    memset(big, 'x', LAYOUT_FDT_MAX);
    big[LAYOUT_FDT_MAX] = '\0';
    struct fdt_params p = sample;
    p.bootargs = big;
    size_t got = 0;
    cr_assert_eq(fdt_build(blob, sizeof(blob), &p, &got), -1);
    cr_assert_str_eq(err_msg(), "device tree needs more than 45056 bytes "
                                "(too many environment variables or arguments?)");
    free(big);
}
