/*
 * slirp.c: user-mode networking (--net user) through libslirp. A thread of its own owns the Slirp
 * instance (libslirp is not thread-safe) and talks to the device over a SOCK_SEQPACKET socketpair,
 * one frame with its virtio-net header per message, so the device sees what a TAP gives it. The
 * guest network is 10.0.5.0/24, Hermit's defaults (docs/decisions.md: User-mode networking).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "dev/virtio_abi.h"
#include "err.h"
#include "host.h"
#include "le.h"
#include "log.h"
#include "net/netif.h"
#include "net/slirp_lib.h"

/* The guest network, host byte order. */
#define NET_ADDR 0x0A000500u  /* 10.0.5.0/24 */
#define NET_MASK 0xFFFFFF00u  /* 255.255.255.0 */
#define NET_HOST 0x0A000501u  /* 10.0.5.1: the gateway, i.e. the host as the guest sees it */
#define NET_DNS 0x0A000502u   /* 10.0.5.2: slirp answers DNS here with the host's resolver */
#define NET_GUEST 0x0A000503u /* 10.0.5.3: Hermit's default address, and DHCP's first lease */
#define LOOPBACK 0x7F000001u  /* a hostfwd rule without HOSTADDR listens here only */
#define SOCK_BUF (2 << 20)    /* socket buffers: a burst of frames fits (capped by wmem_max) */
#define FRAME_MAX 65535       /* an Ethernet frame without the virtio header */
#define READ_BUDGET 64        /* guest frames handled per loop turn before slirp's sockets */
#define SLIRP_CFG_VERSION 4   /* libslirp 4.7 (Debian 12) knows versions 1-4 */

static const uint8_t default_mac[6] = {0x02, 0xc7, 0x79, 0x76, 0x65, 0x01};

/* A timer slirp asked for; expire_ms < 0 = not armed. */
struct user_timer {
    SlirpTimerCb cb;
    void *cb_opaque;
    int64_t expire_ms;
    struct user_timer *next;
};

struct user_link {
    pthread_t thread;
    bool started;
    int sock;    /* the thread's end of the socketpair; n->fd is the device's */
    bool orphan; /* the device's end is closed: stop polling ours (it would stay readable) */
    int stop[2]; /* pipe: a byte (or the write end closing) stops the thread */
    struct net_spec spec;

    /* Set-up result: the thread reports once, then only the thread touches what follows. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int setup; /* 0 = pending, 1 = running, -1 = failed (setup_err) */
    char setup_err[256];

    Slirp *slirp;
    struct user_timer *timers;
    struct pollfd *pfd;
    unsigned npfd, cap_pfd;
    uint64_t drop_to_guest, drop_from_guest; /* frames lost on a full socket / malformed */
    uint8_t buf[NETIF_VNET_HDR_LEN + FRAME_MAX + 1];
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct in_addr in4(uint32_t host_order)
{
    struct in_addr a = {.s_addr = htonl(host_order)};
    return a;
}

/* --- callbacks from slirp, all on the thread --- */

/* One frame to the guest: a zero header (complete checksums, no GSO), then the frame. */
static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct user_link *u = opaque;
    uint8_t hdr[NETIF_VNET_HDR_LEN] = {0};
    struct iovec iov[2] = {
        {.iov_base = hdr, .iov_len = sizeof(hdr)},
        {.iov_base = (void *)(uintptr_t)buf, .iov_len = len}, /* sendmsg only reads it */
    };
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    if (sendmsg(u->sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        /* Like a congested wire: the frame is lost and TCP retransmits. A negative return would
         * only make libslirp print a critical message per frame. */
        u->drop_to_guest++;
    }
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    (void)opaque;
    log_debug("--net user: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    (void)opaque;
    return now_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    struct user_link *u = opaque;
    struct user_timer *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return NULL;
    }
    t->cb = cb;
    t->cb_opaque = cb_opaque;
    t->expire_ms = -1;
    t->next = u->timers;
    u->timers = t;
    return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct user_link *u = opaque;
    for (struct user_timer **p = &u->timers; *p != NULL; p = &(*p)->next) {
        if (*p == timer) {
            *p = (*p)->next;
            free(timer);
            return;
        }
    }
}

/* expire_time is in milliseconds of cb_clock_get_ns()'s clock. */
static void cb_timer_mod(void *timer, int64_t expire_time, void *opaque)
{
    (void)opaque;
    if (timer != NULL) {
        ((struct user_timer *)timer)->expire_ms = expire_time < 0 ? 0 : expire_time;
    }
}

/* The poll set is rebuilt from slirp_pollfds_fill() on every turn: nothing to keep here. */
static void cb_register_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}

/* Called from slirp on this very thread; the loop polls again right after, so no wake-up. */
static void cb_notify(void *opaque)
{
    (void)opaque;
}

static const SlirpCb callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
};

static int cb_add_poll(int fd, int events, void *opaque)
{
    struct user_link *u = opaque;
    if (u->npfd == u->cap_pfd) {
        unsigned cap = u->cap_pfd ? u->cap_pfd * 2 : 16;
        struct pollfd *p = realloc(u->pfd, cap * sizeof(*p));
        if (p == NULL) {
            return -1; /* slirp skips a socket without an index this turn */
        }
        u->pfd = p;
        u->cap_pfd = cap;
    }
    short ev = 0;
    ev |= (events & SLIRP_POLL_IN) ? POLLIN : 0;
    ev |= (events & SLIRP_POLL_OUT) ? POLLOUT : 0;
    ev |= (events & SLIRP_POLL_PRI) ? POLLPRI : 0;
    u->pfd[u->npfd] = (struct pollfd){.fd = fd, .events = ev};
    return (int)u->npfd++;
}

static int cb_get_revents(int idx, void *opaque)
{
    struct user_link *u = opaque;
    if (idx < 0 || (unsigned)idx >= u->npfd) {
        return 0;
    }
    short re = u->pfd[idx].revents;
    return ((re & POLLIN) ? SLIRP_POLL_IN : 0) | ((re & POLLOUT) ? SLIRP_POLL_OUT : 0) |
           ((re & POLLPRI) ? SLIRP_POLL_PRI : 0) | ((re & POLLERR) ? SLIRP_POLL_ERR : 0) |
           ((re & POLLHUP) ? SLIRP_POLL_HUP : 0);
}

/* --- frames from the guest --- */

/* The Internet checksum (RFC 1071) of p[0, len), folded, not yet complemented. */
static uint16_t inet_sum(const uint8_t *p, size_t len)
{
    uint64_t sum = 0;
    for (; len >= 2; p += 2, len -= 2) {
        sum += (uint32_t)(p[0] << 8 | p[1]);
    }
    if (len) {
        sum += (uint32_t)p[0] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return (uint16_t)sum;
}

/*
 * Completes a partial checksum (virtio 1.2 §5.1.6.2): the field at start + offset holds the
 * pseudo-header sum; the sum over [start, len) replaces it. Returns 0, or -1 when the header
 * points outside the frame.
 */
static int complete_csum(uint8_t *frame, size_t len, uint16_t start, uint16_t offset)
{
    size_t field = (size_t)start + offset;
    if (field + 2 > len) {
        return -1;
    }
    uint16_t c = (uint16_t)~inet_sum(frame + start, len - start);
    if (c == 0) {
        c = 0xFFFF; /* the same sum in one's complement, and UDP's "0 = none" is avoided */
    }
    frame[field] = (uint8_t)(c >> 8);
    frame[field + 1] = (uint8_t)c;
    return 0;
}

/* Hands one message from the device (header + frame) to slirp, or drops it. */
static void from_guest(struct user_link *u, uint8_t *msg, size_t len)
{
    if (len <= NETIF_VNET_HDR_LEN || msg[VIRTIO_NET_HDR_GSO_TYPE] != 0) {
        u->drop_from_guest++; /* a runt, or segmentation slirp cannot do (never offered) */
        return;
    }
    uint8_t *frame = msg + NETIF_VNET_HDR_LEN;
    size_t flen = len - NETIF_VNET_HDR_LEN;
    if ((msg[VIRTIO_NET_HDR_FLAGS] & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
        complete_csum(frame, flen, le16_get(msg + VIRTIO_NET_HDR_CSUM_START),
                      le16_get(msg + VIRTIO_NET_HDR_CSUM_OFFSET)) != 0) {
        u->drop_from_guest++;
        return;
    }
    SLIRP(input)(u->slirp, frame, (int)flen);
}

/* Reads what the device sent, up to READ_BUDGET frames. */
static void read_guest(struct user_link *u)
{
    for (int i = 0; i < READ_BUDGET; i++) {
        struct iovec iov = {.iov_base = u->buf, .iov_len = sizeof(u->buf)};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t r = recvmsg(u->sock, &m, MSG_DONTWAIT);
        if (r == 0) {
            u->orphan = true;
            return;
        }
        if (r < 0) {
            return; /* EAGAIN: all read */
        }
        if (m.msg_flags & MSG_TRUNC) {
            u->drop_from_guest++;
            continue;
        }
        from_guest(u, u->buf, (size_t)r);
    }
}

/* --- the thread --- */

/* Runs due timers; returns the milliseconds until the next one (UINT32_MAX: none). */
static uint32_t run_timers(struct user_link *u)
{
    uint32_t wait = UINT32_MAX;
    bool again = true;
    while (again) {
        again = false;
        int64_t now = now_ns() / 1000000;
        for (struct user_timer *t = u->timers; t != NULL; t = t->next) {
            if (t->expire_ms < 0) {
                continue;
            }
            if (t->expire_ms <= now) {
                t->expire_ms = -1;
                t->cb(t->cb_opaque); /* may re-arm, add or free timers: start over */
                again = true;
                wait = UINT32_MAX;
                break;
            }
            int64_t d = t->expire_ms - now;
            if (d < (int64_t)wait) {
                wait = (uint32_t)d;
            }
        }
    }
    return wait;
}

static void report(struct user_link *u, int setup)
{
    pthread_mutex_lock(&u->lock);
    u->setup = setup;
    pthread_cond_signal(&u->cond);
    pthread_mutex_unlock(&u->lock);
}

/* Creates the Slirp instance and its port forwards; returns 0 or -1 with u->setup_err. */
static int slirp_setup(struct user_link *u)
{
    SlirpConfig cfg = {
        .version = SLIRP_CFG_VERSION,
        .restricted = u->spec.restrict_host, /* on: no connection leaves but the forwards */
        .in_enabled = true,
        .vnetwork = in4(NET_ADDR),
        .vnetmask = in4(NET_MASK),
        .vhost = in4(NET_HOST),
        .in6_enabled = false,
        .vhostname = "chyve",
        .vdhcp_start = in4(NET_GUEST),
        .vnameserver = in4(NET_DNS),
        .if_mtu = NETIF_MTU_DEFAULT,
        .if_mru = NETIF_MTU_DEFAULT,
    };
    u->slirp = SLIRP(new)(&cfg, &callbacks, u);
    if (u->slirp == NULL) {
        snprintf(u->setup_err, sizeof(u->setup_err), "--net user: libslirp refused the set-up");
        return -1;
    }
    for (unsigned i = 0; i < u->spec.nhostfwd; i++) {
        const struct net_hostfwd *f = &u->spec.hostfwd[i];
        errno = 0;
        if (SLIRP(add_hostfwd)(u->slirp, f->udp, in4(f->host_addr ? f->host_addr : LOOPBACK),
                               f->host_port, in4(f->guest_addr ? f->guest_addr : NET_GUEST),
                               f->guest_port) != 0) {
            snprintf(u->setup_err, sizeof(u->setup_err),
                     "--net user: cannot forward %s port %u: %s", f->udp ? "udp" : "tcp",
                     (unsigned)f->host_port, errno ? strerror(errno) : "refused by libslirp");
            return -1;
        }
    }
    return 0;
}

static void *user_main(void *arg)
{
    struct user_link *u = arg;
    /* Confined after libslirp's set-up (its forwarded ports are listening) and before a frame. */
    bool failed = slirp_setup(u) != 0;
    if (!failed && host_confine_thread(HOST_THREAD_SLIRP) != 0) {
        snprintf(u->setup_err, sizeof(u->setup_err), "--net user: %s", err_msg());
        failed = true;
    }
    if (failed) {
        if (u->slirp != NULL) {
            SLIRP(cleanup)(u->slirp);
            u->slirp = NULL;
        }
        report(u, -1);
        return NULL;
    }
    report(u, 1);
    for (;;) {
        uint32_t timeout = run_timers(u);
        u->npfd = 0;
        cb_add_poll(u->stop[0], SLIRP_POLL_IN, u);
        cb_add_poll(u->orphan ? -1 : u->sock, SLIRP_POLL_IN, u);
        if (u->npfd != 2) {
            log_error("--net user: out of memory; the network stops");
            break;
        }
        SLIRP(pollfds_fill)(u->slirp, &timeout, cb_add_poll, u);
        int r = poll(u->pfd, u->npfd, timeout > INT_MAX ? -1 : (int)timeout);
        if (r < 0 && errno != EINTR) {
            log_error("--net user: poll failed: %s; the network stops", strerror(errno));
            break;
        }
        if (r > 0 && (u->pfd[0].revents & (POLLIN | POLLHUP))) {
            break;
        }
        /* Guest frames first: slirp_pollfds_poll() then sends what they released at once (a
         * segment that waited for the guest's ARP reply), not one poll timeout later. */
        if (r > 0 && (u->pfd[1].revents & POLLIN)) {
            read_guest(u);
        }
        SLIRP(pollfds_poll)(u->slirp, r < 0, cb_get_revents, u);
    }
    if (u->drop_to_guest || u->drop_from_guest) {
        log_debug("--net user: dropped %llu frames to the guest, %llu from it",
                  (unsigned long long)u->drop_to_guest, (unsigned long long)u->drop_from_guest);
    }
    SLIRP(cleanup)(u->slirp);
    u->slirp = NULL;
    return NULL;
}

/* --- open and close --- */

static void user_free(struct user_link *u)
{
    if (u->sock >= 0) {
        close(u->sock);
    }
    if (u->stop[0] >= 0) {
        close(u->stop[0]);
    }
    if (u->stop[1] >= 0) {
        close(u->stop[1]);
    }
    while (u->timers != NULL) {
        struct user_timer *t = u->timers;
        u->timers = t->next;
        free(t);
    }
    pthread_cond_destroy(&u->cond);
    pthread_mutex_destroy(&u->lock);
    free(u->pfd);
    free(u);
}

/* Non-blocking and close-on-exec; returns 0 or -1 with errno. */
static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        return -1;
    }
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void set_bufs(int fd)
{
    int size = SOCK_BUF;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

int netif_user_open(const struct net_spec *s, struct netif *n)
{
    if (slirp_lib_load() != 0)
        return -1;
    struct user_link *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        return err_set("--net user: out of memory");
    }
    u->sock = u->stop[0] = u->stop[1] = -1;
    u->spec = *s;
    pthread_mutex_init(&u->lock, NULL);
    pthread_cond_init(&u->cond, NULL);

    /* SEQPACKET keeps one frame per message, as a TAP does. SOCK_CLOEXEC and pipe2() are not
     * POSIX (macOS lacks them) and chyve does not exec: FD_CLOEXEC afterwards does. */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) {
        int e = errno;
        user_free(u);
        return err_set("--net user: cannot create the socket pair: %s", strerror(e));
    }
    u->sock = sv[1];
    if (pipe(u->stop) != 0 || set_flags(sv[0]) != 0 || set_flags(sv[1]) != 0 ||
        set_flags(u->stop[0]) != 0 || set_flags(u->stop[1]) != 0) {
        int e = errno;
        close(sv[0]);
        user_free(u);
        return err_set("--net user: cannot set up the link: %s", strerror(e));
    }
    set_bufs(sv[0]);
    set_bufs(sv[1]);
    n->fd = sv[0];
    n->mtu = NETIF_MTU_DEFAULT;
    n->rx_offload = false; /* slirp hands out complete checksums only */
    memcpy(n->mac, s->has_mac ? s->mac : default_mac, 6);
    n->priv = u;
    return 0;
}

int netif_user_start(struct netif *n)
{
    struct user_link *u = n->priv;
    int rc = pthread_create(&u->thread, NULL, user_main, u);
    if (rc != 0) {
        return err_set("--net user: cannot start the network thread: %s", strerror(rc));
    }
    pthread_mutex_lock(&u->lock);
    while (u->setup == 0) {
        pthread_cond_wait(&u->cond, &u->lock);
    }
    int setup = u->setup;
    pthread_mutex_unlock(&u->lock);
    if (setup < 0) {
        pthread_join(u->thread, NULL);
        return err_set("%s", u->setup_err);
    }
    u->started = true;
    return 0;
}

void netif_user_close(struct netif *n)
{
    struct user_link *u = n->priv;
    if (u == NULL) {
        return;
    }
    if (u->started) {
        char b = 1;
        if (write(u->stop[1], &b, 1) != 1) {
            close(u->stop[1]); /* a closed write end wakes the thread too (POLLHUP) */
            u->stop[1] = -1;
        }
        pthread_join(u->thread, NULL);
    }
    user_free(u);
    n->priv = NULL;
}
