/* pci.c: one PCI function's configuration space: masked writes, sizing BARs, capabilities. */
#include <string.h>

#include "dev/pci.h"
#include "le.h"

static void set16(struct pci_function *f, unsigned off, uint16_t v)
{
    le16_put(f->cfg + off, v);
}

void pci_function_init(struct pci_function *f, const struct pci_ident *id)
{
    memset(f, 0, sizeof(*f));
    set16(f, PCI_VENDOR_ID, id->vendor);
    set16(f, PCI_DEVICE_ID, id->device);
    f->cfg[PCI_REVISION] = id->revision;
    f->cfg[PCI_CLASS_PROG] = id->prog_if;
    f->cfg[PCI_CLASS_PROG + 1] = id->subclass;
    f->cfg[PCI_CLASS_PROG + 2] = id->class_code;
    f->cfg[PCI_HEADER_TYPE] = 0; /* type 0, single function */
    set16(f, PCI_SUBSYS_VENDOR, id->subsys_vendor);
    set16(f, PCI_SUBSYS_ID, id->subsys_id);
    f->cfg[PCI_INT_PIN] = id->int_pin;
    f->cfg[PCI_INT_LINE] = id->int_line;
    /* The command register: memory decoding, bus mastering and INTx disable are the guest's. */
    le16_put(f->wmask + PCI_COMMAND,
             PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
    f->wmask[PCI_INT_LINE] = 0xFF; /* scratch for the OS */
    f->cap_end = PCI_CAP_START;
}

void pci_function_bar64(struct pci_function *f, unsigned bar, uint64_t size, bool prefetch,
                        uint64_t addr)
{
    if (bar + 1 >= PCI_NUM_BARS || size < 16 || (size & (size - 1)) != 0) {
        return; /* a programming error in the device model; the BAR stays absent */
    }
    uint64_t mask = ~(size - 1);
    uint32_t flags = PCI_BAR_MEM64 | (prefetch ? PCI_BAR_PREFETCH : 0);
    unsigned off = PCI_BAR0 + 4 * bar;
    le32_put(f->cfg + off, (uint32_t)(addr & mask) | flags);
    le32_put(f->cfg + off + 4, (uint32_t)((addr & mask) >> 32));
    le32_put(f->wmask + off, (uint32_t)mask & ~0xFu);
    le32_put(f->wmask + off + 4, (uint32_t)(mask >> 32));
    f->bar_size[bar] = size;
    f->bar_size[bar + 1] = 0;
}

uint8_t pci_function_add_cap(struct pci_function *f, const uint8_t *body, unsigned len)
{
    unsigned at = f->cap_end;
    if (len < 2 || at + len > PCI_CFG_SIZE) {
        return 0;
    }
    memcpy(f->cfg + at, body, len);
    f->cfg[at + 1] = 0; /* the list ends here */
    if (f->cap_last == 0) {
        f->cfg[PCI_CAP_PTR] = (uint8_t)at;
        le16_put(f->cfg + PCI_STATUS, le16_get(f->cfg + PCI_STATUS) | PCI_STATUS_CAP_LIST);
    } else {
        f->cfg[f->cap_last + 1] = (uint8_t)at;
    }
    f->cap_last = at;
    f->cap_end = (at + len + 3) & ~3u;
    return (uint8_t)at;
}

static bool access_ok(unsigned off, unsigned len)
{
    return (len == 1 || len == 2 || len == 4) && off < PCI_CFG_SIZE && len <= PCI_CFG_SIZE - off;
}

uint32_t pci_function_read(const struct pci_function *f, unsigned off, unsigned len)
{
    if (!access_ok(off, len)) {
        return 0xFFFFFFFFu;
    }
    uint32_t v = 0;
    for (unsigned i = 0; i < len; i++) {
        v |= (uint32_t)f->cfg[off + i] << (8 * i);
    }
    return v;
}

void pci_function_write(struct pci_function *f, unsigned off, unsigned len, uint32_t val)
{
    if (!access_ok(off, len)) {
        return;
    }
    for (unsigned i = 0; i < len; i++) {
        uint8_t m = f->wmask[off + i];
        uint8_t b = (uint8_t)(val >> (8 * i));
        f->cfg[off + i] = (uint8_t)((f->cfg[off + i] & ~m) | (b & m));
    }
}

uint64_t pci_function_bar_addr(const struct pci_function *f, unsigned bar)
{
    if (bar + 1 >= PCI_NUM_BARS || f->bar_size[bar] == 0) {
        return 0;
    }
    unsigned off = PCI_BAR0 + 4 * bar;
    uint64_t lo = le32_get(f->cfg + off) & ~0xFull;
    uint64_t hi = le32_get(f->cfg + off + 4);
    return (hi << 32) | lo;
}

bool pci_function_bar_hit(const struct pci_function *f, unsigned bar, uint64_t gpa, unsigned len,
                          uint64_t *off)
{
    if ((le16_get(f->cfg + PCI_COMMAND) & PCI_COMMAND_MEMORY) == 0 || bar + 1 >= PCI_NUM_BARS) {
        return false;
    }
    uint64_t size = f->bar_size[bar];
    uint64_t base = pci_function_bar_addr(f, bar);
    if (size == 0 || base == 0 || gpa < base || gpa - base >= size || len > size - (gpa - base)) {
        return false;
    }
    *off = gpa - base;
    return true;
}
