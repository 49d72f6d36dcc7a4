/* virtio_pci.c: the guest's virtio 1.x PCI transport: bus scan, capabilities, common config. */
#include "virtio_pci.h"
#include "arch.h"
#include "rt.h"

#define PCI_BUSES 32

bool vpci_scan(uint16_t device_id, unsigned *bus, unsigned *dev, unsigned *fn)
{
    for (unsigned b = 0; b < PCI_BUSES; b++) {
        for (unsigned d = 0; d < 32; d++) {
            unsigned nfn = 1;
            for (unsigned f = 0; f < nfn; f++) {
                uint32_t id = arch_pci_read(b, d, f, 0, 4);
                if ((id & 0xFFFF) == 0xFFFF)
                    continue;
                if (f == 0 && (arch_pci_read(b, d, 0, PCI_HEADER_TYPE, 1) & 0x80))
                    nfn = 8;
                if ((id & 0xFFFF) == VIRTIO_PCI_VENDOR &&
                    (id >> 16) == VIRTIO_PCI_DEVICE_MODERN + (uint32_t)device_id) {
                    *bus = b, *dev = d, *fn = f;
                    return true;
                }
            }
        }
    }
    return false;
}

static void read_bars(struct vpci *v)
{
    for (unsigned i = 0; i < 6; i++) {
        uint32_t lo = arch_pci_read(v->bus, v->dev, v->fn, PCI_BAR0 + 4 * i, 4);
        v->bar[i] = 0;
        if (lo & 1)
            continue; /* an I/O BAR: virtio regions live in memory BARs here */
        uint64_t a = lo & ~0xFull;
        if (((lo >> 1) & 3) == 2 && i < 5) {
            a |= (uint64_t)arch_pci_read(v->bus, v->dev, v->fn, PCI_BAR0 + 4 * (i + 1), 4) << 32;
            v->bar[i] = a;
            i++;
            v->bar[i] = 0;
            continue;
        }
        v->bar[i] = a;
    }
}

int vpci_attach(struct vpci *v, unsigned bus, unsigned dev, unsigned fn)
{
    v->bus = bus, v->dev = dev, v->fn = fn;
    v->common = v->isr = v->devcfg = v->notify = 0;
    v->notify_mult = v->devcfg_len = 0;
    if (arch_pci_setup(bus, dev, fn, &v->irq_line) != 0)
        return -1;
    read_bars(v);
    if (!(arch_pci_read(bus, dev, fn, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) {
        rt_puts("net: FAIL: the virtio function has no capability list\n");
        return -1;
    }
    unsigned at = arch_pci_read(bus, dev, fn, PCI_CAP_PTR, 1) & 0xFC;
    for (unsigned n = 0; at >= 0x40 && n < 48; n++) {
        uint32_t head = arch_pci_read(bus, dev, fn, at, 4);
        unsigned next = (head >> 8) & 0xFC;
        if ((head & 0xFF) == PCI_CAP_ID_VENDOR) {
            unsigned type = (head >> 24) & 0xFF;
            unsigned bar = arch_pci_read(bus, dev, fn, at + 4, 1);
            uint32_t off = arch_pci_read(bus, dev, fn, at + 8, 4);
            uint32_t len = arch_pci_read(bus, dev, fn, at + 12, 4);
            if (bar < 6 && v->bar[bar] != 0 && len != 0) {
                uint64_t pa = v->bar[bar] + off;
                volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)pa;
                if (arch_map_mmio(pa, len) != 0) {
                    rt_puts("net: FAIL: cannot map a virtio region\n");
                    return -1;
                }
                if (type == VIRTIO_PCI_CAP_COMMON && !v->common) {
                    v->common = p;
                } else if (type == VIRTIO_PCI_CAP_ISR && !v->isr) {
                    v->isr = p;
                } else if (type == VIRTIO_PCI_CAP_DEVICE && !v->devcfg) {
                    v->devcfg = p;
                    v->devcfg_len = len;
                } else if (type == VIRTIO_PCI_CAP_NOTIFY && !v->notify) {
                    v->notify = p;
                    v->notify_mult = arch_pci_read(bus, dev, fn, at + 16, 4);
                }
            }
        }
        at = next;
    }
    if (!v->common || !v->isr || !v->notify) {
        rt_puts("net: FAIL: the virtio function lacks a common, ISR or notify region\n");
        return -1;
    }
    uint32_t cmd = arch_pci_read(bus, dev, fn, PCI_COMMAND, 2);
    arch_pci_write(bus, dev, fn, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    return 0;
}

uint8_t vpci_status(struct vpci *v)
{
    return mmio_r8(v->common + VIRTIO_CC_STATUS);
}

void vpci_set_status(struct vpci *v, uint8_t s)
{
    mmio_w8(v->common + VIRTIO_CC_STATUS, s);
}

int vpci_reset(struct vpci *v)
{
    vpci_set_status(v, 0);
    for (unsigned i = 0; i < 1000; i++)
        if (vpci_status(v) == 0)
            return 0;
    rt_puts("net: FAIL: the device does not come out of reset\n");
    return -1;
}

uint64_t vpci_device_features(struct vpci *v)
{
    mmio_w32(v->common + VIRTIO_CC_DFSELECT, 0);
    uint64_t lo = mmio_r32(v->common + VIRTIO_CC_DF);
    mmio_w32(v->common + VIRTIO_CC_DFSELECT, 1);
    uint64_t hi = mmio_r32(v->common + VIRTIO_CC_DF);
    return hi << 32 | lo;
}

void vpci_set_driver_features(struct vpci *v, uint64_t f)
{
    mmio_w32(v->common + VIRTIO_CC_GFSELECT, 0);
    mmio_w32(v->common + VIRTIO_CC_GF, (uint32_t)f);
    mmio_w32(v->common + VIRTIO_CC_GFSELECT, 1);
    mmio_w32(v->common + VIRTIO_CC_GF, (uint32_t)(f >> 32));
}

/* A 64-bit queue address register, as one store or as two 32-bit halves (low first). */
static void write_addr(struct vpci *v, unsigned reg, uint64_t a, bool addr64)
{
    if (addr64) {
        mmio_w64(v->common + reg, a);
    } else {
        mmio_w32(v->common + reg, (uint32_t)a);
        mmio_w32(v->common + reg + 4, (uint32_t)(a >> 32));
    }
}

int vpci_queue_setup(struct vpci *v, struct vq *q, unsigned index, uint16_t want,
                     struct vq_mem *mem, bool addr64)
{
    mmio_w16(v->common + VIRTIO_CC_QSELECT, (uint16_t)index);
    uint16_t max = mmio_r16(v->common + VIRTIO_CC_QSIZE);
    if (max == 0) {
        rt_printf("net: FAIL: queue %u does not exist\n", index);
        return -1;
    }
    uint16_t size = max < want ? max : want;
    if (size > VQ_MAX)
        size = VQ_MAX;
    while (size & (size - 1))
        size &= (uint16_t)(size - 1); /* down to a power of two */
    mmio_w16(v->common + VIRTIO_CC_QSIZE, size);
    size = mmio_r16(v->common + VIRTIO_CC_QSIZE); /* what the device accepted */
    if (size == 0 || size > VQ_MAX || (size & (size - 1))) {
        rt_printf("net: FAIL: queue %u has size %u\n", index, size);
        return -1;
    }
    memset(mem, 0, sizeof(*mem));
    q->index = index;
    q->size = size;
    q->avail_idx = q->used_seen = 0;
    q->mem = mem;
    write_addr(v, VIRTIO_CC_QDESC, (uintptr_t)mem->desc, addr64);
    write_addr(v, VIRTIO_CC_QDRIVER, (uintptr_t)&mem->avail, addr64);
    write_addr(v, VIRTIO_CC_QDEVICE, (uintptr_t)&mem->used, addr64);
    uint16_t off = mmio_r16(v->common + VIRTIO_CC_QNOTIFYOFF);
    q->notify = (volatile uint16_t *)(v->notify + (uint64_t)off * v->notify_mult);
    mmio_w16(v->common + VIRTIO_CC_QENABLE, 1);
    if (mmio_r16(v->common + VIRTIO_CC_QENABLE) != 1) {
        rt_printf("net: FAIL: queue %u did not enable (status 0x%x)\n", index, vpci_status(v));
        return -1;
    }
    return 0;
}

void vq_kick(struct vq *q)
{
    __atomic_store_n(&q->mem->avail.idx, q->avail_idx, __ATOMIC_RELEASE);
    arch_mb(); /* the device may be reading the ring right now; it sees the index before the kick */
    mmio_w16(q->notify, (uint16_t)q->index);
}
