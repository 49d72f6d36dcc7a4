/* netif.c: opens the host link a --net value names and closes it again. */
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "net/netif.h"

int netif_open(const struct net_spec *s, struct netif *n)
{
    memset(n, 0, sizeof(*n));
    n->fd = -1;
    n->kind = s->kind;
    switch (s->kind) {
    case NET_TAP:
        return netif_tap_open(s, n);
    case NET_USER:
        return netif_user_open(s, n);
    case NET_NONE:
        break;
    }
    return err_set("no network was asked for");
}

int netif_start(struct netif *n)
{
    return n->kind == NET_USER ? netif_user_start(n) : 0;
}

int netif_set_offload(struct netif *n, bool csum)
{
    return n->kind == NET_TAP ? netif_tap_offload(n, csum) : 0;
}

void netif_close(struct netif *n)
{
    if (n->kind == NET_USER) {
        netif_user_close(n);
    }
    if (n->fd >= 0) {
        close(n->fd);
    }
    n->fd = -1;
    n->kind = NET_NONE;
}
