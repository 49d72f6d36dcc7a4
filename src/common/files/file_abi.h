/* file_abi.h: the file hypercalls' wire formats: Hermit errno, open flags, whence, FileAttr,
 * dirent. */
#ifndef CHYVE_FILE_ABI_H
#define CHYVE_FILE_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Hermit errno values (hermit-abi 0.5, equal to Linux x86_64; ABI §6.4). */
#define H_EPERM 1
#define H_ENOENT 2
#define H_EIO 5
#define H_EBADF 9
#define H_ENOMEM 12
#define H_EACCES 13
#define H_EFAULT 14
#define H_EEXIST 17
#define H_EXDEV 18
#define H_ENOTDIR 20
#define H_EISDIR 21
#define H_EINVAL 22
#define H_EMFILE 24
#define H_ENOSPC 28
#define H_ESPIPE 29
#define H_EROFS 30
#define H_ENAMETOOLONG 36
#define H_ENOSYS 38
#define H_ENOTEMPTY 39
#define H_ELOOP 40
#define H_EOVERFLOW 75
#define H_EDQUOT 122

/* Hermit open flags (ABI §6.4); every other bit is cleared like uhyve's ALLOWED_OPEN_FLAGS. */
#define H_O_ACCMODE 0x3
#define H_O_WRONLY 0x1
#define H_O_RDWR 0x2
#define H_O_CREAT 0x40
#define H_O_EXCL 0x80
#define H_O_TRUNC 0x200
#define H_O_APPEND 0x400
#define H_O_DIRECTORY 0x10000
#define H_O_ALLOWED 0x106C3

/* Sizes of the v2 records (ABI §6.3). */
#define FILE_ATTR_SIZE 120
#define DIRENT_HEADER 19 /* d_ino, d_off, d_reclen, d_type; the name follows */

/* Hermit d_type values (Linux DT_*). */
#define H_DT_UNKNOWN 0
#define H_DT_DIR 4
#define H_DT_REG 8
#define H_DT_LNK 10

/*
 * The Hermit errno for host errno `host`. Every errno the file calls can produce has its Hermit
 * number (on Linux the identity); an unknown one becomes EIO.
 */
int32_t file_abi_errno(int host);

/*
 * Translates Hermit open flags into host open(2) flags: unknown bits are cleared, O_CREAT with
 * O_DIRECTORY or an access mode of 3 is -H_EINVAL. Returns 0 with *host set, or -H_EINVAL.
 * Adds nothing of its own (callers add O_CLOEXEC and friends).
 */
int file_abi_open_flags(int32_t hermit, int *host);

/* Host SEEK_* for Hermit whence 0/1/2; -H_EINVAL for anything else. */
int file_abi_whence(uint32_t hermit, int *host);

/* The Hermit d_type for a host st_mode (DIR, REG, LNK or UNKNOWN, ABI §6.4). */
uint8_t file_abi_dtype(mode_t mode);

/* Encodes host stat data as a Hermit FileAttr (120 bytes, ABI §6.3), type bits translated. */
void file_abi_attr(const struct stat *st, uint8_t out[FILE_ATTR_SIZE]);

/*
 * A FileAttr for a virtual node (ABI §6.6 FileStat): a directory (S_IFDIR|0755, nlink 2) or a
 * read-only file (S_IFREG|0444, nlink 1, size, blocks = ceil(size / 512)); blksize 4096.
 */
void file_abi_attr_virtual(bool dir, uint64_t size, uint8_t out[FILE_ATTR_SIZE]);

/* The length of the Dirent64 record for a name_len-byte name: header + name + NUL, 8-aligned. */
size_t file_abi_dirent_len(size_t name_len);

/*
 * Writes one Dirent64 record into buf (which must hold file_abi_dirent_len(strlen(name)) bytes,
 * padding zeroed). Returns the record length.
 */
size_t file_abi_dirent(uint8_t *buf, uint64_t ino, int64_t off, uint8_t type, const char *name);

#endif
