/*
 * virtio.h: the virtio 1.x PCI transport (modern only) and split virtqueues, shared by chyve's
 * virtio devices. A device fills in struct virtio_device, gets its BAR 0 accesses through
 * virtio_bar_access() and processes its queues with virtq_pop() / virtq_push(). Every value the
 * guest wrote (ring addresses, sizes, indices, descriptors) is checked before use; a ring that
 * breaks the rules marks the device DEVICE_NEEDS_RESET with one warning and stops it, while the
 * VM goes on.
 */
#ifndef CHYVE_VIRTIO_H
#define CHYVE_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "dev/pci.h"
#include "dev/virtio_abi.h"
#include "guest_mem.h"

#define VIRTIO_MAX_QUEUES 2
#define VIRTQ_MAX_SIZE 256

/* BAR 0 layout chyve's transport uses (described to the guest by the vendor capabilities). */
#define VIRTIO_BAR_SIZE 0x1000
#define VIRTIO_BAR_COMMON 0x000 /* struct virtio_pci_common_cfg, 0x38 bytes */
#define VIRTIO_BAR_ISR 0x100
#define VIRTIO_BAR_DEVICE 0x200 /* device-specific configuration */
#define VIRTIO_BAR_NOTIFY 0x300 /* queue i at + i * VIRTIO_NOTIFY_MULT */
#define VIRTIO_NOTIFY_MULT 4
#define VIRTIO_DEVCFG_MAX 0x100

/* One split virtqueue as the driver configured it. */
struct virtq {
    uint16_t size; /* entries: a power of two <= VIRTQ_MAX_SIZE */
    bool enabled;
    uint64_t desc, avail, used; /* guest-physical ring addresses */
    uint16_t next_avail;        /* the driver's avail index we consume next */
    uint16_t used_idx;          /* the used index we publish next */
};

/* A descriptor chain: device-readable segments first, then device-writable ones. */
struct virtq_chain {
    uint16_t head;
    unsigned nread, nwrite;
    uint64_t read_bytes, write_bytes;
    struct iovec iov[VIRTQ_MAX_SIZE]; /* host views of the segments: [0, nread) then writable */
};

struct virtio_device;

/* What the transport needs from the device behind it; all are called with d->lock held. */
struct virtio_ops {
    void (*notify)(struct virtio_device *d, unsigned queue); /* the driver kicked a queue */
    void (*reset)(struct virtio_device *d);                  /* the driver reset the device */
    void (*ready)(struct virtio_device *d);                  /* the driver set DRIVER_OK */
};

struct virtio_device {
    struct pci_function pci;
    pthread_mutex_t lock; /* guards all of the below and the device's queue processing */
    const struct guest_mem *mem;
    const struct virtio_ops *ops;
    void *ctx; /* the device's own state */

    uint64_t features;        /* offered */
    uint64_t driver_features; /* accepted by the driver */
    uint32_t dfselect, gfselect;
    uint16_t queue_select;
    uint8_t status, isr, config_generation;
    unsigned nqueues;
    uint16_t queue_max; /* the size a queue has after reset */
    struct virtq q[VIRTIO_MAX_QUEUES];
    uint8_t devcfg[VIRTIO_DEVCFG_MAX]; /* device-specific configuration, read-only to the guest */
    unsigned devcfg_len;

    /* Interrupt line (INTx / SPI): raised with the ISR, lowered when the guest reads the ISR. */
    void (*irq)(void *irq_ctx, bool level);
    void *irq_ctx;
    bool irq_level;
};

/* Identity and resources of a new device; the transport adds the PCI header and capabilities. */
struct virtio_params {
    uint16_t device_id; /* virtio device type: 1 = network */
    uint8_t class_code, subclass;
    uint8_t int_line; /* x86_64: the IOAPIC pin firmware would have written; else 0 */
    uint64_t features;
    unsigned nqueues; /* <= VIRTIO_MAX_QUEUES */
    uint16_t queue_max;
    const uint8_t *devcfg;
    unsigned devcfg_len; /* <= VIRTIO_DEVCFG_MAX */
};

/* Sets up d (lock included). Returns 0, or -1 with err_msg() for parameters out of range. */
int virtio_device_init(struct virtio_device *d, const struct guest_mem *mem,
                       const struct virtio_params *p, const struct virtio_ops *ops, void *ctx);
void virtio_device_fini(struct virtio_device *d);

/* A guest access of len 1, 2, 4 or 8 bytes at offset off of BAR 0 (takes the lock). */
void virtio_bar_access(struct virtio_device *d, uint64_t off, bool write, uint8_t *data,
                       unsigned len);

/* True once the driver set DRIVER_OK and the device has not failed (lock held). */
bool virtio_running(const struct virtio_device *d);

/* Sets the used-buffer bit in the ISR and raises the line, unless already raised (lock held). */
void virtio_interrupt(struct virtio_device *d);

/* Stops the device until the driver resets it: NEEDS_RESET, one warning naming why (lock held). */
void virtio_fail(struct virtio_device *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Takes the next chain the driver made available on q: 1 with *c filled (every segment checked to
 * lie in guest RAM, at most q->size segments, readable before writable, no indirect descriptors),
 * 0 if the ring is empty, -1 if the ring or the chain is broken (the device is then failed).
 */
int virtq_pop(struct virtio_device *d, struct virtq *q, struct virtq_chain *c);

/* Returns chain `head` to the driver with `len` bytes written. 0, or -1 (device failed). */
int virtq_push(struct virtio_device *d, struct virtq *q, uint16_t head, uint32_t len);

/* True if the driver has not suppressed interrupts for q (VIRTQ_AVAIL_F_NO_INTERRUPT clear). */
bool virtq_wants_interrupt(struct virtio_device *d, const struct virtq *q);

#endif
