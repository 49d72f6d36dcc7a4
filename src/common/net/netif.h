/*
 * netif.h: the host end of the guest's network link. Whatever the backend (a TAP device, or
 * libslirp's user-mode stack in its own thread), the device sees one non-blocking file descriptor
 * that carries one Ethernet frame per read() or write(), each preceded by the 12-byte
 * struct virtio_net_hdr_v1 (a TAP opened with IFF_VNET_HDR does exactly that).
 */
#ifndef CHYVE_NETIF_H
#define CHYVE_NETIF_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/virtio_abi.h"

#define NETIF_VNET_HDR_LEN VIRTIO_NET_HDR_LEN
#define NETIF_MTU_DEFAULT 1500
#define NETIF_MTU_MAX 9000
#define NETIF_HOSTFWD_MAX 16

/* A parsed --net value (net_config.c): "tap", "tap:NAME", "user[,hostfwd=...]...". */
struct net_hostfwd {
    bool udp;
    uint32_t host_addr; /* IPv4, host byte order; 0 = any (listens on 127.0.0.1 only? see docs) */
    uint16_t host_port;
    uint32_t guest_addr; /* 0 = the guest's default address */
    uint16_t guest_port;
};

struct net_spec {
    enum net_kind { NET_NONE = 0, NET_TAP, NET_USER } kind;
    char tap[16]; /* interface name (IFNAMSIZ), NUL-terminated */
    bool has_mac; /* --mac given */
    uint8_t mac[6];
    bool restrict_host; /* user mode, restrict=on: the guest reaches only its forwards */
    unsigned nhostfwd;
    struct net_hostfwd hostfwd[NETIF_HOSTFWD_MAX];
};

/*
 * Parses --net VALUE (and --mac when mac != NULL) into *s. Returns 0, or -1 with err_msg() naming
 * the bad part ("--net: unknown network 'x'; use tap, tap:NAME or user[,hostfwd=...]").
 */
int net_spec_parse(const char *value, const char *mac, struct net_spec *s);

/* An open host link. */
struct netif {
    int fd;          /* frames with the vnet header; non-blocking */
    uint8_t mac[6];  /* the guest's MAC address */
    uint16_t mtu;    /* the link's MTU (payload bytes of a frame) */
    bool rx_offload; /* netif_set_offload() can pass partial checksums on to the guest */
    void *priv;      /* backend state (user mode: the slirp thread) */
    enum net_kind kind;
};

/*
 * Opens the link s describes (every host file it needs is opened here). Returns 0, or -1 with
 * err_msg() (one line naming the cause).
 */
int netif_open(const struct net_spec *s, struct netif *n);

/*
 * Starts the link's own thread, if it has one (user mode: libslirp, which binds the host port
 * forwards now). Called after chyve's file isolation is in place, so that thread is confined
 * too. Returns 0, or -1 with err_msg() (e.g. a forwarded port in use).
 */
int netif_start(struct netif *n);
void netif_close(struct netif *n);

/*
 * Whether the host end may hand over frames with partial checksums (VIRTIO_NET_HDR_F_NEEDS_CSUM),
 * once the driver accepted VIRTIO_NET_F_GUEST_CSUM. Returns 0 or -1 (the link keeps full sums).
 */
int netif_set_offload(struct netif *n, bool csum);

/*
 * The two backends behind netif_open(): a TAP device (host.h: Linux only; elsewhere an error),
 * and user-mode networking through libslirp (net/slirp.c; an error when built without it).
 */
int netif_tap_open(const struct net_spec *s, struct netif *n);
int netif_tap_offload(struct netif *n, bool csum);
int netif_user_open(const struct net_spec *s, struct netif *n);
int netif_user_start(struct netif *n);
void netif_user_close(struct netif *n);

#endif
