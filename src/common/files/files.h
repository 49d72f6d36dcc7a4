/*
 * files.h: the guest's files for one run: the file map (--file-mapping, Hermit image files),
 * the guest fd table, the run's temporary directory and file isolation, and the file operations
 * the hypercalls perform. Guest paths reach here already copied out of guest memory; results
 * are >= 0 or a negative Hermit errno. Thread-safe (one lock for all vCPUs).
 */
#ifndef CHYVE_FILES_H
#define CHYVE_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "files/file_abi.h"
#include "vm_config.h"

struct files;

/*
 * Creates the file state of a run with cfg: parses cfg->file_maps (opening every mapped host
 * path), creates the temporary directory (cfg->tempdir or the default). Returns 0, or -1 with
 * err_msg() naming the problem; *out is then NULL and nothing is left behind.
 */
int files_create(const struct vm_config *cfg, struct files **out);

/*
 * Takes a Hermit image (gz[0, len), file `name`): its files become read-only files of the map and
 * *run becomes the run's configuration (user's cfg with the image's arguments, environment and
 * requirements applied, owned by f); *kernel, *kernel_len the kernel ELF, valid until
 * files_destroy(). Returns 0, or -1 with one-line err_msg().
 */
int files_add_image(struct files *f, const uint8_t *gz, size_t len, const char *name,
                    const struct vm_config *cfg, const struct vm_config **run,
                    const uint8_t **kernel, size_t *kernel_len);

/* The guest paths for /uhyve,mounts (NULL-terminated), or NULL if there are none or f is NULL. */
const char *const *files_mounts(struct files *f);

/*
 * Restricts chyve to what the run needs (cfg->isolation, sandbox.h): the mapped host paths, the
 * temporary directory, the statistics file. Call after everything else was opened and before
 * any vCPU thread starts. Returns 0, or -1 with err_msg().
 */
int files_isolate(struct files *f, const struct vm_config *cfg);

/* Closes every guest fd, removes the temporary directory, frees f. NULL is fine. */
void files_destroy(struct files *f);

/* ---- file operations (ABI §6.6); f may be NULL: then no path exists and no fd is open ---- */

/* Opens guest path `path` (NUL-terminated, not yet cleaned) with Hermit flags: new fd. */
int32_t files_open(struct files *f, const char *path, int32_t flags, int32_t mode);
int32_t files_close(struct files *f, int32_t fd);
/* Reads up to len bytes into buf / writes len bytes from buf; bytes done or -errno. */
int64_t files_read(struct files *f, int32_t fd, uint8_t *buf, uint64_t len);
int64_t files_write(struct files *f, int32_t fd, const uint8_t *buf, uint64_t len);
int64_t files_lseek(struct files *f, int32_t fd, int64_t offset, uint32_t whence);
int32_t files_unlink(struct files *f, const char *path);
int32_t files_mkdir(struct files *f, const char *path);
/* Stat of a path (follow: stat, else lstat) or an fd into a Hermit FileAttr. */
int32_t files_stat(struct files *f, const char *path, bool follow, uint8_t attr[FILE_ATTR_SIZE]);
int32_t files_fstat(struct files *f, int32_t fd, uint8_t attr[FILE_ATTR_SIZE]);
/*
 * Fills buf[0, len) with Dirent64 records from directory fd `fd` from its cursor on: 1 with the
 * byte count in *written, 0 at the end of the directory, or -errno (-H_EINVAL when not even one
 * record fits, -H_EBADF for a non-directory).
 */
int32_t files_getdents(struct files *f, int32_t fd, uint8_t *buf, uint64_t len, uint64_t *written);

#endif
