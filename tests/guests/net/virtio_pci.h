/*
 * virtio_pci.h: the driver side of the virtio 1.x PCI transport (modern only) for the test guest:
 * finding a virtio function on the PCI bus, its four vendor capabilities, the common
 * configuration registers, and split virtqueues in guest memory.
 */
#ifndef NET_VIRTIO_PCI_H
#define NET_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "arch.h"
#include "dev/pci.h"        /* register offsets and bits, shared with chyve */
#include "dev/virtio_abi.h" /* the virtio numbers, shared with chyve */

/* Split virtqueue layout (virtio 1.2 §2.7); the numbers are in dev/virtio_abi.h. */
#define VQ_MAX 256

struct vq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct vq_avail {
    uint16_t flags, idx;
    uint16_t ring[VQ_MAX];
};

struct vq_used {
    uint16_t flags, idx;
    struct {
        uint32_t id, len;
    } ring[VQ_MAX];
};

/* Ring memory for one queue of up to VQ_MAX entries: one page each, identity-mapped RAM. */
struct vq_mem {
    struct vq_desc desc[VQ_MAX];
    struct vq_avail avail __attribute__((aligned(4096)));
    struct vq_used used __attribute__((aligned(4096)));
} __attribute__((aligned(4096)));

struct vq {
    unsigned index;
    uint16_t size;      /* entries, a power of two */
    uint16_t avail_idx; /* our copy of avail.idx: the next slot we fill */
    uint16_t used_seen; /* the used.idx we have processed up to */
    struct vq_mem *mem;
    volatile uint16_t *notify;
};

/* One virtio PCI function and the BAR regions its capabilities name. */
struct vpci {
    unsigned bus, dev, fn;
    unsigned irq_line; /* what arch_pci_setup says to pass to arch_irq_init */
    uint64_t bar[6];   /* memory BAR addresses (64-bit ones in the lower slot), 0 if none */
    volatile uint8_t *common, *isr, *devcfg, *notify;
    uint32_t notify_mult, devcfg_len;
};

/* Scans buses 0-31 for vendor 0x1AF4 / device_id (functions 0-7 of multi-function devices). */
bool vpci_scan(uint16_t device_id, unsigned *bus, unsigned *dev, unsigned *fn);

/*
 * Readies the function at bus/dev/fn (arch_pci_setup: BAR addresses, interrupt), reads its BARs
 * and capabilities into v, maps the regions, turns on memory decoding and bus mastering. Returns 0,
 * or -1 with a message printed.
 */
int vpci_attach(struct vpci *v, unsigned bus, unsigned dev, unsigned fn);

/* Common configuration accesses. */
uint8_t vpci_status(struct vpci *v);
void vpci_set_status(struct vpci *v, uint8_t s);
/* Writes 0 and waits (bounded) until the device reads back 0. Returns 0 or -1. */
int vpci_reset(struct vpci *v);
uint64_t vpci_device_features(struct vpci *v);
void vpci_set_driver_features(struct vpci *v, uint64_t f);

/*
 * Sets up queue `index` with at most want entries on ring memory mem (zeroed here), writing the
 * addresses as 32-bit halves or (addr64) 64-bit stores, and enables it. Returns 0, or -1 with a
 * message printed (queue absent, not enabled).
 */
int vpci_queue_setup(struct vpci *v, struct vq *q, unsigned index, uint16_t want,
                     struct vq_mem *mem, bool addr64);

/* Publishes avail_idx to the device and kicks the queue. */
void vq_kick(struct vq *q);

/* Reads the ISR status register (clears it and lowers the interrupt line). */
static inline uint8_t vpci_isr(struct vpci *v)
{
    return mmio_r8(v->isr);
}

#endif
