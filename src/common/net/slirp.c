/* slirp.c: user-mode networking through libslirp (written by the slirp helper; placeholder). */
#include "err.h"
#include "net/netif.h"

int netif_user_open(const struct net_spec *s, struct netif *n)
{
    (void)s;
    (void)n;
    return err_set("--net user: not implemented yet");
}

void netif_user_close(struct netif *n)
{
    (void)n;
}
