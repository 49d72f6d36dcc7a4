/*
 * test_net_user.c: --net user (net/slirp.c) seen from the guest's side of n->fd, with hand-built
 * frames: ARP, a TCP port forward, UDP to the host with a partial checksum, and the errors.
 * Loopback only, no root.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "net/netif.h"

#define HDR NETIF_VNET_HDR_LEN
#define GUEST_IP 0x0A000503u
#define HOST_IP 0x0A000501u
#define WAIT_MS 1000

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* One's complement sum of p[0, len), folded; seeded with `sum`. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (; len >= 2; p += 2, len -= 2) {
        sum += get16(p);
    }
    if (len) {
        sum += (uint32_t)p[0] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return sum;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct netif open_user(const char *spec, const char *mac)
{
    struct net_spec s;
    cr_assert_eq(net_spec_parse(spec, mac, &s), 0, "%s", err_msg());
    struct netif n;
    cr_assert_eq(netif_open(&s, &n), 0, "%s", err_msg());
    cr_assert_eq(netif_start(&n), 0, "%s", err_msg());
    return n;
}

/* A message of header flags/csum fields plus frame. */
static void send_frame(const struct netif *n, const uint8_t *frame, size_t len, bool needs_csum,
                       uint16_t csum_start, uint16_t csum_offset)
{
    uint8_t msg[HDR + 2048] = {0};
    cr_assert_leq(len, sizeof(msg) - HDR);
    if (needs_csum) {
        msg[0] = 1;
        msg[6] = (uint8_t)csum_start; /* little-endian, as virtio_net_hdr_v1 */
        msg[7] = (uint8_t)(csum_start >> 8);
        msg[8] = (uint8_t)csum_offset;
        msg[9] = (uint8_t)(csum_offset >> 8);
    }
    memcpy(msg + HDR, frame, len);
    cr_assert_eq(write(n->fd, msg, HDR + len), (ssize_t)(HDR + len), "write: %s", strerror(errno));
}

/* Reads one frame (header checked and stripped) into buf; returns its length or 0 on timeout. */
static size_t recv_frame(const struct netif *n, uint8_t *buf, size_t cap, int timeout_ms)
{
    uint8_t msg[HDR + 65536];
    struct pollfd p = {.fd = n->fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0) {
        return 0;
    }
    ssize_t r = read(n->fd, msg, sizeof(msg));
    cr_assert_gt(r, HDR, "read: %zd (%s)", r, strerror(errno));
    for (int i = 0; i < HDR; i++) {
        cr_assert_eq(msg[i], 0, "header byte %d is %u: slirp's sums are complete", i, msg[i]);
    }
    size_t len = (size_t)r - HDR;
    cr_assert_leq(len, cap);
    memcpy(buf, msg + HDR, len);
    return len;
}

static size_t build_arp(uint8_t *f, uint16_t op, const uint8_t *dst, const uint8_t *src_mac,
                        uint32_t src_ip, const uint8_t *target_mac, uint32_t target_ip)
{
    memset(f, 0, 42);
    memcpy(f, dst, 6);
    memcpy(f + 6, src_mac, 6);
    put16(f + 12, 0x0806);
    put16(f + 14, 1);      /* Ethernet */
    put16(f + 16, 0x0800); /* IPv4 */
    f[18] = 6;
    f[19] = 4;
    put16(f + 20, op);
    memcpy(f + 22, src_mac, 6);
    put32(f + 28, src_ip);
    if (target_mac != NULL) {
        memcpy(f + 32, target_mac, 6);
    }
    put32(f + 38, target_ip);
    return 42;
}

/* ARPs for the gateway from the guest; returns slirp's MAC from the reply (slirp learns ours). */
static void arp_gateway(const struct netif *n, uint8_t gw_mac[6])
{
    uint8_t f[2048];
    size_t len = build_arp(f, 1, bcast, n->mac, GUEST_IP, NULL, HOST_IP);
    send_frame(n, f, len, false, 0, 0);
    int64_t end = now_ms() + WAIT_MS;
    while (now_ms() < end) {
        len = recv_frame(n, f, sizeof(f), (int)(end - now_ms()));
        if (len >= 42 && get16(f + 12) == 0x0806) {
            cr_assert_eq(get16(f + 20), 2, "ARP opcode %u, not a reply", get16(f + 20));
            cr_assert_eq(get32(f + 28), HOST_IP, "reply for %08x", get32(f + 28));
            cr_assert_eq(memcmp(f, n->mac, 6), 0, "the reply is not addressed to the guest");
            cr_assert_eq(memcmp(f + 32, n->mac, 6), 0);
            cr_assert_eq(get32(f + 38), GUEST_IP);
            memcpy(gw_mac, f + 22, 6);
            return;
        }
    }
    cr_assert_fail("no ARP reply from slirp within %d ms", WAIT_MS);
}

/* A free port on 127.0.0.1 for `type`; with keep, the bound (and, for TCP, listening) socket. */
static uint16_t free_port(int type, int *keep)
{
    int s = socket(AF_INET, type, 0);
    cr_assert_geq(s, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0, "bind: %s", strerror(errno));
    socklen_t al = sizeof(a);
    cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &al), 0);
    if (keep != NULL) {
        if (type == SOCK_STREAM) {
            cr_assert_eq(listen(s, 1), 0);
        }
        *keep = s;
    } else {
        close(s);
    }
    return ntohs(a.sin_port);
}

Test(net_user, link_defaults_and_mac_override)
{
    struct netif n = open_user("user", NULL);
    const uint8_t def[6] = {0x02, 0xc7, 0x79, 0x76, 0x65, 0x01};
    cr_assert_eq(memcmp(n.mac, def, 6), 0);
    cr_assert_eq(n.mtu, 1500);
    cr_assert_not(n.rx_offload);
    cr_assert_geq(n.fd, 0);
    netif_close(&n);
    cr_assert_eq(n.fd, -1);

    n = open_user("user", "02:00:00:00:00:42");
    const uint8_t want[6] = {0x02, 0, 0, 0, 0, 0x42};
    cr_assert_eq(memcmp(n.mac, want, 6), 0);
    netif_close(&n);
}

Test(net_user, arp_for_the_gateway_is_answered)
{
    struct netif n = open_user("user", NULL);
    uint8_t gw[6];
    arp_gateway(&n, gw);
    cr_assert_eq(gw[0] & 1, 0, "slirp's MAC is multicast");
    netif_close(&n);
}

/* Answers slirp's ARP requests for the guest until a frame of another kind arrives. */
static size_t recv_non_arp(const struct netif *n, uint8_t *f, size_t cap)
{
    int64_t end = now_ms() + WAIT_MS;
    while (now_ms() < end) {
        size_t len = recv_frame(n, f, cap, (int)(end - now_ms()));
        if (len == 0) {
            break;
        }
        if (len >= 42 && get16(f + 12) == 0x0806) {
            if (get16(f + 20) == 1 && get32(f + 38) == GUEST_IP) {
                uint8_t r[64], slirp_mac[6];
                memcpy(slirp_mac, f + 22, 6);
                size_t rl = build_arp(r, 2, slirp_mac, n->mac, GUEST_IP, slirp_mac, get32(f + 28));
                send_frame(n, r, rl, false, 0, 0);
            }
            continue;
        }
        return len;
    }
    return 0;
}

Test(net_user, hostfwd_tcp_connect_becomes_a_syn_to_the_guest)
{
    uint16_t port = free_port(SOCK_STREAM, NULL);
    char spec[96];
    snprintf(spec, sizeof(spec), "user,hostfwd=tcp:127.0.0.1:%u-:80", port);
    struct netif n = open_user(spec, NULL);

    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    cr_assert_geq(c, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int rc = connect(c, (struct sockaddr *)&a, sizeof(a));
    cr_assert(rc == 0 || errno == EINPROGRESS, "connect: %s", strerror(errno));

    uint8_t f[2048];
    size_t len = recv_non_arp(&n, f, sizeof(f));
    cr_assert_geq(len, 14 + 20 + 20, "no TCP segment towards the guest (len %zu)", len);
    cr_assert_eq(memcmp(f, n.mac, 6), 0, "not addressed to the guest's MAC");
    cr_assert_eq(get16(f + 12), 0x0800);
    const uint8_t *ip = f + 14;
    cr_assert_eq(ip[9], 6, "IP protocol %u, not TCP", ip[9]);
    cr_assert_eq(get32(ip + 16), GUEST_IP, "to %08x", get32(ip + 16));
    cr_assert_eq(get32(ip + 12) & 0xFFFFFF00u, 0x0A000500u, "from outside 10.0.5.0/24");
    const uint8_t *tcp = ip + (ip[0] & 0xF) * 4;
    cr_assert_eq(get16(tcp + 2), 80, "to port %u", get16(tcp + 2));
    cr_assert_eq(tcp[13] & 0x12, 0x02, "flags %#x: not a SYN", tcp[13]);
    close(c);
    netif_close(&n);
}

/*
 * A UDP datagram from 10.0.5.3:5000 to 10.0.5.1:port (the host's loopback) carrying payload. The
 * UDP checksum field holds the pseudo-header sum when partial, else the complete sum plus error.
 */
static size_t build_udp(uint8_t *f, const uint8_t *dst_mac, const uint8_t *src_mac, uint16_t port,
                        const char *payload, bool partial, uint16_t error)
{
    size_t plen = strlen(payload), ulen = 8 + plen, iplen = 20 + ulen;
    memset(f, 0, 14 + iplen);
    memcpy(f, dst_mac, 6);
    memcpy(f + 6, src_mac, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14, *udp = ip + 20;
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)iplen);
    put16(ip + 4, 1);
    put16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = 17;
    put32(ip + 12, GUEST_IP);
    put32(ip + 16, HOST_IP);
    put16(ip + 10, (uint16_t)~csum_add(0, ip, 20));
    put16(udp, 5000);
    put16(udp + 2, port);
    put16(udp + 4, (uint16_t)ulen);
    memcpy(udp + 8, payload, plen);
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 17;
    put16(pseudo + 10, (uint16_t)ulen);
    uint32_t ph = csum_add(0, pseudo, sizeof(pseudo));
    if (partial) {
        put16(udp + 6, (uint16_t)ph);
    } else {
        uint16_t c = (uint16_t)~csum_add(ph, udp, ulen);
        c = c == 0 ? 0xFFFF : c; /* 0 would mean "no checksum" */
        if (error) {
            c = (uint16_t)(c + error);
            c = c == 0 ? 1 : c;
        }
        put16(udp + 6, c);
    }
    return 14 + iplen;
}

/* Waits up to ms for a datagram on s; returns its length (0: none) with the payload in buf. */
static size_t recv_udp(int s, char *buf, size_t cap, int ms)
{
    struct pollfd p = {.fd = s, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0) {
        return 0;
    }
    ssize_t r = recv(s, buf, cap - 1, 0);
    cr_assert_geq(r, 0);
    buf[r] = '\0';
    return (size_t)r;
}

Test(net_user, udp_to_the_gateway_reaches_host_loopback_with_completed_checksum)
{
    int s;
    uint16_t port = free_port(SOCK_DGRAM, &s);
    struct netif n = open_user("user", NULL);
    uint8_t gw[6], f[2048];
    arp_gateway(&n, gw);
    char got[256];

    /* A wrong complete checksum: slirp drops it (so the next case proves the completion). */
    size_t len = build_udp(f, gw, n.mac, port, "bad sum", false, 1);
    send_frame(&n, f, len, false, 0, 0);
    /* Partial checksums whose header points past the frame: never delivered (slirp.c drops them
     * unread; a checksum written past the frame would leave this one incomplete anyway). */
    len = build_udp(f, gw, n.mac, port, "bad start", true, 0);
    send_frame(&n, f, len, true, (uint16_t)len, 6);
    /* csum_start + csum_offset + 2 one byte past the frame. */
    send_frame(&n, f, len, true, 34, (uint16_t)(len - 34 - 1));

    len = build_udp(f, gw, n.mac, port, "hello from the guest", true, 0);
    send_frame(&n, f, len, true, 14 + 20, 6);
    cr_assert_gt(recv_udp(s, got, sizeof(got), WAIT_MS), 0, "no datagram on 127.0.0.1:%u", port);
    cr_assert_str_eq(got, "hello from the guest");

    /* A complete, correct checksum passes as it is. */
    len = build_udp(f, gw, n.mac, port, "full sum", false, 0);
    send_frame(&n, f, len, false, 0, 0);
    cr_assert_gt(recv_udp(s, got, sizeof(got), WAIT_MS), 0);
    cr_assert_str_eq(got, "full sum");
    cr_assert_eq(recv_udp(s, got, sizeof(got), 100), 0, "an extra datagram: '%s'", got);
    netif_close(&n);
    close(s);
}

/* restrict=on: the same datagram to the host's loopback never leaves slirp. */
Test(net_user, restricted_guest_does_not_reach_the_host)
{
    int s;
    uint16_t port = free_port(SOCK_DGRAM, &s);
    struct netif n = open_user("user,restrict=on", NULL);
    uint8_t gw[6], f[2048];
    arp_gateway(&n, gw);
    char got[256];
    size_t len = build_udp(f, gw, n.mac, port, "let me out", false, 0);
    send_frame(&n, f, len, false, 0, 0);
    cr_assert_eq(recv_udp(s, got, sizeof(got), 300), 0, "restricted, yet '%s' arrived", got);
    netif_close(&n);
    close(s);
}

Test(net_user, hostfwd_on_a_busy_port_fails_naming_it)
{
    int busy;
    uint16_t port = free_port(SOCK_STREAM, &busy);
    char spec[96], want[96];
    /* No HOSTADDR: slirp listens on 127.0.0.1, which the test's socket holds. */
    snprintf(spec, sizeof(spec), "user,hostfwd=tcp::%u-:80", port);
    struct net_spec s;
    cr_assert_eq(net_spec_parse(spec, NULL, &s), 0, "%s", err_msg());
    struct netif n;
    cr_assert_eq(netif_open(&s, &n), 0, "%s", err_msg());
    cr_assert_eq(netif_start(&n), -1, "the forward is bound when the thread starts");
    netif_close(&n);
    snprintf(want, sizeof(want), "--net user: cannot forward tcp port %u: ", port);
    cr_assert(strncmp(err_msg(), want, strlen(want)) == 0, "message: %s", err_msg());
    cr_assert(strstr(err_msg(), strerror(EADDRINUSE)) != NULL, "message: %s", err_msg());
    cr_assert(strchr(err_msg(), '\n') == NULL);
    close(busy);
}

Test(net_user, two_instances_work_side_by_side)
{
    char spec[2][96];
    uint16_t p0 = free_port(SOCK_STREAM, NULL), p1 = free_port(SOCK_STREAM, NULL);
    snprintf(spec[0], sizeof(spec[0]), "user,hostfwd=tcp::%u-:80", p0);
    snprintf(spec[1], sizeof(spec[1]), "user,hostfwd=udp::%u-:53", p1);
    struct netif a = open_user(spec[0], NULL);
    struct netif b = open_user(spec[1], "02:00:00:00:00:02");
    uint8_t gw[6];
    arp_gateway(&b, gw);
    arp_gateway(&a, gw);
    netif_close(&a);
    arp_gateway(&b, gw);
    netif_close(&b);
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* With the device's end closed first, the thread neither spins on it nor hangs the close. */
Test(net_user, closed_device_end_leaves_the_thread_idle)
{
    struct netif n = open_user("user", NULL);
    close(n.fd);
    n.fd = -1;
    double before = cpu_ms();
    struct timespec pause = {.tv_nsec = 200 * 1000000};
    nanosleep(&pause, NULL);
    double used = cpu_ms() - before;
    cr_assert_lt(used, 50.0, "%.1f ms of CPU in 200 ms: the thread spins", used);
    netif_close(&n);
}
