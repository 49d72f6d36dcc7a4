/*
 * uhyve_abi.h: the uhyve hypercall interface as data: v1 ports, v2 addresses and the parameter
 * blocks the guest passes (ABI §6.2, §6.3). Shared by chyve's hypercall handlers and the test
 * guests' runtime (tests/guests/rt), so both sides read one definition. Freestanding: needs only
 * <stddef.h> and <stdint.h>. Blocks are little-endian, as are both guest architectures and both
 * host architectures chyve runs on (asserted below), so a block copied out of guest RAM is read
 * through these structs directly.
 */
#ifndef CHYVE_UHYVE_ABI_H
#define CHYVE_UHYVE_ABI_H

#include <stddef.h>
#include <stdint.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "uhyve parameter blocks are little-endian");

/* v1 ports (ABI §6.2): x86_64 OUTs a 32-bit block address to the port; aarch64 stores X8 to it. */
#define UHYVE_V1_FILE_WRITE 0x400
#define UHYVE_V1_FILE_OPEN 0x440
#define UHYVE_V1_FILE_CLOSE 0x480
#define UHYVE_V1_FILE_READ 0x500
#define UHYVE_V1_EXIT 0x540
#define UHYVE_V1_FILE_LSEEK 0x580
#define UHYVE_V1_CMDSIZE 0x740
#define UHYVE_V1_CMDVAL 0x780
#define UHYVE_V1_SERIAL_BYTE 0x800
#define UHYVE_V1_FILE_UNLINK 0x840
#define UHYVE_V1_SERIAL_BUFFER 0x880

/* v2 addresses (ABI §6.3): x86_64 OUTs to the address with the data in RDI; aarch64 uses X8. */
#define UHYVE_V2_EXIT 0x1010
#define UHYVE_V2_SERIAL_BYTE 0x1020
#define UHYVE_V2_SERIAL_BUFFER 0x1030
#define UHYVE_V2_SERIAL_READ_BUFFER 0x1050
#define UHYVE_V2_FILE_WRITE 0x1100
#define UHYVE_V2_FILE_OPEN 0x1110
#define UHYVE_V2_FILE_CLOSE 0x1120
#define UHYVE_V2_FILE_READ 0x1130
#define UHYVE_V2_FILE_LSEEK 0x1140
#define UHYVE_V2_FILE_UNLINK 0x1150
#define UHYVE_V2_GETDENTS 0x1160
#define UHYVE_V2_FILE_STAT 0x1170
#define UHYVE_V2_FILE_FSTAT 0x1180
#define UHYVE_V2_MKDIR 0x1190

/* The address spaces of the two interfaces: every hypercall of a version lies in its window. */
#define UHYVE_V1_FIRST 0x400
#define UHYVE_V1_LAST 0x8FF
#define UHYVE_V2_FIRST 0x1000
#define UHYVE_V2_LAST 0x1FFF

/* The boot info's serial port tells the kernel which interface to use (ABI §2.1). */
#define UHYVE_V1_SERIAL_PORT UHYVE_V1_SERIAL_BYTE
#define UHYVE_V2_SERIAL_PORT UHYVE_V2_SERIAL_BUFFER

/* Cmdsize/Cmdval carry at most this many argv and env entries each. */
#define UHYVE_MAX_ARGC_ENVC 128

/* Sizes and offsets as ABI §6.2/§6.3 give them, after each block: a layout change won't build. */
#define UHYVE_ASSERT_SIZE(type, n) _Static_assert(sizeof(struct type) == (n), #type " size")
#define UHYVE_ASSERT_AT(type, field, off)                                                          \
    _Static_assert(offsetof(struct type, field) == (off), #type "." #field " offset")

/* --- v1 blocks: packed; Open, Close and Unlink are also v2's blocks --------------------------- */

struct __attribute__((packed)) uhyve_write_v1 {
    int32_t fd;
    uint64_t buf; /* guest-virtual */
    uint64_t len;
};
UHYVE_ASSERT_SIZE(uhyve_write_v1, 20);
UHYVE_ASSERT_AT(uhyve_write_v1, len, 12);

struct __attribute__((packed)) uhyve_read_v1 {
    int32_t fd;
    uint64_t buf; /* guest-virtual */
    uint64_t len;
    int64_t ret;
};
UHYVE_ASSERT_SIZE(uhyve_read_v1, 28);
UHYVE_ASSERT_AT(uhyve_read_v1, ret, 20);

struct __attribute__((packed)) uhyve_open {
    uint64_t name; /* guest-physical, NUL-terminated */
    int32_t flags;
    int32_t mode;
    int32_t ret;
};
UHYVE_ASSERT_SIZE(uhyve_open, 20);
UHYVE_ASSERT_AT(uhyve_open, ret, 16);

struct __attribute__((packed)) uhyve_close {
    int32_t fd;
    int32_t ret;
};
UHYVE_ASSERT_SIZE(uhyve_close, 8);

struct __attribute__((packed)) uhyve_lseek_v1 {
    int32_t fd;
    int64_t offset; /* in: offset; out: the new offset, or -1 */
    int32_t whence;
};
UHYVE_ASSERT_SIZE(uhyve_lseek_v1, 16);
UHYVE_ASSERT_AT(uhyve_lseek_v1, whence, 12);

struct __attribute__((packed)) uhyve_unlink {
    uint64_t name; /* guest-physical, NUL-terminated */
    int32_t ret;
};
UHYVE_ASSERT_SIZE(uhyve_unlink, 12);

struct __attribute__((packed)) uhyve_exit_v1 {
    int32_t code;
};
UHYVE_ASSERT_SIZE(uhyve_exit_v1, 4);

struct uhyve_cmdsize { /* all i32: the packed and the natural layout coincide */
    int32_t argc;
    int32_t argsz[UHYVE_MAX_ARGC_ENVC];
    int32_t envc;
    int32_t envsz[UHYVE_MAX_ARGC_ENVC];
};
UHYVE_ASSERT_SIZE(uhyve_cmdsize, 1032);
UHYVE_ASSERT_AT(uhyve_cmdsize, envc, 516);

struct __attribute__((packed)) uhyve_cmdval {
    uint64_t argv; /* guest-physical array of guest-physical buffer addresses */
    uint64_t envp;
};
UHYVE_ASSERT_SIZE(uhyve_cmdval, 16);

struct __attribute__((packed)) uhyve_serial_buffer_v1 {
    uint64_t buf; /* guest-physical */
    uint64_t len;
};
UHYVE_ASSERT_SIZE(uhyve_serial_buffer_v1, 16);

/* --- v2 blocks: natural C layout -------------------------------------------------------------- */

struct uhyve_serial_buffer_v2 {
    uint64_t len; /* note: the order differs from v1 */
    uint64_t buf; /* guest-physical */
};
UHYVE_ASSERT_SIZE(uhyve_serial_buffer_v2, 16);

struct uhyve_serial_read {
    uint64_t maxlen;
    uint64_t len; /* out */
    uint64_t buf; /* guest-physical */
};
UHYVE_ASSERT_SIZE(uhyve_serial_read, 24);

/* FileWrite and FileRead share one layout. */
struct uhyve_rw_v2 {
    uint64_t len;
    int64_t ret;  /* bytes, or -errno */
    uint64_t buf; /* guest-physical */
    int32_t fd;
    int32_t pad;
};
UHYVE_ASSERT_SIZE(uhyve_rw_v2, 32);
UHYVE_ASSERT_AT(uhyve_rw_v2, fd, 24);

struct uhyve_lseek_v2 {
    int64_t offset; /* in: offset; out: the new offset, or -errno */
    uint32_t whence;
    int32_t fd;
};
UHYVE_ASSERT_SIZE(uhyve_lseek_v2, 16);
UHYVE_ASSERT_AT(uhyve_lseek_v2, fd, 12);

/* Result tags the guest presets to NONE. */
#define UHYVE_GETDENTS_NONE 0
#define UHYVE_GETDENTS_SUCCESS 1
#define UHYVE_GETDENTS_END 2
#define UHYVE_GETDENTS_ERROR 3
#define UHYVE_RESULT_NONE 0
#define UHYVE_RESULT_SUCCESS 1
#define UHYVE_RESULT_ERROR 2

struct uhyve_getdents {
    int32_t fd;
    int32_t pad;
    uint64_t buf; /* guest-physical */
    uint64_t len;
    uint32_t tag; /* UHYVE_GETDENTS_* */
    uint32_t pad2;
    union {
        uint64_t bytes; /* SUCCESS: bytes written */
        int32_t err;    /* ERROR: positive Hermit errno */
    } result;
};
UHYVE_ASSERT_SIZE(uhyve_getdents, 40);
UHYVE_ASSERT_AT(uhyve_getdents, tag, 24);
UHYVE_ASSERT_AT(uhyve_getdents, result, 32);

/* Stat, Fstat and Mkdir results: a tag and, for errors, the positive Hermit errno. */
struct uhyve_result {
    uint32_t tag; /* UHYVE_RESULT_* */
    int32_t err;
};

struct uhyve_stat {
    uint64_t name; /* guest-physical, NUL-terminated */
    uint32_t kind; /* 0 = stat (follow links), 1 = lstat */
    uint32_t pad;
    uint64_t attr; /* guest-physical struct uhyve_file_attr */
    struct uhyve_result result;
};
UHYVE_ASSERT_SIZE(uhyve_stat, 32);
UHYVE_ASSERT_AT(uhyve_stat, attr, 16);
UHYVE_ASSERT_AT(uhyve_stat, result, 24);

struct uhyve_fstat {
    int32_t fd;
    int32_t pad;
    uint64_t attr; /* guest-physical struct uhyve_file_attr */
    struct uhyve_result result;
};
UHYVE_ASSERT_SIZE(uhyve_fstat, 24);
UHYVE_ASSERT_AT(uhyve_fstat, result, 16);

struct uhyve_mkdir {
    uint64_t path; /* guest-physical, NUL-terminated */
    uint64_t len;  /* not used, as in uhyve */
    struct uhyve_result result;
};
UHYVE_ASSERT_SIZE(uhyve_mkdir, 24);
UHYVE_ASSERT_AT(uhyve_mkdir, result, 16);

struct uhyve_timespec {
    int64_t sec;
    int32_t nsec;
    int32_t pad;
};
UHYVE_ASSERT_SIZE(uhyve_timespec, 16);

struct uhyve_file_attr {
    uint64_t dev, ino, nlink;
    uint32_t mode, uid, gid, pad;
    uint64_t rdev;
    int64_t size, blksize, blocks;
    struct uhyve_timespec atim, mtim, ctim;
};
UHYVE_ASSERT_SIZE(uhyve_file_attr, 120);
UHYVE_ASSERT_AT(uhyve_file_attr, rdev, 40);
UHYVE_ASSERT_AT(uhyve_file_attr, atim, 72);
UHYVE_ASSERT_AT(uhyve_file_attr, ctim, 104);

#undef UHYVE_ASSERT_SIZE
#undef UHYVE_ASSERT_AT

#endif
