/* kernel.h: the container's kernel: process.args[0] found in the rootfs, and what it can drive. */
#ifndef CHYVE_OCI_KERNEL_H
#define CHYVE_OCI_KERNEL_H

#include <stdbool.h>

#include "spec.h"

/*
 * Finds process.args[0] in the rootfs (by the PATH of process.env for a bare name, from
 * process.cwd for a relative one), never leaving it (openat2 RESOLVE_IN_ROOT: '..' and symlinks
 * stay inside), and checks that it is Hermit: an ELF64 with OSABI 0xFF or a gzip Hermit image.
 * *host gets its host path (malloc'd). Returns 0, or -1 with err_msg() naming the file.
 */
int oci_kernel_resolve(const struct oci_spec *s, char **host);

/*
 * Whether the kernel at path can drive a network device: chyve refuses --net for a kernel whose
 * Hermit version note says it is older than 0.13.2 (it never enables the device's interrupt), so
 * such a kernel gets no device rather than no run. A Hermit image (gzip) is taken as new enough
 * (the image format is younger than 0.13.2); a file chyve cannot parse is left to chyve.
 */
bool oci_kernel_takes_net(const char *path);

#endif
