/* vm_config.h: what one run is asked to do (kernel, arguments, resources, host files, tuning). */
#ifndef CHYVE_VM_CONFIG_H
#define CHYVE_VM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VM_MAX_CPUS 64
#define VM_MAX_ARGS 128 /* Cmdsize carries at most 128 argv and 128 env entries (ABI §6.2) */

/* Run directory limits (docs/decisions.md "Run directory limits"): defaults and bounds. */
#define VM_TEMPDIR_MAX_SIZE (1ull << 30) /* bytes of the guest's files in it */
#define VM_TEMPDIR_MAX_FILES 65536u      /* files and directories in it */
#define VM_TEMPDIR_MAX_DEPTH 64u         /* directories nested in it */
#define VM_TEMPDIR_FILES_LIMIT 100000000u
#define VM_TEMPDIR_DEPTH_LIMIT 2048u /* a 4096-byte guest path has no more components */

/* What to run and how; filled by cli.c, read-only afterwards. */
struct vm_config {
    const char *kernel_path;
    const char *const *args; /* everything after the kernel path, as given ("--" kept) */
    size_t nargs;
    const char *const *env; /* "KEY=VALUE" entries the guest gets */
    size_t nenv;
    uint64_t mem_size;
    unsigned ncpus;
    bool aslr;
    int out_fd; /* where guest console output goes; -1 discards it */

    /* Host files for the guest (file mapping issue): as given on the command line / config. */
    const char *const *file_maps; /* "HOST:GUEST[:ro|:rw]" strings */
    size_t nfile_maps;
    const char *tempdir; /* parent of the per-run temporary directory; NULL = default */
    enum vm_isolation { VM_ISOLATION_NORMAL = 0, VM_ISOLATION_NONE, VM_ISOLATION_STRICT } isolation;
    bool io_direct, io_sync; /* --io-mode host=direct / host=sync for files created by the guest */
    /* Limits of the run directory; 0 means the VM_TEMPDIR_* default. */
    uint64_t tempdir_max_size;
    uint32_t tempdir_max_files, tempdir_max_depth;

    /* System calls each thread may make after set-up (--seccomp); the command line's default is
     * strict, a zeroed config (unit tests) none. */
    enum vm_seccomp { VM_SECCOMP_NONE = 0, VM_SECCOMP_STRICT, VM_SECCOMP_LOG } seccomp;

    /* Networking: the --net value ("tap:NAME", "user,...") or NULL for none; --mac or NULL. */
    const char *net;
    const char *mac;

    /* Host tuning (Linux). */
    bool thp, ksm;            /* madvise guest RAM as huge pages / mergeable */
    bool pit, cpu_pm;         /* KVM: in-kernel i8254 PIT; let the guest idle the host CPU */
    const unsigned *affinity; /* host CPU of vCPU i, or NULL for no pinning */
    size_t naffinity;         /* == ncpus when affinity is set */

    /* Debugging: the GDB stub's TCP port on 127.0.0.1 and ::1, or 0 for no debugger. */
    uint16_t gdb_port;

    /* A FIFO to wait on, VM ready, before the guest's first instruction, until a byte is
     * written to it (chyve-oci's create and start); NULL: start at once. */
    const char *start_fifo;

    /* Statistics: printed on stderr at exit with `stats`, written as YAML to `stats_file`. */
    bool stats;
    const char *stats_file;
};

#endif
