/*
 * files_hc.h: the file hypercalls from the guest side, for chyve's file tests: v1 ports or v2
 * addresses (rt_v2), open/close/read/write/lseek/unlink, and the v2-only getdents, stat, fstat,
 * mkdir (ABI §6.2, §6.3). Results are what the host put in the block (negative Hermit errno).
 */
#ifndef GUEST_FILES_HC_H
#define GUEST_FILES_HC_H

#include "rt.h"

#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_CREAT 0x40
#define O_EXCL 0x80
#define O_TRUNC 0x200
#define O_APPEND 0x400
#define O_DIRECTORY 0x10000

/* FileAttr is struct uhyve_file_attr (hypercall/uhyve_abi.h). */

int32_t hf_open(const char *path, int32_t flags, int32_t mode);
int32_t hf_close(int32_t fd);
/* v1: the buffer is passed as a guest-virtual address (identity mapped here). */
int64_t hf_read(int32_t fd, void *buf, uint64_t len);
/* v1 FileWrite has no result: returns len. */
int64_t hf_write(int32_t fd, const void *buf, uint64_t len);
/* v1 reports every error as -1. */
int64_t hf_lseek(int32_t fd, int64_t off, uint32_t whence);
int32_t hf_unlink(const char *path);

/* v2 only: 0 or -errno (getdents: bytes, 0 at the end, or -errno). */
int32_t hf_mkdir(const char *path);
int32_t hf_stat(const char *path, bool lstat, struct uhyve_file_attr *a);
int32_t hf_fstat(int32_t fd, struct uhyve_file_attr *a);
int64_t hf_getdents(int32_t fd, void *buf, uint64_t len);

/* The i-th string of the FDT's /uhyve,mounts "mounts" list, or NULL. */
const char *hf_mount(unsigned i);

#endif
