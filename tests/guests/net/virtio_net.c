/* virtio_net.c: the test guest's virtio-net driver (feature negotiation, RX and TX rings). */
#include "virtio_net.h"
#include "arch.h"
#include "rt.h"

#define RX_BUFS_MAX 64

struct vnet vnet;

static struct vq_mem ring_rx, ring_tx;
/* The header of every packet gets its own descriptor, like Hermit's driver. */
struct vnet_hdr {
    uint8_t flags, gso_type;
    uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};
_Static_assert(sizeof(struct vnet_hdr) == VIRTIO_NET_HDR_LEN, "virtio_net_hdr_v1 is 12 bytes");

static struct vnet_hdr rx_hdr[RX_BUFS_MAX];
static uint8_t rx_data[RX_BUFS_MAX][VNET_FRAME_MAX] __attribute__((aligned(64)));
static struct vnet_hdr tx_hdr[VQ_MAX / 2];
static uint8_t tx_data[VQ_MAX / 2][VNET_FRAME_MAX] __attribute__((aligned(64)));

static bool probed;

/* One string instruction per copy: far fewer guest instructions than a loop on this CPU. */
static inline void copy_fast(void *d, const void *s, size_t n)
{
#if defined(__x86_64__)
    uint64_t *dq = d;
    const uint64_t *sq = s;
    size_t q = n / 8;
    __asm__ volatile("rep movsq" : "+D"(dq), "+S"(sq), "+c"(q) : : "memory");
    uint8_t *db = (uint8_t *)dq;
    const uint8_t *sb = (const uint8_t *)sq;
    for (n &= 7; n; n--)
        *db++ = *sb++;
#else
    memcpy(d, s, n);
#endif
}

int vnet_probe(void)
{
    if (probed)
        return 0;
    unsigned bus, dev, fn;
    if (!vpci_scan(VIRTIO_ID_NET, &bus, &dev, &fn)) {
        rt_puts("net: FAIL: no virtio-net device on the PCI bus\n");
        return -1;
    }
    if (vpci_attach(&vnet.pci, bus, dev, fn) != 0)
        return -1;
    probed = true;
    return 0;
}

/* The device configuration, read until config_generation is stable (virtio 1.2 §4.1.4.3.1). */
static void read_devcfg(void)
{
    volatile uint8_t *c = vnet.pci.devcfg;
    uint8_t gen;
    do {
        gen = mmio_r8(vnet.pci.common + VIRTIO_CC_CFGGEN);
        if (c && (vnet.features & (1ull << VIRTIO_NET_F_MAC)) && vnet.pci.devcfg_len >= 6) {
            for (unsigned i = 0; i < 6; i++)
                vnet.mac[i] = mmio_r8(c + VIRTIO_NET_CFG_MAC + i);
        } else {
            static const uint8_t dflt[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
            memcpy(vnet.mac, dflt, 6);
        }
        vnet.link_status = 1;
        if (c && (vnet.features & (1ull << VIRTIO_NET_F_STATUS)) && vnet.pci.devcfg_len >= 8)
            vnet.link_status = mmio_r16(c + VIRTIO_NET_CFG_STATUS);
        vnet.mtu = 1500;
        if (c && (vnet.features & (1ull << VIRTIO_NET_F_MTU)) && vnet.pci.devcfg_len >= 12)
            vnet.mtu = mmio_r16(c + VIRTIO_NET_CFG_MTU);
    } while (gen != mmio_r8(vnet.pci.common + VIRTIO_CC_CFGGEN));
    if (vnet.mtu < 68 || vnet.mtu > VNET_MTU_MAX)
        vnet.mtu = vnet.mtu < 68 ? 1500 : VNET_MTU_MAX;
}

static void rx_post(unsigned i)
{
    struct vq *q = &vnet.rx;
    q->mem->avail.ring[q->avail_idx & (q->size - 1)] = (uint16_t)(2 * i);
    q->avail_idx++;
}

static void rx_setup(void)
{
    struct vq *q = &vnet.rx;
    unsigned n = q->size / 2;
    vnet.rx_bufs = n < RX_BUFS_MAX ? n : RX_BUFS_MAX;
    for (unsigned i = 0; i < vnet.rx_bufs; i++) {
        struct vq_desc *h = &q->mem->desc[2 * i], *d = &q->mem->desc[2 * i + 1];
        *h = (struct vq_desc){(uintptr_t)&rx_hdr[i], VIRTIO_NET_HDR_LEN,
                              VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, (uint16_t)(2 * i + 1)};
        *d =
            (struct vq_desc){(uintptr_t)rx_data[i], (uint32_t)vnet.mtu + 14, VRING_DESC_F_WRITE, 0};
        rx_post(i);
    }
}

static void tx_setup(void)
{
    struct vq *q = &vnet.tx;
    vnet.tx_slots = q->size / 2;
    vnet.tx_nfree = 0;
    for (unsigned i = 0; i < vnet.tx_slots; i++) {
        struct vq_desc *h = &q->mem->desc[2 * i], *d = &q->mem->desc[2 * i + 1];
        *h = (struct vq_desc){(uintptr_t)&tx_hdr[i], VIRTIO_NET_HDR_LEN, VRING_DESC_F_NEXT,
                              (uint16_t)(2 * i + 1)};
        *d = (struct vq_desc){(uintptr_t)tx_data[i], 0, 0, 0};
        vnet.tx_free[vnet.tx_nfree++] = (uint16_t)i;
    }
    q->mem->avail.flags = VRING_AVAIL_F_NO_INTERRUPT; /* TX slots are reclaimed by polling */
    vnet.tx_pending = false;
}

int vnet_init(uint16_t rx_size, uint16_t tx_size)
{
    struct vpci *p = &vnet.pci;
    if (vnet_probe() != 0 || vpci_reset(p) != 0)
        return -1;
    vnet.isr_bits = 0;
    vpci_set_status(p, VIRTIO_STATUS_ACKNOWLEDGE);
    vpci_set_status(p, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t offered = vpci_device_features(p);
    uint64_t want = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_MAC |
                    1ull << VIRTIO_NET_F_STATUS | 1ull << VIRTIO_NET_F_MTU |
                    1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM;
    vnet.features = offered & want;
    if (!(vnet.features & (1ull << VIRTIO_F_VERSION_1))) {
        rt_printf("net: FAIL: the device does not offer VERSION_1 (features 0x%lx)\n",
                  (unsigned long)offered);
        vpci_set_status(p, VIRTIO_STATUS_FAILED);
        return -1;
    }
    vpci_set_driver_features(p, vnet.features);
    uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    vpci_set_status(p, s);
    if (!(vpci_status(p) & VIRTIO_STATUS_FEATURES_OK)) {
        rt_puts("net: FAIL: the device refused our features\n");
        vpci_set_status(p, VIRTIO_STATUS_FAILED);
        return -1;
    }
    read_devcfg();
    /* RX addresses as 32-bit halves (Hermit does that), TX as single 64-bit stores. */
    if (vpci_queue_setup(p, &vnet.rx, 0, rx_size, &ring_rx, false) != 0 ||
        vpci_queue_setup(p, &vnet.tx, 1, tx_size, &ring_tx, true) != 0) {
        vpci_set_status(p, VIRTIO_STATUS_FAILED);
        return -1;
    }
    rx_setup();
    tx_setup();
    vpci_set_status(p, s | VIRTIO_STATUS_DRIVER_OK);
    if (!(vpci_status(p) & VIRTIO_STATUS_DRIVER_OK)) {
        rt_printf("net: FAIL: DRIVER_OK did not stick (status 0x%x)\n", vpci_status(p));
        return -1;
    }
    vq_kick(&vnet.rx);
    return 0;
}

void vnet_isr(void)
{
    uint8_t isr = vpci_isr(&vnet.pci);
    vnet.isr_bits |= isr;
    if (isr & 1)
        vnet.st.isr_queue++;
    if (isr & 2)
        vnet.st.isr_config++;
    if (!isr)
        vnet.st.isr_empty++;
}

bool vnet_rx_ready(void)
{
    return __atomic_load_n(&vnet.rx.mem->used.idx, __ATOMIC_ACQUIRE) != vnet.rx.used_seen;
}

unsigned vnet_rx(void (*deliver)(const uint8_t *frame, size_t len, bool csum_ok))
{
    struct vq *q = &vnet.rx;
    unsigned n = 0;
    uint16_t end = __atomic_load_n(&q->mem->used.idx, __ATOMIC_ACQUIRE);
    while (q->used_seen != end) {
        uint32_t id = q->mem->used.ring[q->used_seen & (q->size - 1)].id;
        uint32_t len = q->mem->used.ring[q->used_seen & (q->size - 1)].len;
        q->used_seen++;
        unsigned i = id / 2;
        if ((id & 1) || i >= vnet.rx_bufs) {
            rt_printf("net: FAIL: the device returned RX descriptor %u\n", (unsigned)id);
            continue; /* not ours: never repost it */
        }
        if (len > VIRTIO_NET_HDR_LEN && len <= VIRTIO_NET_HDR_LEN + (uint32_t)vnet.mtu + 14) {
            bool ok =
                (rx_hdr[i].flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID));
            vnet.st.rx++;
            deliver(rx_data[i], len - VIRTIO_NET_HDR_LEN, ok);
        }
        rx_post(i);
        n++;
        if (q->used_seen == end) /* frames that arrived meanwhile: same batch */
            end = __atomic_load_n(&q->mem->used.idx, __ATOMIC_ACQUIRE);
    }
    if (n)
        vq_kick(q);
    return n;
}

static void tx_reclaim(void)
{
    struct vq *q = &vnet.tx;
    uint16_t end = __atomic_load_n(&q->mem->used.idx, __ATOMIC_ACQUIRE);
    while (q->used_seen != end) {
        uint32_t id = q->mem->used.ring[q->used_seen & (q->size - 1)].id;
        q->used_seen++;
        if (!(id & 1) && id / 2 < vnet.tx_slots && vnet.tx_nfree < vnet.tx_slots)
            vnet.tx_free[vnet.tx_nfree++] = (uint16_t)(id / 2);
    }
}

int vnet_tx(const uint8_t *frame, size_t len, uint16_t csum_start, uint16_t csum_offset)
{
    if (len > (size_t)vnet.mtu + 14)
        return -1;
    if (vnet.tx_nfree == 0) {
        vnet_tx_flush();
        if (vnet.tx_nfree == 0) {
            vnet.st.tx_full++;
            return -1;
        }
    }
    unsigned i = vnet.tx_free[--vnet.tx_nfree];
    bool partial = csum_start || csum_offset;
    tx_hdr[i] = (struct vnet_hdr){
        .flags = partial ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0,
        .csum_start = csum_start,
        .csum_offset = csum_offset,
    };
    copy_fast(tx_data[i], frame, len);
    struct vq *q = &vnet.tx;
    q->mem->desc[2 * i + 1].len = (uint32_t)len;
    q->mem->avail.ring[q->avail_idx & (q->size - 1)] = (uint16_t)(2 * i);
    q->avail_idx++;
    vnet.tx_pending = true;
    vnet.st.tx++;
    return 0;
}

void vnet_tx_flush(void)
{
    if (vnet.tx_pending) {
        vnet.tx_pending = false;
        vq_kick(&vnet.tx); /* chyve sends the chains during this exit */
    }
    tx_reclaim();
}
