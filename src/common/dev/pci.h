/*
 * pci.h: the configuration space of one PCI function (type 0 header, 256 bytes), as a guest sees
 * it: read-only identity, a command register, 64-bit memory BARs that size like real ones, the
 * interrupt registers and a capability list. Guest writes change only the bits a device lets
 * them change; everything else is ignored, never an error.
 */
#ifndef CHYVE_PCI_H
#define CHYVE_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_CFG_SIZE 256

/* Header offsets and bits used by chyve's devices and tests. */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09 /* prog-if, subclass, class at 0x09, 0x0A, 0x0B */
#define PCI_HEADER_TYPE 0x0E
#define PCI_BAR0 0x10
#define PCI_SUBSYS_VENDOR 0x2C
#define PCI_SUBSYS_ID 0x2E
#define PCI_CAP_PTR 0x34
#define PCI_INT_LINE 0x3C
#define PCI_INT_PIN 0x3D
#define PCI_CAP_START 0x40

#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS_INTX 0x8
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_BAR_MEM64 0x4
#define PCI_BAR_PREFETCH 0x8
#define PCI_CAP_ID_VENDOR 0x09

#define PCI_NUM_BARS 6

struct pci_function {
    uint8_t cfg[PCI_CFG_SIZE];   /* current register values */
    uint8_t wmask[PCI_CFG_SIZE]; /* bits guest writes may change */
    uint64_t
        bar_size[PCI_NUM_BARS]; /* 0: no BAR in this slot (or the upper half of a 64-bit one) */
    unsigned cap_last;          /* offset of the last capability, 0 before the first */
    unsigned cap_end;           /* first free byte for the next capability */
};

struct pci_ident {
    uint16_t vendor, device, subsys_vendor, subsys_id;
    uint8_t revision, class_code, subclass, prog_if;
    uint8_t int_pin;  /* 1 = INTA#, 0 = none */
    uint8_t int_line; /* what firmware would have written (x86_64: the IOAPIC pin) */
};

void pci_function_init(struct pci_function *f, const struct pci_ident *id);

/*
 * Declares BAR `bar` (and bar + 1) as a 64-bit, optionally prefetchable memory BAR of `size`
 * bytes (a power of two, at least 16) at address addr (0 = unassigned).
 */
void pci_function_bar64(struct pci_function *f, unsigned bar, uint64_t size, bool prefetch,
                        uint64_t addr);

/*
 * Appends a capability of len bytes (2 <= len, fits the space, 4-byte aligned start): body[0] is
 * the capability id; the next pointer in body[1] is filled in. Returns its offset, 0 if full.
 */
uint8_t pci_function_add_cap(struct pci_function *f, const uint8_t *body, unsigned len);

/*
 * Config reads and writes of 1, 2 or 4 bytes at any offset (an access running past the end, or
 * a bad length, reads all ones and writes nothing). Reads return little-endian values.
 */
uint32_t pci_function_read(const struct pci_function *f, unsigned off, unsigned len);
void pci_function_write(struct pci_function *f, unsigned off, unsigned len, uint32_t val);

/* The current address of memory BAR `bar` (64-bit: both halves), without flag bits. */
uint64_t pci_function_bar_addr(const struct pci_function *f, unsigned bar);

/*
 * If memory decoding is on and [gpa, gpa + len) lies inside BAR `bar`, stores the offset into the
 * BAR and returns true. An unassigned (zero) BAR never decodes.
 */
bool pci_function_bar_hit(const struct pci_function *f, unsigned bar, uint64_t gpa, unsigned len,
                          uint64_t *off);

#endif
