/*
 * test_pci.c: one PCI function's configuration space (identity, masked writes, 64-bit BAR sizing
 * and decoding, the capability list, bad accesses) and the host bridge in front of it (ports
 * 0xCF8/0xCFC, the ECAM window, BAR 0 reaching the virtio transport).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "dev/pci.h"
#include "dev/virtio.h"
#include "err.h"
#include "fake_virtq.h"
#include "guest_mem.h"
#include "iobus.h"

/* Sanitizer builds: undefined behaviour fails the test instead of printing and passing. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

static const struct pci_ident ident = {
    .vendor = 0x1234,
    .device = 0x5678,
    .subsys_vendor = 0x9ABC,
    .subsys_id = 0xDEF0,
    .revision = 0x42,
    .class_code = 0x02,
    .subclass = 0x80,
    .prog_if = 0x01,
    .int_pin = 1,
    .int_line = 11,
};

static struct pci_function f;

static void fn_setup(void)
{
    pci_function_init(&f, &ident);
}

TestSuite(pci, .init = fn_setup, .timeout = 2);

static uint32_t rd(unsigned off, unsigned len)
{
    return pci_function_read(&f, off, len);
}

static void wr(unsigned off, unsigned len, uint32_t v)
{
    pci_function_write(&f, off, len, v);
}

Test(pci, identity_registers)
{
    cr_assert_eq(rd(PCI_VENDOR_ID, 2), 0x1234);
    cr_assert_eq(rd(PCI_DEVICE_ID, 2), 0x5678);
    cr_assert_eq(rd(0, 4), 0x56781234u);
    cr_assert_eq(rd(PCI_REVISION, 1), 0x42);
    cr_assert_eq(rd(PCI_CLASS_PROG, 1), 0x01);
    cr_assert_eq(rd(PCI_CLASS_PROG + 1, 1), 0x80);
    cr_assert_eq(rd(PCI_CLASS_PROG + 2, 1), 0x02);
    cr_assert_eq(rd(PCI_REVISION, 4), 0x02800142u);
    cr_assert_eq(rd(PCI_HEADER_TYPE, 1), 0);
    cr_assert_eq(rd(PCI_SUBSYS_VENDOR, 2), 0x9ABC);
    cr_assert_eq(rd(PCI_SUBSYS_ID, 2), 0xDEF0);
    cr_assert_eq(rd(PCI_INT_PIN, 1), 1);
    cr_assert_eq(rd(PCI_INT_LINE, 1), 11);
    cr_assert_eq(rd(PCI_COMMAND, 2), 0, "decoding off after init");
    cr_assert_eq(rd(PCI_STATUS, 2), 0, "no capabilities yet");
    cr_assert_eq(rd(PCI_CAP_PTR, 1), 0);
    for (unsigned bar = 0; bar < PCI_NUM_BARS; bar++) {
        cr_assert_eq(rd(PCI_BAR0 + 4 * bar, 4), 0, "BAR %u", bar);
    }
}

Test(pci, identity_is_read_only)
{
    wr(PCI_VENDOR_ID, 4, 0xFFFFFFFFu);
    wr(PCI_REVISION, 4, 0xFFFFFFFFu);
    wr(PCI_CLASS_PROG + 2, 1, 0x00);
    wr(PCI_HEADER_TYPE, 1, 0x80);
    wr(PCI_SUBSYS_VENDOR, 4, 0);
    wr(PCI_CAP_PTR, 1, 0x80);
    wr(PCI_INT_PIN, 1, 4);
    wr(PCI_STATUS, 2, 0xFFFF);
    cr_assert_eq(rd(0, 4), 0x56781234u);
    cr_assert_eq(rd(PCI_REVISION, 4), 0x02800142u);
    cr_assert_eq(rd(PCI_HEADER_TYPE, 1), 0);
    cr_assert_eq(rd(PCI_SUBSYS_VENDOR, 4), 0xDEF09ABCu);
    cr_assert_eq(rd(PCI_CAP_PTR, 1), 0);
    cr_assert_eq(rd(PCI_INT_PIN, 1), 1);
    cr_assert_eq(rd(PCI_STATUS, 2), 0);
    /* Unused BARs are hard-wired to zero. */
    wr(PCI_BAR0 + 8, 4, 0xFFFFFFFFu);
    cr_assert_eq(rd(PCI_BAR0 + 8, 4), 0);
}

Test(pci, command_bits_the_guest_owns)
{
    wr(PCI_COMMAND, 2, 0xFFFF);
    cr_assert_eq(rd(PCI_COMMAND, 2),
                 PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE,
                 "got 0x%x (I/O decoding must stay off: no I/O BARs)", rd(PCI_COMMAND, 2));
    wr(PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    cr_assert_eq(rd(PCI_COMMAND, 2), PCI_COMMAND_MASTER);
    /* A dword write at 0x04 also hits status, which stays. */
    wr(PCI_COMMAND, 4, 0xFFFF0000u | PCI_COMMAND_MEMORY);
    cr_assert_eq(rd(PCI_COMMAND, 4), PCI_COMMAND_MEMORY);
    /* Byte write to the upper command byte: INTx disable only. */
    wr(PCI_COMMAND + 1, 1, 0xFF);
    cr_assert_eq(rd(PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
    /* The interrupt line is scratch for the OS. */
    wr(PCI_INT_LINE, 1, 5);
    cr_assert_eq(rd(PCI_INT_LINE, 1), 5);
}

Test(pci, bar64_reads_address_and_flags)
{
    pci_function_bar64(&f, 0, 0x1000, false, 0xFEBF0000ull);
    cr_assert_eq(rd(PCI_BAR0, 4), 0xFEBF0000u | PCI_BAR_MEM64);
    cr_assert_eq(rd(PCI_BAR0 + 4, 4), 0);
    cr_assert_eq(pci_function_bar_addr(&f, 0), 0xFEBF0000ull);
    pci_function_bar64(&f, 2, 0x4000, true, 0x123400000000ull);
    cr_assert_eq(rd(PCI_BAR0 + 8, 4), PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
    cr_assert_eq(rd(PCI_BAR0 + 12, 4), 0x1234);
    cr_assert_eq(pci_function_bar_addr(&f, 2), 0x123400000000ull);
    cr_assert_eq(pci_function_bar_addr(&f, 1), 0, "the upper half is no BAR of its own");
    cr_assert_eq(pci_function_bar_addr(&f, 4), 0, "no BAR there");
    cr_assert_eq(pci_function_bar_addr(&f, 5), 0);
    cr_assert_eq(pci_function_bar_addr(&f, 99), 0);
}

Test(pci, bar64_sizing_and_restore)
{
    pci_function_bar64(&f, 0, 0x1000, false, 0xFEBF0000ull);
    wr(PCI_BAR0, 4, 0xFFFFFFFFu);
    wr(PCI_BAR0 + 4, 4, 0xFFFFFFFFu);
    uint64_t lo = rd(PCI_BAR0, 4), hi = rd(PCI_BAR0 + 4, 4);
    cr_assert_eq(lo, 0xFFFFF000u | PCI_BAR_MEM64, "low half 0x%llx", (unsigned long long)lo);
    cr_assert_eq(hi, 0xFFFFFFFFu);
    uint64_t size = ~(((hi << 32) | lo) & ~0xFull) + 1;
    cr_assert_eq(size, 0x1000);
    /* The OS restores (or moves) the BAR: both halves, low bits masked to the size. */
    wr(PCI_BAR0, 4, 0xC0000ABCu);
    wr(PCI_BAR0 + 4, 4, 0x2);
    cr_assert_eq(rd(PCI_BAR0, 4), 0xC0000000u | PCI_BAR_MEM64);
    cr_assert_eq(pci_function_bar_addr(&f, 0), 0x2C0000000ull);
    /* Byte writes reach single bytes of the BAR. */
    wr(PCI_BAR0 + 1, 1, 0x50);
    cr_assert_eq(pci_function_bar_addr(&f, 0), 0x2C0005000ull);
}

Test(pci, bar64_sizing_prefetchable_and_huge)
{
    pci_function_bar64(&f, 0, 1ull << 33, true, 0);
    wr(PCI_BAR0, 4, 0xFFFFFFFFu);
    wr(PCI_BAR0 + 4, 4, 0xFFFFFFFFu);
    cr_assert_eq(rd(PCI_BAR0, 4), PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
    cr_assert_eq(rd(PCI_BAR0 + 4, 4), 0xFFFFFFFEu);
    /* Sizes that are no power of two, too small, or a BAR without an upper half: no BAR. */
    pci_function_bar64(&f, 2, 0x3000, false, 0x10000);
    pci_function_bar64(&f, 2, 8, false, 0x10000);
    pci_function_bar64(&f, 5, 0x1000, false, 0x10000);
    cr_assert_eq(rd(PCI_BAR0 + 8, 4), 0);
    cr_assert_eq(rd(PCI_BAR0 + 20, 4), 0);
    cr_assert_eq(f.bar_size[2], 0);
    cr_assert_eq(f.bar_size[5], 0);
}

Test(pci, bar_hit_needs_memory_decoding)
{
    uint64_t off = 77;
    pci_function_bar64(&f, 0, 0x1000, false, 0xC0000000ull);
    cr_assert(!pci_function_bar_hit(&f, 0, 0xC0000000ull, 4, &off), "decoding off");
    cr_assert_eq(off, 77, "no offset stored on a miss");
    wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    cr_assert(pci_function_bar_hit(&f, 0, 0xC0000000ull, 4, &off));
    cr_assert_eq(off, 0);
    wr(PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    cr_assert(!pci_function_bar_hit(&f, 0, 0xC0000000ull, 4, &off));
}

Test(pci, bar_hit_edges)
{
    uint64_t off = 0, base = 0xC0000000ull;
    pci_function_bar64(&f, 0, 0x1000, false, base);
    wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    cr_assert(pci_function_bar_hit(&f, 0, base + 0xFFF, 1, &off));
    cr_assert_eq(off, 0xFFF);
    cr_assert(pci_function_bar_hit(&f, 0, base + 0xFF8, 8, &off));
    cr_assert_eq(off, 0xFF8);
    cr_assert(pci_function_bar_hit(&f, 0, base + 0x123, 2, &off));
    cr_assert_eq(off, 0x123);
    cr_assert(!pci_function_bar_hit(&f, 0, base + 0xFFD, 4, &off), "runs past the end");
    cr_assert(!pci_function_bar_hit(&f, 0, base + 0x1000, 1, &off), "one past the end");
    cr_assert(!pci_function_bar_hit(&f, 0, base - 1, 1, &off), "below");
    cr_assert(!pci_function_bar_hit(&f, 0, base - 1, 4, &off), "straddles the start");
    cr_assert(!pci_function_bar_hit(&f, 0, base + 8, 0xFFFFFFFFu, &off), "huge len");
    cr_assert(!pci_function_bar_hit(&f, 0, UINT64_MAX - 1, 4, &off), "wraps");
    cr_assert(!pci_function_bar_hit(&f, 1, base, 4, &off), "upper half");
    cr_assert(!pci_function_bar_hit(&f, 2, base, 4, &off), "absent BAR");
    cr_assert(!pci_function_bar_hit(&f, 5, base, 4, &off));
    cr_assert(!pci_function_bar_hit(&f, 1000, base, 4, &off));
}

Test(pci, bar_hit_unassigned_never_decodes)
{
    uint64_t off = 0;
    pci_function_bar64(&f, 0, 0x1000, false, 0);
    wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    cr_assert(!pci_function_bar_hit(&f, 0, 0, 4, &off));
    cr_assert(!pci_function_bar_hit(&f, 0, 0x10, 4, &off));
    /* Once the OS assigns it (moving both halves), it decodes where it was put. */
    wr(PCI_BAR0, 4, 0x10000000u);
    wr(PCI_BAR0 + 4, 4, 0x1);
    cr_assert(pci_function_bar_hit(&f, 0, 0x110000010ull, 4, &off));
    cr_assert_eq(off, 0x10);
    cr_assert(!pci_function_bar_hit(&f, 0, 0x10000010ull, 4, &off), "the upper half counts");
}

Test(pci, capability_list_walk)
{
    uint8_t a[] = {PCI_CAP_ID_VENDOR, 0xEE, 6, 1, 2, 3};
    uint8_t b[] = {0x05, 0xEE, 0xAA, 0xBB};
    uint8_t c[] = {PCI_CAP_ID_VENDOR, 0xEE, 16, 9, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0};
    uint8_t oa = pci_function_add_cap(&f, a, sizeof(a));
    uint8_t ob = pci_function_add_cap(&f, b, sizeof(b));
    uint8_t oc = pci_function_add_cap(&f, c, sizeof(c));
    cr_assert_eq(oa, PCI_CAP_START);
    cr_assert_eq(ob, 0x48, "6 bytes rounded up to a dword boundary");
    cr_assert_eq(oc, 0x4C);
    cr_assert(rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    const uint8_t want_id[] = {PCI_CAP_ID_VENDOR, 0x05, PCI_CAP_ID_VENDOR};
    const uint8_t want_off[] = {0x40, 0x48, 0x4C};
    unsigned n = 0;
    for (unsigned p = rd(PCI_CAP_PTR, 1); p != 0; p = rd(p + 1, 1)) {
        cr_assert_lt(n, 3, "the list does not end");
        cr_assert_eq(p & 3, 0, "capability at 0x%x not dword aligned", p);
        cr_assert_eq(p, want_off[n]);
        cr_assert_eq(rd(p, 1), want_id[n]);
        n++;
    }
    cr_assert_eq(n, 3);
    cr_assert_eq(rd(0x43, 1), 1, "body kept");
    cr_assert_eq(rd(0x4A, 2), 0xBBAA);
    cr_assert_eq(rd(0x54, 4), 0x44332211u);
    /* The list is read-only to the guest. */
    wr(0x41, 1, 0x80);
    wr(0x4C, 4, 0);
    cr_assert_eq(rd(0x41, 1), 0x48);
    cr_assert_eq(rd(0x4C, 1), PCI_CAP_ID_VENDOR);
}

Test(pci, capability_rejects_bad_and_full)
{
    uint8_t one[1] = {PCI_CAP_ID_VENDOR};
    cr_assert_eq(pci_function_add_cap(&f, one, 1), 0, "shorter than id + next");
    cr_assert_eq(rd(PCI_CAP_PTR, 1), 0);
    uint8_t big[PCI_CFG_SIZE] = {PCI_CAP_ID_VENDOR};
    cr_assert_eq(pci_function_add_cap(&f, big, PCI_CFG_SIZE - PCI_CAP_START + 1), 0);
    cr_assert_eq(pci_function_add_cap(&f, big, PCI_CFG_SIZE - PCI_CAP_START - 4), PCI_CAP_START);
    cr_assert_eq(pci_function_add_cap(&f, big, 4), PCI_CFG_SIZE - 4, "the last dword fits");
    cr_assert_eq(pci_function_add_cap(&f, big, 4), 0, "full");
    cr_assert_eq(rd(PCI_CFG_SIZE - 3, 1), 0, "the last capability ends the list");
}

Test(pci, bad_accesses_read_ones_and_write_nothing)
{
    cr_assert_eq(rd(PCI_CFG_SIZE, 1), 0xFFFFFFFFu);
    cr_assert_eq(rd(PCI_CFG_SIZE - 1, 2), 0xFFFFFFFFu);
    cr_assert_eq(rd(PCI_CFG_SIZE - 2, 4), 0xFFFFFFFFu);
    cr_assert_eq(rd(0xFFFFFFFFu, 4), 0xFFFFFFFFu, "offset + len wraps");
    cr_assert_eq(rd(0, 3), 0xFFFFFFFFu);
    cr_assert_eq(rd(0, 0), 0xFFFFFFFFu);
    cr_assert_eq(rd(0, 8), 0xFFFFFFFFu);
    cr_assert_eq(rd(PCI_CFG_SIZE - 4, 4), 0, "the last dword is in range");
    /* Make the last bytes writable (as a device model could), then miss them. */
    memset(f.wmask + PCI_CFG_SIZE - 4, 0xFF, 4);
    wr(PCI_CFG_SIZE - 2, 4, 0x11223344u);
    wr(PCI_CFG_SIZE - 1, 2, 0x5566);
    wr(0xFFFFFFFFu, 4, 0x77777777u);
    wr(PCI_CFG_SIZE - 4, 3, 0x778899);
    wr(PCI_CFG_SIZE - 4, 8, 0x778899);
    cr_assert_eq(rd(PCI_CFG_SIZE - 4, 4), 0, "nothing written");
    wr(PCI_CFG_SIZE - 1, 1, 0xAB);
    cr_assert_eq(rd(PCI_CFG_SIZE - 1, 1), 0xAB, "an in-range write does reach it");
    wr(PCI_INT_LINE, 3, 0x99);
    cr_assert_eq(rd(PCI_INT_LINE, 1), 11, "a 3-byte write is no write");
}

/* --- the host bridge --- */

#define MIB (1ull << 20)
#define RAM_BASE 0x40000000ull
#define BAR 0xC0000000ull
#define ECAM 0x3F000000ull
#define ECAM_SIZE (16 * MIB)

static struct guest_mem mem;
static struct virtio_device vdev;
static struct iobus *bus;

static void bus_setup(void)
{
    cr_assert_eq(guest_mem_init(&mem, RAM_BASE, MIB), 0, "%s", err_msg());
    static const struct virtio_ops ops = {0};
    static const uint8_t cfg[4] = {1, 2, 3, 4};
    struct virtio_params p = {
        .device_id = 1,
        .class_code = 2,
        .int_line = 11,
        .features = 0,
        .nqueues = 2,
        .queue_max = 16,
        .devcfg = cfg,
        .devcfg_len = sizeof(cfg),
    };
    cr_assert_eq(virtio_device_init(&vdev, &mem, &p, &ops, NULL), 0, "%s", err_msg());
    bus = iobus_create();
    cr_assert_not_null(bus);
}

static void bus_teardown(void)
{
    iobus_destroy(bus);
    virtio_device_fini(&vdev);
    guest_mem_fini(&mem);
}

TestSuite(iobus, .init = bus_setup, .fini = bus_teardown, .timeout = 2);

static uint32_t pio_in(uint16_t port, unsigned len)
{
    uint8_t b[4] = {0xA5, 0xA5, 0xA5, 0xA5};
    cr_assert(iobus_pio(bus, port, false, b, len), "port 0x%x not claimed", port);
    uint32_t v = 0;
    for (unsigned i = 0; i < len; i++) {
        v |= (uint32_t)b[i] << (8 * i);
    }
    return v;
}

static void pio_out(uint16_t port, unsigned len, uint32_t v)
{
    uint8_t b[4];
    for (unsigned i = 0; i < 4; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    cr_assert(iobus_pio(bus, port, true, b, len), "port 0x%x not claimed", port);
}

/* A mechanism #1 configuration read of bus/dev/fn at register offset reg. */
static uint32_t cf8_read(unsigned bdf, unsigned reg, unsigned len)
{
    pio_out(0xCF8, 4, 0x80000000u | bdf << 8 | (reg & 0xFC));
    return pio_in((uint16_t)(0xCFC + (reg & 3)), len);
}

static void cf8_write(unsigned bdf, unsigned reg, unsigned len, uint32_t v)
{
    pio_out(0xCF8, 4, 0x80000000u | bdf << 8 | (reg & 0xFC));
    pio_out((uint16_t)(0xCFC + (reg & 3)), len, v);
}

static bool mmio(uint64_t gpa, bool write, uint64_t *v, unsigned len)
{
    uint8_t b[8];
    memset(b, 0xA5, sizeof(b));
    for (unsigned i = 0; write && i < len; i++) {
        b[i] = (uint8_t)(*v >> (8 * i));
    }
    bool hit = iobus_mmio(bus, gpa, write, b, len);
    if (!write) {
        *v = 0;
        for (unsigned i = 0; i < len; i++) {
            *v |= (uint64_t)b[i] << (8 * i);
        }
    }
    return hit;
}

Test(iobus, empty_bus_answers_config_with_ones)
{
    cr_assert_eq(cf8_read(0, 0, 4), 0xFFFFFFFFu);
    cr_assert_eq(cf8_read(0, 0, 2), 0xFFFF);
    cr_assert_eq(pio_in(0xCF8, 4), 0x80000000u, "the latch still works");
    uint64_t v = 0;
    cr_assert(!mmio(BAR, false, &v, 4), "no device: no BAR");
    cr_assert(!mmio(ECAM, false, &v, 4), "no ECAM window yet");
    iobus_set_ecam(bus, ECAM, ECAM_SIZE);
    cr_assert(mmio(ECAM, false, &v, 4));
    cr_assert_eq(v, 0xFFFFFFFFu);
    v = 0x1234;
    cr_assert(mmio(ECAM + 4, true, &v, 2), "writes to an empty slot are claimed, ignored");
    uint8_t b[4] = {0};
    cr_assert(!iobus_pio(bus, 0x3F8, false, b, 1), "not a PCI port");
    cr_assert(!iobus_pio(bus, 0xCFB + 5, false, b, 1));
}

Test(iobus, address_latch)
{
    cr_assert_eq(iobus_attach_virtio(bus, &vdev, 0, BAR), 0, "%s", err_msg());
    cr_assert_eq(pio_in(0xCF8, 4), 0);
    pio_out(0xCF8, 4, 0x80001234u);
    cr_assert_eq(pio_in(0xCF8, 4), 0x80001234u);
    pio_out(0xCF8, 4, 0xFFFFFFFFu);
    cr_assert_eq(pio_in(0xCF8, 4), 0x80FFFFFCu, "reserved bits and the low two read zero");
    /* Only whole dwords at 0xCF8 move the latch. */
    pio_out(0xCF8, 4, 0x80000000u);
    pio_out(0xCF8, 1, 0x01);
    pio_out(0xCF8, 2, 0xFFFF);
    pio_out(0xCFB, 1, 0x00);
    pio_out(0xCFA, 2, 0x0000);
    cr_assert_eq(pio_in(0xCF8, 4), 0x80000000u);
    cr_assert_eq(pio_in(0xCF9, 1), 0xFF);
    cr_assert_eq(pio_in(0xCFA, 2), 0xFFFF);
    uint8_t b[4];
    cr_assert(!iobus_pio(bus, 0xCF8, false, b, 3), "bad length");
    cr_assert(!iobus_pio(bus, 0xCFC, true, b, 0));
}

Test(iobus, data_port_widths)
{
    cr_assert_eq(iobus_attach_virtio(bus, &vdev, 0, BAR), 0, "%s", err_msg());
    cr_assert_eq(cf8_read(0, 0, 4), 0x10411AF4u, "virtio vendor, modern network device");
    pio_out(0xCF8, 4, 0x80000000u);
    cr_assert_eq(pio_in(0xCFC, 2), 0x1AF4);
    cr_assert_eq(pio_in(0xCFE, 2), 0x1041);
    cr_assert_eq(pio_in(0xCFD, 1), 0x1A);
    cr_assert_eq(pio_in(0xCFF, 1), 0x10);
    cr_assert_eq(pio_in(0xCFD, 2), 0x411A);
    cr_assert_eq(pio_in(0xCFE, 4), 0xFFFFFFFFu, "runs past the data dword");
    cr_assert_eq(pio_in(0xCFF, 2), 0xFFFF);
    cr_assert_eq(cf8_read(0, PCI_INT_LINE, 1), 11);
    cr_assert_eq(cf8_read(0, PCI_INT_PIN, 1), 1);
    cr_assert_eq(cf8_read(0, PCI_CLASS_PROG + 2, 1), 2);
    cr_assert_eq(cf8_read(0, PCI_BAR0, 4), (uint32_t)BAR | PCI_BAR_MEM64);
    /* Writes of each width reach the function. */
    cf8_write(0, PCI_INT_LINE, 1, 9);
    cr_assert_eq(pci_function_read(&vdev.pci, PCI_INT_LINE, 1), 9);
    cf8_write(0, PCI_COMMAND, 2, PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY);
    cr_assert_eq(pci_function_read(&vdev.pci, PCI_COMMAND, 2),
                 PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY);
    cf8_write(0, PCI_COMMAND + 1, 1, 0x04);
    cr_assert_eq(pci_function_read(&vdev.pci, PCI_COMMAND, 2),
                 PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
    cf8_write(0, PCI_BAR0 + 4, 4, 0x3);
    cr_assert_eq(pci_function_bar_addr(&vdev.pci, 0), 0x3ull << 32 | BAR);
}

Test(iobus, enable_bit_and_absent_slots)
{
    cr_assert_eq(iobus_attach_virtio(bus, &vdev, 0, BAR), 0, "%s", err_msg());
    pio_out(0xCF8, 4, 0x00000000u);
    cr_assert_eq(pio_in(0xCFC, 4), 0xFFFFFFFFu, "enable bit clear");
    pio_out(0xCF8, 4, PCI_COMMAND);
    pio_out(0xCFC, 2, 0); /* a write without the enable bit: ignored */
    const unsigned absent[] = {1 << 3 /* dev 1 */, 1 /* fn 1 */, 1 << 8 /* bus 1 */, 31 << 3 | 7,
                               0xFFFF};
    for (unsigned i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        cr_assert_eq(cf8_read(absent[i], 0, 4), 0xFFFFFFFFu, "bdf 0x%x", absent[i]);
        cr_assert_eq(cf8_read(absent[i], PCI_COMMAND, 2), 0xFFFF);
        cf8_write(absent[i], PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        cf8_write(absent[i], PCI_BAR0, 4, 0);
        cf8_write(absent[i], PCI_INT_LINE, 1, 0x77);
    }
    /* attach turned decoding on; none of the writes above reached device 0. */
    cr_assert_eq(pci_function_read(&vdev.pci, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
    cr_assert_eq(pci_function_bar_addr(&vdev.pci, 0), BAR);
    cr_assert_eq(pci_function_read(&vdev.pci, PCI_INT_LINE, 1), 11);
    cr_assert_eq(cf8_read(0, 0, 4), 0x10411AF4u, "device 0 still answers");
}

Test(iobus, ecam_decode)
{
    cr_assert_eq(iobus_attach_virtio(bus, &vdev, 0, 0), 0, "%s", err_msg());
    iobus_set_ecam(bus, ECAM, ECAM_SIZE);
    uint64_t v;
    cr_assert(mmio(ECAM, false, &v, 4));
    cr_assert_eq(v, 0x10411AF4u);
    cr_assert(mmio(ECAM + 2, false, &v, 2));
    cr_assert_eq(v, 0x1041);
    cr_assert(mmio(ECAM + PCI_INT_PIN, false, &v, 1));
    cr_assert_eq(v, 1);
    cr_assert(mmio(ECAM + 0xFC, false, &v, 4));
    cr_assert_eq(v, 0, "the last dword of the 256-byte space");
    const uint64_t absent[] = {1ull << 15 /* dev 1 */, 1ull << 12 /* fn 1 */,
                               1ull << 20 /* bus 1 */, 15ull << 20 | 31ull << 15 | 7ull << 12};
    for (unsigned i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        cr_assert(mmio(ECAM + absent[i], false, &v, 4));
        cr_assert_eq(v, 0xFFFFFFFFu, "rel 0x%llx", (unsigned long long)absent[i]);
        v = PCI_COMMAND_MEMORY;
        cr_assert(mmio(ECAM + absent[i] + PCI_COMMAND, true, &v, 2));
    }
    cr_assert_eq(pci_function_read(&vdev.pci, PCI_COMMAND, 2), 0, "absent writes ignored");
    /* Beyond 256 bytes (extended space), straddling it, and 64-bit accesses: ones. */
    const uint64_t ones_at[] = {0x100, 0xFFC, 0xFFF, 0xFE};
    for (unsigned i = 0; i < sizeof(ones_at) / sizeof(ones_at[0]); i++) {
        cr_assert(mmio(ECAM + ones_at[i], false, &v, 4));
        cr_assert_eq(v, 0xFFFFFFFFu, "offset 0x%llx", (unsigned long long)ones_at[i]);
    }
    cr_assert(mmio(ECAM, false, &v, 8));
    cr_assert_eq(v, UINT64_MAX);
    /* The window's own edges. */
    cr_assert(!mmio(ECAM - 4, false, &v, 4));
    cr_assert(!mmio(ECAM + ECAM_SIZE, false, &v, 4));
    cr_assert(!mmio(ECAM + ECAM_SIZE - 2, false, &v, 4), "straddles the end");
    cr_assert(mmio(ECAM + ECAM_SIZE - 4, false, &v, 4));
    cr_assert_eq(v, 0xFFFFFFFFu);
    /* The guest assigns the BAR and turns decoding on through ECAM; MMIO then decodes. */
    cr_assert(!mmio(BAR + VIRTIO_BAR_COMMON + VIRTIO_CC_NUMQ, false, &v, 2), "unassigned BAR");
    v = (uint32_t)BAR;
    cr_assert(mmio(ECAM + PCI_BAR0, true, &v, 4));
    v = PCI_COMMAND_MEMORY;
    cr_assert(mmio(ECAM + PCI_COMMAND, true, &v, 2));
    cr_assert(mmio(BAR + VIRTIO_BAR_COMMON + VIRTIO_CC_NUMQ, false, &v, 2));
    cr_assert_eq(v, 2);
}

Test(iobus, mmio_reaches_virtio_transport)
{
    cr_assert_eq(iobus_attach_virtio(bus, &vdev, 0, BAR), 0, "%s", err_msg());
    uint64_t v;
    cr_assert(mmio(BAR + VIRTIO_CC_NUMQ, false, &v, 2));
    cr_assert_eq(v, 2);
    cr_assert(mmio(BAR + VIRTIO_CC_QSIZE, false, &v, 2));
    cr_assert_eq(v, 16);
    v = VIRTIO_STATUS_ACKNOWLEDGE;
    cr_assert(mmio(BAR + VIRTIO_CC_STATUS, true, &v, 1));
    cr_assert_eq(vdev.status, VIRTIO_STATUS_ACKNOWLEDGE);
    v = 0x1122334455667788ull;
    cr_assert(mmio(BAR + VIRTIO_CC_QDESC, true, &v, 8));
    cr_assert_eq(vdev.q[0].desc, 0x1122334455667788ull);
    cr_assert(mmio(BAR + VIRTIO_BAR_DEVICE, false, &v, 4));
    cr_assert_eq(v, 0x04030201u);
    cr_assert(mmio(BAR + VIRTIO_BAR_SIZE - 8, false, &v, 8));
    cr_assert_eq(v, 0, "a hole in the BAR");
    cr_assert(!mmio(BAR + VIRTIO_BAR_SIZE - 4, false, &v, 8), "straddles the end");
    cr_assert(!mmio(BAR + VIRTIO_BAR_SIZE, false, &v, 4));
    cr_assert(!mmio(BAR - 4, false, &v, 4));
    cr_assert(!mmio(BAR, false, &v, 3), "bad length");
    /* Decoding off: the BAR vanishes. */
    cf8_write(0, PCI_COMMAND, 2, 0);
    cr_assert(!mmio(BAR + VIRTIO_CC_NUMQ, false, &v, 2));
}

Test(iobus, one_device_per_bus)
{
    cr_assert_eq(iobus_attach_virtio(bus, &vdev, 0, BAR), 0, "%s", err_msg());
    cr_assert_eq(iobus_attach_virtio(bus, &vdev, 0, BAR), -1);
    cr_assert_str_eq(err_msg(), "PCI device 0 cannot be attached (one device only)");
}

Test(iobus, destroy_null)
{
    iobus_destroy(NULL);
}

/* aarch64 puts the device at slot 1 (the kernel gives device 0 no interrupt): only slot 1 answers.
 */
Test(iobus, device_in_slot_one)
{
    cr_assert_eq(iobus_attach_virtio(bus, &vdev, 1, 0), 0, "%s", err_msg());
    iobus_set_ecam(bus, ECAM, ECAM_SIZE);
    uint64_t v;
    cr_assert(mmio(ECAM, false, &v, 4));
    cr_assert_eq(v, 0xFFFFFFFFu, "device 0 is absent");
    cr_assert(mmio(ECAM + (1ull << 15), false, &v, 4));
    cr_assert_eq(v, 0x10411AF4u, "device 1 is the virtio-net function");
    cr_assert_eq(iobus_attach_virtio(bus, &vdev, 32, 0), -1, "no device 32");
}
