/* fdt.c: the flattened device tree chyve hands to the kernel, built with libfdt (ABI §7.2). */
#include "boot/devtree.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "arch.h"
#include "err.h"

/* Adds /uhyve,mounts with the string list "mounts", if there is at least one mount point. */
static int add_mounts(void *fdt, const char *const *mounts)
{
    if (!mounts || !mounts[0]) {
        return 0;
    }
    size_t total = 0;
    for (size_t i = 0; mounts[i]; i++) {
        size_t n = strlen(mounts[i]) + 1;
        if (n > INT_MAX || total > (size_t)INT_MAX - n) {
            return -FDT_ERR_NOSPACE;
        }
        total += n;
    }
    FDT_TRY(fdt_begin_node(fdt, "uhyve,mounts"));
    void *val;
    FDT_TRY(fdt_property_placeholder(fdt, "mounts", (int)total, &val));
    char *out = val;
    for (size_t i = 0; mounts[i]; i++) {
        size_t n = strlen(mounts[i]) + 1;
        memcpy(out, mounts[i], n);
        out += n;
    }
    return fdt_end_node(fdt);
}

/* Writes the whole tree in ABI order into the sequential-write blob fdt; a libfdt error or 0. */
static int build_tree(void *fdt, const struct fdt_params *p)
{
    char name[32];

    FDT_TRY(fdt_finish_reservemap(fdt));
    FDT_TRY(fdt_begin_node(fdt, ""));
    FDT_TRY(fdt_property_string(fdt, "compatible", "hermit,uhyve"));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 2));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 2));

    snprintf(name, sizeof(name), "memory@%" PRIx64, p->guest_base);
    FDT_TRY(fdt_begin_node(fdt, name));
    FDT_TRY(fdt_property_string(fdt, "device_type", "memory"));
    const uint64_t reg[2] = {p->guest_base, p->mem_size};
    FDT_TRY(fdt_prop_u64s(fdt, "reg", reg, 2));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(add_mounts(fdt, p->mounts));

    FDT_TRY(fdt_begin_node(fdt, "cpus"));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 1));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 0));
    for (unsigned n = 0; n < p->ncpus; n++) {
        snprintf(name, sizeof(name), "cpu@%u", n);
        FDT_TRY(fdt_begin_node(fdt, name));
        FDT_TRY(arch_fdt_cpu(fdt, n));
        FDT_TRY(fdt_property_string(fdt, "device_type", "cpu"));
        FDT_TRY(fdt_end_node(fdt));
    }
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(arch_fdt_devices(fdt, p->ncpus, p->pci));

    if (p->tsc_khz != 0) {
        FDT_TRY(fdt_begin_node(fdt, "hermit,tsc"));
        FDT_TRY(fdt_property_u32(fdt, "khz", p->tsc_khz));
        FDT_TRY(fdt_end_node(fdt));
    }

    FDT_TRY(fdt_begin_node(fdt, "chosen"));
    FDT_TRY(fdt_property_string(fdt, "bootargs", p->bootargs ? p->bootargs : ""));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_end_node(fdt)); /* root */
    return fdt_finish(fdt);
}

/*
 * The first work buffer's size. libfdt clears all of its buffer (fdt_create), and a tree is a
 * few hundred bytes unless the arguments or environment are large: a tree that does not fit is
 * built again in twice the room, up to the cap, rather than every run touching the cap's 44 KiB.
 */
#define FDT_WORK_FIRST 4096

/*
 * Builds into a private buffer of at most cap bytes, so buf is untouched on failure and only the
 * finished blob (strings block moved down by fdt_finish) is copied out.
 */
int fdt_build(void *buf, size_t cap, const struct fdt_params *p, size_t *size)
{
    size_t limit = cap > INT_MAX ? INT_MAX : cap;
    size_t work = limit < FDT_WORK_FIRST ? limit : FDT_WORK_FIRST;
    void *tmp;
    int rc;
    for (;;) {
        tmp = calloc(1, work ? work : 1);
        if (!tmp) {
            return err_set("out of memory building the device tree (%zu bytes)", work);
        }
        rc = fdt_create(tmp, (int)work);
        if (rc == 0) {
            rc = build_tree(tmp, p);
        }
        if (rc != -FDT_ERR_NOSPACE || work == limit) {
            break;
        }
        free(tmp);
        work = work > limit / 2 ? limit : work * 2;
    }
    if (rc < 0) {
        free(tmp);
        if (rc == -FDT_ERR_NOSPACE) {
            return err_set("device tree needs more than %zu bytes "
                           "(too many environment variables or arguments?)",
                           cap);
        }
        return err_set("building the device tree failed: %s", fdt_strerror(rc));
    }
    size_t total = fdt_totalsize(tmp);
    if (total > cap) {
        free(tmp);
        return err_set("device tree needs more than %zu bytes "
                       "(too many environment variables or arguments?)",
                       cap);
    }
    memcpy(buf, tmp, total);
    free(tmp);
    *size = total;
    return 0;
}
