/*
 * iobus.c: the PCI host bridge and the device slots behind it. Configuration mechanism #1 (ports
 * 0xCF8/0xCFC, x86_64) and an ECAM window (aarch64) both reach the one populated slot on bus 0
 * (function 0); every other slot reads as absent (all ones) and ignores writes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dev/virtio.h"
#include "err.h"
#include "iobus.h"
#include "le.h"

#define PCI_PORT_ADDR 0xCF8
#define PCI_PORT_DATA 0xCFC
#define PCI_ADDR_ENABLE 0x80000000u

struct iobus {
    pthread_mutex_t lock; /* guards addr */
    uint32_t addr;        /* the last value written to 0xCF8 */
    struct virtio_device *dev;
    uint32_t dev_bdf; /* bus 0, device `slot`, function 0: slot << 3 */
    uint64_t ecam, ecam_size;
};

struct iobus *iobus_create(void)
{
    struct iobus *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        err_set("out of memory creating the device bus");
        return NULL;
    }
    pthread_mutex_init(&b->lock, NULL);
    return b;
}

void iobus_destroy(struct iobus *b)
{
    if (b != NULL) {
        pthread_mutex_destroy(&b->lock);
        free(b);
    }
}

int iobus_attach_virtio(struct iobus *b, struct virtio_device *d, unsigned slot, uint64_t bar_addr)
{
    if (b->dev != NULL || slot > 31) {
        return err_set("PCI device %u cannot be attached (one device only)", slot);
    }
    b->dev_bdf = slot << 3;
    pthread_mutex_lock(&d->lock);
    pci_function_bar64(&d->pci, 0, VIRTIO_BAR_SIZE, false, bar_addr);
    if (bar_addr != 0) { /* what firmware leaves behind on x86_64 */
        pci_function_write(&d->pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    }
    pthread_mutex_unlock(&d->lock);
    b->dev = d;
    return 0;
}

void iobus_set_ecam(struct iobus *b, uint64_t base, uint64_t size)
{
    b->ecam = base;
    b->ecam_size = size;
}

/* A configuration access to bus/device/function `bdf` (bits 8-23 of an address) at offset off. */
static void config_access(struct iobus *b, uint32_t bdf, unsigned off, bool write, uint8_t *data,
                          unsigned len)
{
    struct virtio_device *d = bdf == b->dev_bdf ? b->dev : NULL;
    if (d == NULL) {
        if (!write) {
            memset(data, 0xFF, len);
        }
        return;
    }
    pthread_mutex_lock(&d->lock);
    if (write) {
        uint32_t v = 0;
        for (unsigned i = 0; i < len; i++) {
            v |= (uint32_t)data[i] << (8 * i);
        }
        pci_function_write(&d->pci, off, len, v);
    } else {
        uint32_t v = pci_function_read(&d->pci, off, len);
        for (unsigned i = 0; i < len; i++) {
            data[i] = (uint8_t)(v >> (8 * i));
        }
    }
    pthread_mutex_unlock(&d->lock);
}

bool iobus_pio(struct iobus *b, uint16_t port, bool write, uint8_t *data, unsigned len)
{
    if (len != 1 && len != 2 && len != 4) {
        return false;
    }
    if (port >= PCI_PORT_ADDR && port < PCI_PORT_DATA) {
        /* The address register only as a whole dword; byte accesses to 0xCF8-0xCFB are ignored. */
        pthread_mutex_lock(&b->lock);
        if (port == PCI_PORT_ADDR && len == 4) {
            if (write) {
                b->addr = le32_get(data) & 0x80FFFFFCu;
            } else {
                le32_put(data, b->addr);
            }
        } else if (!write) {
            memset(data, 0xFF, len);
        }
        pthread_mutex_unlock(&b->lock);
        return true;
    }
    if (port >= PCI_PORT_DATA && port <= PCI_PORT_DATA + 3) {
        pthread_mutex_lock(&b->lock);
        uint32_t a = b->addr;
        pthread_mutex_unlock(&b->lock);
        unsigned off = (a & 0xFC) + (port - PCI_PORT_DATA);
        if ((a & PCI_ADDR_ENABLE) == 0 || off + len > (a & 0xFC) + 4) {
            if (!write) {
                memset(data, 0xFF, len);
            }
            return true;
        }
        config_access(b, (a >> 8) & 0xFFFF, off, write, data, len);
        return true;
    }
    return false;
}

bool iobus_mmio(struct iobus *b, uint64_t gpa, bool write, uint8_t *data, unsigned len)
{
    if (len != 1 && len != 2 && len != 4 && len != 8) {
        return false;
    }
    if (b->ecam_size != 0 && gpa >= b->ecam && gpa - b->ecam < b->ecam_size &&
        len <= b->ecam_size - (gpa - b->ecam)) {
        uint64_t rel = gpa - b->ecam;
        unsigned off = rel & 0xFFF;
        if (len == 8 || off + len > PCI_CFG_SIZE) { /* extended space and 64-bit accesses: empty */
            if (!write) {
                memset(data, 0xFF, len);
            }
            return true;
        }
        config_access(b, (uint32_t)(rel >> 12), off, write, data, len);
        return true;
    }
    struct virtio_device *d = b->dev;
    if (d == NULL) {
        return false;
    }
    uint64_t off;
    pthread_mutex_lock(&d->lock);
    bool hit = pci_function_bar_hit(&d->pci, 0, gpa, len, &off);
    pthread_mutex_unlock(&d->lock);
    if (!hit) {
        return false;
    }
    virtio_bar_access(d, off, write, data, len);
    return true;
}
