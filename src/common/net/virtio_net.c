/*
 * virtio_net.c: the virtio-net device. TX chains are sent on the kicking vCPU's thread; a receive
 * thread moves frames from the host link into the guest's RX buffers and raises the interrupt.
 * Both hold the transport lock while they touch the rings.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dev/virtio.h"
#include "err.h"
#include "host.h"
#include "le.h"
#include "log.h"
#include "net/virtio_net.h"

#define RXQ 0
#define TXQ 1
#define QUEUE_SIZE 256
#define FRAME_MAX 65535 /* an Ethernet frame with its headers, without the virtio header */
#define SCRATCH (NETIF_VNET_HDR_LEN + FRAME_MAX)

struct virtio_net {
    struct virtio_device dev;
    struct netif *link;
    struct net_stats stats;
    pthread_t rx_thread;
    bool started, stop;
    bool rx_waiting; /* the receive thread waits for RX buffers: wake it on an RX kick */
    bool link_down;  /* the host end hung up (a read returned 0): stop polling it */
    int wake[2];     /* pipe: a byte wakes the receive thread */
    size_t rx_len;   /* a frame read from the link, waiting for an RX buffer (0: none) */
    uint8_t rx_buf[SCRATCH];
    uint8_t tx_hdr[NETIF_VNET_HDR_LEN];
    struct virtq_chain rx_chain, tx_chain; /* lock held */
};

static void wake_rx(struct virtio_net *vn)
{
    char b = 1;
    ssize_t r = write(vn->wake[1], &b, 1); /* a full pipe already wakes it */
    (void)r;
}

/* Copies len bytes from src to the chain's writable segments; returns bytes copied. */
static size_t chain_fill(struct virtq_chain *c, const uint8_t *src, size_t len)
{
    size_t done = 0;
    for (unsigned i = c->nread; i < c->nread + c->nwrite && done < len; i++) {
        size_t n = c->iov[i].iov_len < len - done ? c->iov[i].iov_len : len - done;
        memcpy(c->iov[i].iov_base, src + done, n);
        done += n;
    }
    return done;
}

/* Copies up to len bytes from the chain's readable segments, starting at byte off. */
static size_t chain_peek(const struct virtq_chain *c, size_t off, uint8_t *dst, size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < c->nread && done < len; i++) {
        size_t seg = c->iov[i].iov_len;
        if (off >= seg) {
            off -= seg;
            continue;
        }
        size_t n = seg - off < len - done ? seg - off : len - done;
        memcpy(dst + done, (const uint8_t *)c->iov[i].iov_base + off, n);
        done += n;
        off = 0;
    }
    return done;
}

/* Sends one TX chain: our own checked copy of the header, then the frame as the guest laid it. */
static void tx_one(struct virtio_net *vn, struct virtq_chain *c)
{
    struct virtio_device *d = &vn->dev;
    uint64_t frame_len =
        c->read_bytes - (c->read_bytes >= NETIF_VNET_HDR_LEN ? NETIF_VNET_HDR_LEN : 0);
    if (c->read_bytes < NETIF_VNET_HDR_LEN + 14 || frame_len > FRAME_MAX) {
        vn->stats.tx_drop_bad++;
        return;
    }
    uint8_t *h = vn->tx_hdr;
    chain_peek(c, 0, h, NETIF_VNET_HDR_LEN);
    uint8_t flags = h[VIRTIO_NET_HDR_FLAGS];
    uint16_t start = le16_get(h + VIRTIO_NET_HDR_CSUM_START),
             offset = le16_get(h + VIRTIO_NET_HDR_CSUM_OFFSET);
    memset(h, 0, NETIF_VNET_HDR_LEN); /* no GSO: only a checked partial checksum passes */
    if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
        (d->driver_features & (1ull << VIRTIO_NET_F_CSUM))) {
        if ((uint64_t)start + offset + 2 > frame_len) {
            vn->stats.tx_drop_bad++;
            return;
        }
        h[VIRTIO_NET_HDR_FLAGS] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        le16_put(h + VIRTIO_NET_HDR_CSUM_START, start);
        le16_put(h + VIRTIO_NET_HDR_CSUM_OFFSET, offset);
    }
    /* iov[0] = our header; then the readable segments minus the guest's 12 header bytes. */
    struct iovec out[VIRTQ_MAX_SIZE + 1];
    int n = 0;
    out[n].iov_base = h;
    out[n++].iov_len = NETIF_VNET_HDR_LEN;
    size_t skip = NETIF_VNET_HDR_LEN;
    for (unsigned i = 0; i < c->nread; i++) {
        size_t seg = c->iov[i].iov_len;
        if (skip >= seg) {
            skip -= seg;
            continue;
        }
        out[n].iov_base = (uint8_t *)c->iov[i].iov_base + skip;
        out[n++].iov_len = seg - skip;
        skip = 0;
    }
    ssize_t w = writev(vn->link->fd, out, n);
    if (w < 0) {
        vn->stats.tx_drop_host++;
        return;
    }
    vn->stats.tx_packets++;
    vn->stats.tx_bytes += frame_len;
}

static void tx_process(struct virtio_net *vn)
{
    struct virtio_device *d = &vn->dev;
    struct virtq *q = &d->q[TXQ];
    bool used = false;
    for (unsigned budget = 0; budget < 4 * QUEUE_SIZE; budget++) {
        int r = virtq_pop(d, q, &vn->tx_chain);
        if (r <= 0) {
            break;
        }
        tx_one(vn, &vn->tx_chain);
        if (virtq_push(d, q, vn->tx_chain.head, 0) != 0) {
            return;
        }
        used = true;
    }
    if (used && virtq_wants_interrupt(d, q)) {
        virtio_interrupt(d);
    }
}

static void on_notify(struct virtio_device *d, unsigned queue)
{
    struct virtio_net *vn = d->ctx;
    if (queue == TXQ) {
        tx_process(vn);
    } else if (queue == RXQ && vn->rx_waiting) {
        vn->rx_waiting = false;
        wake_rx(vn);
    }
}

static void on_ready(struct virtio_device *d)
{
    struct virtio_net *vn = d->ctx;
    if (vn->link->rx_offload) {
        netif_set_offload(vn->link, (d->driver_features & (1ull << VIRTIO_NET_F_GUEST_CSUM)) != 0);
    }
    vn->rx_waiting = false;
    wake_rx(vn);
}

static void on_reset(struct virtio_device *d)
{
    struct virtio_net *vn = d->ctx;
    vn->rx_waiting = false;
    vn->rx_len = 0;
}

static const struct virtio_ops net_ops = {
    .notify = on_notify,
    .reset = on_reset,
    .ready = on_ready,
};

/*
 * Moves frames from the link into RX buffers until the link is empty or the guest has no buffer
 * left (then rx_waiting is set and the frame read waits in rx_buf). Lock held. Returns true if
 * the guest should be interrupted.
 */
static bool rx_process(struct virtio_net *vn)
{
    struct virtio_device *d = &vn->dev;
    struct virtq *q = &d->q[RXQ];
    struct virtq_chain *c = &vn->rx_chain;
    bool used = false;
    for (unsigned budget = 0; budget < QUEUE_SIZE; budget++) {
        if (vn->rx_len == 0) {
            if (vn->link_down) {
                break;
            }
            ssize_t r = read(vn->link->fd, vn->rx_buf, sizeof(vn->rx_buf));
            if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                /* A link that fails (TAP deleted: EIO/EBADFD) would wake poll() forever. */
                log_warn("virtio-net: reading the host link failed: %s; receive stopped",
                         strerror(errno));
                vn->link_down = true;
                break;
            }
            if (r < 0) {
                break;
            }
            if (r == 0) { /* end of file: every further read returns 0 at once */
                log_warn("virtio-net: the host end of the link closed; receive stopped");
                vn->link_down = true;
                break;
            }
            if ((size_t)r <= NETIF_VNET_HDR_LEN || !virtio_running(d) || !q->enabled) {
                vn->stats.rx_drop_not_ready++; /* nobody to deliver to, or a runt */
                continue;
            }
            vn->rx_len = (size_t)r;
        }
        int p = virtq_pop(d, q, c);
        if (p <= 0) {
            vn->rx_waiting = p == 0;
            if (p < 0) {
                vn->rx_len = 0;
            }
            break;
        }
        size_t len = vn->rx_len;
        vn->rx_len = 0;
        if (len > c->write_bytes) {
            vn->stats.rx_drop_no_buffer++;
            if (virtq_push(d, q, c->head, 0) != 0) {
                break;
            }
            used = true;
            continue;
        }
        le16_put(vn->rx_buf + VIRTIO_NET_HDR_NUM_BUFFERS, 1);
        if (!(d->driver_features & (1ull << VIRTIO_NET_F_GUEST_CSUM))) {
            vn->rx_buf[VIRTIO_NET_HDR_FLAGS] =
                0; /* the link only has partial sums with the offload on */
        }
        chain_fill(c, vn->rx_buf, len);
        if (virtq_push(d, q, c->head, (uint32_t)len) != 0) {
            break;
        }
        vn->stats.rx_packets++;
        vn->stats.rx_bytes += len - NETIF_VNET_HDR_LEN;
        used = true;
    }
    return used && virtq_wants_interrupt(d, q);
}

static void *rx_main(void *arg)
{
    struct virtio_net *vn = arg;
    struct virtio_device *d = &vn->dev;
    if (host_confine_thread(HOST_THREAD_NET) != 0) {
        log_error("virtio-net: %s; receive stopped", err_msg());
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&d->lock);
        bool stop = vn->stop;
        bool want_link = !vn->rx_waiting && !vn->link_down;
        pthread_mutex_unlock(&d->lock);
        if (stop) {
            return NULL;
        }
        struct pollfd p[2] = {
            {.fd = vn->wake[0], .events = POLLIN},
            {.fd = want_link ? vn->link->fd : -1, .events = POLLIN},
        };
        if (poll(p, 2, -1) < 0 && errno != EINTR) {
            log_warn("virtio-net: poll failed: %s; receive stopped", strerror(errno));
            return NULL;
        }
        if (p[0].revents & POLLIN) {
            char drain[64];
            while (read(vn->wake[0], drain, sizeof(drain)) > 0) {
            }
        }
        pthread_mutex_lock(&d->lock);
        if (rx_process(vn)) {
            virtio_interrupt(d);
        }
        pthread_mutex_unlock(&d->lock);
    }
}

int virtio_net_create(const struct guest_mem *m, struct netif *n, uint8_t int_line,
                      struct virtio_net **out)
{
    struct virtio_net *vn = calloc(1, sizeof(*vn));
    if (vn == NULL) {
        return err_set("out of memory creating the network device");
    }
    uint8_t cfg[12] = {0};
    memcpy(cfg + VIRTIO_NET_CFG_MAC, n->mac, 6);
    le16_put(cfg + VIRTIO_NET_CFG_STATUS, VIRTIO_NET_S_LINK_UP);
    le16_put(cfg + VIRTIO_NET_CFG_PAIRS, 1);
    le16_put(cfg + VIRTIO_NET_CFG_MTU, n->mtu);
    uint64_t features = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS) |
                        (1ull << VIRTIO_NET_F_MTU) | (1ull << VIRTIO_NET_F_CSUM);
    if (n->rx_offload) {
        features |= 1ull << VIRTIO_NET_F_GUEST_CSUM;
    }
    struct virtio_params p = {
        .device_id = VIRTIO_ID_NET,
        .class_code = 0x02, /* network controller */
        .subclass = 0x00,   /* Ethernet */
        .int_line = int_line,
        .features = features,
        .nqueues = 2,
        .queue_max = QUEUE_SIZE,
        .devcfg = cfg,
        .devcfg_len = sizeof(cfg),
    };
    if (virtio_device_init(&vn->dev, m, &p, &net_ops, vn) != 0) {
        free(vn);
        return -1;
    }
    if (pipe(vn->wake) != 0) {
        int e = errno;
        virtio_device_fini(&vn->dev);
        free(vn);
        return err_set("cannot create the network device's wake-up pipe: %s", strerror(e));
    }
    for (int i = 0; i < 2; i++) {
        fcntl(vn->wake[i], F_SETFL, fcntl(vn->wake[i], F_GETFL) | O_NONBLOCK);
        fcntl(vn->wake[i], F_SETFD, FD_CLOEXEC);
    }
    vn->link = n;
    *out = vn;
    return 0;
}

struct virtio_device *virtio_net_device(struct virtio_net *vn)
{
    return &vn->dev;
}

int virtio_net_start(struct virtio_net *vn, void (*irq)(void *ctx, bool level), void *ctx)
{
    pthread_mutex_lock(&vn->dev.lock);
    vn->dev.irq = irq;
    vn->dev.irq_ctx = ctx;
    pthread_mutex_unlock(&vn->dev.lock);
    int e = pthread_create(&vn->rx_thread, NULL, rx_main, vn);
    if (e != 0) {
        return err_set("cannot start the network receive thread: %s", strerror(e));
    }
    vn->started = true;
    return 0;
}

void virtio_net_destroy(struct virtio_net *vn)
{
    if (vn == NULL) {
        return;
    }
    if (vn->started) {
        pthread_mutex_lock(&vn->dev.lock);
        vn->stop = true;
        pthread_mutex_unlock(&vn->dev.lock);
        wake_rx(vn);
        pthread_join(vn->rx_thread, NULL);
    }
    close(vn->wake[0]);
    close(vn->wake[1]);
    virtio_device_fini(&vn->dev);
    free(vn);
}

void virtio_net_stats(struct virtio_net *vn, struct net_stats *out)
{
    pthread_mutex_lock(&vn->dev.lock);
    *out = vn->stats;
    pthread_mutex_unlock(&vn->dev.lock);
}
