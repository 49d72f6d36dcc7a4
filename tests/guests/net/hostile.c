/*
 * hostile.c: attacks on chyve's virtio-net device through everything a guest can write: common
 * configuration fields with out-of-range values, rings outside RAM or misaligned, broken
 * descriptor chains on both queues, a runaway avail index, indirect descriptors, notifies for
 * absent queues, every BAR offset at every width, every configuration register, BAR relocation
 * and absent PCI slots. After each attack the device is reset and reinitialised; a device that
 * answers wrongly (accepts what it must refuse, does not stop on a broken ring, does not come
 * back) is reported as a failure.
 */
#include "hostile.h"
#include "arch.h"
#include "rt.h"
#include "virtio_net.h"

#define OUTSIDE_RAM 0x0000700000000000ull /* canonical, far above any test guest's RAM */

static uint16_t rx_size, tx_size;
static uint32_t my_ip, gw_ip;
static unsigned n_attacks, n_fail;
/* Buffers the attacks point descriptors at; also the RAM page a BAR is moved onto. */
static uint8_t scratch[2][4096] __attribute__((aligned(4096)));

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    rt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    rt_printf("net: hostile: FAIL %s\n", buf);
    n_fail++;
}

static uint64_t ms_now(void)
{
    return rt_rdtsc() / rt_tick_khz();
}

/* Ends an attack: reset, full init, and the device must reach DRIVER_OK again. */
static void recover(const char *name)
{
    n_attacks++;
    if (vnet_init(rx_size, tx_size) != 0)
        fail("%s: the device does not come back after a reset", name);
    vnet.isr_bits = 0;
}

/* Waits (interrupt-driven, bounded) until the device says NEEDS_RESET. */
static bool wait_needs_reset(unsigned ms)
{
    uint64_t end = ms_now() + ms;
    while (!(vpci_status(&vnet.pci) & VIRTIO_STATUS_NEEDS_RESET)) {
        if (ms_now() > end)
            return false;
        arch_wait();
    }
    return true;
}

static void expect_stop(const char *name)
{
    if (!wait_needs_reset(500))
        fail("%s: the device did not stop with NEEDS_RESET (status 0x%x)", name,
             vpci_status(&vnet.pci));
    recover(name);
}

/* Writes len bytes of v at common-config offset off. */
static void cc_write(unsigned off, unsigned len, uint64_t v)
{
    volatile uint8_t *p = vnet.pci.common + off;
    if (len == 1)
        mmio_w8(p, (uint8_t)v);
    else if (len == 2)
        mmio_w16(p, (uint16_t)v);
    else if (len == 4)
        mmio_w32(p, (uint32_t)v);
    else
        mmio_w64(p, v);
}

/* Common configuration: garbage in every field while running, then the specific bad values. */
static void attack_common(void)
{
    static const uint64_t pat[] = {0, 0xA5A5A5A5A5A5A5A5ull, 0xFFFFFFFFFFFFFFFFull};
    for (unsigned p = 0; p < 3; p++)
        for (unsigned len = 1; len <= 8; len *= 2)
            for (unsigned off = 0; off + len <= VIRTIO_CC_SIZE; off += len)
                cc_write(off, len, pat[p]);
    recover("garbage in every common-config field");

    struct vpci *v = &vnet.pci;
    vpci_reset(v);
    vpci_set_status(v, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    mmio_w16(v->common + VIRTIO_CC_QSELECT, 7);
    if (mmio_r16(v->common + VIRTIO_CC_QSIZE) != 0)
        fail("queue 7 has a size");
    mmio_w16(v->common + VIRTIO_CC_QSIZE, 64);
    mmio_w64(v->common + VIRTIO_CC_QDESC, (uintptr_t)scratch[0]);
    mmio_w16(v->common + VIRTIO_CC_QENABLE, 1);
    if (mmio_r16(v->common + VIRTIO_CC_QENABLE) != 0)
        fail("queue 7 enabled");
    mmio_w16(v->common + VIRTIO_CC_QSELECT, 0);
    static const uint16_t sizes[] = {0, 3, 65535, 512, 255};
    for (unsigned i = 0; i < 5; i++) {
        mmio_w16(v->common + VIRTIO_CC_QSIZE, sizes[i]);
        uint16_t got = mmio_r16(v->common + VIRTIO_CC_QSIZE);
        if (got == 0 || got > 256 || (got & (got - 1)))
            fail("queue_size %u read back as %u", sizes[i], got);
    }
    recover("queue_size 0/3/65535/512/255, queue_select 7");

    vpci_reset(v);
    vpci_set_status(v, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vpci_set_driver_features(v, ~0ull);
    mmio_w32(v->common + VIRTIO_CC_GFSELECT, 5);
    mmio_w32(v->common + VIRTIO_CC_GF, 0xFFFFFFFF);
    mmio_w32(v->common + VIRTIO_CC_DFSELECT, 9);
    if (mmio_r32(v->common + VIRTIO_CC_DF) != 0)
        fail("device feature word 9 is not 0");
    vpci_set_status(v,
                    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    if (vpci_status(v) & VIRTIO_STATUS_FEATURES_OK)
        fail("FEATURES_OK accepted with every feature bit set");
    vpci_set_status(v, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
    if (vpci_status(v) & VIRTIO_STATUS_DRIVER_OK)
        fail("DRIVER_OK accepted without FEATURES_OK");
    recover("features beyond the offered ones");

    vpci_reset(v);
    vpci_set_status(v, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vpci_set_driver_features(v, vpci_device_features(v) & ~(1ull << VIRTIO_F_VERSION_1));
    vpci_set_status(v,
                    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    if (vpci_status(v) & VIRTIO_STATUS_FEATURES_OK)
        fail("FEATURES_OK accepted without VERSION_1");
    recover("FEATURES_OK without VERSION_1");
}

/* Enables queue 0 on rings at desc/driver/device (after FEATURES_OK); expects a stop. */
static void attack_rings(const char *name, uint64_t desc, uint64_t drv, uint64_t dev)
{
    struct vpci *v = &vnet.pci;
    vpci_reset(v);
    vpci_set_status(v, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vpci_set_driver_features(v, 1ull << VIRTIO_F_VERSION_1);
    vpci_set_status(v,
                    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    mmio_w16(v->common + VIRTIO_CC_QSELECT, 0);
    mmio_w64(v->common + VIRTIO_CC_QDESC, desc);
    mmio_w64(v->common + VIRTIO_CC_QDRIVER, drv);
    mmio_w64(v->common + VIRTIO_CC_QDEVICE, dev);
    mmio_w16(v->common + VIRTIO_CC_QENABLE, 1);
    if (mmio_r16(v->common + VIRTIO_CC_QENABLE) != 0)
        fail("%s: the queue was enabled", name);
    expect_stop(name);
}

/* Replaces descriptors [0, n) of q with d and makes head available (avail index + bump). */
static void post_raw(struct vq *q, const struct vq_desc *d, unsigned n, uint16_t head,
                     uint16_t bump)
{
    for (unsigned i = 0; i < n; i++)
        q->mem->desc[i] = d[i];
    q->mem->avail.ring[q->avail_idx & (q->size - 1)] = head;
    q->avail_idx = (uint16_t)(q->avail_idx + bump);
    vq_kick(q);
}

static void attack_tx_chain(const char *name, const struct vq_desc *d, unsigned n, uint16_t head,
                            uint16_t bump, bool stops)
{
    post_raw(&vnet.tx, d, n, head, bump);
    if (stops)
        expect_stop(name);
    else
        recover(name);
}

static void attack_chains(void)
{
    uint64_t b = (uintptr_t)scratch[0];
    uint16_t big = (uint16_t)(vnet.tx.size + 5);
    const struct vq_desc loop[2] = {{b, 64, VRING_DESC_F_NEXT, 1}, {b, 64, VRING_DESC_F_NEXT, 0}};
    attack_tx_chain("descriptor chain 0 -> 1 -> 0", loop, 2, 0, 1, true);
    const struct vq_desc far[1] = {{b, 64, VRING_DESC_F_NEXT, big}};
    attack_tx_chain("descriptor next beyond the queue", far, 1, 0, 1, true);
    const struct vq_desc out[2] = {{b, 12, VRING_DESC_F_NEXT, 1}, {OUTSIDE_RAM, 1500, 0, 0}};
    attack_tx_chain("descriptor outside guest RAM", out, 2, 0, 1, true);
    const struct vq_desc huge[2] = {{b, 12, VRING_DESC_F_NEXT, 1}, {b, 0xFFFFFFFF, 0, 0}};
    attack_tx_chain("descriptor of 0xFFFFFFFF bytes", huge, 2, 0, 1, true);
    const struct vq_desc wrap[1] = {{~0ull - 15, 64, 0, 0}};
    attack_tx_chain("descriptor wrapping the address space", wrap, 1, 0, 1, true);
    const struct vq_desc ind[1] = {{b, 32, VRING_DESC_F_INDIRECT, 0}};
    attack_tx_chain("indirect descriptor", ind, 1, 0, 1, true);
    const struct vq_desc ok[2] = {{b, 12, VRING_DESC_F_NEXT, 1}, {b + 64, 60, 0, 0}};
    attack_tx_chain("avail index 1000 ahead", ok, 2, 0, 1000, true);
    attack_tx_chain("avail ring naming descriptor 60000", ok, 2, 60000, 1, true);
    const struct vq_desc order[2] = {{b, 12, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1},
                                     {b + 64, 60, 0, 0}};
    attack_tx_chain("readable descriptor after a writable one", order, 2, 0, 1, true);

    /* Bad but harmless: the device drops these frames and goes on. */
    const struct vq_desc runt[1] = {{b, 8, 0, 0}};
    attack_tx_chain("TX chain shorter than the header", runt, 1, 0, 1, false);
    uint8_t *h = scratch[0];
    memset(h, 0, 12);
    h[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h[6] = 0xF0, h[7] = 0xFF; /* csum_start far beyond the frame */
    h[8] = 0x10;
    attack_tx_chain("partial checksum outside the frame", ok, 2, 0, 1, false);
    const struct vq_desc zero[2] = {{b, 12, VRING_DESC_F_NEXT, 1}, {b + 64, 0, 0, 0}};
    attack_tx_chain("zero-length frame descriptor", zero, 2, 0, 1, false);
}

/* A broadcast ARP request for gw: the host's answer makes the device use an RX buffer. */
static void provoke_rx(void)
{
    uint8_t f[60];
    memset(f, 0, sizeof(f));
    memset(f, 0xFF, 6);
    memcpy(f + 6, vnet.mac, 6);
    f[12] = 0x08, f[13] = 0x06;         /* ARP */
    f[15] = 1, f[16] = 0x08, f[18] = 6; /* Ethernet, IPv4, hlen 6 */
    f[19] = 4, f[21] = 1;               /* plen 4, request */
    memcpy(f + 22, vnet.mac, 6);
    for (unsigned i = 0; i < 4; i++) {
        f[28 + i] = (uint8_t)(my_ip >> (24 - 8 * i));
        f[38 + i] = (uint8_t)(gw_ip >> (24 - 8 * i));
    }
    vnet_tx(f, sizeof(f), 0, 0);
    vnet_tx_flush();
}

/* Every posted RX data descriptor gets (addr, len, flags); a received frame hits one of them. */
static void attack_rx(const char *name, uint64_t addr, uint32_t len, uint16_t flags, bool stops)
{
    for (unsigned i = 0; i < vnet.rx_bufs; i++)
        vnet.rx.mem->desc[2 * i + 1] = (struct vq_desc){addr, len, flags, 0};
    provoke_rx();
    if (stops) {
        expect_stop(name);
        return;
    }
    uint64_t end = ms_now() + 300;
    while (vnet.rx.mem->used.idx == 0 && ms_now() < end)
        arch_wait();
    if (vpci_status(&vnet.pci) & VIRTIO_STATUS_NEEDS_RESET)
        fail("%s: the device stopped", name);
    recover(name);
}

static void attack_notify(void)
{
    struct vpci *v = &vnet.pci;
    for (unsigned q = 0; q < 8; q++) {
        volatile uint8_t *p = v->notify + (uint64_t)q * v->notify_mult;
        if ((uintptr_t)(p + 2 - v->common) <= 4096) /* stay inside the BAR */
            mmio_w16(p, (uint16_t)(q == 5 ? 5 : 0xBEEF));
    }
    recover("notifies for queue 5 and bogus queue numbers");
}

/* Reads, then writes, every BAR offset at widths 1, 2, 4 and 8 (never across the BAR's end). */
static void attack_bar(void)
{
    volatile uint8_t *bar = vnet.pci.common; /* the common region starts BAR 0 */
    uint64_t sink = 0;
    for (unsigned len = 1; len <= 8; len *= 2)
        for (unsigned off = 0; off + len <= 4096; off++) {
            volatile uint8_t *p = bar + off;
            sink += len == 1   ? mmio_r8(p)
                    : len == 2 ? mmio_r16(p)
                    : len == 4 ? mmio_r32(p)
                               : mmio_r64(p);
        }
    (void)sink;
    recover("reads at every BAR offset and width");
    for (unsigned len = 1; len <= 8; len *= 2)
        for (unsigned off = 0; off + len <= 4096; off += (len == 1 ? 1 : len - 1)) {
            volatile uint8_t *p = bar + off;
            uint64_t val = 0x5A5A5A5A5A5A5A5Aull;
            if (len == 1)
                mmio_w8(p, (uint8_t)val);
            else if (len == 2)
                mmio_w16(p, (uint16_t)val);
            else if (len == 4)
                mmio_w32(p, (uint32_t)val);
            else
                mmio_w64(p, val);
        }
    recover("writes at every BAR offset and width");
}

/*
 * A page below 4 GiB outside guest RAM and the device windows to move BAR 0 to. RAM lies where
 * chyve placed it (on aarch64 anywhere from 256 MiB to 4 GiB, randomised), so a fixed address
 * would sometimes be RAM; of two candidates far apart, one is free for any test guest's RAM.
 */
static uint64_t bar_elsewhere(void)
{
    static const uint64_t candidates[] = {0xD0000000ull, 0x20000000ull};
    uint64_t start = bi_u64(BI_PHYS_START), end = bi_u64(BI_PHYS_END);
    for (unsigned i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
        if (candidates[i] + 4096 <= start || candidates[i] >= end)
            return candidates[i];
    return 0;
}

/* Configuration space: all ones and zeros everywhere, BAR moves, then the saved values back. */
static void attack_config(void)
{
    struct vpci *v = &vnet.pci;
    unsigned b = v->bus, d = v->dev, f = v->fn;
    uint32_t saved[64];
    for (unsigned i = 0; i < 64; i++)
        saved[i] = arch_pci_read(b, d, f, 4 * i, 4);
    for (unsigned off = 0; off < 256; off++)
        arch_pci_write(b, d, f, off, 1, 0xFF);
    for (unsigned off = 0; off < 256; off += 2)
        arch_pci_write(b, d, f, off, 2, 0);
    for (unsigned off = 0; off < 256; off += 4)
        arch_pci_write(b, d, f, off, 4, 0xFFFFFFFF);
    for (unsigned i = 0; i < 64; i++) {
        unsigned off = 4 * i;
        uint32_t now = arch_pci_read(b, d, f, off, 4);
        bool writable =
            off == PCI_COMMAND || off == PCI_BAR0 || off == PCI_BAR0 + 4 || off == PCI_INT_LINE;
        if (!writable && now != saved[i])
            fail("config register 0x%02x changed from 0x%08x to 0x%08x", off, saved[i], now);
    }
    uint32_t sized = arch_pci_read(b, d, f, PCI_BAR0, 4) & ~0xFu;
    if (sized != 0xFFFFF000u)
        fail("BAR 0 sizes as 0x%08x, not 4 KiB", sized);
    for (unsigned i = 0; i < 64; i++)
        arch_pci_write(b, d, f, 4 * i, 4, saved[i]);
    recover("all ones and zeros in every configuration register");

    /* Move BAR 0 elsewhere: the device must answer there, and on RAM, RAM must win. */
    uint32_t cmd = saved[PCI_COMMAND / 4] & 0xFFFF;
    const uint64_t elsewhere = bar_elsewhere();
    if (elsewhere == 0 || arch_map_mmio(elsewhere, 4096) != 0) {
        fail("no free page to move BAR 0 to (0x%lx)", (unsigned long)elsewhere);
        return;
    }
    uint8_t status = vpci_status(v);
    arch_pci_write(b, d, f, PCI_BAR0, 4, (uint32_t)elsewhere);
    arch_pci_write(b, d, f, PCI_BAR0 + 4, 4, 0);
    volatile uint8_t *moved = (volatile uint8_t *)(uintptr_t)elsewhere;
    if (mmio_r8(moved + VIRTIO_CC_STATUS) != status)
        fail("the BAR moved to 0x%lx does not answer", (unsigned long)elsewhere);
    uint64_t ram = (uintptr_t)scratch[1];
    scratch[1][VIRTIO_CC_STATUS] = 0x77;
    arch_pci_write(b, d, f, PCI_BAR0, 4, (uint32_t)ram);
    arch_pci_write(b, d, f, PCI_BAR0 + 4, 4, (uint32_t)(ram >> 32));
    mmio_w8(&scratch[1][VIRTIO_CC_STATUS], 0); /* RAM: reaches memory, not the device */
    if (mmio_r8(&scratch[1][VIRTIO_CC_STATUS]) != 0)
        fail("RAM under a BAR moved onto it does not behave as RAM");
    arch_pci_write(b, d, f, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
    arch_pci_write(b, d, f, PCI_BAR0, 4, saved[PCI_BAR0 / 4]);
    arch_pci_write(b, d, f, PCI_BAR0 + 4, 4, saved[PCI_BAR0 / 4 + 1]);
    arch_pci_write(b, d, f, PCI_COMMAND, 2, cmd);
    if (vpci_status(v) != status)
        fail("the BAR moved back does not answer (status 0x%x)", vpci_status(v));
    recover("BAR 0 moved above RAM, onto RAM and back");
}

static void attack_absent(void)
{
    unsigned b = vnet.pci.bus, d = vnet.pci.dev, f = vnet.pci.fn;
    for (unsigned bus = 0; bus < 256; bus++)
        for (unsigned dev = 0; dev < 32; dev += (bus == 0 ? 1 : 31))
            for (unsigned fn = 0; fn < 8; fn += (bus == 0 && dev < 2 ? 1 : 7)) {
                if (bus == b && dev == d && fn == f)
                    continue;
                arch_pci_write(bus, dev, fn, PCI_COMMAND, 2, 0xFFFF);
                arch_pci_write(bus, dev, fn, PCI_BAR0, 4, 0);
                for (unsigned len = 1; len <= 4; len *= 2) {
                    uint32_t want = len == 4 ? 0xFFFFFFFFu : (1u << (8 * len)) - 1;
                    uint32_t got = arch_pci_read(bus, dev, fn, 4 - len, len);
                    if (got != want)
                        fail("absent slot %u:%u.%u reads 0x%x", bus, dev, fn, got);
                }
            }
    unsigned bad = arch_pci_hostile(b, d, f);
    if (bad)
        fail("%u PCI port accesses answered wrongly", bad);
    recover("absent PCI slots and odd configuration port accesses");
}

unsigned hostile_run(uint16_t rx, uint16_t tx, uint32_t ip, uint32_t gw, unsigned *attacks)
{
    rx_size = rx, tx_size = tx, my_ip = ip, gw_ip = gw;
    n_attacks = n_fail = 0;
    uint64_t t0 = ms_now();

    attack_common();
    attack_rings("rings outside guest RAM", OUTSIDE_RAM, OUTSIDE_RAM + 0x1000,
                 OUTSIDE_RAM + 0x2000);
    attack_rings("misaligned rings", (uintptr_t)scratch[0] + 8, (uintptr_t)scratch[0] + 1,
                 (uintptr_t)scratch[1] + 2);
    attack_rings("rings running past the end of RAM", ~0ull & ~0xFFFull, 0, 0);
    attack_chains();
    attack_rx("RX buffer outside guest RAM", OUTSIDE_RAM, 1514, VRING_DESC_F_WRITE, true);
    attack_rx("RX buffer of 0xFFFFFFFF bytes", (uintptr_t)scratch[0], 0xFFFFFFFF,
              VRING_DESC_F_WRITE, true);
    attack_rx("RX buffer too small for the frame", (uintptr_t)scratch[0], 4, VRING_DESC_F_WRITE,
              false);
    attack_rx("RX readable data buffer", (uintptr_t)scratch[0], 1514, 0, true);
    attack_notify();
    attack_bar();
    attack_config();
    attack_absent();

    rt_printf("net: hostile: %u attacks, %u failures, %lu ms\n", n_attacks, n_fail,
              (unsigned long)(ms_now() - t0));
    *attacks = n_attacks;
    return n_fail;
}
