/*
 * tap_harness.c: runs the guest's netstack.c as a Linux process on a TAP device, so that the
 * real Linux network stack can be its peer. Frames read from the TAP go to netstack_input, the
 * stack's tx writes to the TAP; --offload adds virtio-net headers (IFF_VNET_HDR, TUN_F_CSUM) so
 * partial checksums travel both ways as they will through chyve's virtio-net device.
 * Prints "ready" once attached, the ping result, the stack's counters at the end, and exits with
 * the code of an "exit N" datagram (or 3 after --timeout seconds).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "netstack.h"

struct harness {
    int fd;
    bool vnet;
    unsigned long tx_eagain, tx_err;
    unsigned long tx_partial, tx_partial_wrong, rx_flagged;
    unsigned loss;                  /* per mille of frames lost each way (--loss) */
    unsigned long lost_rx, lost_tx; /* frames the harness dropped on purpose */
    uint64_t rng;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool trace; /* --trace: one line per TCP segment each way */

/* Prints a TCP segment's header fields (relative to nothing: raw numbers) for --trace. */
static void trace_frame(const char *dir, const uint8_t *f, size_t len, const char *note)
{
    if (!trace || len < 54 || f[12] != 8 || f[13] != 0 || f[23] != 6)
        return;
    const uint8_t *t = f + 14 + (f[14] & 15) * 4;
    if ((size_t)(t - f) + 20 > len)
        return;
    unsigned hl = (t[12] >> 4) * 4, tot = (unsigned)(f[16] << 8 | f[17]);
    unsigned dl = tot - (unsigned)(t - f - 14) - hl;
    static uint64_t t0;
    if (!t0)
        t0 = now_ms();
    printf("%6llu %s %u>%u %c%c%c%c%c seq %u ack %u len %u win %u%s\n",
           (unsigned long long)(now_ms() - t0), dir, t[0] << 8 | t[1], t[2] << 8 | t[3],
           t[13] & 2 ? 'S' : '.', t[13] & 1 ? 'F' : '.', t[13] & 4 ? 'R' : '.',
           t[13] & 8 ? 'P' : '.', t[13] & 16 ? 'A' : '.',
           (unsigned)(t[4] << 24 | t[5] << 16 | t[6] << 8 | t[7]),
           (unsigned)(t[8] << 24 | t[9] << 16 | t[10] << 8 | t[11]), dl, t[14] << 8 | t[15], note);
}

/* xorshift64: decides which frames --loss drops. */
static bool lose(struct harness *h)
{
    if (!h->loss)
        return false;
    h->rng ^= h->rng << 13;
    h->rng ^= h->rng >> 7;
    h->rng ^= h->rng << 17;
    return h->rng % 1000 < h->loss;
}

/* The Internet checksum of n bytes at p added to sum (host-side reference, byte by byte). */
static uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sum += i & 1 ? p[i] : (uint32_t)p[i] << 8;
    return sum;
}

static uint16_t ref_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/*
 * Checks a frame sent with a partial checksum the way a device would finish it: sum
 * [csum_start, end) including the seeded field, store the complement, then verify the TCP/UDP
 * checksum from scratch with the pseudo-header taken from the IPv4 header. Linux trusts
 * NEEDS_CSUM frames on local delivery, so without this a wrong seed would go unnoticed.
 */
static bool partial_ok(const uint8_t *f, size_t len, uint16_t start, uint16_t off)
{
    static uint8_t c[65536];
    if (len < 14 + 20 || len > sizeof(c) || start != 14 + (f[14] & 15) * 4 ||
        (size_t)start + off + 2 > len ||
        (f[23] == 6    ? off != 16
         : f[23] == 17 ? off != 6
                       : 1))
        return false;
    memcpy(c, f, len);
    uint16_t cs = (uint16_t)~ref_fold(ref_sum(0, c + start, len - start));
    c[start + off] = (uint8_t)(cs >> 8);
    c[start + off + 1] = (uint8_t)cs;
    uint8_t ph[12] = {0};
    memcpy(ph, c + 26, 8);
    ph[9] = c[23];
    ph[10] = (uint8_t)((len - start) >> 8);
    ph[11] = (uint8_t)(len - start);
    return ref_fold(ref_sum(ref_sum(0, ph, 12), c + start, len - start)) == 0xffff;
}

/* netstack's tx: one frame, with a virtio-net header in front when the TAP expects one. */
static int tap_tx(void *ctx, const uint8_t *frame, size_t len, uint16_t csum_start,
                  uint16_t csum_offset)
{
    struct harness *h = ctx;
    struct virtio_net_hdr vh = {0};
    struct iovec iov[2] = {{&vh, sizeof(vh)}, {(void *)frame, len}};
    if (csum_start || csum_offset) {
        if (!h->vnet) {
            h->tx_err++;
            return -1; /* a partial checksum cannot go out without a header */
        }
        h->tx_partial++;
        if (!partial_ok(frame, len, csum_start, csum_offset))
            h->tx_partial_wrong++;
        vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        vh.csum_start = csum_start;
        vh.csum_offset = csum_offset;
    }
    bool lost = lose(h);
    trace_frame("out", frame, len, lost ? " LOST" : "");
    if (lost) {
        h->lost_tx++;
        return 0; /* "sent", and lost on the wire */
    }
    ssize_t n = writev(h->fd, h->vnet ? iov : iov + 1, h->vnet ? 2 : 1);
    if (n < 0) {
        if (errno == EAGAIN)
            h->tx_eagain++;
        else
            h->tx_err++;
        return -1;
    }
    return 0;
}

static int tap_open(const char *name, bool vnet)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        perror("open /dev/net/tun");
        return -1;
    }
    struct ifreq ifr = {0};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        perror("TUNSETIFF");
        close(fd);
        return -1;
    }
    if (vnet) {
        int sz = sizeof(struct virtio_net_hdr);
        if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0 || ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM) < 0) {
            perror("TUNSETVNETHDRSZ/TUNSETOFFLOAD");
            close(fd);
            return -1;
        }
    }
    return fd;
}

static uint32_t parse_ip(const char *s)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1) {
        fprintf(stderr, "bad address %s\n", s);
        exit(2);
    }
    return ntohl(a.s_addr);
}

static void print_stats(const struct harness *h)
{
    struct netstack_stats st;
    netstack_get_stats(&st);
    printf("stats: rx %llu tx %llu arp %llu icmp %llu udp %llu tcp %llu bad %llu drops %llu "
           "(tx EAGAIN %lu, tx errors %lu)\n"
           "checksums: %lu frames in flagged valid/partial, %lu out partial, %lu of them wrong\n"
           "loss: %lu frames dropped in, %lu out\n",
           (unsigned long long)st.rx, (unsigned long long)st.tx, (unsigned long long)st.arp,
           (unsigned long long)st.icmp, (unsigned long long)st.udp, (unsigned long long)st.tcp,
           (unsigned long long)st.bad, (unsigned long long)st.drops, h->tx_eagain, h->tx_err,
           h->rx_flagged, h->tx_partial, h->tx_partial_wrong, h->lost_rx, h->lost_tx);
}

static void usage(void)
{
    fprintf(stderr, "usage: tap_harness --tap NAME --ip A --gw A [--prefix N] [--mtu N] "
                    "[--port N] [--offload] [--ping A --ping-count N] [--timeout S] [--loss "
                    "PERMILLE] [--trace]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *tap = NULL;
    struct netstack_cfg cfg = {.mac = {0x02, 0, 0, 0, 5, 3}, .mtu = 1500, .port = 9975};
    unsigned loss = 0, prefix = 24, ping_count = 20, timeout_s = 600;
    uint32_t ping_dst = 0;
    bool offload = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--trace")) {
            trace = true;
            continue;
        }
        if (!strcmp(a, "--offload")) {
            offload = true;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "--tap"))
            tap = v;
        else if (!strcmp(a, "--ip"))
            cfg.ip = parse_ip(v);
        else if (!strcmp(a, "--gw"))
            cfg.gw = parse_ip(v);
        else if (!strcmp(a, "--prefix"))
            prefix = (unsigned)atoi(v);
        else if (!strcmp(a, "--mtu"))
            cfg.mtu = (uint16_t)atoi(v);
        else if (!strcmp(a, "--port"))
            cfg.port = (uint16_t)atoi(v);
        else if (!strcmp(a, "--ping"))
            ping_dst = parse_ip(v);
        else if (!strcmp(a, "--ping-count"))
            ping_count = (unsigned)atoi(v);
        else if (!strcmp(a, "--loss"))
            loss = (unsigned)atoi(v);
        else if (!strcmp(a, "--timeout"))
            timeout_s = (unsigned)atoi(v);
        else
            usage();
    }
    if (!tap || !cfg.ip || prefix < 1 || prefix > 32)
        usage();
    cfg.mask = prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
    cfg.tx_csum_offload = offload;

    struct harness h = {.vnet = offload, .loss = loss, .rng = 0x2545f4914f6cdd1dull};
    h.fd = tap_open(tap, offload);
    if (h.fd < 0)
        return 2;
    cfg.tx = tap_tx;
    cfg.ctx = &h;
    netstack_init(&cfg);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready: %s mtu %u offload %s\n", tap, cfg.mtu, offload ? "on" : "off");

    static uint8_t buf[sizeof(struct virtio_net_hdr) + 65536];
    uint64_t start = now_ms(), ping_at = start + 300;
    bool ping_started = false, ping_reported = false;
    int code;
    while (!netstack_exit_requested(&code)) {
        uint64_t t = now_ms();
        if (t - start > timeout_s * 1000ull) {
            printf("timeout after %u s\n", timeout_s);
            print_stats(&h);
            return 3;
        }
        if (ping_dst && !ping_started && t >= ping_at) {
            netstack_ping(ping_dst, ping_count, t);
            ping_started = true;
        }
        struct pollfd pfd = {.fd = h.fd, .events = POLLIN};
        poll(&pfd, 1, 5);
        for (int budget = 256; budget > 0 && !netstack_exit_requested(&code); budget--) {
            ssize_t n = read(h.fd, buf, sizeof(buf));
            if (n < 0)
                break;
            size_t off = h.vnet ? sizeof(struct virtio_net_hdr) : 0;
            if ((size_t)n < off)
                continue;
            bool valid = false;
            if (h.vnet) {
                const struct virtio_net_hdr *vh = (const void *)buf;
                valid = vh->flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID);
                h.rx_flagged += valid;
            }
            bool lost = lose(&h);
            trace_frame("in ", buf + off, (size_t)n - off, lost ? " LOST" : "");
            if (lost) {
                h.lost_rx++;
                continue;
            }
            netstack_input(buf + off, (size_t)n - off, valid, now_ms());
        }
        netstack_poll(now_ms());
        if (ping_started && !ping_reported) {
            unsigned sent, received;
            bool done;
            netstack_ping_status(&sent, &received, &done);
            if (done) {
                printf("ping %s: sent %u received %u\n",
                       inet_ntoa((struct in_addr){htonl(ping_dst)}), sent, received);
                ping_reported = true;
            }
        }
    }
    if (ping_started && !ping_reported)
        printf("ping: not done at exit\n");
    printf("exit requested: %d\n", code);
    print_stats(&h);
    return code;
}
