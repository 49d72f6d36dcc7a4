/*
 * netstack.h: a tiny IPv4 stack for the virtio-net test guest: ARP, ICMP echo (both ways), a UDP
 * echo and a TCP echo server on one port. One global instance; freestanding (memcpy & co. only).
 */
#ifndef GUEST_NETSTACK_H
#define GUEST_NETSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netstack_cfg {
    uint8_t mac[6];
    uint32_t ip, mask, gw; /* IPv4, host byte order */
    uint16_t mtu;          /* IP MTU of the link (1500 default; the test may use up to 9000) */
    uint16_t port;         /* UDP and TCP echo port (9975) */
    bool tx_csum_offload;  /* the device completes TCP/UDP checksums for frames marked partial */
    /* Sends one Ethernet frame (no virtio header). csum_start/csum_offset != 0 means "partial
     * checksum": the pseudo-header sum is in place and the device must finish the checksum over
     * [csum_start, end) and store it at csum_start + csum_offset (virtio
     * VIRTIO_NET_HDR_F_NEEDS_CSUM). Returns 0, or -1 if no TX buffer is free right now (the stack
     * retries later / drops). */
    int (*tx)(void *ctx, const uint8_t *frame, size_t len, uint16_t csum_start,
              uint16_t csum_offset);
    void *ctx;
};

/*
 * Counters since netstack_init: rx/tx frames handed in / accepted by cfg.tx; arp, icmp, udp, tcp:
 * well-formed packets of that kind received; bad: malformed frames (lengths, header fields,
 * checksums); drops: well-formed frames not for us or not supported (other ethertypes, fragments,
 * out-of-order TCP segments) and frames cfg.tx refused.
 */
struct netstack_stats {
    uint64_t rx, tx, arp, icmp, udp, tcp, bad, drops;
};

/* Resets the stack to cfg (copied). An mtu of 0 means 1500; it is clamped to [576, 9000]. */
void netstack_init(const struct netstack_cfg *cfg);
/* One received frame. csum_valid: the device says checksums were verified or are partial
 * (VIRTIO_NET_HDR_F_DATA_VALID / NEEDS_CSUM): skip verifying TCP/UDP checksums.
 * The frame is only read during the call; replies are sent from inside it through cfg.tx. */
void netstack_input(const uint8_t *frame, size_t len, bool csum_valid, uint64_t now_ms);
/* Timers: TCP retransmission, ARP retries, ping timeouts. Call often (every wakeup). It also
 * retries TCP output that cfg.tx refused earlier. */
void netstack_poll(uint64_t now_ms);
/* Starts `count` ICMP echo requests to dst (one per ~10 ms or as replies come, ARP-resolving
 * first). count is capped at 4096; a new call abandons a ping still running. */
void netstack_ping(uint32_t dst, unsigned count, uint64_t now_ms);
/* Ping progress: requests sent, replies received, done (all sent and answered or timed out). */
void netstack_ping_status(unsigned *sent, unsigned *received, bool *done);
/* An "exit N" UDP datagram to the echo port sets this: returns true and *code once received. */
bool netstack_exit_requested(int *code);
/* Copies the counters into *out. */
void netstack_get_stats(struct netstack_stats *out);

#endif
