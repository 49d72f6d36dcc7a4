/*
 * virtio_net.h: a virtio-net device (virtio 1.x, PCI) between the guest and a host link. Transmit
 * runs on the vCPU that kicked the TX queue; receive runs in the device's own thread, which waits
 * for frames on the link and for RX buffers from the guest, and raises the interrupt line.
 */
#ifndef CHYVE_VIRTIO_NET_H
#define CHYVE_VIRTIO_NET_H

#include <stdint.h>

#include "guest_mem.h"
#include "net/netif.h"

struct virtio_net;
struct virtio_device;

/* Counters for --stats (each way: packets and bytes of Ethernet frames; drops by reason). */
struct net_stats {
    uint64_t rx_packets, rx_bytes; /* host -> guest */
    uint64_t tx_packets, tx_bytes; /* guest -> host */
    uint64_t rx_drop_no_buffer;    /* frame larger than the guest's buffer chain */
    uint64_t rx_drop_not_ready;    /* frame arrived before the driver was ready: discarded */
    uint64_t tx_drop_bad;          /* malformed TX chain (no header, oversized frame) */
    uint64_t tx_drop_host;         /* the host link refused the frame (full, down) */
};

/*
 * A device for guest RAM m and link n (which stays owned by the caller), its interrupt line
 * int_line written into PCI config space (x86_64 IOAPIC pin; 0 elsewhere). Returns 0 or -1
 * with err_msg().
 */
int virtio_net_create(const struct guest_mem *m, struct netif *n, uint8_t int_line,
                      struct virtio_net **out);

/* Its transport, for iobus_attach_virtio(). */
struct virtio_device *virtio_net_device(struct virtio_net *vn);

/*
 * Sets how the device raises and lowers its interrupt line, then starts the receive thread.
 * Returns 0 or -1 with err_msg().
 */
int virtio_net_start(struct virtio_net *vn, void (*irq)(void *ctx, bool level), void *ctx);

/* Stops the receive thread (if started) and frees the device. NULL is fine. */
void virtio_net_destroy(struct virtio_net *vn);

/* A snapshot of the counters. */
void virtio_net_stats(struct virtio_net *vn, struct net_stats *out);

#endif
