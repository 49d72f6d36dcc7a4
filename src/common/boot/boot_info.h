/* boot_info.h: the 128-byte Hermit boot information (entry version 4, ABI §2.1). */
#ifndef CHYVE_BOOT_INFO_H
#define CHYVE_BOOT_INFO_H

#include <stdbool.h>
#include <stdint.h>

#include "loader/layout.h"

#define BOOT_INFO_SIZE 128
#define BOOT_INFO_PLATFORM_UHYVE 1

/* Inputs of the boot info beyond the layout. */
struct boot_info_params {
    uint16_t serial_port; /* v1: 0x800, v2: 0x1030 */
    bool has_pci;
    uint32_t num_cpus;     /* > 0 */
    uint32_t cpu_freq_khz; /* 0 = unknown */
    int64_t boot_time_ns;  /* Unix time in nanoseconds */
};

/*
 * Fills out[BOOT_INFO_SIZE] with the little-endian boot info for layout l (RAM range, FDT address,
 * kernel range, TLS) and p, boot_time at arch_info.boot_time_offset; padding is zero.
 */
void boot_info_build(uint8_t out[BOOT_INFO_SIZE], const struct layout *l,
                     const struct boot_info_params *p);

#endif
