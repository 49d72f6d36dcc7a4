/*
 * test_virtio_net.c: the virtio-net device against a fake host link (a SOCK_SEQPACKET socketpair
 * carrying one frame with its 12-byte virtio_net_hdr_v1 per message): transmit on the kicking
 * thread, receive through the device's thread, interrupts, drops and their counters.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dev/virtio.h"
#include "err.h"
#include "fake_virtq.h"
#include "guest_mem.h"
#include "le.h"
#include "net/netif.h"
#include "net/virtio_net.h"

/* Sanitizer builds: undefined behaviour fails the test instead of printing and passing. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

#define MIB (1ull << 20)
#define BASE 0x40000000ull
#define SIZE (2 * MIB)
#define RXQ_AT BASE
#define TXQ_AT (BASE + 0x10000)
#define RXBUF (BASE + 0x40000)
#define TXBUF (BASE + 0x80000)
#define BIG (BASE + 0x100000) /* 1 MiB for oversized frames */
#define QSZ 16
#define HDR NETIF_VNET_HDR_LEN

/* Feature bits (virtio 1.2 §5.1.3). */
#define F_CSUM (1ull << 0)
#define F_GUEST_CSUM (1ull << 1)
#define F_MTU (1ull << 3)
#define F_MAC (1ull << 5)
#define F_STATUS (1ull << 16)
#define F_VERSION_1 (1ull << VIRTIO_F_VERSION_1)
#define NOTIFY(q) (VIRTIO_BAR_NOTIFY + (q)*VIRTIO_NOTIFY_MULT)

static const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

static struct guest_mem mem;
static struct netif hostlink;
static int peer = -1; /* the test's end of the link */
static struct virtio_net *vn;
static struct virtio_device *dev;
static struct fvq rxq, txq;

/* The interrupt line as the device drives it, from whichever thread. */
static pthread_mutex_t irq_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned irq_changes;
static bool irq_now;

static void irq_line(void *ctx, bool level)
{
    cr_assert_eq(ctx, &irq_lock);
    pthread_mutex_lock(&irq_lock);
    irq_changes++;
    irq_now = level;
    pthread_mutex_unlock(&irq_lock);
}

static bool irq_level(unsigned *changes)
{
    pthread_mutex_lock(&irq_lock);
    bool l = irq_now;
    if (changes != NULL) {
        *changes = irq_changes;
    }
    pthread_mutex_unlock(&irq_lock);
    return l;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Waits up to 2 s for the line to reach level. */
static bool wait_irq(bool level)
{
    for (int i = 0; i < 2000 && irq_level(NULL) != level; i++) {
        sleep_ms(1);
    }
    return irq_level(NULL) == level;
}

static struct net_stats stats(void)
{
    struct net_stats s;
    virtio_net_stats(vn, &s);
    return s;
}

/* Waits up to 2 s until *field of the counters reaches want; returns the last value. */
#define WAIT_STAT(field, want)                                                                     \
    ({                                                                                             \
        uint64_t v_ = stats().field;                                                               \
        for (int i_ = 0; i_ < 2000 && v_ < (want); i_++) {                                         \
            sleep_ms(1);                                                                           \
            v_ = stats().field;                                                                    \
        }                                                                                          \
        v_;                                                                                        \
    })

/* A device on a fresh link, not yet initialised by a driver. rx_offload as the link offers it. */
static void make_device(bool rx_offload)
{
    signal(SIGPIPE, SIG_IGN); /* as main() does */
    cr_assert_eq(guest_mem_init(&mem, BASE, SIZE), 0, "%s", err_msg());
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    memset(&hostlink, 0, sizeof(hostlink));
    hostlink.fd = sv[0];
    memcpy(hostlink.mac, mac, 6);
    hostlink.mtu = 1500;
    hostlink.rx_offload = rx_offload;
    hostlink.kind = NET_NONE; /* netif_set_offload() has nothing to tell a fake link */
    peer = sv[1];
    cr_assert_eq(virtio_net_create(&mem, &hostlink, 11, &vn), 0, "%s", err_msg());
    dev = virtio_net_device(vn);
    cr_assert_not_null(dev);
    cr_assert_eq(virtio_net_start(vn, irq_line, &irq_lock), 0, "%s", err_msg());
}

static void setup(void)
{
    make_device(false);
}

static void teardown(void)
{
    virtio_net_destroy(vn);
    vn = NULL;
    close(hostlink.fd);
    if (peer >= 0) {
        close(peer);
    }
    guest_mem_fini(&mem);
}

TestSuite(vnet, .init = setup, .fini = teardown, .timeout = 5);

/* The driver's side: features, both queues (RX at 0, TX at 1), DRIVER_OK. */
static void driver_up(uint64_t features)
{
    uint8_t s = vdrv_negotiate(dev, F_VERSION_1 | features);
    cr_assert(s & VIRTIO_STATUS_FEATURES_OK, "features 0x%llx refused",
              (unsigned long long)features);
    fvq_init(&rxq, &mem, RXQ_AT, QSZ);
    fvq_init(&txq, &mem, TXQ_AT, QSZ);
    vdrv_queue(dev, 0, &rxq);
    vdrv_queue(dev, 1, &txq);
    cr_assert(vdrv_driver_ok(dev) & VIRTIO_STATUS_DRIVER_OK);
}

static void notify(unsigned q)
{
    vbar_write(dev, NOTIFY(q), 2, q);
}

static void fill_frame(uint8_t *f, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++) {
        f[i] = (uint8_t)(seed + i * 7);
    }
}

/* Receives one message on the test end within 2 s; returns its length or -1. */
static ssize_t peer_recv(uint8_t *buf, size_t cap, int timeout_ms)
{
    struct pollfd p = {.fd = peer, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) != 1) {
        return -1;
    }
    return recv(peer, buf, cap, MSG_DONTWAIT);
}

static void peer_send(const uint8_t *hdr, const uint8_t *frame, size_t len)
{
    static uint8_t msg[HDR + 65536];
    cr_assert_leq(len, 65536);
    memcpy(msg, hdr, HDR);
    memcpy(msg + HDR, frame, len);
    cr_assert_eq(send(peer, msg, HDR + len, 0), (ssize_t)(HDR + len), "%s", strerror(errno));
}

/* --- identity and configuration --- */

Test(vnet, device_config_and_features)
{
    cr_assert_eq(pci_function_read(&dev->pci, PCI_DEVICE_ID, 2), 0x1041);
    cr_assert_eq(pci_function_read(&dev->pci, PCI_CLASS_PROG + 2, 1), 0x02, "network");
    cr_assert_eq(pci_function_read(&dev->pci, PCI_INT_LINE, 1), 11);
    for (unsigned i = 0; i < 6; i++) {
        cr_assert_eq(vbar_read(dev, VIRTIO_BAR_DEVICE + i, 1), mac[i]);
    }
    cr_assert_eq(vbar_read(dev, VIRTIO_BAR_DEVICE + 6, 2), 1, "link up");
    cr_assert_eq(vbar_read(dev, VIRTIO_BAR_DEVICE + 8, 2), 1, "one queue pair");
    cr_assert_eq(vbar_read(dev, VIRTIO_BAR_DEVICE + 10, 2), 1500, "MTU");
    cr_assert_eq(vbar_read(dev, VIRTIO_CC_NUMQ, 2), 2);
    vbar_write(dev, VIRTIO_CC_DFSELECT, 4, 0);
    uint64_t f = vbar_read(dev, VIRTIO_CC_DF, 4);
    vbar_write(dev, VIRTIO_CC_DFSELECT, 4, 1);
    f |= vbar_read(dev, VIRTIO_CC_DF, 4) << 32;
    cr_assert_eq(f, F_VERSION_1 | F_CSUM | F_MTU | F_MAC | F_STATUS,
                 "features 0x%llx; no GUEST_CSUM without the link's offload",
                 (unsigned long long)f);
    cr_assert_eq(vdrv_negotiate(dev, F_VERSION_1 | F_GUEST_CSUM) & VIRTIO_STATUS_FEATURES_OK, 0);
}

/* --- transmit --- */

/* A TX chain at TXBUF: the guest's header, then the frame, split at `split` bytes of the whole. */
static uint16_t post_tx(uint16_t head, const uint8_t *hdr, const uint8_t *frame, size_t len,
                        size_t split)
{
    uint8_t whole[HDR + 2048];
    cr_assert_leq(len, 2048);
    memcpy(whole, hdr, HDR);
    memcpy(whole + HDR, frame, len);
    uint64_t at = TXBUF + 0x1000ull * head;
    cr_assert_eq(guest_mem_write(&mem, at, whole, HDR + len), 0);
    if (split == 0 || split >= HDR + len) {
        fvq_desc(&txq, head, at, (uint32_t)(HDR + len), 0, 0);
    } else {
        uint16_t second = (uint16_t)(head + 1);
        fvq_desc(&txq, head, at, (uint32_t)split, VRING_DESC_F_NEXT, second);
        fvq_desc(&txq, second, at + split, (uint32_t)(HDR + len - split), 0, 0);
    }
    fvq_make_avail(&txq, head);
    return head;
}

Test(vnet, tx_sends_the_exact_frame_with_a_clean_header)
{
    driver_up(0);
    uint8_t hdr[HDR] = {0}, frame[60], got[2048];
    le16_put(hdr + 0, 0x0100 | 1); /* flags NEEDS_CSUM (not negotiated), gso_type 1 */
    le16_put(hdr + 2, 54);         /* hdr_len */
    le16_put(hdr + 4, 1448);       /* gso_size */
    le16_put(hdr + 6, 34);
    le16_put(hdr + 8, 16);
    le16_put(hdr + 10, 7); /* num_buffers */
    fill_frame(frame, sizeof(frame), 1);
    post_tx(0, hdr, frame, sizeof(frame), HDR);
    notify(1);
    ssize_t n = peer_recv(got, sizeof(got), 2000);
    cr_assert_eq(n, HDR + 60);
    static const uint8_t zero[HDR];
    cr_assert_arr_eq(got, zero, HDR, "gso and checksum fields must be cleared");
    cr_assert_arr_eq(got + HDR, frame, 60);
    cr_assert_eq(fvq_used_idx(&txq), 1);
    uint32_t id, len;
    fvq_used_elem(&txq, 0, &id, &len);
    cr_assert_eq(id, 0);
    cr_assert_eq(len, 0, "TX writes nothing into the chain");
    struct net_stats s = stats();
    cr_assert_eq(s.tx_packets, 1);
    cr_assert_eq(s.tx_bytes, 60);
    cr_assert_eq(s.tx_drop_bad, 0);
    cr_assert(irq_level(NULL), "used buffers interrupt");
    cr_assert_eq(vbar_read(dev, VIRTIO_BAR_ISR, 1), 1);
    cr_assert(!irq_level(NULL));
}

Test(vnet, tx_gathers_odd_splits_and_several_chains)
{
    driver_up(0);
    uint8_t hdr[HDR] = {0}, frame[3][200], got[2048];
    const size_t split[3] = {5, HDR + 1, 0};
    for (unsigned i = 0; i < 3; i++) {
        fill_frame(frame[i], 100 + 50 * i, (uint8_t)(i * 40));
        post_tx((uint16_t)(4 * i), hdr, frame[i], 100 + 50 * i, split[i]);
    }
    notify(1);
    for (unsigned i = 0; i < 3; i++) {
        ssize_t n = peer_recv(got, sizeof(got), 2000);
        cr_assert_eq(n, (ssize_t)(HDR + 100 + 50 * i), "frame %u: %zd", i, n);
        cr_assert_arr_eq(got + HDR, frame[i], 100 + 50 * i, "frame %u", i);
    }
    cr_assert_eq(fvq_used_idx(&txq), 3);
    cr_assert_eq(stats().tx_packets, 3);
    cr_assert_eq(stats().tx_bytes, 100 + 150 + 200);
}

Test(vnet, tx_partial_checksum_passes_when_negotiated)
{
    driver_up(F_CSUM);
    uint8_t hdr[HDR] = {0}, frame[80], got[2048];
    hdr[0] = 1;            /* NEEDS_CSUM */
    hdr[1] = 3;            /* gso_type: still cleared */
    le16_put(hdr + 6, 34); /* csum_start */
    le16_put(hdr + 8, 44); /* csum_offset: the checksum ends exactly at the frame's end */
    fill_frame(frame, sizeof(frame), 9);
    post_tx(0, hdr, frame, sizeof(frame), 0);
    notify(1);
    cr_assert_eq(peer_recv(got, sizeof(got), 2000), HDR + 80);
    cr_assert_eq(got[0], 1);
    cr_assert_eq(got[1], 0);
    cr_assert_eq(le16_get(got + 2), 0);
    cr_assert_eq(le16_get(got + 4), 0);
    cr_assert_eq(le16_get(got + 6), 34);
    cr_assert_eq(le16_get(got + 8), 44);
    cr_assert_arr_eq(got + HDR, frame, 80);
}

Test(vnet, tx_drops_checksum_offsets_beyond_the_frame)
{
    driver_up(F_CSUM);
    uint8_t hdr[HDR] = {0}, frame[80], got[2048];
    hdr[0] = 1;
    le16_put(hdr + 6, 34);
    le16_put(hdr + 8, 45); /* 34 + 45 + 2 = 81 > 80 */
    fill_frame(frame, sizeof(frame), 2);
    post_tx(0, hdr, frame, sizeof(frame), 0);
    le16_put(hdr + 6, 0xFFFF);
    le16_put(hdr + 8, 0xFFFF); /* 16-bit fields that wrap in 16-bit arithmetic */
    post_tx(2, hdr, frame, sizeof(frame), 0);
    notify(1);
    cr_assert_eq(fvq_used_idx(&txq), 2, "dropped chains are still returned");
    cr_assert_eq(peer_recv(got, sizeof(got), 50), -1, "nothing sent");
    struct net_stats s = stats();
    cr_assert_eq(s.tx_drop_bad, 2);
    cr_assert_eq(s.tx_packets, 0);
}

Test(vnet, tx_drops_runts_and_headerless_chains)
{
    driver_up(0);
    uint8_t hdr[HDR] = {0}, frame[14], got[2048];
    fill_frame(frame, sizeof(frame), 3);
    post_tx(0, hdr, frame, 13, 0);                        /* one byte short of an Ethernet header */
    post_tx(2, hdr, frame, 0, 0);                         /* a header alone */
    fvq_desc(&txq, 4, TXBUF, 100, VRING_DESC_F_WRITE, 0); /* nothing readable at all */
    fvq_make_avail(&txq, 4);
    post_tx(6, hdr, frame, 14, 0); /* the shortest frame that goes */
    notify(1);
    cr_assert_eq(fvq_used_idx(&txq), 4);
    cr_assert_eq(peer_recv(got, sizeof(got), 2000), HDR + 14);
    cr_assert_arr_eq(got + HDR, frame, 14);
    cr_assert_eq(peer_recv(got, sizeof(got), 50), -1, "only one frame");
    struct net_stats s = stats();
    cr_assert_eq(s.tx_drop_bad, 3);
    cr_assert_eq(s.tx_packets, 1);
    cr_assert_eq(s.tx_bytes, 14);
}

Test(vnet, tx_drops_oversized_frames)
{
    driver_up(0);
    /* 12 + 65536 bytes: one more than the largest frame with its headers. */
    fvq_desc(&txq, 0, BIG, HDR + 65536, 0, 0);
    fvq_make_avail(&txq, 0);
    fvq_desc(&txq, 1, BIG, HDR + 65535, 0, 0);
    fvq_make_avail(&txq, 1);
    int sz = 256 * 1024;
    setsockopt(hostlink.fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    notify(1);
    cr_assert_eq(fvq_used_idx(&txq), 2);
    struct net_stats s = stats();
    cr_assert_eq(s.tx_drop_bad, 1);
    cr_assert_eq(s.tx_packets + s.tx_drop_host, 1, "the largest frame is no malformed one");
}

Test(vnet, tx_counts_a_full_link)
{
    driver_up(0);
    int sz = 4096;
    cr_assert_eq(setsockopt(hostlink.fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
    uint8_t hdr[HDR] = {0}, frame[1500];
    fill_frame(frame, sizeof(frame), 4);
    for (uint16_t i = 0; i < QSZ; i++) {
        post_tx(i, hdr, frame, sizeof(frame), 0);
    }
    notify(1); /* nobody reads the test end */
    cr_assert_eq(fvq_used_idx(&txq), QSZ);
    struct net_stats s = stats();
    cr_assert_eq(s.tx_packets + s.tx_drop_host, QSZ);
    cr_assert_gt(s.tx_drop_host, 0, "%llu sent into a 4 KiB buffer",
                 (unsigned long long)s.tx_packets);
    cr_assert_gt(s.tx_packets, 0);
}

Test(vnet, tx_respects_no_interrupt)
{
    driver_up(0);
    fvq_set_avail_flags(&txq, VRING_AVAIL_F_NO_INTERRUPT);
    uint8_t hdr[HDR] = {0}, frame[60], got[2048];
    fill_frame(frame, sizeof(frame), 5);
    post_tx(0, hdr, frame, sizeof(frame), 0);
    notify(1);
    cr_assert_eq(peer_recv(got, sizeof(got), 2000), HDR + 60);
    unsigned changes;
    cr_assert(!irq_level(&changes));
    cr_assert_eq(changes, 0);
}

Test(vnet, tx_notify_before_driver_ok_sends_nothing)
{
    uint8_t s = vdrv_negotiate(dev, F_VERSION_1);
    cr_assert(s & VIRTIO_STATUS_FEATURES_OK);
    fvq_init(&txq, &mem, TXQ_AT, QSZ);
    vdrv_queue(dev, 1, &txq);
    uint8_t hdr[HDR] = {0}, frame[60], got[2048];
    post_tx(0, hdr, frame, sizeof(frame), 0);
    notify(1);
    cr_assert_eq(fvq_used_idx(&txq), 0);
    cr_assert_eq(peer_recv(got, sizeof(got), 50), -1);
}

/* --- receive --- */

/* Posts one RX chain at RXBUF + 0x1000 * head of writable segments of the given lengths. */
static void post_rx(uint16_t head, const uint32_t *lens, unsigned n)
{
    uint64_t at = RXBUF + 0x1000ull * head;
    for (unsigned i = 0; i < n; i++) {
        uint16_t d = (uint16_t)(head + i);
        fvq_desc(&rxq, d, at, lens[i], VRING_DESC_F_WRITE | (i + 1 < n ? VRING_DESC_F_NEXT : 0),
                 (uint16_t)(d + 1));
        at += lens[i];
    }
    cr_assert_eq(guest_mem_zero(&mem, RXBUF + 0x1000ull * head, 0x1000), 0);
    fvq_make_avail(&rxq, head);
}

static const uint8_t *rx_mem(uint16_t head)
{
    return guest_mem_ptr(&mem, RXBUF + 0x1000ull * head, 0x1000);
}

Test(vnet, rx_delivers_into_the_posted_buffer)
{
    driver_up(0);
    const uint32_t len[] = {HDR + 1514};
    post_rx(0, len, 1);
    notify(0);
    uint8_t hdr[HDR] = {0}, frame[60];
    hdr[0] = 1; /* a partial sum the guest did not ask for */
    le16_put(hdr + 6, 34);
    le16_put(hdr + 8, 16);
    fill_frame(frame, sizeof(frame), 6);
    peer_send(hdr, frame, sizeof(frame));
    cr_assert_eq(fvq_wait_used(&rxq, 1, 2000), 1);
    uint32_t id, ulen;
    fvq_used_elem(&rxq, 0, &id, &ulen);
    cr_assert_eq(id, 0);
    cr_assert_eq(ulen, HDR + 60);
    const uint8_t *b = rx_mem(0);
    cr_assert_eq(b[0], 0, "flags cleared without GUEST_CSUM");
    cr_assert_eq(le16_get(b + 10), 1, "num_buffers");
    cr_assert_arr_eq(b + HDR, frame, 60);
    cr_assert(wait_irq(true), "the line goes high");
    struct net_stats s = stats();
    cr_assert_eq(s.rx_packets, 1);
    cr_assert_eq(s.rx_bytes, 60);
    cr_assert_eq(vbar_read(dev, VIRTIO_BAR_ISR, 1), 1);
    cr_assert(!irq_level(NULL), "reading the ISR lowers it");
}

Test(vnet, rx_fills_split_buffers_and_several_frames)
{
    driver_up(0);
    const uint32_t a[] = {7, 9, 2000}; /* the header spans two segments */
    const uint32_t b[] = {HDR + 100};
    post_rx(0, a, 3);
    post_rx(4, b, 1);
    uint8_t hdr[HDR] = {0}, f1[300], f2[100];
    fill_frame(f1, sizeof(f1), 7);
    fill_frame(f2, sizeof(f2), 8);
    peer_send(hdr, f1, sizeof(f1));
    peer_send(hdr, f2, sizeof(f2));
    cr_assert_eq(fvq_wait_used(&rxq, 2, 2000), 2);
    uint32_t id, ulen;
    fvq_used_elem(&rxq, 0, &id, &ulen);
    cr_assert_eq(id, 0);
    cr_assert_eq(ulen, HDR + 300);
    fvq_used_elem(&rxq, 1, &id, &ulen);
    cr_assert_eq(id, 4);
    cr_assert_eq(ulen, HDR + 100, "a frame that fills its buffer exactly");
    cr_assert_eq(le16_get(rx_mem(0) + 10), 1);
    cr_assert_arr_eq(rx_mem(0) + HDR, f1, 300, "segments laid out back to back");
    cr_assert_arr_eq(rx_mem(4) + HDR, f2, 100);
    cr_assert_eq(rx_mem(4)[HDR + 100], 0, "nothing past the frame");
}

Test(vnet, rx_keeps_partial_checksums_with_guest_csum)
{
    virtio_net_destroy(vn); /* a link that can pass partial sums on */
    close(hostlink.fd);
    close(peer);
    guest_mem_fini(&mem);
    make_device(true);
    driver_up(F_GUEST_CSUM);
    const uint32_t len[] = {HDR + 1514};
    post_rx(0, len, 1);
    uint8_t hdr[HDR] = {0}, frame[60];
    hdr[0] = 1;
    le16_put(hdr + 6, 34);
    le16_put(hdr + 8, 16);
    fill_frame(frame, sizeof(frame), 10);
    peer_send(hdr, frame, sizeof(frame));
    cr_assert_eq(fvq_wait_used(&rxq, 1, 2000), 1);
    const uint8_t *b = rx_mem(0);
    cr_assert_eq(b[0], 1, "NEEDS_CSUM kept");
    cr_assert_eq(le16_get(b + 6), 34);
    cr_assert_eq(le16_get(b + 8), 16);
    cr_assert_eq(le16_get(b + 10), 1);
    cr_assert_arr_eq(b + HDR, frame, 60);
}

Test(vnet, rx_frame_bigger_than_the_buffer_is_dropped)
{
    driver_up(0);
    const uint32_t small[] = {HDR + 64}, big[] = {HDR + 1514};
    post_rx(0, small, 1);
    uint8_t hdr[HDR] = {0}, frame[200];
    fill_frame(frame, sizeof(frame), 11);
    peer_send(hdr, frame, 65); /* one byte too many */
    cr_assert_eq(WAIT_STAT(rx_drop_no_buffer, 1), 1);
    cr_assert_eq(fvq_wait_used(&rxq, 1, 2000), 1);
    uint32_t id, ulen;
    fvq_used_elem(&rxq, 0, &id, &ulen);
    cr_assert_eq(ulen, 0, "the buffer goes back empty");
    cr_assert_eq(stats().rx_packets, 0);
    /* The device goes on. */
    post_rx(1, big, 1);
    peer_send(hdr, frame, 200);
    cr_assert_eq(fvq_wait_used(&rxq, 2, 2000), 2);
    fvq_used_elem(&rxq, 1, &id, &ulen);
    cr_assert_eq(id, 1);
    cr_assert_eq(ulen, HDR + 200);
    cr_assert_arr_eq(rx_mem(1) + HDR, frame, 200);
}

Test(vnet, rx_before_driver_ok_is_dropped)
{
    uint8_t hdr[HDR] = {0}, frame[60];
    fill_frame(frame, sizeof(frame), 12);
    peer_send(hdr, frame, sizeof(frame));
    cr_assert_eq(WAIT_STAT(rx_drop_not_ready, 1), 1);
    driver_up(0);
    const uint32_t len[] = {HDR + 1514};
    post_rx(0, len, 1);
    frame[0] ^= 0xFF; /* tell the two apart */
    peer_send(hdr, frame, sizeof(frame));
    cr_assert_eq(fvq_wait_used(&rxq, 1, 2000), 1);
    cr_assert_arr_eq(rx_mem(0) + HDR, frame, 60, "the second frame, not the early one");
    sleep_ms(20);
    cr_assert_eq(fvq_used_idx_sync(&rxq), 1);
    cr_assert_eq(stats().rx_drop_not_ready, 1);
    cr_assert_eq(stats().rx_packets, 1);
}

Test(vnet, rx_drops_runts)
{
    driver_up(0);
    const uint32_t len[] = {HDR + 1514};
    post_rx(0, len, 1);
    uint8_t hdr[HDR] = {0};
    cr_assert_eq(send(peer, hdr, HDR, 0), HDR); /* a header without a frame */
    cr_assert_eq(send(peer, hdr, 3, 0), 3);
    cr_assert_eq(WAIT_STAT(rx_drop_not_ready, 2), 2);
    cr_assert_eq(fvq_used_idx_sync(&rxq), 0, "the buffer stays posted");
}

/* Bytes queued on the device's end of the link, not yet read by the receive thread. */
static int link_pending(void)
{
    int n = -1;
    cr_assert_eq(ioctl(hostlink.fd, FIONREAD, &n), 0);
    return n;
}

Test(vnet, rx_waits_for_buffers)
{
    driver_up(0);
    uint8_t hdr[HDR] = {0}, frame[90];
    fill_frame(frame, sizeof(frame), 13);
    peer_send(hdr, frame, sizeof(frame));
    for (int i = 0; i < 2000 && link_pending() != 0; i++) {
        sleep_ms(1);
    }
    cr_assert_eq(link_pending(), 0, "the receive thread took the frame");
    sleep_ms(20);
    cr_assert_eq(fvq_used_idx_sync(&rxq), 0);
    cr_assert_eq(stats().rx_drop_not_ready + stats().rx_drop_no_buffer, 0, "kept, not dropped");
    const uint32_t len[] = {HDR + 1514};
    post_rx(0, len, 1);
    notify(0);
    cr_assert_eq(fvq_wait_used(&rxq, 1, 2000), 1, "delivered after the kick");
    cr_assert_arr_eq(rx_mem(0) + HDR, frame, 90);
    cr_assert(wait_irq(true));
    cr_assert_eq(stats().rx_packets, 1);
}

Test(vnet, rx_respects_no_interrupt)
{
    driver_up(0);
    fvq_set_avail_flags(&rxq, VRING_AVAIL_F_NO_INTERRUPT);
    const uint32_t len[] = {HDR + 1514};
    post_rx(0, len, 1);
    uint8_t hdr[HDR] = {0}, frame[60];
    peer_send(hdr, frame, sizeof(frame));
    cr_assert_eq(fvq_wait_used(&rxq, 1, 2000), 1);
    sleep_ms(20);
    unsigned changes;
    cr_assert(!irq_level(&changes));
    cr_assert_eq(changes, 0);
}

Test(vnet, rx_hostile_ring_stops_the_device)
{
    driver_up(0);
    fvq_desc(&rxq, 0, RXBUF, 100, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0); /* a loop */
    fvq_make_avail(&rxq, 0);
    uint8_t hdr[HDR] = {0}, frame[60];
    stderr_capture_begin();
    peer_send(hdr, frame, sizeof(frame));
    for (int i = 0; i < 2000 && !(vbar_read(dev, VIRTIO_CC_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
         i++) {
        sleep_ms(1);
    }
    char *err = stderr_capture_end();
    cr_assert(vbar_read(dev, VIRTIO_CC_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
    cr_assert_eq(count_substr(err, "chyve: warning:"), 1, "'%s'", err);
    free(err);
    cr_assert_eq(fvq_used_idx_sync(&rxq), 0);
    /* The driver resets and starts over: the device works again. */
    driver_up(0);
    const uint32_t len[] = {HDR + 1514};
    post_rx(0, len, 1);
    fill_frame(frame, sizeof(frame), 14);
    peer_send(hdr, frame, sizeof(frame));
    cr_assert_eq(fvq_wait_used(&rxq, 1, 2000), 1);
    cr_assert_arr_eq(rx_mem(0) + HDR, frame, 60);
}

Test(vnet, rx_stops_reading_a_link_that_hung_up)
{
    driver_up(0);
    stderr_capture_begin();
    close(peer); /* the host end goes away: reads return 0 from now on */
    peer = -1;
    sleep_ms(100);
    struct net_stats s = stats();
    /* Transmit still runs and counts what the link refused (EPIPE, SIGPIPE ignored). */
    uint8_t hdr[HDR] = {0}, frame[60] = {0};
    post_tx(0, hdr, frame, sizeof(frame), 0);
    notify(1);
    struct net_stats after = stats();
    virtio_net_destroy(vn); /* wakes the receive thread once more */
    vn = NULL;
    char *err = stderr_capture_end();
    cr_assert_lt(s.rx_drop_not_ready, 2, "%llu end-of-file reads counted as frames",
                 (unsigned long long)s.rx_drop_not_ready);
    cr_assert_eq(count_substr(err, "link closed"), 1, "stderr: '%s'", err);
    free(err);
    cr_assert_eq(fvq_used_idx(&txq), 1);
    cr_assert_eq(after.tx_drop_host, 1);
    cr_assert_eq(after.tx_packets, 0);
}

/* --- lifetime --- */

Test(vnet, destroy_null_and_unstarted)
{
    virtio_net_destroy(NULL);
    struct virtio_net *other;
    cr_assert_eq(virtio_net_create(&mem, &hostlink, 0, &other), 0, "%s", err_msg());
    virtio_net_destroy(other); /* never started: no thread to join */
}

Test(vnet, destroy_while_waiting_for_buffers)
{
    driver_up(0);
    uint8_t hdr[HDR] = {0}, frame[60];
    peer_send(hdr, frame, sizeof(frame));
    for (int i = 0; i < 2000 && link_pending() != 0; i++) {
        sleep_ms(1);
    }
    /* teardown destroys the device with a frame held: the thread must still be joined. */
}
