/* net.c: a container's interface handed to the guest through a TAP and tc redirects (net.h). */
#define _GNU_SOURCE /* setns */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "net.h"
#include "netlink.h"

#define SCAN_LINKS_MAX 64 /* a container's namespace has two or three */

/* --- what the namespace holds --- */

struct link {
    int index;
    unsigned flags; /* IFF_* */
    char name[IFNAMSIZ];
    bool ether; /* an Ethernet device with a 6-byte MAC */
    uint8_t mac[6];
    unsigned mtu;
    bool has_ip; /* its first primary IPv4 address: */
    uint32_t ip; /* host byte order */
    unsigned prefix;
};

struct scan {
    struct link links[SCAN_LINKS_MAX];
    unsigned nlinks;
    bool too_many;
    bool has_route; /* the main table's IPv4 default route of lowest metric: */
    int route_oif;
    uint32_t route_gw; /* host byte order; 0 = none */
    uint32_t route_metric;
};

static struct link *scan_link(struct scan *s, int index)
{
    for (unsigned i = 0; i < s->nlinks; i++) {
        if (s->links[i].index == index) {
            return &s->links[i];
        }
    }
    return NULL;
}

/* RTM_NEWLINK: one interface. */
static int on_link(const struct nlmsghdr *h, void *ctx)
{
    struct scan *s = ctx;
    struct ifinfomsg ifi;
    const char *attrs;
    size_t len;
    if (h->nlmsg_type != RTM_NEWLINK || !nl_msg_parse(h, &ifi, sizeof(ifi), &attrs, &len)) {
        return 0;
    }
    if (s->nlinks == SCAN_LINKS_MAX) {
        s->too_many = true;
        return 0;
    }
    struct link *l = &s->links[s->nlinks];
    memset(l, 0, sizeof(*l));
    l->index = ifi.ifi_index;
    l->flags = ifi.ifi_flags;
    const struct rtattr *a = nl_attr_find(attrs, len, IFLA_IFNAME);
    if (a == NULL || nl_attr_len(a) == 0 || nl_attr_len(a) > IFNAMSIZ ||
        memchr(nl_attr_data(a), '\0', nl_attr_len(a)) == NULL) {
        return 0;
    }
    memcpy(l->name, nl_attr_data(a), nl_attr_len(a));
    a = nl_attr_find(attrs, len, IFLA_ADDRESS);
    if (ifi.ifi_type == ARPHRD_ETHER && a != NULL && nl_attr_len(a) == sizeof(l->mac)) {
        l->ether = true;
        memcpy(l->mac, nl_attr_data(a), sizeof(l->mac));
    }
    uint32_t mtu;
    l->mtu = nl_attr_u32(nl_attr_find(attrs, len, IFLA_MTU), &mtu) ? mtu : 1500;
    s->nlinks++;
    return 0;
}

/* RTM_NEWADDR: one IPv4 address; the first primary one of each interface counts. */
static int on_addr(const struct nlmsghdr *h, void *ctx)
{
    struct scan *s = ctx;
    struct ifaddrmsg ifa;
    const char *attrs;
    size_t len;
    if (h->nlmsg_type != RTM_NEWADDR || !nl_msg_parse(h, &ifa, sizeof(ifa), &attrs, &len) ||
        ifa.ifa_family != AF_INET || ifa.ifa_prefixlen > 32) {
        return 0;
    }
    uint32_t flags = ifa.ifa_flags;
    (void)nl_attr_u32(nl_attr_find(attrs, len, IFA_FLAGS), &flags);
    /* IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on point-to-point). */
    const struct rtattr *a = nl_attr_find(attrs, len, IFA_LOCAL);
    if (a == NULL) {
        a = nl_attr_find(attrs, len, IFA_ADDRESS);
    }
    struct link *l = scan_link(s, (int)ifa.ifa_index);
    uint32_t ip;
    if ((flags & IFA_F_SECONDARY) || l == NULL || l->has_ip || !nl_attr_u32(a, &ip)) {
        return 0;
    }
    l->has_ip = true;
    l->ip = ntohl(ip);
    l->prefix = ifa.ifa_prefixlen;
    return 0;
}

/* RTM_NEWROUTE: keeps the main table's IPv4 default route with the lowest metric. */
static int on_route(const struct nlmsghdr *h, void *ctx)
{
    struct scan *s = ctx;
    struct rtmsg r;
    const char *attrs;
    size_t len;
    if (h->nlmsg_type != RTM_NEWROUTE || !nl_msg_parse(h, &r, sizeof(r), &attrs, &len) ||
        r.rtm_family != AF_INET || r.rtm_dst_len != 0 || r.rtm_type != RTN_UNICAST) {
        return 0;
    }
    uint32_t table = r.rtm_table, oif, gw = 0, metric = 0;
    (void)nl_attr_u32(nl_attr_find(attrs, len, RTA_TABLE), &table);
    /* A multipath route (no RTA_OIF) is not one a container's namespace has: not followed. */
    if (table != RT_TABLE_MAIN || !nl_attr_u32(nl_attr_find(attrs, len, RTA_OIF), &oif)) {
        return 0;
    }
    (void)nl_attr_u32(nl_attr_find(attrs, len, RTA_GATEWAY), &gw);
    (void)nl_attr_u32(nl_attr_find(attrs, len, RTA_PRIORITY), &metric);
    if (!s->has_route || metric < s->route_metric) {
        s->has_route = true;
        s->route_oif = (int)oif;
        s->route_gw = ntohl(gw);
        s->route_metric = metric;
    }
    return 0;
}

/* Lists the namespace's interfaces, their IPv4 addresses and its default route into *s. */
static int scan_netns(struct nl *nl, struct scan *s)
{
    memset(s, 0, sizeof(*s));
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    if (nl_dump(nl, RTM_GETLINK, &ifi, sizeof(ifi), on_link, s,
                "cannot list the network interfaces") != 0) {
        return -1;
    }
    if (s->too_many) {
        return err_set("more than %d network interfaces in this network namespace", SCAN_LINKS_MAX);
    }
    struct ifaddrmsg ifa = {.ifa_family = AF_INET};
    if (nl_dump(nl, RTM_GETADDR, &ifa, sizeof(ifa), on_addr, s, "cannot list the IPv4 addresses") !=
        0) {
        return -1;
    }
    struct rtmsg r = {.rtm_family = AF_INET};
    return nl_dump(nl, RTM_GETROUTE, &r, sizeof(r), on_route, s, "cannot list the IPv4 routes");
}

/*
 * The interface the guest takes over (net.h: oci_net_plumb()), or NULL with err_msg(); *none
 * tells that there was no candidate at all.
 */
static const struct link *scan_pick(const struct scan *s, bool *none)
{
    *none = false;
    const struct link *pick = NULL;
    unsigned n = 0;
    char names[128] = "";
    for (unsigned i = 0; i < s->nlinks; i++) {
        const struct link *l = &s->links[i];
        if ((l->flags & IFF_LOOPBACK) || !l->has_ip) {
            continue;
        }
        size_t used = strlen(names);
        snprintf(names + used, sizeof(names) - used, "%s%s", n > 0 ? ", " : "", l->name);
        if (n == 0 || (s->has_route && l->index == s->route_oif)) {
            pick = l;
        }
        n++;
    }
    if (n == 0) {
        err_set("no network interface with an IPv4 address in this network namespace");
        *none = true;
        return NULL;
    }
    if (n > 1 && !(s->has_route && pick->index == s->route_oif)) {
        err_set("%u network interfaces have IPv4 addresses (%s) and none holds the default route: "
                "cannot tell which one the guest takes over",
                n, names);
        return NULL;
    }
    if (!pick->ether) {
        err_set("network interface '%s' is not an Ethernet device: a TAP cannot carry its frames",
                pick->name);
        return NULL;
    }
    return pick;
}

/* --- the plumbing --- */

/* Whether name can name a network interface: 1-15 bytes, no '/', ':' or white space, not . or .. */
static bool ifname_ok(const char *name)
{
    size_t len = name != NULL ? strlen(name) : 0;
    if (len == 0 || len >= IFNAMSIZ || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= ' ' || c == '/' || c == ':' || c >= 0x7f) {
            return false;
        }
    }
    return true;
}

/* Creates the persistent TAP name; its name as the kernel gave it goes to out (IFNAMSIZ bytes). */
static int tap_create(const char *name, char *out)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return err_set("cannot create the TAP '%s': cannot open /dev/net/tun: %s", name,
                       strerror(errno));
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    /* chyve's host_tap.c attaches with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR; IFF_TUN_EXCL refuses
     * an interface of that name that exists already instead of attaching to it. */
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_TUN_EXCL;
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        int e = errno;
        close(fd);
        if (e == EBUSY) {
            return err_set("cannot create the TAP '%s': a network interface of that name exists "
                           "in this network namespace",
                           name);
        }
        return err_set("cannot create the TAP '%s': %s", name, strerror(e));
    }
    /* Persistent: it outlives this descriptor, for chyve to attach to by name. */
    if (ioctl(fd, TUNSETPERSIST, 1UL) != 0) {
        int e = errno;
        close(fd); /* a TAP that is not persistent goes with its last descriptor */
        return err_set("cannot make the TAP '%s' persistent: %s", name, strerror(e));
    }
    memcpy(out, ifr.ifr_name, IFNAMSIZ);
    out[IFNAMSIZ - 1] = '\0';
    close(fd);
    return 0;
}

/* Index of the interface name, or -1 with err_msg(). */
static int link_index(struct nl *nl, const char *name)
{
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    struct nl_msg m;
    nl_msg_init(&m, RTM_GETLINK, NLM_F_ACK, &ifi, sizeof(ifi));
    nl_msg_put_str(&m, IFLA_IFNAME, name);
    struct scan one;
    memset(&one, 0, sizeof(one));
    char step[64];
    snprintf(step, sizeof(step), "cannot find the interface '%s'", name);
    if (nl_exchange(nl, &m, on_link, &one, step) != 0) {
        return -1;
    }
    if (one.nlinks != 1) {
        return err_set("%s: no answer", step);
    }
    return one.links[0].index;
}

/* Writes "1" to the TAP's disable_ipv6, when the kernel has IPv6. */
static int tap_no_ipv6(const char *tap)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", tap);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        return 0;
    }
    if (fd < 0) {
        return err_set("cannot turn IPv6 off on the TAP '%s': %s: %s", tap, path, strerror(errno));
    }
    ssize_t n = write(fd, "1", 1);
    int e = errno;
    close(fd);
    if (n != 1) {
        return err_set("cannot turn IPv6 off on the TAP '%s': %s: %s", tap, path,
                       n < 0 ? strerror(e) : "short write");
    }
    return 0;
}

/* Gives interface index (name) the MTU mtu and brings it up. */
static int link_up(struct nl *nl, int index, const char *name, unsigned mtu)
{
    struct ifinfomsg ifi = {
        .ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
    struct nl_msg m;
    nl_msg_init(&m, RTM_NEWLINK, NLM_F_ACK, &ifi, sizeof(ifi));
    nl_msg_put_u32(&m, IFLA_MTU, mtu);
    char step[96];
    snprintf(step, sizeof(step), "cannot set the MTU of '%s' to %u and bring it up", name, mtu);
    return nl_exchange(nl, &m, NULL, NULL, step);
}

/* Adds (add) or deletes the ingress qdisc of interface index (name). */
static int tc_ingress(struct nl *nl, bool add, int index, const char *name)
{
    struct tcmsg t = {.tcm_family = AF_UNSPEC,
                      .tcm_ifindex = index,
                      .tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0),
                      .tcm_parent = TC_H_INGRESS};
    struct nl_msg m;
    nl_msg_init(&m, add ? RTM_NEWQDISC : RTM_DELQDISC,
                NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0), &t, sizeof(t));
    nl_msg_put_str(&m, TCA_KIND, "ingress");
    char step[96];
    snprintf(step, sizeof(step), "cannot %s the ingress qdisc of '%s'", add ? "add" : "delete",
             name);
    return nl_exchange(nl, &m, NULL, NULL, step);
}

/*
 * On interface from's ingress qdisc: a u32 filter that matches every frame (one key, mask 0),
 * with a mirred action that sends the frame out of interface to instead (egress redirect).
 */
static int tc_redirect(struct nl *nl, int from, const char *from_name, int to, const char *to_name)
{
    struct tcmsg t = {.tcm_family = AF_UNSPEC,
                      .tcm_ifindex = from,
                      .tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0),
                      .tcm_info = TC_H_MAKE(1U << 16, htons(ETH_P_ALL))}; /* prio 1, any protocol */
    struct nl_msg m;
    nl_msg_init(&m, RTM_NEWTFILTER, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &t, sizeof(t));
    nl_msg_put_str(&m, TCA_KIND, "u32");
    size_t opts = nl_msg_put(&m, TCA_OPTIONS, NULL, 0);
    char sel[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)];
    memset(sel, 0, sizeof(sel));
    struct tc_u32_sel head = {.flags = TC_U32_TERMINAL, .nkeys = 1};
    memcpy(sel, &head, sizeof(head)); /* the key after it: all zero, mask 0 */
    nl_msg_put(&m, TCA_U32_SEL, sel, sizeof(sel));
    size_t acts = nl_msg_put(&m, TCA_U32_ACT, NULL, 0);
    size_t act = nl_msg_put(&m, 1, NULL, 0); /* the first action of the list */
    nl_msg_put_str(&m, TCA_ACT_KIND, "mirred");
    size_t act_opts = nl_msg_put(&m, TCA_ACT_OPTIONS, NULL, 0);
    struct tc_mirred parms = {
        .action = TC_ACT_STOLEN, .eaction = TCA_EGRESS_REDIR, .ifindex = (uint32_t)to};
    nl_msg_put(&m, TCA_MIRRED_PARMS, &parms, sizeof(parms));
    nl_msg_end(&m, act_opts);
    nl_msg_end(&m, act);
    nl_msg_end(&m, acts);
    nl_msg_end(&m, opts);
    char step[96];
    snprintf(step, sizeof(step), "cannot redirect the frames arriving on '%s' to '%s'", from_name,
             to_name);
    return nl_exchange(nl, &m, NULL, NULL, step);
}

/* Deletes interface name; errors are ignored (this undoes a failed plumbing). */
static void link_delete(struct nl *nl, const char *name)
{
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    struct nl_msg m;
    nl_msg_init(&m, RTM_DELLINK, NLM_F_ACK, &ifi, sizeof(ifi));
    nl_msg_put_str(&m, IFLA_IFNAME, name);
    (void)nl_exchange(nl, &m, NULL, NULL, "delete");
}

int oci_net_enter(const char *netns_path)
{
    int fd = open(netns_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return err_set("cannot open the network namespace '%s': %s", netns_path, strerror(errno));
    }
    int rc = setns(fd, CLONE_NEWNET);
    int e = errno;
    close(fd);
    if (rc != 0 && e == EINVAL) {
        return err_set("'%s' is not a network namespace", netns_path);
    }
    if (rc != 0) {
        return err_set("cannot enter the network namespace '%s': %s", netns_path, strerror(e));
    }
    return 0;
}

int oci_net_plumb(const char *tap_name, struct oci_net *out)
{
    memset(out, 0, sizeof(*out));
    if (!ifname_ok(tap_name)) {
        return err_set("'%s' is not a network interface name (1 to 15 bytes, no '/', ':' or "
                       "spaces)",
                       tap_name != NULL ? tap_name : "");
    }
    struct nl nl;
    if (nl_open(&nl) != 0) {
        return -1;
    }
    static_assert(sizeof(out->ifname) == IFNAMSIZ && sizeof(out->tap) == IFNAMSIZ, "IFNAMSIZ");
    struct scan s;
    const struct link *eth = NULL;
    int tap = -1;
    bool tap_made = false, eth_qdisc = false, none = false;
    if (scan_netns(&nl, &s) != 0 || (eth = scan_pick(&s, &none)) == NULL) {
        if (none) { /* a namespace without a network (podman --network none): nothing to do */
            close(nl.fd);
            memset(out, 0, sizeof(*out));
            return 1;
        }
        goto fail;
    }
    /* Everything up to the last two steps touches the TAP only: a failure leaves eth0 as it was. */
    if (tap_create(tap_name, out->tap) != 0) {
        goto fail;
    }
    tap_made = true;
    if ((tap = link_index(&nl, out->tap)) < 0 || tap_no_ipv6(out->tap) != 0 ||
        link_up(&nl, tap, out->tap, eth->mtu) != 0 || tc_ingress(&nl, true, tap, out->tap) != 0 ||
        tc_redirect(&nl, tap, out->tap, eth->index, eth->name) != 0) {
        goto fail;
    }
    if (tc_ingress(&nl, true, eth->index, eth->name) != 0) {
        goto fail;
    }
    eth_qdisc = true;
    if (tc_redirect(&nl, eth->index, eth->name, tap, out->tap) != 0) {
        goto fail;
    }
    close(nl.fd);
    memcpy(out->ifname, eth->name, sizeof(out->ifname));
    memcpy(out->mac, eth->mac, sizeof(out->mac));
    out->mtu = eth->mtu;
    out->ip = eth->ip;
    out->mask = eth->prefix == 0 ? 0 : UINT32_MAX << (32 - eth->prefix);
    out->gw = s.has_route && s.route_oif == eth->index ? s.route_gw : 0;
    return 0;

fail:;
    /* Undone in reverse, keeping the first error's message. */
    char why[512];
    snprintf(why, sizeof(why), "%s", err_msg());
    if (eth_qdisc) {
        (void)tc_ingress(&nl, false, eth->index, eth->name); /* and its filter */
    }
    if (tap_made) {
        link_delete(&nl, out->tap); /* and its qdisc and filter */
    }
    close(nl.fd);
    memset(out, 0, sizeof(*out));
    return err_set("%s", why);
}

int oci_net_unplumb(const char *tap_name)
{
    if (!ifname_ok(tap_name)) {
        return err_set("'%s' is not a network interface name", tap_name);
    }
    struct nl nl;
    if (nl_open(&nl) != 0) {
        return -1;
    }
    if (link_index(&nl, tap_name) < 0) { /* never made, or gone: nothing to undo */
        close(nl.fd);
        return 0;
    }
    /* The interface's ingress qdisc (and the redirect filter under it) first, then the TAP. */
    struct scan sc;
    bool none;
    const struct link *eth = NULL;
    int rc = 0;
    if (scan_netns(&nl, &sc) == 0 && (eth = scan_pick(&sc, &none)) != NULL &&
        tc_ingress(&nl, false, eth->index, eth->name) != 0 && errno != ENOENT) {
        rc = -1;
    }
    link_delete(&nl, tap_name);
    if (link_index(&nl, tap_name) >= 0) {
        rc = err_set("cannot remove the TAP '%s'", tap_name);
    }
    close(nl.fd);
    return rc;
}

/* Writes "key=a.b.c.d" for addr (host byte order) into buf. */
static void ip_str(char *buf, size_t len, const char *key, uint32_t addr)
{
    snprintf(buf, len, "%s=%u.%u.%u.%u", key, (unsigned)(addr >> 24), (unsigned)(addr >> 16 & 255),
             (unsigned)(addr >> 8 & 255), (unsigned)(addr & 255));
}

void oci_net_args(const struct oci_net *n, struct oci_net_args *a)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->net, sizeof(a->net), "tap:%.15s", n->tap);
    snprintf(a->mac, sizeof(a->mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
             n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
    ip_str(a->ip, sizeof(a->ip), "HERMIT_IP", n->ip);
    ip_str(a->mask, sizeof(a->mask), "HERMIT_MASK", n->mask);
    if (n->gw != 0) {
        ip_str(a->gateway, sizeof(a->gateway), "HERMIT_GATEWAY", n->gw);
    }
}
