/*
 * virtio_net.h: the test guest's virtio-net driver, shaped like the Hermit kernel's: one RX and
 * one TX queue, every packet two descriptors (the 12-byte virtio_net_hdr_v1, then the frame), TX
 * interrupts suppressed, RX buffers of MTU + 14 bytes. One device per guest (a global instance).
 */
#ifndef NET_VIRTIO_NET_H
#define NET_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_pci.h"

#define VNET_MTU_MAX 9000
#define VNET_FRAME_MAX (VNET_MTU_MAX + 14)

struct vnet_stats {
    uint64_t rx, tx, tx_full, isr_queue, isr_config, isr_empty, resets;
};

struct vnet {
    struct vpci pci;
    struct vq rx, tx;
    uint64_t features; /* negotiated */
    uint8_t mac[6];
    uint16_t mtu, link_status;
    unsigned rx_bufs; /* RX buffers posted, each descriptors 2i (header) and 2i + 1 (data) */
    unsigned tx_slots;
    uint16_t tx_free[VQ_MAX / 2];
    unsigned tx_nfree;
    bool tx_pending;           /* frames queued but not yet kicked */
    volatile uint8_t isr_bits; /* what the interrupt handler read from the ISR, not yet handled */
    struct vnet_stats st;
};

extern struct vnet vnet;

/* Finds the device (scan once) and maps it. Returns 0, or -1 with a message printed. */
int vnet_probe(void);
/*
 * Resets the device and initialises it up to DRIVER_OK with RX buffers posted (asking for
 * queue sizes rx_size / tx_size). Returns 0, or -1 with a message printed.
 */
int vnet_init(uint16_t rx_size, uint16_t tx_size);
/* The interrupt handler: reads (and so clears) the ISR and notes what it said. */
void vnet_isr(void);
/* True if the RX used ring has entries we have not processed. */
bool vnet_rx_ready(void);
/*
 * Hands every received frame to deliver (frame, length, checksum verified or partial) and
 * reposts its buffer. Returns the number of frames.
 */
unsigned vnet_rx(void (*deliver)(const uint8_t *frame, size_t len, bool csum_ok));
/* Queues one frame (copied); csum_start/offset != 0 asks the device for a partial checksum.
 * Returns 0, or -1 if no TX slot is free. */
int vnet_tx(const uint8_t *frame, size_t len, uint16_t csum_start, uint16_t csum_offset);
/* Kicks the TX queue if frames are waiting and reclaims sent slots. */
void vnet_tx_flush(void);

#endif
