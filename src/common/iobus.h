/*
 * iobus.h: the guest's emulated devices, as the backends see them. A backend hands every port or
 * MMIO access that is neither a hypercall nor RAM to iobus_pio() / iobus_mmio() before it treats
 * the access as a guest failure. Interrupts travel the other way, through backend_irq_line().
 * Without devices the bus still answers the PCI configuration ports: an empty bus.
 */
#ifndef CHYVE_IOBUS_H
#define CHYVE_IOBUS_H

#include <stdbool.h>
#include <stdint.h>

struct iobus;         /* owned by the core (dev/iobus.c) */
struct virtio_device; /* dev/virtio.h */

/* A bus with no devices; NULL with err_msg() set if out of memory. */
struct iobus *iobus_create(void);
void iobus_destroy(struct iobus *b);

/*
 * Puts virtio device d at PCI bus 0, device `slot`, function 0. With bar_addr != 0 its BAR 0 starts
 * there and decoding is on, as firmware leaves it (x86_64: the kernel does not assign BARs);
 * with 0 the guest assigns it (aarch64: the kernel programs BARs inside the host bridge window).
 * Returns 0, or -1 with err_msg() if the slot is taken.
 */
int iobus_attach_virtio(struct iobus *b, struct virtio_device *d, unsigned slot, uint64_t bar_addr);

/*
 * x86_64 port access of len 1, 2 or 4 bytes: reads fill data, writes consume it (little-endian).
 * Returns true if a device or the PCI host bridge (ports 0xCF8-0xCFF) claimed it.
 */
bool iobus_pio(struct iobus *b, uint16_t port, bool write, uint8_t *data, unsigned len);

/*
 * MMIO access of len 1, 2, 4 or 8 bytes at guest-physical gpa: a device BAR, or the PCI ECAM
 * window set with iobus_set_ecam(). Returns true if claimed.
 */
bool iobus_mmio(struct iobus *b, uint64_t gpa, bool write, uint8_t *data, unsigned len);

/* Makes [base, base + size) an ECAM configuration window (bus 0 only is populated). */
void iobus_set_ecam(struct iobus *b, uint64_t base, uint64_t size);

#endif
