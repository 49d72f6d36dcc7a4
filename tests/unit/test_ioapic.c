/*
 * test_ioapic.c: the I/O APIC model (src/arch-x86_64/ioapic.c): registers as a guest reads and
 * writes them through IOREGSEL/IOWIN, and which pin levels become which MSI messages.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "ioapic.h"

#define MAX_SENT 16

static struct ioapic io;
static struct ioapic_msi sent[MAX_SENT];
static unsigned nsent;

static void record(void *ctx, const struct ioapic_msi *m)
{
    cr_assert_eq(ctx, &io, "the callback gets ioapic_init's context");
    cr_assert_lt(nsent, MAX_SENT);
    sent[nsent++] = *m;
}

static void setup(void)
{
    nsent = 0;
    ioapic_init(&io, record, &io);
}

static bool wr32(uint64_t off, uint32_t v)
{
    uint8_t b[4];
    memcpy(b, &v, 4);
    return ioapic_mmio(&io, off, true, b, 4);
}

static uint32_t rd32(uint64_t off)
{
    uint8_t b[4] = {0xAA, 0xAA, 0xAA, 0xAA};
    ioapic_mmio(&io, off, false, b, 4);
    uint32_t v;
    memcpy(&v, b, 4);
    return v;
}

static uint32_t reg_read(uint32_t reg)
{
    wr32(0x00, reg);
    return rd32(0x10);
}

static bool reg_write(uint32_t reg, uint32_t v)
{
    wr32(0x00, reg);
    return wr32(0x10, v);
}

/* Programs pin's entry: low dword lo, destination APIC dest. Returns the routing-change flag. */
static bool program(unsigned pin, uint32_t lo, uint8_t dest)
{
    bool hi = reg_write(0x11 + 2 * pin, (uint32_t)dest << 24);
    return reg_write(0x10 + 2 * pin, lo) || hi;
}

#define LEVEL (1u << 15)
#define MASKED (1u << 16)
#define REMOTE_IRR (1u << 14)

TestSuite(ioapic, .init = setup);

Test(ioapic, version_id_and_arbitration_registers)
{
    cr_assert_eq(reg_read(0x01), 0x00170011u, "24 entries (max 23), version 0x11");
    cr_assert_eq(reg_read(0x00), 0);
    reg_write(0x00, 0xFFFFFFFFu);
    cr_assert_eq(reg_read(0x00), 0x0F000000u, "only ID bits 24-27 are writable");
    cr_assert_eq(reg_read(0x02), 0x0F000000u, "arbitration ID follows the ID");
    reg_write(0x01, 0);
    cr_assert_eq(reg_read(0x01), 0x00170011u, "the version register is read-only");
}

Test(ioapic, regsel_reads_back_and_unknown_registers_read_zero)
{
    wr32(0x00, 0x1234);
    cr_assert_eq(rd32(0x00), 0x34, "IOREGSEL is 8 bits");
    cr_assert_eq(reg_read(0x03), 0);
    cr_assert_eq(reg_read(0x10 + 2 * IOAPIC_PINS), 0, "one past the last entry");
    cr_assert_eq(reg_read(0xFF), 0);
    cr_assert_eq(rd32(0x20), 0, "offsets other than 0x00 and 0x10 decode nothing");
    cr_assert_not(wr32(0x20, 0xFFFFFFFFu));
    cr_assert_not(reg_write(0xFF, 0xFFFFFFFFu));
}

Test(ioapic, entries_reset_masked_and_keep_read_only_bits)
{
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        cr_assert_eq(reg_read(0x10 + 2 * pin), MASKED, "pin %u resets masked", pin);
        cr_assert_eq(reg_read(0x11 + 2 * pin), 0);
    }
    reg_write(0x10 + 2 * 5, 0xFFFFFFFFu);
    cr_assert_eq(reg_read(0x10 + 2 * 5), 0x1AFFFu,
                 "delivery status, Remote IRR and bits 17-31 are not writable");
    reg_write(0x11 + 2 * 5, 0xFFFFFFFFu);
    cr_assert_eq(reg_read(0x11 + 2 * 5), 0xFF000000u, "only the destination in the high dword");
}

Test(ioapic, routing_change_is_reported)
{
    cr_assert(program(3, 0x30, 0), "unmasking changes routing");
    cr_assert_not(program(3, 0x30, 0), "writing the same values changes nothing");
    cr_assert(program(3, 0x30 | LEVEL, 0), "edge to level");
    cr_assert(program(3, 0x30 | LEVEL, 2), "a new destination");
    cr_assert_not(program(3, 0x30 | LEVEL | (1u << 13), 2), "polarity does not route");
}

Test(ioapic, edge_fires_once_per_rising_edge)
{
    program(11, 0x2B, 1);
    ioapic_set_line(&io, 11, true);
    cr_assert_eq(nsent, 1);
    cr_assert_eq(sent[0].addr_lo, 0xFEE00000u | (1u << 12), "physical destination APIC 1");
    cr_assert_eq(sent[0].addr_hi, 0);
    cr_assert_eq(sent[0].data, 0x2B, "fixed, edge, vector 0x2B");
    ioapic_set_line(&io, 11, true);
    cr_assert_eq(nsent, 1, "a line that stays high is no new edge");
    ioapic_set_line(&io, 11, false);
    ioapic_set_line(&io, 11, true);
    cr_assert_eq(nsent, 2);
}

Test(ioapic, masked_edge_is_lost)
{
    program(4, 0x24 | MASKED, 0);
    ioapic_set_line(&io, 4, true);
    ioapic_set_line(&io, 4, false);
    program(4, 0x24, 0);
    cr_assert_eq(nsent, 0, "an edge on a masked pin is not held for later");
}

Test(ioapic, level_fires_until_eoi_and_again_while_high)
{
    program(11, 0x41 | LEVEL | (1u << 11), 3);
    ioapic_set_line(&io, 11, true);
    cr_assert_eq(nsent, 1);
    cr_assert_eq(sent[0].addr_lo, 0xFEE00000u | (3u << 12) | (1u << 2), "logical destination 3");
    cr_assert_eq(sent[0].data, 0x41 | (1u << 15) | (1u << 14), "level, asserted");
    cr_assert(reg_read(0x10 + 2 * 11) & REMOTE_IRR, "Remote IRR set on delivery");
    ioapic_set_line(&io, 11, false);
    ioapic_set_line(&io, 11, true);
    cr_assert_eq(nsent, 1, "nothing more while the interrupt is in service");
    ioapic_eoi(&io, 0x42);
    cr_assert_eq(nsent, 1, "another vector's EOI does not count");
    ioapic_eoi(&io, 0x41);
    cr_assert_eq(nsent, 2, "EOI with the line still high fires again");
    ioapic_set_line(&io, 11, false);
    ioapic_eoi(&io, 0x41);
    cr_assert_eq(nsent, 2, "EOI with the line low: nothing");
    cr_assert_eq(reg_read(0x10 + 2 * 11) & REMOTE_IRR, 0);
}

Test(ioapic, unmasking_a_high_level_line_fires)
{
    program(9, 0x39 | LEVEL | MASKED, 0);
    ioapic_set_line(&io, 9, true);
    cr_assert_eq(nsent, 0);
    program(9, 0x39 | LEVEL, 0);
    cr_assert_eq(nsent, 1);
}

Test(ioapic, switching_to_edge_clears_remote_irr)
{
    program(7, 0x37 | LEVEL, 0);
    ioapic_set_line(&io, 7, true);
    cr_assert(reg_read(0x10 + 2 * 7) & REMOTE_IRR);
    program(7, 0x37, 0);
    cr_assert_eq(reg_read(0x10 + 2 * 7) & REMOTE_IRR, 0);
}

Test(ioapic, exception_vectors_and_odd_modes_are_not_sent)
{
    program(1, 0x0E, 0); /* vector 14 is #PF */
    ioapic_set_line(&io, 1, true);
    program(2, 0x30 | (7u << 8), 0); /* ExtINT: there is no PIC */
    ioapic_set_line(&io, 2, true);
    program(6, 0x30 | (5u << 8), 0); /* INIT */
    ioapic_set_line(&io, 6, true);
    cr_assert_eq(nsent, 0);
    program(8, 0x00 | (4u << 8) | LEVEL, 0); /* NMI: no vector, no EOI, so edge-like */
    ioapic_set_line(&io, 8, true);
    ioapic_set_line(&io, 8, true);
    cr_assert_eq(nsent, 1);
    cr_assert_eq(sent[0].data & 0x700, 4u << 8);
    cr_assert_eq(reg_read(0x10 + 2 * 8) & REMOTE_IRR, 0);
}

Test(ioapic, route_lists_level_entries_only)
{
    struct ioapic_msi m;
    program(3, 0x33, 0);
    cr_assert_not(ioapic_route(&io, 3, &m), "edge entries need no EOI exit");
    program(4, 0x34 | LEVEL | MASKED, 5);
    cr_assert(ioapic_route(&io, 4, &m), "a masked level entry may still be in service");
    cr_assert_eq(m.addr_lo, 0xFEE00000u | (5u << 12));
    cr_assert_eq(m.data, 0x34 | (1u << 15) | (1u << 14));
    program(5, 0x05 | LEVEL, 0);
    cr_assert_not(ioapic_route(&io, 5, &m), "an exception vector is never delivered");
    cr_assert_not(ioapic_route(&io, IOAPIC_PINS, &m));
}

Test(ioapic, hostile_accesses_are_harmless)
{
    ioapic_set_line(&io, IOAPIC_PINS, true);
    ioapic_set_line(&io, 0xFFFFFFFFu, true);
    ioapic_eoi(&io, 0);
    uint8_t b[8] = {0};
    cr_assert_not(ioapic_mmio(&io, 0x10, true, b, 0));
    cr_assert_not(ioapic_mmio(&io, 0x10, true, b, 9));
    memset(b, 0xAA, sizeof(b));
    wr32(0x00, 0x01);
    ioapic_mmio(&io, 0x10, false, b, 8);
    cr_assert_eq(b[0], 0x11);
    cr_assert_eq(b[2], 0x17);
    cr_assert_eq(b[4] | b[5] | b[6] | b[7], 0, "bytes past the dword read as zero");
    ioapic_mmio(&io, 0x10, false, b, 1);
    cr_assert_eq(b[0], 0x11, "a byte read of the window");
    wr32(0x00, 0x10);
    b[0] = 0x20;
    b[1] = 0;
    ioapic_mmio(&io, 0x10, true, b, 2); /* a partial write of the window is ignored */
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        cr_assert_eq(reg_read(0x10 + 2 * pin), MASKED);
    }
    cr_assert_eq(nsent, 0);
}
