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

#define PCI_VENDOR_VIRTIO 0x1AF4
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_INT_LINE 0x3C
#define PCI_CMD_MEMORY 0x2
#define PCI_CMD_MASTER 0x4
#define PCI_STATUS_CAP_LIST 0x10

/* Device status bits and the transport feature bit (virtio 1.2 §2.1, §6). */
#define VIRTIO_S_ACKNOWLEDGE 1
#define VIRTIO_S_DRIVER 2
#define VIRTIO_S_DRIVER_OK 4
#define VIRTIO_S_FEATURES_OK 8
#define VIRTIO_S_NEEDS_RESET 64
#define VIRTIO_S_FAILED 128
#define VIRTIO_F_VERSION_1 32

/* struct virtio_pci_common_cfg offsets (virtio 1.2 §4.1.4.3). */
#define CC_DFSELECT 0x00
#define CC_DF 0x04
#define CC_GFSELECT 0x08
#define CC_GF 0x0C
#define CC_MSIX 0x10
#define CC_NUMQ 0x12
#define CC_STATUS 0x14
#define CC_CFGGEN 0x15
#define CC_QSELECT 0x16
#define CC_QSIZE 0x18
#define CC_QMSIX 0x1A
#define CC_QENABLE 0x1C
#define CC_QNOTIFYOFF 0x1E
#define CC_QDESC 0x20
#define CC_QDRIVER 0x28
#define CC_QDEVICE 0x30
#define CC_SIZE 0x38

/* Split virtqueue layout (virtio 1.2 §2.7). */
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1
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
