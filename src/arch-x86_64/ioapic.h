/*
 * ioapic.h: an I/O APIC (82093AA register model, version 0x11, 24 pins) for a VMM whose local
 * APICs are elsewhere (KVM's split irqchip). It turns pin levels into MSI messages through its
 * redirection table; the caller delivers them and reports EOIs. No locking: the caller
 * serialises every call on one ioapic.
 */
#ifndef CHYVE_IOAPIC_H
#define CHYVE_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_BASE 0xFEC00000ull /* where x86 kernels look (Hermit maps it unconditionally) */
#define IOAPIC_SIZE 0x1000ull
#define IOAPIC_PINS 24
#define IOAPIC_VERSION 0x00170011u /* max redirection entry 23, version 0x11 (no EOI register) */

/* A message for the local APICs: the address and data an MSI write would carry. */
struct ioapic_msi {
    uint32_t addr_lo, addr_hi, data;
};

/* Delivers m (e.g. KVM_SIGNAL_MSI); ctx is ioapic_init()'s. */
typedef void ioapic_deliver_fn(void *ctx, const struct ioapic_msi *m);

struct ioapic {
    uint32_t regsel; /* IOREGSEL: the register IOWIN reaches */
    uint32_t id;     /* bits 24-27 of register 0 */
    uint64_t redir[IOAPIC_PINS];
    bool line[IOAPIC_PINS]; /* the level each device drives on its pin */
    ioapic_deliver_fn *deliver;
    void *ctx;
};

/* Reset state: every entry masked, edge, vector 0; ID 0; no line raised. */
void ioapic_init(struct ioapic *io, ioapic_deliver_fn *deliver, void *ctx);

/*
 * An access of len bytes at offset off of the 4 KiB window (IOREGSEL at 0x00, IOWIN at 0x10;
 * other offsets read 0 and ignore writes). Reads fill data (little-endian), writes consume it.
 * Returns true if the access changed a redirection entry's routing (vector, destination, trigger
 * mode or mask): the caller refreshes what it derives from ioapic_route().
 */
bool ioapic_mmio(struct ioapic *io, uint64_t off, bool write, uint8_t *data, unsigned len);

/* A device drives pin to level (pins past IOAPIC_PINS are ignored). May deliver an MSI. */
void ioapic_set_line(struct ioapic *io, unsigned pin, bool level);

/* A local APIC signalled EOI of vector: level-triggered entries with it may fire again. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/*
 * The MSI that pin's entry would send. Returns true only for a level-triggered entry with a
 * deliverable vector: those are the ones whose EOI the caller must be told of (with a split
 * irqchip KVM learns which vectors exit on EOI from MSI routes of the reserved pins).
 */
bool ioapic_route(const struct ioapic *io, unsigned pin, struct ioapic_msi *m);

#endif
