/*
 * calls.h: the hypercalls chyve serves, one row each, and what their handlers share. Adding a
 * hypercall is one row here and one handler: the dispatcher, the --stats names and the backends'
 * "is the data in RDI/X8?" question all read the table built from these rows (table.c), which
 * also checks at compile time that no address is used twice and every address lies in its
 * version's window.
 */
#ifndef CHYVE_HC_CALLS_H
#define CHYVE_HC_CALLS_H

#include <stddef.h>

#include "hypercall/hypercall.h"
#include "hypercall/uhyve_abi.h"
#include "vm.h"

/*
 * X(version, address, name, block, block size, handler), in the order --stats lists them.
 * block: HC_VALUE (data is the value), HC_BLOCK_IN (copied in first; dropped with a warning when
 * outside guest RAM), HC_BLOCK_IN_OR_FAIL (the same, but the run ends), HC_BLOCK_OUT (written).
 */
#define HYPERCALLS(X)                                                                              \
    X(1, UHYVE_V1_FILE_WRITE, FileWrite, HC_BLOCK_IN, sizeof(struct uhyve_write_v1), hc_write_v1)  \
    X(1, UHYVE_V1_FILE_OPEN, FileOpen, HC_BLOCK_IN, sizeof(struct uhyve_open), hc_open)            \
    X(1, UHYVE_V1_FILE_CLOSE, FileClose, HC_BLOCK_IN, sizeof(struct uhyve_close), hc_close)        \
    X(1, UHYVE_V1_FILE_READ, FileRead, HC_BLOCK_IN, sizeof(struct uhyve_read_v1), hc_read_v1)      \
    X(1, UHYVE_V1_EXIT, Exit, HC_BLOCK_IN_OR_FAIL, sizeof(struct uhyve_exit_v1), hc_exit_v1)       \
    X(1, UHYVE_V1_FILE_LSEEK, FileLseek, HC_BLOCK_IN, sizeof(struct uhyve_lseek_v1), hc_lseek_v1)  \
    X(1, UHYVE_V1_CMDSIZE, Cmdsize, HC_BLOCK_OUT, sizeof(struct uhyve_cmdsize), hc_cmdsize)        \
    X(1, UHYVE_V1_CMDVAL, Cmdval, HC_BLOCK_IN, sizeof(struct uhyve_cmdval), hc_cmdval)             \
    X(1, UHYVE_V1_SERIAL_BYTE, SerialWriteByte, HC_VALUE, 0, hc_serial_byte)                       \
    X(1, UHYVE_V1_FILE_UNLINK, FileUnlink, HC_BLOCK_IN, sizeof(struct uhyve_unlink), hc_unlink)    \
    X(1, UHYVE_V1_SERIAL_BUFFER, SerialWriteBuffer, HC_BLOCK_IN,                                   \
      sizeof(struct uhyve_serial_buffer_v1), hc_serial_buffer_v1)                                  \
    X(2, UHYVE_V2_EXIT, Exit, HC_VALUE, 0, hc_exit_v2)                                             \
    X(2, UHYVE_V2_SERIAL_BYTE, SerialWriteByte, HC_VALUE, 0, hc_serial_byte)                       \
    X(2, UHYVE_V2_SERIAL_BUFFER, SerialWriteBuffer, HC_BLOCK_IN,                                   \
      sizeof(struct uhyve_serial_buffer_v2), hc_serial_buffer_v2)                                  \
    X(2, UHYVE_V2_SERIAL_READ_BUFFER, SerialReadBuffer, HC_BLOCK_IN,                               \
      sizeof(struct uhyve_serial_read), hc_serial_read)                                            \
    X(2, UHYVE_V2_FILE_WRITE, FileWrite, HC_BLOCK_IN, sizeof(struct uhyve_rw_v2), hc_write_v2)     \
    X(2, UHYVE_V2_FILE_OPEN, FileOpen, HC_BLOCK_IN, sizeof(struct uhyve_open), hc_open)            \
    X(2, UHYVE_V2_FILE_CLOSE, FileClose, HC_BLOCK_IN, sizeof(struct uhyve_close), hc_close)        \
    X(2, UHYVE_V2_FILE_READ, FileRead, HC_BLOCK_IN, sizeof(struct uhyve_rw_v2), hc_read_v2)        \
    X(2, UHYVE_V2_FILE_LSEEK, FileLseek, HC_BLOCK_IN, sizeof(struct uhyve_lseek_v2), hc_lseek_v2)  \
    X(2, UHYVE_V2_FILE_UNLINK, FileUnlink, HC_BLOCK_IN, sizeof(struct uhyve_unlink), hc_unlink)    \
    X(2, UHYVE_V2_GETDENTS, Getdents, HC_BLOCK_IN, sizeof(struct uhyve_getdents), hc_getdents)     \
    X(2, UHYVE_V2_FILE_STAT, FileStat, HC_BLOCK_IN, sizeof(struct uhyve_stat), hc_stat)            \
    X(2, UHYVE_V2_FILE_FSTAT, FileFstat, HC_BLOCK_IN, sizeof(struct uhyve_fstat), hc_fstat)        \
    X(2, UHYVE_V2_MKDIR, Mkdir, HC_BLOCK_IN, sizeof(struct uhyve_mkdir), hc_mkdir)

/* Every handler named in a row (hc_console.c, hc_cmdline.c, hc_file.c). */
#define HC_DECLARE(version, addr, name, block, size, handler)                                      \
    enum hc_status handler(const struct hc_call *c);
HYPERCALLS(HC_DECLARE)
#undef HC_DECLARE

/*
 * For handlers: stores size bytes at val into the guest's block at offset off (a result field).
 * In range: the dispatcher checked the whole block.
 */
static inline void hc_put(const struct hc_call *c, size_t off, const void *val, size_t size)
{
    guest_mem_write(&c->vm->mem, c->data + off, val, size);
}

/* Stores value into `field` of the guest's block of type `struct type`. */
#define HC_PUT(c, type, field, value)                                                              \
    do {                                                                                           \
        __typeof__(((struct type *)0)->field) hc_v_ = (value);                                     \
        hc_put((c), offsetof(struct type, field), &hc_v_, sizeof(hc_v_));                          \
    } while (0)

#endif
