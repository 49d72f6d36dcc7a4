/*
 * ioapic.c: what Hermit kernels from 0.13.2 on do to the interrupt controllers at boot
 * (hermit-abi.md §12), checked: the ten PIC initialisation bytes (ports 0x20/0x21/0xA0/0xA1),
 * then the IOAPIC at 0xFEC00000: the version register, and both halves of every redirection
 * entry (vector 0x20 + pin, edge, fixed, entries 0 and 2 masked), each read back. Prints
 * "ioapic: version 0x... pins N" and "ioapic: N entries programmed" and exits 0, or says what
 * differed and exits 1.
 */
#include "rt.h"

#define IOAPIC_BASE 0xFEC00000ull
#define REGSEL 0x00
#define WIN 0x10
#define REG_VERSION 0x01
#define REG_REDIR 0x10
#define MASKED (1u << 16)
#define RO_BITS ((1u << 12) | (1u << 14)) /* delivery status, Remote IRR */

static volatile uint32_t *reg32(unsigned off)
{
    return (volatile uint32_t *)(uintptr_t)(IOAPIC_BASE + off);
}

static uint32_t io_read(uint32_t reg)
{
    *reg32(REGSEL) = reg;
    return *reg32(WIN);
}

static void io_write(uint32_t reg, uint32_t v)
{
    *reg32(REGSEL) = reg;
    *reg32(WIN) = v;
}

static void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

int guest_main(void)
{
    /* 8259 initialisation as a kernel does it: ICW1-4 to both chips, then mask everything. */
    static const uint8_t master[] = {0x11, 0x20, 0x04, 0x01, 0xFF};
    static const uint8_t slave[] = {0x11, 0x28, 0x02, 0x01, 0xFF};
    for (unsigned i = 0; i < sizeof(master); i++) {
        outb(i == 0 ? 0x20 : 0x21, master[i]);
        outb(i == 0 ? 0xA0 : 0xA1, slave[i]);
    }
    if (rt_map_page(IOAPIC_BASE, IOAPIC_BASE) != 0) {
        rt_puts("ioapic: FAIL: cannot map 0xFEC00000\n");
        return 1;
    }
    uint32_t ver = io_read(REG_VERSION);
    unsigned pins = ((ver >> 16) & 0xFF) + 1;
    rt_printf("ioapic: version 0x%x pins %u\n", ver, pins);
    if ((ver & 0xFF) != 0x11 || pins != 24) {
        rt_puts("ioapic: FAIL: not an 82093AA-style IOAPIC with 24 pins\n");
        return 1;
    }
    for (unsigned pin = 0; pin < pins; pin++) {
        uint32_t lo = (0x20 + pin) | ((pin == 0 || pin == 2) ? MASKED : 0);
        io_write(REG_REDIR + 2 * pin, lo);
        io_write(REG_REDIR + 2 * pin + 1, 0);
        uint32_t got_lo = io_read(REG_REDIR + 2 * pin) & ~RO_BITS;
        uint32_t got_hi = io_read(REG_REDIR + 2 * pin + 1);
        if (got_lo != lo || got_hi != 0) {
            rt_printf("ioapic: FAIL: entry %u reads 0x%x 0x%x after writing 0x%x 0\n", pin, got_hi,
                      got_lo, lo);
            return 1;
        }
    }
    /* Masking each entry again must stick: a driver later unmasks only its own line. */
    for (unsigned pin = 0; pin < pins; pin++) {
        io_write(REG_REDIR + 2 * pin, MASKED | (0x20 + pin));
        if ((io_read(REG_REDIR + 2 * pin) & MASKED) == 0) {
            rt_printf("ioapic: FAIL: entry %u does not stay masked\n", pin);
            return 1;
        }
    }
    rt_printf("ioapic: %u entries programmed\n", pins);
    return 0;
}
