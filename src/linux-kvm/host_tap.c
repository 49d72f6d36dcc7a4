/*
 * host_tap.c: the TAP backend of the guest's network link (Linux). An existing TAP device is
 * opened with a 12-byte virtio-net header on every frame (IFF_VNET_HDR), as uhyve does; the guest
 * gets the device's MAC unless --mac names another, and the device's MTU.
 */
#include <errno.h>
#include <net/if.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "net/netif.h"

/* Reads MAC and MTU of interface `name` through a throwaway socket. */
static int read_link(const char *name, struct netif *n, bool want_mac)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        return err_set("--net tap:%s: cannot query the interface: %s", name, strerror(errno));
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    int rc = 0;
    if (ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu >= 68) {
        n->mtu = (uint16_t)(ifr.ifr_mtu > NETIF_MTU_MAX ? NETIF_MTU_MAX : ifr.ifr_mtu);
    } else {
        n->mtu = NETIF_MTU_DEFAULT;
    }
    if (want_mac) {
        if (ioctl(s, SIOCGIFHWADDR, &ifr) != 0) {
            rc = err_set("--net tap:%s: cannot read its MAC address: %s", name, strerror(errno));
        } else {
            memcpy(n->mac, ifr.ifr_hwaddr.sa_data, 6);
        }
    }
    close(s);
    return rc;
}

int netif_tap_open(const struct net_spec *s, struct netif *n)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && (errno == EACCES || errno == EPERM)) {
        return err_set("--net tap:%s: no permission to open /dev/net/tun", s->tap);
    }
    if (fd < 0) {
        return err_set("--net tap:%s: cannot open /dev/net/tun: %s", s->tap, strerror(errno));
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", s->tap);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    /* The TAP must exist (as uhyve expects): without TUNSETIFF's create rights we cannot tell
     * "missing" from "no permission" by the call alone, so look first: by index in this network
     * namespace (sysfs shows the namespace of whoever mounted it, not always chyve's). */
    if (if_nametoindex(s->tap) == 0) {
        close(fd);
        return err_set("--net tap:%s: no such network interface (create it with "
                       "'ip tuntap add dev %s mode tap user $USER')",
                       s->tap, s->tap);
    }
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        int e = errno;
        close(fd);
        if (e == EBUSY) {
            return err_set("--net tap:%s: the TAP device is already in use", s->tap);
        }
        if (e == EPERM || e == EACCES) {
            return err_set("--net tap:%s: no permission to attach to the TAP device (it belongs to "
                           "another user; create it with 'user $USER')",
                           s->tap);
        }
        if (e == EINVAL) {
            return err_set("--net tap:%s: not a TAP device", s->tap);
        }
        return err_set("--net tap:%s: cannot attach: %s", s->tap, strerror(e));
    }
    int hdr = NETIF_VNET_HDR_LEN;
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) != 0) {
        int e = errno;
        close(fd);
        return err_set("--net tap:%s: cannot set the virtio header size: %s", s->tap, strerror(e));
    }
    n->fd = fd;
    n->rx_offload = ioctl(fd, TUNSETOFFLOAD, 0) == 0;
    if (s->has_mac) {
        memcpy(n->mac, s->mac, 6);
    }
    if (read_link(s->tap, n, !s->has_mac) != 0) {
        close(fd);
        n->fd = -1;
        return -1;
    }
    return 0;
}

int netif_tap_offload(struct netif *n, bool csum)
{
    return ioctl(n->fd, TUNSETOFFLOAD, csum ? TUN_F_CSUM : 0) == 0 ? 0 : -1;
}
