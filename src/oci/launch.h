/*
 * launch.h: the chyve command line that boots a container: the spec's process, files and
 * limits turned into chyve options (kept apart from fork and exec, so it can be tested).
 */
#ifndef CHYVE_OCI_LAUNCH_H
#define CHYVE_OCI_LAUNCH_H

#include <stddef.h>

#include "spec.h"

#define OCI_ROOT_ENTRIES_MAX 512  /* top-level names of a rootfs that are mapped one by one */
#define OCI_MEM_MIN (16ull << 20) /* chyve's smallest guest */

/* The guest's network, as chyve options and Hermit's variables want it (strings). */
struct oci_guest_net {
    const char *tap; /* "chyve0": --net tap:TAP */
    const char *mac; /* --mac */
    /* "HERMIT_IP=a.b.c.d", "HERMIT_GATEWAY=..." (NULL: none), "HERMIT_MASK=..." */
    const char *ip, *gateway, *mask;
};

struct oci_launch {
    const char *chyve;   /* the chyve executable */
    const char *kernel;  /* the host path of the kernel or image (process.args[0] resolved) */
    const char *fifo;    /* --start-fifo */
    const char *tempdir; /* --tempdir: inside the container's state directory */
    const struct oci_guest_net *net; /* NULL: no network device */
};

/*
 * Builds chyve's argv (NULL-terminated, malloc'd; free with oci_argv_free) for spec s: each
 * top-level entry of the rootfs mapped at /NAME (chyve maps nothing onto the guest's root;
 * read-only with root.readonly; a symlink as what it leads to inside the rootfs, left out if
 * nothing), each bind mount at its destination (":ro" with "ro"), -m from the memory limit
 * (rounded down to 2 MiB; below 16 MiB is an error), -c from the CPU limit, -e for each
 * variable (and the network's), then "--", the kernel, "--" and process.args[1..].
 * Returns 0, or -1 with err_msg().
 */
int oci_launch_argv(const struct oci_spec *s, const struct oci_launch *l, char ***argv);

/* Frees a vector from oci_launch_argv (NULL is fine). */
void oci_argv_free(char **argv);

#endif
