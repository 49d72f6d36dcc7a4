/* slirp_none.c: user-mode networking in a build without libslirp. */
#include "err.h"
#include "net/netif.h"

int netif_user_open(const struct net_spec *s, struct netif *n)
{
    (void)s;
    (void)n;
    return err_set("--net user: this chyve was built without libslirp (install libslirp-dev "
                   "and rebuild)");
}

int netif_user_start(struct netif *n)
{
    (void)n;
    return err_set("--net user: this chyve was built without libslirp");
}

void netif_user_close(struct netif *n)
{
    (void)n;
}
