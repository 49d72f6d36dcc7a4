/* boot_info.c: the 128-byte Hermit boot info (entry version 4), written byte by byte (ABI §2.1). */
#include "boot/boot_info.h"

#include <string.h>

#include "arch.h"
#include "le.h"

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
    le64_put(out + 0x00, l->guest_base);
    le64_put(out + 0x08, l->guest_base + l->mem_size);
    le64_put(out + 0x10, p->serial_port);
    le64_put(out + 0x18, l->fdt);
    le64_put(out + 0x20, l->kernel_start);
    le64_put(out + 0x28, l->kernel_end);
    le64_put(out + 0x30, l->tls.start);
    le64_put(out + 0x38, l->tls.filesz);
    le64_put(out + 0x40, l->tls.memsz);
    le64_put(out + 0x48, l->tls.align);
    le32_put(out + 0x50, BOOT_INFO_PLATFORM_UHYVE);
    out[0x58] = p->has_pci ? 1 : 0;
    le64_put(out + 0x60, p->num_cpus);
    le32_put(out + 0x68, p->cpu_freq_khz);

    /* boot_time is an i128: the int64 nanoseconds sign-extended to 16 bytes. */
    uint32_t t = arch_info.boot_time_offset;
    uint64_t lo = (uint64_t)p->boot_time_ns;
    uint64_t hi = p->boot_time_ns < 0 ? UINT64_MAX : 0;
    if (t <= BOOT_INFO_SIZE - 16) {
        le64_put(out + t, lo);
        le64_put(out + t + 8, hi);
    }
}
