/* hypercall.c: uhyve hypercalls from the guest side: v1 ports (ABI §6.2), v2 addresses (§6.3). */
#include "rt.h"

#if defined(__x86_64__) /* the aarch64 trap stores are in aarch64/hc_raw.c */
void hc1_raw(uint16_t port, uint32_t data)
{
    __asm__ volatile("outl %0, %1" : : "a"(data), "Nd"(port) : "memory");
}

void hc1_raw8(uint16_t port, uint8_t data)
{
    __asm__ volatile("outb %0, %1" : : "a"(data), "Nd"(port) : "memory");
}

/* Guest memory is identity-mapped, so a block's virtual address is its physical one. */
uint32_t hc1_addr(const volatile void *block)
{
    uintptr_t a = (uintptr_t)block;
    if (a >> 32) {
        rt_puts("FAIL: v1 parameter block above 4 GiB\n");
        rt_exit(99);
    }
    return (uint32_t)a;
}
#endif

void hc1_serial_byte(char c)
{
    hc1_raw8(UHYVE_V1_SERIAL_BYTE, (uint8_t)c);
}

void hc1_serial_buffer(const void *buf, uint64_t len)
{
    volatile struct uhyve_serial_buffer_v1 b = {(uintptr_t)buf, len};
    hc1_raw(UHYVE_V1_SERIAL_BUFFER, hc1_addr(&b));
}

void hc1_file_write(int32_t fd, const void *buf, uint64_t len)
{
    volatile struct uhyve_write_v1 b = {fd, (uintptr_t)buf, len};
    hc1_raw(UHYVE_V1_FILE_WRITE, hc1_addr(&b));
}

int32_t hc1_file_open(const char *name, int32_t flags, int32_t mode)
{
    volatile struct uhyve_open b = {(uintptr_t)name, flags, mode, 0x5A5A5A5A};
    hc1_raw(UHYVE_V1_FILE_OPEN, hc1_addr(&b));
    return b.ret;
}

int32_t hc1_file_close(int32_t fd)
{
    volatile struct uhyve_close b = {fd, 0x5A5A5A5A};
    hc1_raw(UHYVE_V1_FILE_CLOSE, hc1_addr(&b));
    return b.ret;
}

void hc1_exit(int32_t code)
{
    volatile struct uhyve_exit_v1 b = {code};
    hc1_raw(UHYVE_V1_EXIT, hc1_addr(&b));
}

#if defined(__x86_64__)
/* v2: DX = address, EAX ignored by the host, RDI = data. */
void hc2_raw(uint16_t addr, uint64_t data)
{
    __asm__ volatile("outl %%eax, %%dx" : : "a"(0x1234u), "d"(addr), "D"(data) : "memory");
}
#endif

void hc2_serial_byte(char c)
{
    hc2_raw(UHYVE_V2_SERIAL_BYTE, (uint8_t)c);
}

void hc2_serial_buffer(const void *buf, uint64_t len)
{
    volatile struct uhyve_serial_buffer_v2 b = {len, (uintptr_t)buf};
    hc2_raw(UHYVE_V2_SERIAL_BUFFER, (uintptr_t)&b);
}

int64_t hc2_file_write(int32_t fd, const void *buf, uint64_t len)
{
    volatile struct uhyve_rw_v2 b = {len, 0x5A5A5A5A, (uintptr_t)buf, fd, 0};
    hc2_raw(UHYVE_V2_FILE_WRITE, (uintptr_t)&b);
    return b.ret;
}

int64_t hc2_file_read(int32_t fd, void *buf, uint64_t len)
{
    volatile struct uhyve_rw_v2 b = {len, 0x5A5A5A5A, (uintptr_t)buf, fd, 0};
    hc2_raw(UHYVE_V2_FILE_READ, (uintptr_t)&b);
    return b.ret;
}

uint64_t hc2_serial_read(void *buf, uint64_t maxlen)
{
    volatile struct uhyve_serial_read b = {maxlen, 0x5A5A5A5A, (uintptr_t)buf};
    hc2_raw(UHYVE_V2_SERIAL_READ_BUFFER, (uintptr_t)&b);
    return b.len;
}

int32_t hc2_file_open(const char *name, int32_t flags, int32_t mode)
{
    volatile struct uhyve_open b = {(uintptr_t)name, flags, mode, 0x5A5A5A5A};
    hc2_raw(UHYVE_V2_FILE_OPEN, (uintptr_t)&b);
    return b.ret;
}

int32_t hc2_file_close(int32_t fd)
{
    volatile struct uhyve_close b = {fd, 0x5A5A5A5A};
    hc2_raw(UHYVE_V2_FILE_CLOSE, (uintptr_t)&b);
    return b.ret;
}

void hc2_exit(int32_t code)
{
    hc2_raw(UHYVE_V2_EXIT, (uint64_t)(uint32_t)code);
}
