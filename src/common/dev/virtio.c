/*
 * virtio.c: the virtio 1.x PCI transport (common, ISR, notify and device regions of BAR 0, the
 * four vendor capabilities) and split-virtqueue processing. Guest values are checked here once:
 * ring placement when a queue is enabled, every index and descriptor when it is read.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dev/virtio.h"
#include "err.h"
#include "le.h"
#include "log.h"

/* Adds one virtio_pci_cap (or, with mult, virtio_pci_notify_cap) for a BAR 0 region. */
static int add_region_cap(struct pci_function *f, uint8_t type, uint32_t off, uint32_t len,
                          bool notify)
{
    uint8_t cap[20] = {PCI_CAP_ID_VENDOR, 0, notify ? 20 : 16, type, 0 /* BAR 0 */};
    le32_put(cap + 8, off);
    le32_put(cap + 12, len);
    if (notify) {
        le32_put(cap + 16, VIRTIO_NOTIFY_MULT);
    }
    return pci_function_add_cap(f, cap, cap[2]) != 0 ? 0 : -1;
}

static void queue_reset(struct virtio_device *d, struct virtq *q)
{
    (void)d;
    memset(q, 0, sizeof(*q));
    q->size = d->queue_max;
}

/* Back to the state after power-on, as a driver's write of 0 to device_status asks. */
static void device_reset(struct virtio_device *d)
{
    d->driver_features = 0;
    d->dfselect = d->gfselect = 0;
    d->queue_select = 0;
    d->status = 0;
    d->isr = 0;
    for (unsigned i = 0; i < d->nqueues; i++) {
        queue_reset(d, &d->q[i]);
    }
    if (d->irq_level && d->irq != NULL) {
        d->irq(d->irq_ctx, false);
    }
    d->irq_level = false;
    le16_put(d->pci.cfg + PCI_STATUS,
             le16_get(d->pci.cfg + PCI_STATUS) & (uint16_t)~PCI_STATUS_INTX);
    if (d->ops->reset != NULL) {
        d->ops->reset(d);
    }
}

int virtio_device_init(struct virtio_device *d, const struct guest_mem *mem,
                       const struct virtio_params *p, const struct virtio_ops *ops, void *ctx)
{
    if (p->nqueues == 0 || p->nqueues > VIRTIO_MAX_QUEUES || p->devcfg_len > VIRTIO_DEVCFG_MAX ||
        p->queue_max == 0 || p->queue_max > VIRTQ_MAX_SIZE ||
        (p->queue_max & (p->queue_max - 1)) != 0) {
        return err_set("virtio device parameters out of range");
    }
    memset(d, 0, sizeof(*d));
    struct pci_ident id = {
        .vendor = VIRTIO_PCI_VENDOR,
        .device = (uint16_t)(VIRTIO_PCI_DEVICE_MODERN + p->device_id),
        .subsys_vendor = VIRTIO_PCI_VENDOR,
        .subsys_id = p->device_id,
        .revision = 1, /* modern only (virtio 1.2 §4.1.2.1) */
        .class_code = p->class_code,
        .subclass = p->subclass,
        .int_pin = 1,
        .int_line = p->int_line,
    };
    pci_function_init(&d->pci, &id);
    if (add_region_cap(&d->pci, VIRTIO_PCI_CAP_COMMON, VIRTIO_BAR_COMMON, VIRTIO_CC_SIZE, false) !=
            0 ||
        add_region_cap(&d->pci, VIRTIO_PCI_CAP_ISR, VIRTIO_BAR_ISR, 1, false) != 0 ||
        add_region_cap(&d->pci, VIRTIO_PCI_CAP_NOTIFY, VIRTIO_BAR_NOTIFY,
                       p->nqueues * VIRTIO_NOTIFY_MULT, true) != 0 ||
        (p->devcfg_len != 0 && add_region_cap(&d->pci, VIRTIO_PCI_CAP_DEVICE, VIRTIO_BAR_DEVICE,
                                              p->devcfg_len, false) != 0)) {
        return err_set("virtio capabilities do not fit PCI configuration space");
    }
    d->mem = mem;
    d->ops = ops;
    d->ctx = ctx;
    d->features = p->features | (1ull << VIRTIO_F_VERSION_1);
    d->nqueues = p->nqueues;
    d->queue_max = p->queue_max;
    if (p->devcfg_len != 0) { /* devcfg may be NULL then, and memcpy() takes no NULL */
        memcpy(d->devcfg, p->devcfg, p->devcfg_len);
    }
    d->devcfg_len = p->devcfg_len;
    for (unsigned i = 0; i < d->nqueues; i++) {
        queue_reset(d, &d->q[i]);
    }
    pthread_mutex_init(&d->lock, NULL);
    return 0;
}

void virtio_device_fini(struct virtio_device *d)
{
    pthread_mutex_destroy(&d->lock);
}

bool virtio_running(const struct virtio_device *d)
{
    return (d->status & VIRTIO_STATUS_DRIVER_OK) != 0 &&
           (d->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)) == 0;
}

/* PCI status "interrupt status" follows the ISR; INTx disable (command bit 10) gates the line. */
static void raise_line(struct virtio_device *d)
{
    uint16_t st = le16_get(d->pci.cfg + PCI_STATUS);
    le16_put(d->pci.cfg + PCI_STATUS, st | PCI_STATUS_INTX);
    if (le16_get(d->pci.cfg + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE) {
        return;
    }
    if (!d->irq_level && d->irq != NULL) {
        d->irq_level = true;
        d->irq(d->irq_ctx, true);
    }
}

void virtio_interrupt(struct virtio_device *d)
{
    d->isr |= VIRTIO_ISR_QUEUE;
    raise_line(d);
}

void virtio_fail(struct virtio_device *d, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if ((d->status & VIRTIO_STATUS_NEEDS_RESET) == 0) {
        log_warn_limited("virtio device %04x: %s; stopped until the guest resets it",
                         le16_get(d->pci.cfg + PCI_DEVICE_ID), why);
    }
    d->status |= VIRTIO_STATUS_NEEDS_RESET;
    d->isr |= VIRTIO_ISR_CONFIG; /* a configuration change tells the driver to look at the status */
    raise_line(d);
}

/* The common configuration as the guest reads it, laid out in cc[VIRTIO_CC_SIZE]. */
static void common_image(const struct virtio_device *d, uint8_t *cc)
{
    memset(cc, 0, VIRTIO_CC_SIZE);
    le32_put(cc + VIRTIO_CC_DFSELECT, d->dfselect);
    le32_put(cc + VIRTIO_CC_DF,
             d->dfselect < 2 ? (uint32_t)(d->features >> (32 * d->dfselect)) : 0);
    le32_put(cc + VIRTIO_CC_GFSELECT, d->gfselect);
    le32_put(cc + VIRTIO_CC_GF,
             d->gfselect < 2 ? (uint32_t)(d->driver_features >> (32 * d->gfselect)) : 0);
    le16_put(cc + VIRTIO_CC_MSIX, VIRTIO_MSI_NO_VECTOR);
    le16_put(cc + VIRTIO_CC_NUMQ, (uint16_t)d->nqueues);
    cc[VIRTIO_CC_STATUS] = d->status;
    cc[VIRTIO_CC_CFGGEN] = d->config_generation;
    le16_put(cc + VIRTIO_CC_QSELECT, d->queue_select);
    le16_put(cc + VIRTIO_CC_QMSIX, VIRTIO_MSI_NO_VECTOR);
    if (d->queue_select < d->nqueues) {
        const struct virtq *q = &d->q[d->queue_select];
        le16_put(cc + VIRTIO_CC_QSIZE, q->size);
        le16_put(cc + VIRTIO_CC_QENABLE, q->enabled);
        le16_put(cc + VIRTIO_CC_QNOTIFYOFF, d->queue_select);
        le64_put(cc + VIRTIO_CC_QDESC, q->desc);
        le64_put(cc + VIRTIO_CC_QDRIVER, q->avail);
        le64_put(cc + VIRTIO_CC_QDEVICE, q->used);
    }
}

/* True if [gpa, gpa + len) is guest RAM and gpa is a multiple of align. */
static bool ring_ok(const struct virtio_device *d, uint64_t gpa, uint64_t len, uint64_t align)
{
    return (gpa & (align - 1)) == 0 && guest_mem_ptr(d->mem, gpa, len) != NULL;
}

static void queue_enable(struct virtio_device *d, struct virtq *q)
{
    uint64_t n = q->size;
    if (!ring_ok(d, q->desc, VRING_DESC_SIZE * n, 16) || !ring_ok(d, q->avail, 6 + 2 * n, 2) ||
        !ring_ok(d, q->used, 6 + 8 * n, 4)) {
        virtio_fail(d,
                    "queue %u rings lie outside guest RAM or are misaligned (desc 0x%llx, "
                    "driver 0x%llx, device 0x%llx, size %u)",
                    d->queue_select, (unsigned long long)q->desc, (unsigned long long)q->avail,
                    (unsigned long long)q->used, q->size);
        return;
    }
    q->next_avail = 0;
    q->used_idx = 0;
    q->enabled = true;
}

static void status_write(struct virtio_device *d, uint8_t v)
{
    if (v == 0) {
        device_reset(d);
        return;
    }
    uint8_t old = d->status;
    if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        bool ok = (d->driver_features & ~d->features) == 0 &&
                  (d->driver_features & (1ull << VIRTIO_F_VERSION_1)) != 0;
        if (!ok) {
            v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK; /* the driver reads it back and gives up */
        }
    }
    if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
        !(v & VIRTIO_STATUS_FEATURES_OK)) {
        v &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK; /* no features agreed: not ready */
    }
    d->status = (uint8_t)((v & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET));
    if ((d->status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
        d->ops->ready != NULL) {
        d->ops->ready(d);
    }
}

/* Applies a guest write to the common configuration: the fields whose bytes changed. */
static void common_write(struct virtio_device *d, unsigned off, const uint8_t *data, unsigned len)
{
    uint8_t cc[VIRTIO_CC_SIZE], nw[VIRTIO_CC_SIZE];
    common_image(d, cc);
    memcpy(nw, cc, sizeof(nw));
    memcpy(nw + off, data, len);
    bool features_open = !(d->status & VIRTIO_STATUS_FEATURES_OK);
#define TOUCHED(field, size) (off < (field) + (size) && (field) < off + len)
    if (TOUCHED(VIRTIO_CC_DFSELECT, 4)) {
        d->dfselect = le32_get(nw + VIRTIO_CC_DFSELECT);
    }
    if (TOUCHED(VIRTIO_CC_GFSELECT, 4)) {
        d->gfselect = le32_get(nw + VIRTIO_CC_GFSELECT);
    }
    if (TOUCHED(VIRTIO_CC_GF, 4) && features_open && d->gfselect < 2) {
        unsigned shift = 32 * d->gfselect;
        d->driver_features = (d->driver_features & ~(0xFFFFFFFFull << shift)) |
                             ((uint64_t)le32_get(nw + VIRTIO_CC_GF) << shift);
    }
    if (TOUCHED(VIRTIO_CC_QSELECT, 2)) {
        d->queue_select = le16_get(nw + VIRTIO_CC_QSELECT);
    }
    if (d->queue_select < d->nqueues && !d->q[d->queue_select].enabled &&
        !(d->status & VIRTIO_STATUS_DRIVER_OK)) {
        struct virtq *q = &d->q[d->queue_select];
        if (TOUCHED(VIRTIO_CC_QSIZE, 2)) {
            uint16_t n = le16_get(nw + VIRTIO_CC_QSIZE);
            if (n != 0 && n <= d->queue_max && (n & (n - 1)) == 0) {
                q->size = n; /* other sizes are ignored: the driver reads back what it got */
            }
        }
        if (TOUCHED(VIRTIO_CC_QDESC, 8)) {
            q->desc = le64_get(nw + VIRTIO_CC_QDESC);
        }
        if (TOUCHED(VIRTIO_CC_QDRIVER, 8)) {
            q->avail = le64_get(nw + VIRTIO_CC_QDRIVER);
        }
        if (TOUCHED(VIRTIO_CC_QDEVICE, 8)) {
            q->used = le64_get(nw + VIRTIO_CC_QDEVICE);
        }
        if (TOUCHED(VIRTIO_CC_QENABLE, 2) && le16_get(nw + VIRTIO_CC_QENABLE) == 1) {
            queue_enable(d, q);
        }
    }
    if (TOUCHED(VIRTIO_CC_STATUS, 1)) {
        status_write(d, nw[VIRTIO_CC_STATUS]);
    }
#undef TOUCHED
}

void virtio_bar_access(struct virtio_device *d, uint64_t off, bool write, uint8_t *data,
                       unsigned len)
{
    pthread_mutex_lock(&d->lock);
    if (off + len <= VIRTIO_BAR_COMMON + VIRTIO_CC_SIZE) { /* the common region starts the BAR */
        unsigned o = (unsigned)(off - VIRTIO_BAR_COMMON);
        if (write) {
            common_write(d, o, data, len);
        } else {
            uint8_t cc[VIRTIO_CC_SIZE];
            common_image(d, cc);
            memcpy(data, cc + o, len);
        }
    } else if (off == VIRTIO_BAR_ISR && !write) {
        memset(data, 0, len);
        data[0] = d->isr; /* read-to-clear, and the line drops with it */
        d->isr = 0;
        le16_put(d->pci.cfg + PCI_STATUS,
                 le16_get(d->pci.cfg + PCI_STATUS) & (uint16_t)~PCI_STATUS_INTX);
        if (d->irq_level && d->irq != NULL) {
            d->irq(d->irq_ctx, false);
        }
        d->irq_level = false;
    } else if (off >= VIRTIO_BAR_DEVICE && off + len <= VIRTIO_BAR_DEVICE + d->devcfg_len) {
        if (!write) {
            memcpy(data, d->devcfg + (off - VIRTIO_BAR_DEVICE), len);
        }
    } else if (off >= VIRTIO_BAR_NOTIFY &&
               off + len <= VIRTIO_BAR_NOTIFY + d->nqueues * VIRTIO_NOTIFY_MULT) {
        unsigned qi = (unsigned)(off - VIRTIO_BAR_NOTIFY) / VIRTIO_NOTIFY_MULT;
        if (write && virtio_running(d) && d->q[qi].enabled && d->ops->notify != NULL) {
            d->ops->notify(d, qi);
        } else if (!write) {
            memset(data, 0, len);
        }
    } else if (!write) {
        memset(data, 0, len); /* holes in the BAR read as zero */
    }
    pthread_mutex_unlock(&d->lock);
}

/* --- split virtqueues --- */

static uint16_t ring_load16(const struct virtio_device *d, uint64_t gpa)
{
    const uint16_t *p = guest_mem_ptr(d->mem, gpa, 2); /* checked at enable; aligned */
    uint16_t v = __atomic_load_n(p, __ATOMIC_ACQUIRE);
    uint8_t b[2];
    memcpy(b, &v, sizeof(b));
    return le16_get(b);
}

int virtq_pop(struct virtio_device *d, struct virtq *q, struct virtq_chain *c)
{
    if (!q->enabled || !virtio_running(d)) {
        return 0;
    }
    uint16_t avail_idx = ring_load16(d, q->avail + 2);
    uint16_t pending = (uint16_t)(avail_idx - q->next_avail);
    if (pending == 0) {
        return 0;
    }
    if (pending > q->size) {
        virtio_fail(d, "avail index %u ran %u entries ahead of a %u-entry queue", avail_idx,
                    pending, q->size);
        return -1;
    }
    uint16_t head = ring_load16(d, q->avail + 4 + 2ull * (q->next_avail & (q->size - 1)));
    if (head >= q->size) {
        virtio_fail(d, "avail ring names descriptor %u of a %u-entry queue", head, q->size);
        return -1;
    }
    c->head = head;
    c->nread = c->nwrite = 0;
    c->read_bytes = c->write_bytes = 0;
    uint16_t i = head;
    for (unsigned n = 0;; n++) {
        if (n == q->size) {
            virtio_fail(d, "descriptor chain from %u loops or is longer than the queue", head);
            return -1;
        }
        uint8_t desc[VRING_DESC_SIZE];
        guest_mem_read(d->mem, q->desc + (uint64_t)VRING_DESC_SIZE * i, desc, sizeof(desc));
        uint64_t addr = le64_get(desc);
        uint32_t len = le32_get(desc + 8);
        uint16_t flags = le16_get(desc + 12);
        uint16_t next = le16_get(desc + 14);
        if (flags & VRING_DESC_F_INDIRECT) {
            virtio_fail(d, "indirect descriptor %u, a feature chyve does not offer", i);
            return -1;
        }
        void *host = guest_mem_ptr(d->mem, addr, len);
        if (host == NULL) {
            virtio_fail(d, "descriptor %u points outside guest RAM (0x%llx, %u bytes)", i,
                        (unsigned long long)addr, len);
            return -1;
        }
        bool writable = (flags & VRING_DESC_F_WRITE) != 0;
        if (!writable && c->nwrite != 0) {
            virtio_fail(d, "descriptor %u: a device-readable buffer after a writable one", i);
            return -1;
        }
        c->iov[n].iov_base = host;
        c->iov[n].iov_len = len;
        if (writable) {
            c->nwrite++;
            c->write_bytes += len;
        } else {
            c->nread++;
            c->read_bytes += len;
        }
        if (!(flags & VRING_DESC_F_NEXT)) {
            break;
        }
        if (next >= q->size) {
            virtio_fail(d, "descriptor %u chains to %u of a %u-entry queue", i, next, q->size);
            return -1;
        }
        i = next;
    }
    q->next_avail++;
    return 1;
}

int virtq_push(struct virtio_device *d, struct virtq *q, uint16_t head, uint32_t len)
{
    if (!q->enabled) {
        return -1;
    }
    uint8_t elem[8];
    le32_put(elem, head);
    le32_put(elem + 4, len);
    uint64_t slot = q->used + 4 + 8ull * (q->used_idx & (q->size - 1));
    if (guest_mem_write(d->mem, slot, elem, sizeof(elem)) != 0) {
        virtio_fail(d, "used ring outside guest RAM");
        return -1;
    }
    q->used_idx++;
    uint16_t *idx = guest_mem_ptr(d->mem, q->used + 2, 2);
    uint8_t le[2];
    le16_put(le, q->used_idx);
    uint16_t v;
    memcpy(&v, le, 2);
    __atomic_store_n(idx, v, __ATOMIC_RELEASE);
    return 0;
}

bool virtq_wants_interrupt(struct virtio_device *d, const struct virtq *q)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return (ring_load16(d, q->avail) & VRING_AVAIL_F_NO_INTERRUPT) == 0;
}
