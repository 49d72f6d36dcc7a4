/*
 * sandbox.h: file isolation (ABI §9.7): restricts chyve itself to the files one run needs, so
 * that no bug in its file handling can reach anything else. Landlock on Linux; elsewhere only
 * `none` and `normal` (with a warning) are possible.
 */
#ifndef CHYVE_SANDBOX_H
#define CHYVE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "vm_config.h"

enum sandbox_access {
    SANDBOX_READ,        /* read one file */
    SANDBOX_FILE,        /* read, write and truncate one file */
    SANDBOX_TREE,        /* beneath a directory: read, write, truncate, list, create and remove
                            regular files and directories (nothing else: no exec, links, devices) */
    SANDBOX_TREE_READ,   /* beneath a directory: read files and list directories, nothing else */
    SANDBOX_REMOVE_DIR,  /* remove empty directories directly inside a directory */
    SANDBOX_REMOVE_FILE, /* remove files directly inside a directory */
};

/* One object the run may use, by an open fd (O_PATH is enough), so no path is looked up twice. */
struct sandbox_rule {
    int fd;
    enum sandbox_access access;
    const char *what; /* for messages */
};

/*
 * Applies isolation `mode` to the calling thread and every thread it starts afterwards (so call
 * it before any vCPU thread exists). Files already open stay usable. VM_ISOLATION_NONE does
 * nothing; NORMAL uses Landlock where the kernel has it and otherwise continues, with a warning
 * if `warn_missing` (else an info message); STRICT fails where Landlock is missing or older than
 * ABI 3 (no control over truncation). Returns 0, or -1 with err_msg() set.
 */
int sandbox_apply(enum vm_isolation mode, const struct sandbox_rule *rules, size_t n,
                  bool warn_missing);

#endif
