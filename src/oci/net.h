/*
 * net.h: chyve-oci's network plumbing (Linux). Inside a container's network namespace the guest
 * takes over the namespace's interface: its MAC, MTU and IPv4 address. Every frame then passes
 * between that interface and a TAP that chyve opens, through tc ingress redirects both ways
 * (what Kata Containers calls "tc redirect"), built with raw rtnetlink messages.
 */
#ifndef CHYVE_OCI_NET_H
#define CHYVE_OCI_NET_H

#include <stdint.h>

/* The TAP chyve-oci makes in a container's namespace (rootless podman's slirp4netns has tap0). */
#define OCI_TAP_NAME "chyve0"

/* The interface the guest takes over, and the TAP that carries its frames. */
struct oci_net {
    char ifname[16]; /* the namespace's interface (e.g. "eth0"), NUL-terminated */
    char tap[16];    /* the TAP oci_net_plumb() created, NUL-terminated */
    uint8_t mac[6];  /* ifname's MAC address: the guest's */
    unsigned mtu;    /* ifname's MTU, which the TAP has too */
    uint32_t ip;     /* ifname's IPv4 address; host byte order, as mask and gw */
    uint32_t mask;   /* its netmask, from the prefix length */
    uint32_t gw;     /* the default route's gateway through ifname; 0 = none */
};

/*
 * Moves the calling thread into the network namespace at netns_path (a file such as
 * /run/netns/NAME or /proc/PID/ns/net) with setns(CLONE_NEWNET). Threads started afterwards
 * inherit it; others stay where they are. Needs CAP_SYS_ADMIN (in the namespace's user
 * namespace). Returns 0, or -1 with err_msg() naming the path and the cause.
 */
int oci_net_enter(const char *netns_path);

/*
 * In the calling thread's network namespace: picks the interface the guest takes over (the only
 * non-loopback interface with an IPv4 address; among several, the one holding the default route;
 * it must be an Ethernet device), creates the persistent TAP tap_name (IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR, as chyve's --net tap:NAME opens it; no process holds it afterwards, and it goes
 * away with the namespace), gives the TAP the interface's MTU, turns IPv6 off on it (so that the
 * namespace's own stack sends nothing to the guest), brings it up and redirects every frame
 * arriving on either device out of the other (an ingress qdisc and a u32 match-all filter with a
 * mirred egress redirect on each). The interface's addresses and routes are left as they are.
 * Needs CAP_NET_ADMIN there and a kernel with the ingress qdisc, u32 and mirred
 * (CONFIG_NET_SCH_INGRESS, CONFIG_NET_CLS_U32, CONFIG_NET_ACT_MIRRED). tap_name must not exist
 * yet. Fills *out and returns 0; returns 1, having done nothing, when no interface but
 * loopback has an IPv4 address (a namespace without a network: the guest gets no device); or
 * returns -1 with err_msg() (one line naming the step and the cause) after removing what it had
 * set up.
 */
int oci_net_plumb(const char *tap_name, struct oci_net *out);

/*
 * Undoes oci_net_plumb(tap_name) in the calling thread's network namespace once the guest has
 * ended: the ingress qdisc (and redirect) of the interface it took over, then the TAP, so that
 * the namespace's interface works as before and another container can be plumbed there. A
 * namespace without that TAP is left alone. Returns 0, or -1 with err_msg().
 */
int oci_net_unplumb(const char *tap_name);

/* What chyve's command line needs to give the guest n's identity, as NUL-terminated strings. */
struct oci_net_args {
    char net[20];     /* the --net value: "tap:TAP" */
    char mac[18];     /* the --mac value: "0a:58:0a:58:00:05" */
    char ip[32];      /* the -e values: "HERMIT_IP=10.88.0.5", */
    char mask[32];    /* "HERMIT_MASK=255.255.0.0", */
    char gateway[32]; /* "HERMIT_GATEWAY=10.88.0.1", or "" when n has no gateway (leave it out) */
};

/* Formats n (as oci_net_plumb() filled it) into *a. */
void oci_net_args(const struct oci_net *n, struct oci_net_args *a);

#endif
