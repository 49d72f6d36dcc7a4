/*
 * spec.h: the parts of an OCI bundle's config.json (runtime-spec config.md) that chyve-oci
 * uses, read and checked once: what to boot, with which files, limits and network.
 */
#ifndef CHYVE_OCI_SPEC_H
#define CHYVE_OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OCI_SPEC_MAX_BYTES (4u << 20) /* a config.json larger than this is refused */
#define OCI_SPEC_MAX_ARGS 128         /* as chyve's VM_MAX_ARGS: what the guest can take */
#define OCI_SPEC_MAX_ENV 128
#define OCI_SPEC_MAX_MOUNTS 256

/* A mount the guest sees as files: a bind mount of a host file or directory. */
struct oci_mount {
    char *dest;   /* absolute path in the container */
    char *source; /* absolute host path */
    bool ro;      /* options hold "ro" */
};

struct oci_spec {
    char *root; /* the rootfs as an absolute host path (root.path, relative to the bundle) */
    bool root_ro;
    char **args; /* process.args (at least one), NULL-terminated */
    size_t nargs;
    char **env; /* process.env ("KEY=VALUE"), NULL-terminated */
    size_t nenv;
    char *cwd; /* process.cwd, absolute */
    bool terminal;
    struct oci_mount *mounts; /* bind mounts only; proc, sysfs, tmpfs, ... are skipped */
    size_t nmounts;
    uint64_t mem_limit; /* linux.resources.memory.limit in bytes, 0 = none */
    unsigned cpus;      /* vCPUs from linux.resources.cpu (quota/period or cpus), 0 = none */
    char *netns;        /* path of the network namespace to join, NULL = none given */
    char *annotations;  /* the annotations object as compact JSON text, NULL if none */
};

/*
 * Parses config.json text (len bytes) of the bundle at bundle (an absolute path, for relative
 * root.path). Fills *out (zeroed first; free it with oci_spec_free() on success and failure
 * alike). Returns 0, or -1 with err_msg() naming the field at fault.
 */
int oci_spec_parse(const char *json, size_t len, const char *bundle, struct oci_spec *out);

/* Reads and parses BUNDLE/config.json (as oci_spec_parse). */
int oci_spec_load(const char *bundle, struct oci_spec *out);

/* Frees what *s holds (not s itself) and zeroes it. */
void oci_spec_free(struct oci_spec *s);

#endif
