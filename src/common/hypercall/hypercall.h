/*
 * hypercall.h: decoding and serving the uhyve hypercall interface (v1 ports, v2 addresses) for
 * every backend. All guest-supplied addresses, lengths, counts and fds are checked here.
 */
#ifndef CHYVE_HYPERCALL_H
#define CHYVE_HYPERCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct backend_vcpu;

/* v1 ports (ABI §6.2) */
#define HC_V1_FILE_WRITE 0x400
#define HC_V1_FILE_OPEN 0x440
#define HC_V1_FILE_CLOSE 0x480
#define HC_V1_FILE_READ 0x500
#define HC_V1_EXIT 0x540
#define HC_V1_FILE_LSEEK 0x580
#define HC_V1_CMDSIZE 0x740
#define HC_V1_CMDVAL 0x780
#define HC_V1_SERIAL_BYTE 0x800
#define HC_V1_FILE_UNLINK 0x840
#define HC_V1_SERIAL_BUFFER 0x880

/* v2 addresses (ABI §6.3) */
#define HC_V2_EXIT 0x1010
#define HC_V2_SERIAL_BYTE 0x1020
#define HC_V2_SERIAL_BUFFER 0x1030
#define HC_V2_SERIAL_READ_BUFFER 0x1050
#define HC_V2_FILE_WRITE 0x1100
#define HC_V2_FILE_OPEN 0x1110
#define HC_V2_FILE_CLOSE 0x1120
#define HC_V2_FILE_READ 0x1130
#define HC_V2_FILE_LSEEK 0x1140
#define HC_V2_FILE_UNLINK 0x1150
#define HC_V2_GETDENTS 0x1160
#define HC_V2_FILE_STAT 0x1170
#define HC_V2_FILE_FSTAT 0x1180
#define HC_V2_MKDIR 0x1190

/* Serial port number written to the boot info for each interface (ABI §2.1). */
#define HC_V1_SERIAL_PORT HC_V1_SERIAL_BYTE
#define HC_V2_SERIAL_PORT HC_V2_SERIAL_BUFFER

/* True if addr lies in the v2 hypercall window, whose data the backend takes from RDI / X8. */
bool hypercall_is_v2(uint64_t addr);

enum hc_status {
    HC_CONTINUE, /* resume the vCPU */
    HC_STOP,     /* the run is over (Exit, or a fatal guest error already passed to vm_stop) */
};

/*
 * Serves one hypercall of vCPU v: addr and data as in struct vcpu_exit. Errors the guest can see
 * (bad fd, bad buffer) are returned to it in the parameter block. A call whose parameter block is
 * outside guest RAM has nowhere to put an error: it is dropped with a warning and the guest goes
 * on. An unknown address, or an Exit that cannot be read, ends the run via vm_stop() with a
 * one-line message.
 */
enum hc_status hypercall_handle(struct vm *vm, struct backend_vcpu *v, uint64_t addr,
                                uint64_t data);

/*
 * For hypercall implementations: copies the parameter block [gpa, gpa + size) out of guest RAM
 * (so the guest cannot change it while it is used). false, after a warning naming `what`, if the
 * block is not entirely inside guest RAM.
 */
bool hypercall_block_in(struct vm *vm, const char *what, uint64_t gpa, void *buf, size_t size);

/* Little-endian fields of a parameter block copied to the host (no alignment assumed). */
static inline uint64_t hypercall_get_u64(const uint8_t *b, size_t off)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[off + (size_t)i];
    return v;
}

static inline int32_t hypercall_get_i32(const uint8_t *b, size_t off)
{
    return (int32_t)((uint32_t)b[off] | (uint32_t)b[off + 1] << 8 | (uint32_t)b[off + 2] << 16 |
                     (uint32_t)b[off + 3] << 24);
}

static inline void hypercall_put_u32(uint8_t *b, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

#endif
