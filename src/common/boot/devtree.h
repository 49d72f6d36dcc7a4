/* devtree.h: the flattened device tree chyve hands to the kernel (ABI §7), built with libfdt. */
#ifndef CHYVE_DEVTREE_H
#define CHYVE_DEVTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libfdt.h>

/* Everything the tree describes. */
struct fdt_params {
    uint64_t guest_base;
    uint64_t mem_size;
    unsigned ncpus;
    uint32_t tsc_khz;     /* 0 = no /hermit,tsc node */
    bool pci;             /* a PCI device exists (aarch64: describe the host bridge) */
    const char *bootargs; /* /chosen/bootargs, never NULL (may be "") */
    const char *const
        *mounts; /* guest mount points for /uhyve,mounts, NULL-terminated; may be NULL */
};

/*
 * Builds the tree into buf[0, cap): root compatible "hermit,uhyve", /memory@<base>, /uhyve,mounts,
 * /cpus with one cpu@N each (plus arch_fdt_cpu), arch_fdt_devices, /hermit,tsc, /chosen.
 * Returns 0 with the blob's total size in *size, or -1 with err_msg() set (e.g. "device tree is
 * N bytes, more than the 44 KiB chyve reserves: too much environment?").
 */
int fdt_build(void *buf, size_t cap, const struct fdt_params *p, size_t *size);

/* For the builders of the tree (fdt.c and the arch_fdt_* hooks): */

/* Returns the libfdt error code of a failed call from the enclosing builder function. */
#define FDT_TRY(call)                                                                              \
    do {                                                                                           \
        int fdt_try_rc_ = (call);                                                                  \
        if (fdt_try_rc_ < 0)                                                                       \
            return fdt_try_rc_;                                                                    \
    } while (0)

/*
 * Adds a property of n (at most 4) big-endian u64 values; 0 or a negative libfdt error. Inline so
 * that the arch hooks, which fdt.c calls, do not call back into fdt.c.
 */
static inline int fdt_prop_u64s(void *fdt, const char *name, const uint64_t *v, size_t n)
{
    fdt64_t be[4];
    if (n > sizeof(be) / sizeof(be[0]))
        return -FDT_ERR_INTERNAL;
    for (size_t i = 0; i < n; i++)
        be[i] = cpu_to_fdt64(v[i]);
    return fdt_property(fdt, name, be, (int)(n * sizeof(be[0])));
}

#endif
