/*
 * ioapic.c: the I/O APIC register model (82093AA datasheet: IOREGSEL/IOWIN, ID, version,
 * arbitration and 24 redirection entries) and its delivery rules: an edge fires once per rising
 * edge (lost while masked), a level-triggered fixed or lowest-priority entry fires while its line
 * is high and Remote IRR is clear, sets Remote IRR, and may fire again only after an EOI of its
 * vector. The message format is the local APIC's MSI (SDM vol. 3 §11.11).
 */
#include "ioapic.h"

#include <string.h>

#define REG_ID 0x00
#define REG_VERSION 0x01
#define REG_ARB 0x02
#define REG_REDIR 0x10 /* + 2 * pin: low dword, + 1: high dword */

#define OFF_REGSEL 0x00
#define OFF_WIN 0x10

#define ID_MASK 0x0F000000u

#define E_VECTOR 0xFFull
#define E_DELMODE(e) (((e) >> 8) & 7)
#define E_DESTMODE (1ull << 11)
#define E_REMOTE_IRR (1ull << 14)
#define E_LEVEL (1ull << 15)
#define E_MASKED (1ull << 16)
#define E_DEST(e) ((uint32_t)((e) >> 56))
/* What a guest can write: low dword all but delivery status (12), Remote IRR (14) and 17-31. */
#define E_LOW_RW 0x1AFFFull
#define E_HIGH_RW 0xFF000000ull
/* The bits that decide where and how a message goes. */
#define E_ROUTING (E_VECTOR | (7ull << 8) | E_DESTMODE | E_LEVEL | E_MASKED | (0xFFull << 56))

enum { DM_FIXED = 0, DM_LOWEST = 1, DM_NMI = 4 };

#define MSI_ADDR 0xFEE00000u
#define MSI_DEST_SHIFT 12
#define MSI_LOGICAL (1u << 2)
#define MSI_DM_SHIFT 8
#define MSI_ASSERT (1u << 14)
#define MSI_LEVEL (1u << 15)

void ioapic_init(struct ioapic *io, ioapic_deliver_fn *deliver, void *ctx)
{
    memset(io, 0, sizeof(*io));
    for (unsigned i = 0; i < IOAPIC_PINS; i++) {
        io->redir[i] = E_MASKED;
    }
    io->deliver = deliver;
    io->ctx = ctx;
}

/* Fixed and lowest-priority messages name a vector, which must not be an exception's (< 16). */
static bool deliverable(uint64_t e)
{
    unsigned dm = E_DELMODE(e);
    return dm == DM_NMI || ((dm == DM_FIXED || dm == DM_LOWEST) && (e & E_VECTOR) >= 16);
}

/* Level semantics (Remote IRR, re-fire after EOI) apply only to messages that are EOI'd. */
static bool uses_irr(uint64_t e)
{
    unsigned dm = E_DELMODE(e);
    return (e & E_LEVEL) && (dm == DM_FIXED || dm == DM_LOWEST);
}

static struct ioapic_msi msi_of(uint64_t e)
{
    struct ioapic_msi m = {
        .addr_lo = MSI_ADDR | (E_DEST(e) << MSI_DEST_SHIFT) | ((e & E_DESTMODE) ? MSI_LOGICAL : 0),
        .addr_hi = 0,
        .data = (uint32_t)(e & E_VECTOR) | (E_DELMODE(e) << MSI_DM_SHIFT),
    };
    if (e & E_LEVEL) {
        m.data |= MSI_LEVEL | MSI_ASSERT;
    }
    return m;
}

/* Sends the message of pin's entry if it is unmasked and deliverable. */
static void fire(struct ioapic *io, unsigned pin)
{
    uint64_t e = io->redir[pin];
    if ((e & E_MASKED) || !deliverable(e)) {
        return;
    }
    if (uses_irr(e)) {
        io->redir[pin] = e | E_REMOTE_IRR;
    }
    struct ioapic_msi m = msi_of(e);
    io->deliver(io->ctx, &m);
}

/* A level-triggered entry fires while its line is high and no interrupt of it is in service. */
static void service_level(struct ioapic *io, unsigned pin)
{
    uint64_t e = io->redir[pin];
    if (uses_irr(e) && io->line[pin] && !(e & E_REMOTE_IRR)) {
        fire(io, pin);
    }
}

static uint32_t reg_read(const struct ioapic *io, uint32_t reg)
{
    switch (reg) {
    case REG_ID:
    case REG_ARB:
        return io->id;
    case REG_VERSION:
        return IOAPIC_VERSION;
    default:
        break;
    }
    if (reg >= REG_REDIR && reg < REG_REDIR + 2 * IOAPIC_PINS) {
        uint64_t e = io->redir[(reg - REG_REDIR) / 2];
        return (reg & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
    }
    return 0;
}

/* Returns true if the write changed an entry's routing. */
static bool reg_write(struct ioapic *io, uint32_t reg, uint32_t v)
{
    if (reg == REG_ID) {
        io->id = v & ID_MASK;
        return false;
    }
    if (reg < REG_REDIR || reg >= REG_REDIR + 2 * IOAPIC_PINS) {
        return false; /* version, arbitration and unimplemented registers are read-only */
    }
    unsigned pin = (reg - REG_REDIR) / 2;
    uint64_t old = io->redir[pin], e;
    if (reg & 1) {
        e = (old & 0xFFFFFFFFull) | (((uint64_t)v & E_HIGH_RW) << 32);
    } else {
        e = (old & ~E_LOW_RW & ~0xFFFFFFFFull) | (old & E_REMOTE_IRR) | (v & E_LOW_RW);
        if (!(e & E_LEVEL)) {
            e &= ~E_REMOTE_IRR; /* an edge entry has no interrupt in service to wait for */
        }
    }
    io->redir[pin] = e;
    service_level(io, pin); /* unmasking a line that is still high */
    return ((old ^ e) & E_ROUTING) != 0;
}

bool ioapic_mmio(struct ioapic *io, uint64_t off, bool write, uint8_t *data, unsigned len)
{
    if (len == 0 || len > 8) {
        return false;
    }
    uint32_t v = 0;
    if (write) {
        memcpy(&v, data, len < 4 ? len : 4); /* little-endian host and guest */
        if (off == OFF_REGSEL) {
            io->regsel = v & 0xFF;
        } else if (off == OFF_WIN && len >= 4) {
            return reg_write(io, io->regsel, v);
        }
        return false; /* the window takes whole dwords; other offsets decode nothing */
    }
    if (off == OFF_REGSEL) {
        v = io->regsel;
    } else if (off == OFF_WIN) {
        v = reg_read(io, io->regsel);
    }
    memset(data, 0, len);
    memcpy(data, &v, len < 4 ? len : 4);
    return false;
}

void ioapic_set_line(struct ioapic *io, unsigned pin, bool level)
{
    if (pin >= IOAPIC_PINS) {
        return;
    }
    bool rising = level && !io->line[pin];
    io->line[pin] = level;
    if (uses_irr(io->redir[pin])) {
        service_level(io, pin);
    } else if (rising) {
        fire(io, pin); /* an edge on a masked pin is lost, as on the 82093AA */
    }
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = io->redir[pin];
        if ((e & E_REMOTE_IRR) && (e & E_VECTOR) == vector) {
            io->redir[pin] = e & ~E_REMOTE_IRR;
            service_level(io, pin);
        }
    }
}

bool ioapic_route(const struct ioapic *io, unsigned pin, struct ioapic_msi *m)
{
    if (pin >= IOAPIC_PINS) {
        return false;
    }
    uint64_t e = io->redir[pin];
    *m = msi_of(e);
    return uses_irr(e) && deliverable(e);
}
