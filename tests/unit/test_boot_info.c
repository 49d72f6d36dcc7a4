/* test_boot_info.c: exact bytes of the 128-byte boot info (ABI §2.1). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "arch.h"
#include "boot/boot_info.h"
#include "le.h"

static struct layout sample_layout(void)
{
    struct layout l;
    memset(&l, 0, sizeof(l));
    l.guest_base = 0x20000000;
    l.mem_size = 0x4000000;
    l.kernel_start = 0x20040000;
    l.kernel_end = 0x20345678;
    l.entry = 0x20041000;
    l.tls.start = 0x20300000;
    l.tls.filesz = 0x18;
    l.tls.memsz = 0x40;
    l.tls.align = 0x10;
    l.boot_info = 0x20004000;
    l.fdt = 0x20005000;
    l.pt_root = 0x20010000;
    l.gdt = 0x20000000;
    l.stack = 0x20038000;
    return l;
}

/* Marks [off, off + n) as checked. */
static void mark(uint8_t *seen, size_t off, size_t n)
{
    memset(seen + off, 1, n);
}

Test(boot_info, every_offset)
{
    struct layout l = sample_layout();
    struct boot_info_params p = {.serial_port = 0x800,
                                 .has_pci = true,
                                 .num_cpus = 3,
                                 .cpu_freq_khz = 2995123,
                                 .boot_time_ns = 1700000000123456789};
    uint8_t out[BOOT_INFO_SIZE];
    memset(out, 0xA5, sizeof(out)); /* padding must be overwritten with zero */
    boot_info_build(out, &l, &p);

    uint8_t seen[BOOT_INFO_SIZE] = {0};
    cr_assert_eq(le64_get(out + 0x00), 0x20000000ull);
    cr_assert_eq(le64_get(out + 0x08), 0x24000000ull);
    cr_assert_eq(le64_get(out + 0x10), 0x800ull); /* u16 + 6 zero padding bytes */
    cr_assert_eq(out[0x10], 0x00);
    cr_assert_eq(out[0x11], 0x08);
    cr_assert_eq(le64_get(out + 0x18), 0x20005000ull);
    cr_assert_eq(le64_get(out + 0x20), 0x20040000ull);
    cr_assert_eq(le64_get(out + 0x28), 0x20345678ull);
    cr_assert_eq(le64_get(out + 0x30), 0x20300000ull);
    cr_assert_eq(le64_get(out + 0x38), 0x18ull);
    cr_assert_eq(le64_get(out + 0x40), 0x40ull);
    cr_assert_eq(le64_get(out + 0x48), 0x10ull);
    mark(seen, 0x00, 0x50);
    cr_assert_eq(le32_get(out + 0x50), 1ull);
    mark(seen, 0x50, 4);
    cr_assert_eq(out[0x58], 1);
    mark(seen, 0x58, 1);
    cr_assert_eq(le64_get(out + 0x60), 3ull);
    mark(seen, 0x60, 8);
    cr_assert_eq(le32_get(out + 0x68), 2995123ull);
    mark(seen, 0x68, 4);

    uint32_t t = arch_info.boot_time_offset;
    if (strcmp(arch_info.name, "x86_64") == 0) {
        cr_assert_eq(t, 0x70);
    } else {
        cr_assert_eq(t, 0x6C);
    }
    cr_assert_eq(le64_get(out + t), 1700000000123456789ull);
    cr_assert_eq(le64_get(out + t + 8), 0ull);
    mark(seen, t, 16);

    for (size_t i = 0; i < BOOT_INFO_SIZE; i++) {
        if (!seen[i]) {
            cr_assert_eq(out[i], 0, "padding byte 0x%zx is 0x%02x", i, out[i]);
        }
    }
}

Test(boot_info, v2_serial_no_pci)
{
    struct layout l = sample_layout();
    struct boot_info_params p = {.serial_port = 0x1030, .has_pci = false, .num_cpus = 1};
    uint8_t out[BOOT_INFO_SIZE];
    boot_info_build(out, &l, &p);
    cr_assert_eq(out[0x10], 0x30);
    cr_assert_eq(out[0x11], 0x10);
    for (size_t i = 0x12; i < 0x18; i++) {
        cr_assert_eq(out[i], 0);
    }
    cr_assert_eq(out[0x58], 0);
    cr_assert_eq(le64_get(out + 0x60), 1ull);
    cr_assert_eq(le32_get(out + 0x68), 0ull);
}

/* The i128 must be the sign extension of the int64. */
static void check_time(int64_t ns, uint64_t want_lo, uint64_t want_hi)
{
    struct layout l = sample_layout();
    struct boot_info_params p = {.serial_port = 0x800, .num_cpus = 1, .boot_time_ns = ns};
    uint8_t out[BOOT_INFO_SIZE];
    memset(out, 0x5A, sizeof(out));
    boot_info_build(out, &l, &p);
    uint32_t t = arch_info.boot_time_offset;
    cr_assert_eq(le64_get(out + t), want_lo, "ns %lld", (long long)ns);
    cr_assert_eq(le64_get(out + t + 8), want_hi, "ns %lld", (long long)ns);
    /* Nothing outside the field carries time bits: bytes around it are known values. */
    cr_assert_eq(le32_get(out + 0x68), 0ull);
    if (t + 16 < BOOT_INFO_SIZE) {
        cr_assert_eq(out[t + 16], 0);
    }
}

Test(boot_info, boot_time_negative_and_large)
{
    check_time(-1, UINT64_MAX, UINT64_MAX);
    check_time(-1700000000000000000ll, (uint64_t)-1700000000000000000ll, UINT64_MAX);
    check_time(INT64_MIN, 0x8000000000000000ull, UINT64_MAX);
    check_time(INT64_MAX, 0x7FFFFFFFFFFFFFFFull, 0);
    check_time(0, 0, 0);
}

Test(boot_info, time_bytes_little_endian)
{
    struct layout l = sample_layout();
    struct boot_info_params p = {.num_cpus = 1, .boot_time_ns = 0x0102030405060708ll};
    uint8_t out[BOOT_INFO_SIZE];
    boot_info_build(out, &l, &p);
    uint32_t t = arch_info.boot_time_offset;
    const uint8_t want[16] = {8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    cr_assert_arr_eq(out + t, want, 16);
}
