/*
 * test_oci_net.c: chyve-oci's network plumbing (src/oci/net.c) in network namespaces each test
 * makes with ip(8) and removes: namespace A holds eth0 (a veth, 10.77.0.2/24, default route via
 * 10.77.0.1), its peer veth0 is in namespace B (10.77.0.1/24). Frames written into the TAP must
 * reach B, and B's answers must come back out of the TAP. Needs root; traffic never leaves A and B.
 */
#define _GNU_SOURCE /* setns */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "net.h"

/* Sanitizer builds: undefined behaviour fails the test instead of printing and passing. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define VNET_HDR 12 /* chyve's TAP frames start with a struct virtio_net_hdr_v1 */

static const uint8_t mac_a[6] = {0x02, 0x77, 0, 0, 0, 0x02}; /* eth0 in A */
static const uint8_t mac_b[6] = {0x02, 0x77, 0, 0, 0, 0x01}; /* veth0 in B */

/* The namespaces of the running test (each test runs in a process of its own). */
static char ns_a[48], ns_b[48];
static int keep_b = -1; /* keeps B (and so the veth pair) alive once its name is gone */

/* Runs a shell command made from fmt; returns its exit status (-1 if it did not exit). */
__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

#define RUN(...) cr_assert_eq(sh(__VA_ARGS__), 0, "command failed: " __VA_ARGS__)

static void drop_names(void)
{
    if (ns_a[0] != '\0') {
        sh("ip netns del %s 2>/dev/null", ns_a);
        ns_a[0] = '\0';
    }
    if (ns_b[0] != '\0') {
        sh("ip netns del %s 2>/dev/null", ns_b);
        ns_b[0] = '\0';
    }
}

static void teardown(void)
{
    drop_names();
    if (keep_b >= 0) {
        close(keep_b);
        keep_b = -1;
    }
}

/* Skips the test, saying why, where the host cannot run it. */
static void need_netns(void)
{
    if (geteuid() != 0) {
        cr_skip_test("needs root (network namespaces, TAP devices)");
    }
    if (sh("ip -V >/dev/null 2>&1") != 0) {
        cr_skip_test("no ip(8) (iproute2)");
    }
    if (access("/dev/net/tun", R_OK | W_OK) != 0) {
        cr_skip_test("no usable /dev/net/tun: %s", strerror(errno));
    }
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (s < 0) {
        cr_skip_test("no rtnetlink: %s", strerror(errno));
    }
    close(s);
    snprintf(ns_a, sizeof(ns_a), "chyve-ocinet-%d-a", (int)getpid());
    if (sh("ip netns add %s 2>/dev/null", ns_a) != 0) {
        ns_a[0] = '\0';
        cr_skip_test("cannot create a network namespace (ip netns add)");
    }
    snprintf(ns_b, sizeof(ns_b), "chyve-ocinet-%d-b", (int)getpid());
    RUN("ip netns add %s", ns_b);
    RUN("ip -n %s link set lo up && ip -n %s link set lo up", ns_a, ns_b);
}

/* A's eth0 (MTU mtu) and its peer veth0 in B, addressed, up; A's default route via B. */
static void make_pair(unsigned mtu)
{
    RUN("ip -n %s link add eth0 address 02:77:00:00:00:02 mtu %u type veth peer name veth0 "
        "address 02:77:00:00:00:01 mtu %u netns %s",
        ns_a, mtu, mtu, ns_b);
    RUN("ip -n %s addr add 10.77.0.2/24 dev eth0 && ip -n %s link set eth0 up", ns_a, ns_a);
    RUN("ip -n %s addr add 10.77.0.1/24 dev veth0 && ip -n %s link set veth0 up", ns_b, ns_b);
    RUN("ip -n %s route add default via 10.77.0.1", ns_a);
}

/* Moves this test into A with the code under test; B stays alive through keep_b. */
static void enter_a(void)
{
    char path[96];
    snprintf(path, sizeof(path), "/run/netns/%s", ns_b);
    keep_b = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert(keep_b >= 0, "%s: %s", path, strerror(errno));
    snprintf(path, sizeof(path), "/run/netns/%s", ns_a);
    cr_assert_eq(oci_net_enter(path), 0, "%s", err_msg());
}

/* Whether interface name exists in this thread's network namespace. */
static bool link_exists(const char *name)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert(s >= 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    bool found = ioctl(s, SIOCGIFINDEX, &ifr) == 0;
    close(s);
    return found;
}

/* The inode of this thread's network namespace. */
static ino_t netns_ino(void)
{
    struct stat st;
    cr_assert_eq(stat("/proc/thread-self/ns/net", &st), 0, "%s", strerror(errno));
    return st.st_ino;
}

/* Opens the TAP as chyve's src/linux-kvm/host_tap.c does. */
static int tap_attach(const char *name)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    cr_assert(fd >= 0, "/dev/net/tun: %s", strerror(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0, "TUNSETIFF %s: %s", name, strerror(errno));
    int hdr = VNET_HDR;
    cr_assert_eq(ioctl(fd, TUNSETVNETHDRSZ, &hdr), 0, "TUNSETVNETHDRSZ: %s", strerror(errno));
    return fd;
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}

static unsigned get16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* The Internet checksum of len bytes. */
static unsigned csum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += get16(p + i);
    }
    if (len & 1) {
        sum += (uint32_t)p[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum & 0xffff;
}

/* Writes one frame (len bytes after the vnet header at buf) into the TAP. */
static void tap_send(int fd, uint8_t *buf, size_t len)
{
    memset(buf, 0, VNET_HDR); /* no offload: the checksums are complete */
    ssize_t n = write(fd, buf, VNET_HDR + len);
    cr_assert_eq(n, (ssize_t)(VNET_HDR + len), "write to the TAP: %zd, %s", n, strerror(errno));
}

/* An Ethernet header plus ARP of operation op (1 request, 2 reply) after the vnet header. */
static size_t arp_frame(uint8_t *buf, unsigned op, const uint8_t *dst, const uint8_t *tha,
                        uint32_t spa, uint32_t tpa)
{
    uint8_t *f = buf + VNET_HDR;
    memcpy(f, dst, 6);
    memcpy(f + 6, mac_a, 6);
    put16(f + 12, 0x0806);
    put16(f + 14, 1);      /* Ethernet */
    put16(f + 16, 0x0800); /* IPv4 */
    f[18] = 6;
    f[19] = 4;
    put16(f + 20, op);
    memcpy(f + 22, mac_a, 6);
    put32(f + 28, spa);
    memcpy(f + 32, tha, 6);
    put32(f + 38, tpa);
    return 42;
}

/*
 * Reads frames from the TAP for up to ms milliseconds until match(frame, len) says yes; answers
 * B's ARP requests for 10.77.0.2 meanwhile. Returns the matching frame's length (the frame is in
 * buf after the vnet header), or 0 at the deadline.
 */
static size_t tap_wait(int fd, uint8_t *buf, size_t cap, bool (*match)(const uint8_t *, size_t),
                       long ms)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = ms - (now.tv_sec - t0.tv_sec) * 1000 - (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (left <= 0) {
            return 0;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0) {
            continue;
        }
        ssize_t n = read(fd, buf, cap);
        if (n < VNET_HDR + 14) {
            continue;
        }
        const uint8_t *f = buf + VNET_HDR;
        size_t len = (size_t)n - VNET_HDR;
        if (match(f, len)) {
            return len;
        }
        if (len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 1 &&
            get32(f + 38) == IP(10, 77, 0, 2)) {
            uint8_t reply[VNET_HDR + 64];
            size_t rl = arp_frame(reply, 2, f + 22, f + 22, IP(10, 77, 0, 2), get32(f + 28));
            tap_send(fd, reply, rl);
        }
    }
}

/*
 * Sends the frame of len bytes after the vnet header at out until an answer that match() accepts
 * comes out of the TAP: ten tries, half a second apart. The first frames after chyve attaches
 * can be lost: the TAP's queue starts when the kernel's link watcher sees the carrier, a moment
 * later. Returns the answer's length (in buf after the vnet header), or 0.
 */
static size_t tap_ask(int fd, uint8_t *out, size_t len, uint8_t *buf, size_t cap,
                      bool (*match)(const uint8_t *, size_t))
{
    uint8_t frame[VNET_HDR + 128];
    cr_assert(len <= sizeof(frame) - VNET_HDR);
    memcpy(frame, out, VNET_HDR + len);
    for (int i = 0; i < 10; i++) {
        tap_send(fd, frame, len);
        size_t got = tap_wait(fd, buf, cap, match, 500);
        if (got > 0) {
            return got;
        }
    }
    return 0;
}

static bool is_arp_reply(const uint8_t *f, size_t len)
{
    return len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 2 &&
           get32(f + 28) == IP(10, 77, 0, 1) && get32(f + 38) == IP(10, 77, 0, 2);
}

#define PING_ID 0x4321
#define PING_DATA 56

static bool is_echo_reply(const uint8_t *f, size_t len)
{
    return len >= 14 + 20 + 8 + PING_DATA && get16(f + 12) == 0x0800 && (f[14] & 0xf) == 5 &&
           f[23] == 1 && get32(f + 26) == IP(10, 77, 0, 1) && get32(f + 30) == IP(10, 77, 0, 2) &&
           f[34] == 0 && get16(f + 38) == PING_ID;
}

/* An ICMP echo request from 10.77.0.2 to 10.77.0.1 (at MAC dst) after the vnet header. */
static size_t ping_frame(uint8_t *buf, const uint8_t *dst)
{
    uint8_t *f = buf + VNET_HDR;
    memcpy(f, dst, 6);
    memcpy(f + 6, mac_a, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14, *icmp = ip + 20;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, 20 + 8 + PING_DATA);
    put16(ip + 4, 1);
    put16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = 1; /* ICMP */
    put32(ip + 12, IP(10, 77, 0, 2));
    put32(ip + 16, IP(10, 77, 0, 1));
    put16(ip + 10, csum(ip, 20));
    memset(icmp, 0, 8);
    icmp[0] = 8; /* echo request */
    put16(icmp + 4, PING_ID);
    put16(icmp + 6, 1);
    for (unsigned i = 0; i < PING_DATA; i++) {
        icmp[8 + i] = (uint8_t)(i * 7);
    }
    put16(icmp + 2, csum(icmp, 8 + PING_DATA));
    return 14 + 20 + 8 + PING_DATA;
}

TestSuite(oci_net, .fini = teardown, .timeout = 60);

Test(oci_net, plumb_takes_eth0_and_redirects_both_ways)
{
    need_netns();
    make_pair(1400);
    enter_a();
    drop_names(); /* from here A and B vanish with this process, whatever happens */

    struct oci_net n;
    cr_assert_eq(oci_net_plumb("tap0", &n), 0, "%s", err_msg());
    cr_assert_str_eq(n.ifname, "eth0");
    cr_assert_str_eq(n.tap, "tap0");
    cr_assert_arr_eq(n.mac, mac_a, 6);
    cr_assert_eq(n.mtu, 1400);
    cr_assert_eq(n.ip, IP(10, 77, 0, 2));
    cr_assert_eq(n.mask, IP(255, 255, 255, 0));
    cr_assert_eq(n.gw, IP(10, 77, 0, 1));

    struct oci_net_args a;
    oci_net_args(&n, &a);
    cr_assert_str_eq(a.net, "tap:tap0");
    cr_assert_str_eq(a.mac, "02:77:00:00:00:02");
    cr_assert_str_eq(a.ip, "HERMIT_IP=10.77.0.2");
    cr_assert_str_eq(a.mask, "HERMIT_MASK=255.255.255.0");
    cr_assert_str_eq(a.gateway, "HERMIT_GATEWAY=10.77.0.1");

    /* The TAP: eth0's MTU, up, no IPv6 of the namespace's own. */
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "tap0");
    cr_assert_eq(ioctl(s, SIOCGIFMTU, &ifr), 0, "%s", strerror(errno));
    cr_assert_eq(ifr.ifr_mtu, 1400);
    cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0, "%s", strerror(errno));
    cr_assert(ifr.ifr_flags & IFF_UP);
    close(s);
    FILE *f = fopen("/proc/sys/net/ipv6/conf/tap0/disable_ipv6", "r");
    if (f != NULL) {
        cr_assert_eq(fgetc(f), '1', "IPv6 is still on on tap0");
        fclose(f);
    }

    /* Attached as chyve would, the TAP carries an ARP request out of eth0 to B (TAP ingress ->
     * eth0) and B's answer back (eth0 ingress -> TAP). */
    int tap = tap_attach("tap0");
    uint8_t buf[VNET_HDR + 2048], req[VNET_HDR + 128];
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, zero[6] = {0};
    size_t rl = arp_frame(req, 1, bcast, zero, IP(10, 77, 0, 2), IP(10, 77, 0, 1));
    size_t len = tap_ask(tap, req, rl, buf, sizeof(buf), is_arp_reply);
    cr_assert(len > 0, "no ARP reply from 10.77.0.1 came out of the TAP in 10 tries");
    const uint8_t *r = buf + VNET_HDR;
    cr_assert_arr_eq(r, mac_a, 6, "the reply is not addressed to eth0's MAC");
    cr_assert_arr_eq(r + 22, mac_b, 6, "the reply does not carry B's MAC");

    /* And an IP exchange: B's stack answers a ping from the guest's address. */
    rl = ping_frame(req, mac_b);
    len = tap_ask(tap, req, rl, buf, sizeof(buf), is_echo_reply);
    cr_assert(len > 0, "no echo reply from 10.77.0.1 came out of the TAP in 10 tries");
    for (unsigned i = 0; i < PING_DATA; i++) {
        cr_assert_eq(buf[VNET_HDR + 14 + 28 + i], (uint8_t)(i * 7), "echo data differs at %u", i);
    }
    close(tap);
}

Test(oci_net, several_interfaces_take_the_default_route)
{
    need_netns();
    make_pair(1500);
    /* eth1 (a second veth pair inside A) holds the default route instead */
    RUN("ip -n %s link add eth1 address 02:66:00:00:00:02 type veth peer name eth1p", ns_a);
    RUN("ip -n %s addr add 10.66.0.2/16 dev eth1 && ip -n %s link set eth1 up && "
        "ip -n %s link set eth1p up",
        ns_a, ns_a, ns_a);
    RUN("ip -n %s route replace default via 10.66.0.1", ns_a);
    enter_a();
    drop_names();

    struct oci_net n;
    cr_assert_eq(oci_net_plumb("tap1", &n), 0, "%s", err_msg());
    cr_assert_str_eq(n.ifname, "eth1");
    cr_assert_eq(n.ip, IP(10, 66, 0, 2));
    cr_assert_eq(n.mask, IP(255, 255, 0, 0));
    cr_assert_eq(n.gw, IP(10, 66, 0, 1));
    cr_assert_eq(n.mac[1], 0x66);
}

Test(oci_net, several_interfaces_without_default_route)
{
    need_netns();
    make_pair(1500);
    RUN("ip -n %s link add eth1 type veth peer name eth1p", ns_a);
    RUN("ip -n %s addr add 10.66.0.2/16 dev eth1 && ip -n %s link set eth1 up", ns_a, ns_a);
    RUN("ip -n %s route del default", ns_a);
    enter_a();
    drop_names();

    struct oci_net n;
    cr_assert_eq(oci_net_plumb("tap0", &n), -1);
    cr_assert_str_eq(err_msg(), "2 network interfaces have IPv4 addresses (eth0, eth1) and none "
                                "holds the default route: cannot tell which one the guest takes "
                                "over");
    cr_assert(!link_exists("tap0"), "a TAP was left behind");
}

Test(oci_net, no_ipv4_interface)
{
    need_netns();
    /* lo (127.0.0.1, which does not count) and a veth pair without addresses */
    RUN("ip -n %s link add eth0 type veth peer name eth1 && ip -n %s link set eth0 up", ns_a, ns_a);
    enter_a();
    drop_names();

    struct oci_net n;
    cr_assert_eq(oci_net_plumb("tap0", &n), 1,
                 "a namespace without IPv4 is no network, not an error");
    cr_assert(!link_exists("tap0"), "a TAP was left behind");
}

Test(oci_net, tap_name_taken)
{
    need_netns();
    make_pair(1500);
    enter_a();
    drop_names();

    struct oci_net n;
    cr_assert_eq(oci_net_plumb("eth0", &n), -1);
    cr_assert_str_eq(err_msg(), "cannot create the TAP 'eth0': a network interface of that name "
                                "exists in this network namespace");
    RUN("ip tuntap add dev tap0 mode tap"); /* ip runs in A, as this thread does now */
    cr_assert_eq(oci_net_plumb("tap0", &n), -1);
    cr_assert(strstr(err_msg(), "cannot create the TAP 'tap0': a network interface of that name") ==
                  err_msg(),
              "%s", err_msg());
    cr_assert_neq(sh("tc qdisc show dev eth0 | grep -q ingress"), 0, "eth0 was changed");
}

Test(oci_net, failure_undoes_the_tap)
{
    need_netns();
    make_pair(1500);
    enter_a();
    drop_names();
    RUN("tc qdisc add dev eth0 ingress"); /* someone else's: the plumbing must not take it over */

    struct oci_net n;
    cr_assert_eq(oci_net_plumb("tap0", &n), -1);
    /* the kernel may add its own words in parentheses */
    const char *want = "cannot add the ingress qdisc of 'eth0': File exists";
    cr_assert(strncmp(err_msg(), want, strlen(want)) == 0, "%s", err_msg());
    cr_assert(!link_exists("tap0"), "the TAP was left behind");
    cr_assert_eq(sh("tc qdisc show dev eth0 | grep -q ingress"), 0, "eth0's own qdisc is gone");
    cr_assert_eq(n.ifname[0], '\0', "*out was filled on failure");
}

Test(oci_net, bad_tap_names)
{
    struct oci_net n;
    const char *bad[] = {"", "abcdefghijklmnop", "a/b", "a b", "a:b", ".", ".."};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(oci_net_plumb(bad[i], &n), -1, "'%s' accepted", bad[i]);
        cr_assert(strstr(err_msg(), "is not a network interface name") != NULL, "%s: %s", bad[i],
                  err_msg());
    }
}

Test(oci_net, enter_bad_paths)
{
    ino_t before = netns_ino();
    cr_assert_eq(oci_net_enter("/nonexistent/chyve-netns"), -1);
    cr_assert_str_eq(err_msg(), "cannot open the network namespace '/nonexistent/chyve-netns': "
                                "No such file or directory");
    cr_assert_eq(oci_net_enter("/dev/null"), -1);
    cr_assert_str_eq(err_msg(), "'/dev/null' is not a network namespace");
    cr_assert_eq(oci_net_enter("/proc/self/ns/uts"), -1); /* a namespace, of another kind */
    cr_assert_str_eq(err_msg(), "'/proc/self/ns/uts' is not a network namespace");
    cr_assert_eq(netns_ino(), before, "a failed enter moved the thread");
}
