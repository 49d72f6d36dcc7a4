/* boot_info.c: the 128-byte Hermit boot info (entry version 4), written byte by byte (ABI §2.1). */
#include "boot/boot_info.h"

#include <string.h>

#include "arch.h"

/* Stores the low `n` bytes of v at out[off], least significant byte first. */
static void put_le(uint8_t *out, size_t off, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        out[off + i] = (uint8_t)(v >> (8 * i));
    }
}

/*
 * Fills the boot info. The common fields share their offsets on x86_64 and aarch64; only
 * boot_time moves (0x70 vs 0x6C), which arch_info.boot_time_offset says. serial_port_base is a
 * u16 on x86_64 and a u64 on aarch64: writing it as a u64 gives the same bytes for both, since
 * x86_64's bytes 0x12..0x17 are padding that must be zero anyway.
 */
void boot_info_build(uint8_t out[BOOT_INFO_SIZE], const struct layout *l,
                     const struct boot_info_params *p)
{
    memset(out, 0, BOOT_INFO_SIZE);
    put_le(out, 0x00, l->guest_base, 8);
    put_le(out, 0x08, l->guest_base + l->mem_size, 8);
    put_le(out, 0x10, p->serial_port, 8);
    put_le(out, 0x18, l->fdt, 8);
    put_le(out, 0x20, l->kernel_start, 8);
    put_le(out, 0x28, l->kernel_end, 8);
    put_le(out, 0x30, l->tls.start, 8);
    put_le(out, 0x38, l->tls.filesz, 8);
    put_le(out, 0x40, l->tls.memsz, 8);
    put_le(out, 0x48, l->tls.align, 8);
    put_le(out, 0x50, BOOT_INFO_PLATFORM_UHYVE, 4);
    out[0x58] = p->has_pci ? 1 : 0;
    put_le(out, 0x60, p->num_cpus, 8);
    put_le(out, 0x68, p->cpu_freq_khz, 4);

    /* boot_time is an i128: the int64 nanoseconds sign-extended to 16 bytes. */
    uint32_t t = arch_info.boot_time_offset;
    uint64_t lo = (uint64_t)p->boot_time_ns;
    uint64_t hi = p->boot_time_ns < 0 ? UINT64_MAX : 0;
    if (t <= BOOT_INFO_SIZE - 16) {
        put_le(out, t, lo, 8);
        put_le(out, t + 8, hi, 8);
    }
}
