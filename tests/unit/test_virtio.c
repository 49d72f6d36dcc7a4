/*
 * test_virtio.c: the virtio 1.x PCI transport as a driver drives it (features, status, queue
 * configuration, ISR, notify, device config, reset) and split virtqueues, friendly and hostile,
 * built in real guest RAM.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dev/virtio.h"
#include "err.h"
#include "fake_virtq.h"
#include "guest_mem.h"
#include "le.h"

/* Sanitizer builds: undefined behaviour fails the test instead of printing and passing. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

#define MIB (1ull << 20)
#define BASE 0x40000000ull /* nonzero: an offset used as an address shows */
#define SIZE MIB
#define END (BASE + SIZE)
#define QMAX 16
#define F_LOW 3              /* a device feature in the low half */
#define F_HIGH 40            /* and one in the high half */
#define BUF (BASE + 0x80000) /* data buffers */

static struct guest_mem mem;
static struct virtio_device dev;

/* What the device ops and the interrupt line saw. */
static struct {
    unsigned notify, last_queue, reset, ready;
    unsigned nirq;
    bool irq[64];
} seen;

static void op_notify(struct virtio_device *d, unsigned queue)
{
    (void)d;
    seen.notify++;
    seen.last_queue = queue;
}

static void op_reset(struct virtio_device *d)
{
    (void)d;
    seen.reset++;
}

static void op_ready(struct virtio_device *d)
{
    (void)d;
    seen.ready++;
}

static void irq_line(void *ctx, bool level)
{
    cr_assert_eq(ctx, &seen);
    if (seen.nirq < 64) {
        seen.irq[seen.nirq] = level;
    }
    seen.nirq++;
}

static const struct virtio_ops ops = {.notify = op_notify, .reset = op_reset, .ready = op_ready};
static const uint8_t devcfg[6] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60};

static void setup(void)
{
    memset(&seen, 0, sizeof(seen));
    cr_assert_eq(guest_mem_init(&mem, BASE, SIZE), 0, "%s", err_msg());
    struct virtio_params p = {
        .device_id = 4,
        .class_code = 0xFF,
        .features = 1ull << F_LOW | 1ull << F_HIGH,
        .nqueues = 2,
        .queue_max = QMAX,
        .devcfg = devcfg,
        .devcfg_len = sizeof(devcfg),
    };
    cr_assert_eq(virtio_device_init(&dev, &mem, &p, &ops, NULL), 0, "%s", err_msg());
    dev.irq = irq_line;
    dev.irq_ctx = &seen;
}

static void teardown(void)
{
    virtio_device_fini(&dev);
    guest_mem_fini(&mem);
}

TestSuite(transport, .init = setup, .fini = teardown, .timeout = 2);

static uint64_t rd(uint64_t off, unsigned len)
{
    return vbar_read(&dev, off, len);
}

static void wr(uint64_t off, unsigned len, uint64_t v)
{
    vbar_write(&dev, off, len, v);
}

static const uint64_t VERSION_1 = 1ull << VIRTIO_F_VERSION_1;

Test(transport, init_rejects_bad_parameters)
{
    struct virtio_device d;
    struct virtio_params good = {.device_id = 1, .nqueues = 1, .queue_max = 8};
    struct virtio_params p = good;
    p.nqueues = 0;
    cr_assert_eq(virtio_device_init(&d, &mem, &p, &ops, NULL), -1);
    p.nqueues = VIRTIO_MAX_QUEUES + 1;
    cr_assert_eq(virtio_device_init(&d, &mem, &p, &ops, NULL), -1);
    const uint16_t sizes[] = {0, 3, 12, VIRTQ_MAX_SIZE * 2};
    for (unsigned i = 0; i < 4; i++) {
        p = good;
        p.queue_max = sizes[i];
        cr_assert_eq(virtio_device_init(&d, &mem, &p, &ops, NULL), -1, "size %u", sizes[i]);
    }
    p = good;
    p.devcfg_len = VIRTIO_DEVCFG_MAX + 1;
    cr_assert_eq(virtio_device_init(&d, &mem, &p, &ops, NULL), -1);
    cr_assert_str_eq(err_msg(), "virtio device parameters out of range");
    cr_assert_eq(virtio_device_init(&d, &mem, &good, &ops, NULL), 0);
    virtio_device_fini(&d);
}

Test(transport, device_without_device_config)
{
    struct virtio_device d;
    struct virtio_params p = {.device_id = 2, .nqueues = 1, .queue_max = 8}; /* devcfg NULL */
    cr_assert_eq(virtio_device_init(&d, &mem, &p, &ops, NULL), 0, "%s", err_msg());
    unsigned n = 0;
    for (unsigned c = pci_function_read(&d.pci, PCI_CAP_PTR, 1); c != 0 && n < 8;
         c = pci_function_read(&d.pci, c + 1, 1)) {
        cr_assert_neq(pci_function_read(&d.pci, c + 3, 1), 4, "no device-config capability");
        n++;
    }
    cr_assert_eq(n, 3);
    cr_assert_eq(vbar_read(&d, VIRTIO_BAR_DEVICE, 4), 0);
    virtio_device_fini(&d);
}

Test(transport, pci_identity_and_capabilities)
{
    const struct pci_function *f = &dev.pci;
    cr_assert_eq(pci_function_read(f, PCI_VENDOR_ID, 2), 0x1AF4);
    cr_assert_eq(pci_function_read(f, PCI_DEVICE_ID, 2), 0x1040 + 4);
    cr_assert_eq(pci_function_read(f, PCI_REVISION, 1), 1, "modern devices have revision 1");
    cr_assert_eq(pci_function_read(f, PCI_SUBSYS_ID, 2), 4);
    cr_assert_eq(pci_function_read(f, PCI_CLASS_PROG + 2, 1), 0xFF);
    cr_assert_eq(pci_function_read(f, PCI_INT_PIN, 1), 1);
    /* Four vendor capabilities: common, ISR, notify (with its multiplier), device. */
    const uint8_t want_type[] = {1, 3, 2, 4};
    const uint32_t want_off[] = {VIRTIO_BAR_COMMON, VIRTIO_BAR_ISR, VIRTIO_BAR_NOTIFY,
                                 VIRTIO_BAR_DEVICE};
    const uint32_t want_len[] = {0x38, 1, 2 * VIRTIO_NOTIFY_MULT, sizeof(devcfg)};
    unsigned n = 0;
    for (unsigned p = pci_function_read(f, PCI_CAP_PTR, 1); p != 0;
         p = pci_function_read(f, p + 1, 1)) {
        cr_assert_lt(n, 4, "more than four capabilities, or a loop");
        cr_assert_eq(pci_function_read(f, p, 1), PCI_CAP_ID_VENDOR);
        cr_assert_eq(pci_function_read(f, p + 3, 1), want_type[n], "capability %u", n);
        cr_assert_eq(pci_function_read(f, p + 4, 1), 0, "BAR 0");
        cr_assert_eq(pci_function_read(f, p + 8, 4), want_off[n]);
        cr_assert_eq(pci_function_read(f, p + 12, 4), want_len[n]);
        unsigned caplen = pci_function_read(f, p + 2, 1);
        if (want_type[n] == 2) {
            cr_assert_eq(caplen, 20);
            cr_assert_eq(pci_function_read(f, p + 16, 4), VIRTIO_NOTIFY_MULT);
        } else {
            cr_assert_eq(caplen, 16);
        }
        n++;
    }
    cr_assert_eq(n, 4);
}

Test(transport, device_features_by_select)
{
    cr_assert_eq(rd(VIRTIO_CC_DFSELECT, 4), 0);
    cr_assert_eq(rd(VIRTIO_CC_DF, 4), 1u << F_LOW);
    wr(VIRTIO_CC_DFSELECT, 4, 1);
    cr_assert_eq(rd(VIRTIO_CC_DFSELECT, 4), 1);
    cr_assert_eq(rd(VIRTIO_CC_DF, 4), 1u << (VIRTIO_F_VERSION_1 - 32) | 1u << (F_HIGH - 32),
                 "VERSION_1 is always offered");
    wr(VIRTIO_CC_DFSELECT, 4, 2);
    cr_assert_eq(rd(VIRTIO_CC_DF, 4), 0);
    wr(VIRTIO_CC_DFSELECT, 4, 0xFFFFFFFFu);
    cr_assert_eq(rd(VIRTIO_CC_DF, 4), 0);
    wr(VIRTIO_CC_DFSELECT, 4, 0);
    wr(VIRTIO_CC_DF, 4, 0xFFFFFFFFu);
    cr_assert_eq(rd(VIRTIO_CC_DF, 4), 1u << F_LOW, "device features are read-only");
    cr_assert_eq(rd(VIRTIO_CC_NUMQ, 2), 2);
    cr_assert_eq(rd(VIRTIO_CC_MSIX, 2), 0xFFFF, "no MSI-X");
}

Test(transport, driver_features_by_select)
{
    wr(VIRTIO_CC_GFSELECT, 4, 0);
    wr(VIRTIO_CC_GF, 4, 1u << F_LOW);
    wr(VIRTIO_CC_GFSELECT, 4, 1);
    wr(VIRTIO_CC_GF, 4, 1u << (VIRTIO_F_VERSION_1 - 32));
    cr_assert_eq(rd(VIRTIO_CC_GF, 4), 1u << (VIRTIO_F_VERSION_1 - 32));
    wr(VIRTIO_CC_GFSELECT, 4, 0);
    cr_assert_eq(rd(VIRTIO_CC_GF, 4), 1u << F_LOW);
    wr(VIRTIO_CC_GFSELECT, 4, 2);
    wr(VIRTIO_CC_GF, 4, 0xFFFFFFFFu);
    cr_assert_eq(rd(VIRTIO_CC_GF, 4), 0);
    cr_assert_eq(dev.driver_features, VERSION_1 | 1ull << F_LOW, "select 2 wrote nothing");
}

Test(transport, features_ok_needs_version_1)
{
    uint8_t s = vdrv_negotiate(&dev, 1ull << F_LOW);
    cr_assert_eq(s, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, "FEATURES_OK refused");
    /* DRIVER_OK without agreed features is refused as well, and the device is not started. */
    cr_assert_eq(vdrv_driver_ok(&dev), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    cr_assert_eq(seen.ready, 0);
    cr_assert(!virtio_running(&dev));
}

Test(transport, features_ok_refuses_unoffered_bits)
{
    const uint64_t bad[] = {VERSION_1 | 1ull << 0, VERSION_1 | 1ull << 63,
                            VERSION_1 | 1ull << F_LOW | 1ull << (F_HIGH + 1)};
    for (unsigned i = 0; i < 3; i++) {
        uint8_t s = vdrv_negotiate(&dev, bad[i]);
        cr_assert_eq(s & VIRTIO_STATUS_FEATURES_OK, 0, "features 0x%llx accepted",
                     (unsigned long long)bad[i]);
    }
}

Test(transport, features_ok_then_frozen_then_driver_ok)
{
    uint64_t want = VERSION_1 | 1ull << F_HIGH;
    uint8_t s = vdrv_negotiate(&dev, want);
    cr_assert_eq(s, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    cr_assert_eq(dev.driver_features, want);
    wr(VIRTIO_CC_GFSELECT, 4, 0);
    wr(VIRTIO_CC_GF, 4, 1u << F_LOW);
    cr_assert_eq(dev.driver_features, want, "features cannot change after FEATURES_OK");
    cr_assert_eq(seen.ready, 0);
    s = vdrv_driver_ok(&dev);
    cr_assert(s & VIRTIO_STATUS_DRIVER_OK);
    cr_assert_eq(seen.ready, 1);
    cr_assert(virtio_running(&dev));
    wr(VIRTIO_CC_STATUS, 1, s);
    cr_assert_eq(seen.ready, 1, "ready once");
    /* The driver cannot set NEEDS_RESET itself. */
    wr(VIRTIO_CC_STATUS, 1, s | VIRTIO_STATUS_NEEDS_RESET);
    cr_assert_eq(rd(VIRTIO_CC_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

Test(transport, queue_size_and_select)
{
    cr_assert_eq(rd(VIRTIO_CC_QSELECT, 2), 0);
    cr_assert_eq(rd(VIRTIO_CC_QSIZE, 2), QMAX);
    wr(VIRTIO_CC_QSIZE, 2, 8);
    cr_assert_eq(rd(VIRTIO_CC_QSIZE, 2), 8);
    const uint16_t bad[] = {0, 3, 12, QMAX * 2, 0xFFFF};
    for (unsigned i = 0; i < 5; i++) {
        wr(VIRTIO_CC_QSIZE, 2, bad[i]);
        cr_assert_eq(rd(VIRTIO_CC_QSIZE, 2), 8, "size %u accepted", bad[i]);
    }
    wr(VIRTIO_CC_QSIZE, 2, 1);
    cr_assert_eq(rd(VIRTIO_CC_QSIZE, 2), 1);
    wr(VIRTIO_CC_QSIZE, 2, QMAX);
    cr_assert_eq(rd(VIRTIO_CC_QSIZE, 2), QMAX);
    wr(VIRTIO_CC_QSELECT, 2, 1);
    cr_assert_eq(rd(VIRTIO_CC_QSELECT, 2), 1);
    cr_assert_eq(rd(VIRTIO_CC_QNOTIFYOFF, 2), 1);
    cr_assert_eq(rd(VIRTIO_CC_QMSIX, 2), 0xFFFF);
    wr(VIRTIO_CC_QSIZE, 2, 4);
    cr_assert_eq(dev.q[1].size, 4);
    cr_assert_eq(dev.q[0].size, QMAX, "per queue");
    /* A queue that does not exist reads as size 0 and ignores writes. */
    wr(VIRTIO_CC_QSELECT, 2, 2);
    cr_assert_eq(rd(VIRTIO_CC_QSIZE, 2), 0);
    wr(VIRTIO_CC_QSIZE, 2, 4);
    wr(VIRTIO_CC_QDESC, 8, BASE);
    wr(VIRTIO_CC_QENABLE, 2, 1);
    cr_assert_eq(rd(VIRTIO_CC_QSIZE, 2), 0);
    cr_assert_eq(rd(VIRTIO_CC_QDESC, 8), 0);
    cr_assert_eq(rd(VIRTIO_CC_QENABLE, 2), 0);
    cr_assert_eq(rd(VIRTIO_CC_STATUS, 1), 0);
}

Test(transport, queue_addresses_in_halves_and_whole)
{
    wr(VIRTIO_CC_QDESC, 4, 0x89ABC000u);
    wr(VIRTIO_CC_QDESC + 4, 4, 0x01234567u);
    cr_assert_eq(rd(VIRTIO_CC_QDESC, 8), 0x0123456789ABC000ull);
    cr_assert_eq(rd(VIRTIO_CC_QDESC + 4, 4), 0x01234567u);
    cr_assert_eq(dev.q[0].desc, 0x0123456789ABC000ull);
    wr(VIRTIO_CC_QDRIVER, 8, 0x1122334455667788ull);
    cr_assert_eq(dev.q[0].avail, 0x1122334455667788ull);
    wr(VIRTIO_CC_QDRIVER + 4, 4, 0);
    cr_assert_eq(dev.q[0].avail, 0x55667788ull, "the high half alone");
    wr(VIRTIO_CC_QDEVICE + 4, 4, 0xAAu);
    wr(VIRTIO_CC_QDEVICE, 4, 0xBBu);
    cr_assert_eq(dev.q[0].used, 0xAA000000BBull);
    cr_assert_eq(dev.q[1].desc, 0, "queue 1 untouched");
    cr_assert_eq(rd(VIRTIO_CC_QENABLE, 2), 0);
}

/* Rings for queue 0 at BASE (size 8), as a friendly driver would lay them out. */
static struct fvq q0;

static void enable_q0(void)
{
    fvq_init(&q0, &mem, BASE, 8);
    vdrv_queue(&dev, 0, &q0);
}

Test(transport, enable_good_rings_freezes_config)
{
    enable_q0();
    cr_assert_eq(rd(VIRTIO_CC_QENABLE, 2), 1);
    cr_assert_eq(rd(VIRTIO_CC_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET, 0);
    wr(VIRTIO_CC_QDESC, 8, BASE + 0x1000);
    wr(VIRTIO_CC_QSIZE, 2, 4);
    cr_assert_eq(rd(VIRTIO_CC_QDESC, 8), BASE, "an enabled queue keeps its rings");
    cr_assert_eq(rd(VIRTIO_CC_QSIZE, 2), 8);
    /* Rings that end exactly at the end of RAM are fine. */
    wr(VIRTIO_CC_QSELECT, 2, 1);
    wr(VIRTIO_CC_QSIZE, 2, 16);
    wr(VIRTIO_CC_QDESC, 8, END - 16 * 16);
    wr(VIRTIO_CC_QDRIVER, 8, END - (6 + 2 * 16));
    wr(VIRTIO_CC_QDEVICE, 8, END - 0x1000);
    wr(VIRTIO_CC_QENABLE, 2, 1);
    cr_assert_eq(rd(VIRTIO_CC_QENABLE, 2), 1);
    cr_assert_eq(rd(VIRTIO_CC_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

/* Enables queue 1 with the given rings; expects NEEDS_RESET and exactly one warning. */
static void enable_bad(uint64_t desc, uint64_t avail, uint64_t used)
{
    wr(VIRTIO_CC_STATUS, 1, 0);
    unsigned nirq = seen.nirq;
    wr(VIRTIO_CC_QSELECT, 2, 1);
    wr(VIRTIO_CC_QSIZE, 2, 16);
    wr(VIRTIO_CC_QDESC, 8, desc);
    wr(VIRTIO_CC_QDRIVER, 8, avail);
    wr(VIRTIO_CC_QDEVICE, 8, used);
    stderr_capture_begin();
    wr(VIRTIO_CC_QENABLE, 2, 1);
    wr(VIRTIO_CC_QENABLE, 2, 1); /* asking twice does not warn twice */
    char *err = stderr_capture_end();
    cr_assert_eq(rd(VIRTIO_CC_QENABLE, 2), 0, "rings 0x%llx/0x%llx/0x%llx accepted",
                 (unsigned long long)desc, (unsigned long long)avail, (unsigned long long)used);
    cr_assert(rd(VIRTIO_CC_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
    cr_assert_eq(count_substr(err, "chyve: warning:"), 1, "stderr: '%s'", err);
    cr_assert(strstr(err, "queue 1") != NULL, "stderr: '%s'", err);
    free(err);
    cr_assert_eq(seen.nirq, nirq + 1, "the configuration-change interrupt");
    cr_assert_eq(seen.irq[nirq], true);
    cr_assert_eq(rd(VIRTIO_BAR_ISR, 1), 2, "ISR: configuration change");
}

Test(transport, enable_checks_ring_placement)
{
    const uint64_t d = BASE, a = BASE + 0x1000, u = BASE + 0x2000;
    enable_bad(0, a, u);                      /* below RAM */
    enable_bad(d, END, u);                    /* past the end */
    enable_bad(d, a, END - 4);                /* straddles the end */
    enable_bad(END - 16 * 8, a, u);           /* descriptor table runs past the end */
    enable_bad(UINT64_MAX & ~0xFull, a, u);   /* wraps */
    enable_bad(d + 8, a, u);                  /* descriptors need 16 */
    enable_bad(d, a + 1, u);                  /* driver ring needs 2 */
    enable_bad(d, a, u + 2);                  /* device ring needs 4 */
    enable_bad(d, END - (6 + 2 * 16) + 2, u); /* driver ring one entry too long */
    enable_bad(d, a, END - (6 + 8 * 16) + 4); /* device ring one entry too long */
}

Test(transport, notify_only_when_running_and_enabled)
{
    enable_q0();
    wr(VIRTIO_BAR_NOTIFY, 2, 0);
    cr_assert_eq(seen.notify, 0, "before DRIVER_OK");
    cr_assert_eq(vdrv_negotiate(&dev, VERSION_1) & VIRTIO_STATUS_FEATURES_OK,
                 VIRTIO_STATUS_FEATURES_OK);
    enable_q0(); /* negotiate reset the device */
    vdrv_driver_ok(&dev);
    wr(VIRTIO_BAR_NOTIFY + 0 * VIRTIO_NOTIFY_MULT, 2, 0);
    cr_assert_eq(seen.notify, 1);
    cr_assert_eq(seen.last_queue, 0);
    wr(VIRTIO_BAR_NOTIFY + 1 * VIRTIO_NOTIFY_MULT, 2, 1);
    cr_assert_eq(seen.notify, 1, "queue 1 is not enabled");
    wr(VIRTIO_BAR_NOTIFY + 2 * VIRTIO_NOTIFY_MULT, 2, 2);
    cr_assert_eq(seen.notify, 1, "no queue 2");
    wr(VIRTIO_BAR_NOTIFY + 0 * VIRTIO_NOTIFY_MULT, 4, 0);
    cr_assert_eq(seen.notify, 2, "32-bit notify");
    cr_assert_eq(rd(VIRTIO_BAR_NOTIFY, 2), 0);
    cr_assert_eq(seen.notify, 2, "reads do not notify");
    virtio_fail(&dev, "test");
    wr(VIRTIO_BAR_NOTIFY, 2, 0);
    cr_assert_eq(seen.notify, 2, "a failed device hears nothing");
}

Test(transport, isr_read_to_clear_lowers_the_line)
{
    cr_assert_eq(rd(VIRTIO_BAR_ISR, 1), 0);
    cr_assert_eq(seen.nirq, 0, "reading an idle ISR moves no line");
    virtio_interrupt(&dev);
    virtio_interrupt(&dev);
    cr_assert_eq(seen.nirq, 1, "raised once");
    cr_assert_eq(seen.irq[0], true);
    cr_assert_eq(rd(VIRTIO_BAR_ISR, 1), 1);
    cr_assert_eq(seen.nirq, 2);
    cr_assert_eq(seen.irq[1], false);
    cr_assert_eq(rd(VIRTIO_BAR_ISR, 1), 0, "cleared by the read");
    cr_assert_eq(seen.nirq, 2);
    virtio_interrupt(&dev);
    cr_assert_eq(rd(VIRTIO_BAR_ISR, 4), 1, "a wider read");
    cr_assert_eq(seen.nirq, 4);
    virtio_interrupt(&dev);
    wr(VIRTIO_BAR_ISR, 1, 0);
    cr_assert_eq(seen.nirq, 5, "writes do not clear it");
    cr_assert_eq(rd(VIRTIO_BAR_ISR, 1), 1);
}

/* PCI status bit 3 shows a pending interrupt; command bit 10 keeps the line from rising. */
Test(transport, intx_disable_and_interrupt_status)
{
    cr_assert_eq(pci_function_read(&dev.pci, PCI_STATUS, 2) & PCI_STATUS_INTX, 0);
    pci_function_write(&dev.pci, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
    virtio_interrupt(&dev);
    cr_assert_eq(seen.nirq, 0, "INTx disabled: no line");
    cr_assert_neq(pci_function_read(&dev.pci, PCI_STATUS, 2) & PCI_STATUS_INTX, 0);
    cr_assert_eq(rd(VIRTIO_BAR_ISR, 1), 1, "the ISR still says why");
    cr_assert_eq(pci_function_read(&dev.pci, PCI_STATUS, 2) & PCI_STATUS_INTX, 0);
    cr_assert_eq(seen.nirq, 0);
    pci_function_write(&dev.pci, PCI_COMMAND, 2, 0);
    virtio_interrupt(&dev);
    cr_assert_eq(seen.nirq, 1);
    cr_assert_eq(seen.irq[0], true);
}

Test(transport, device_config_and_holes)
{
    cr_assert_eq(rd(VIRTIO_BAR_DEVICE, 1), 0x10);
    cr_assert_eq(rd(VIRTIO_BAR_DEVICE + 1, 2), 0x3020);
    cr_assert_eq(rd(VIRTIO_BAR_DEVICE + 2, 4), 0x60504030u);
    cr_assert_eq(rd(VIRTIO_BAR_DEVICE + 4, 4), 0, "runs past the device config: a hole");
    cr_assert_eq(rd(VIRTIO_BAR_DEVICE + 6, 1), 0);
    wr(VIRTIO_BAR_DEVICE, 4, 0xFFFFFFFFu);
    cr_assert_eq(rd(VIRTIO_BAR_DEVICE, 4), 0x40302010u, "read-only");
    const uint64_t holes[] = {0x38, 0x3C, 0xFC, 0x101, 0x104, 0x1F8, 0x308, 0x400, 0xFF8};
    for (unsigned i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
        cr_assert_eq(rd(holes[i], 8), 0, "hole 0x%llx", (unsigned long long)holes[i]);
        wr(holes[i], 8, UINT64_MAX);
    }
    cr_assert_eq(rd(0x34, 8), 0, "straddles the end of the common region");
    cr_assert_eq(rd(VIRTIO_CC_STATUS, 1), 0, "hole writes changed nothing");
    cr_assert_eq(rd(VIRTIO_CC_QDEVICE, 8), 0);
    cr_assert_eq(seen.notify + seen.nirq, 0);
}

Test(transport, reset_clears_everything)
{
    cr_assert_eq(vdrv_negotiate(&dev, VERSION_1 | 1ull << F_LOW) & VIRTIO_STATUS_FEATURES_OK,
                 VIRTIO_STATUS_FEATURES_OK);
    unsigned resets = seen.reset;
    enable_q0();
    wr(VIRTIO_CC_QSELECT, 2, 1);
    wr(VIRTIO_CC_QSIZE, 2, 2);
    wr(VIRTIO_CC_QDESC, 8, BASE + 0x4000);
    wr(VIRTIO_CC_DFSELECT, 4, 1);
    vdrv_driver_ok(&dev);
    virtio_interrupt(&dev);
    cr_assert_eq(seen.irq[seen.nirq - 1], true);
    unsigned nirq = seen.nirq;
    wr(VIRTIO_CC_STATUS, 1, 0);
    cr_assert_eq(seen.reset, resets + 1);
    cr_assert_eq(seen.nirq, nirq + 1, "the line drops");
    cr_assert_eq(seen.irq[nirq], false);
    cr_assert_eq(rd(VIRTIO_CC_STATUS, 1), 0);
    cr_assert_eq(rd(VIRTIO_CC_DFSELECT, 4), 0);
    cr_assert_eq(rd(VIRTIO_CC_QSELECT, 2), 0);
    cr_assert_eq(rd(VIRTIO_BAR_ISR, 1), 0);
    cr_assert_eq(dev.driver_features, 0);
    for (uint16_t i = 0; i < 2; i++) {
        wr(VIRTIO_CC_QSELECT, 2, i);
        cr_assert_eq(rd(VIRTIO_CC_QSIZE, 2), QMAX, "queue %u", i);
        cr_assert_eq(rd(VIRTIO_CC_QENABLE, 2), 0);
        cr_assert_eq(rd(VIRTIO_CC_QDESC, 8), 0);
        cr_assert_eq(rd(VIRTIO_CC_QDRIVER, 8), 0);
        cr_assert_eq(rd(VIRTIO_CC_QDEVICE, 8), 0);
    }
    cr_assert(!virtio_running(&dev));
    /* A failed device comes back with a reset. */
    virtio_fail(&dev, "test");
    cr_assert(rd(VIRTIO_CC_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
    wr(VIRTIO_CC_STATUS, 1, 0);
    cr_assert_eq(rd(VIRTIO_CC_STATUS, 1), 0);
}

/* --- split virtqueues --- */

static struct virtq_chain chain;

/* A running device with queue 0 (8 entries) at BASE. */
static void running(void)
{
    cr_assert_eq(vdrv_negotiate(&dev, VERSION_1) & VIRTIO_STATUS_FEATURES_OK,
                 VIRTIO_STATUS_FEATURES_OK);
    enable_q0();
    cr_assert(vdrv_driver_ok(&dev) & VIRTIO_STATUS_DRIVER_OK);
}

static int pop(void)
{
    return virtq_pop(&dev, &dev.q[0], &chain);
}

Test(transport, pop_needs_a_running_device)
{
    enable_q0();
    fvq_desc(&q0, 0, BUF, 64, 0, 0);
    fvq_make_avail(&q0, 0);
    cr_assert_eq(pop(), 0, "not DRIVER_OK");
    cr_assert_eq(virtq_pop(&dev, &dev.q[1], &chain), 0, "not enabled");
    cr_assert_eq(virtq_push(&dev, &dev.q[1], 0, 0), -1, "push to a disabled queue");
}

Test(transport, pop_empty_ring)
{
    running();
    cr_assert_eq(pop(), 0);
    cr_assert_eq(pop(), 0);
    cr_assert_eq(rd(VIRTIO_CC_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

Test(transport, pop_readable_then_writable)
{
    running();
    fvq_desc(&q0, 5, BUF, 100, VRING_DESC_F_NEXT, 2);
    fvq_desc(&q0, 2, BUF + 0x1000, 200, VRING_DESC_F_WRITE, 7 /* no NEXT: ignored */);
    fvq_make_avail(&q0, 5);
    cr_assert_eq(pop(), 1);
    cr_assert_eq(chain.head, 5);
    cr_assert_eq(chain.nread, 1);
    cr_assert_eq(chain.nwrite, 1);
    cr_assert_eq(chain.read_bytes, 100);
    cr_assert_eq(chain.write_bytes, 200);
    cr_assert_eq(chain.iov[0].iov_base, guest_mem_ptr(&mem, BUF, 100));
    cr_assert_eq(chain.iov[0].iov_len, 100);
    cr_assert_eq(chain.iov[1].iov_base, guest_mem_ptr(&mem, BUF + 0x1000, 200));
    cr_assert_eq(chain.iov[1].iov_len, 200);
    cr_assert_eq(pop(), 0, "consumed");
    cr_assert_eq(dev.q[0].next_avail, 1);
}

Test(transport, pop_full_length_chain_and_zero_length_segments)
{
    running();
    for (uint16_t i = 0; i < 8; i++) { /* 8 descriptors in a queue of 8: the longest chain */
        uint16_t flags = (i < 7 ? VRING_DESC_F_NEXT : 0) | (i >= 4 ? VRING_DESC_F_WRITE : 0);
        fvq_desc(&q0, i, i == 3 ? END : BUF + 16 * i, i == 3 ? 0 : 16, flags, i + 1);
    }
    fvq_make_avail(&q0, 0);
    cr_assert_eq(pop(), 1);
    cr_assert_eq(chain.nread, 4);
    cr_assert_eq(chain.nwrite, 4);
    cr_assert_eq(chain.read_bytes, 48);
    cr_assert_eq(chain.write_bytes, 64);
    cr_assert_eq(chain.iov[3].iov_len, 0);
    cr_assert_eq(chain.iov[7].iov_base, guest_mem_ptr(&mem, BUF + 16 * 7, 16));
}

Test(transport, push_fills_used_ring_and_wraps)
{
    running();
    for (uint16_t n = 0; n < 20; n++) { /* through the 8-entry rings more than twice */
        uint16_t head = (uint16_t)(n * 3 % 8);
        fvq_desc(&q0, head, BUF + 0x100 * head, 0x80, VRING_DESC_F_WRITE, 0);
        fvq_make_avail(&q0, head);
        cr_assert_eq(pop(), 1, "chain %u", n);
        cr_assert_eq(chain.head, head);
        cr_assert_eq(chain.write_bytes, 0x80);
        cr_assert_eq(virtq_push(&dev, &dev.q[0], head, 0x40 + n), 0);
        cr_assert_eq(fvq_used_idx(&q0), n + 1);
        uint32_t id, len;
        fvq_used_elem(&q0, n, &id, &len);
        cr_assert_eq(id, head);
        cr_assert_eq(len, 0x40u + n);
        cr_assert_eq(pop(), 0);
    }
    /* Nothing written past the device ring: used_event (after 8 entries) is untouched. */
    cr_assert_eq(le16_get(guest_mem_ptr(&mem, q0.used + 4 + 8 * 8, 2)), 0);
}

Test(transport, pop_avail_index_wraps_at_65536)
{
    running();
    dev.q[0].next_avail = 0xFFFE; /* as after 65534 chains */
    q0.avail_idx = 0xFFFE;
    for (unsigned n = 0; n < 4; n++) {
        fvq_desc(&q0, (uint16_t)n, BUF, 8, 0, 0);
        fvq_make_avail(&q0, (uint16_t)n);
        cr_assert_eq(pop(), 1, "chain %u", n);
        cr_assert_eq(chain.head, n);
    }
    cr_assert_eq(dev.q[0].next_avail, 2);
    cr_assert_eq(pop(), 0);
}

Test(transport, wants_interrupt_follows_no_interrupt_flag)
{
    running();
    cr_assert(virtq_wants_interrupt(&dev, &dev.q[0]));
    fvq_set_avail_flags(&q0, VRING_AVAIL_F_NO_INTERRUPT);
    cr_assert(!virtq_wants_interrupt(&dev, &dev.q[0]));
    fvq_set_avail_flags(&q0, 0xFFFE); /* other bits mean nothing */
    cr_assert(virtq_wants_interrupt(&dev, &dev.q[0]));
}

/*
 * A hostile ring: pop fails quickly, the device needs a reset (one warning, the config-change
 * interrupt) and further pops return 0, even once the ring is repaired, until the driver resets.
 */
static void expect_broken(const char *what)
{
    struct timespec t0, t1;
    stderr_capture_begin();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = pop();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int r2 = pop();
    char *err = stderr_capture_end();
    cr_assert_eq(r, -1, "%s: pop returned %d", what, r);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    cr_assert_lt(ms, 100.0, "%s: took %.1f ms", what, ms);
    cr_assert_eq(r2, 0, "%s: a failed device pops nothing", what);
    cr_assert(rd(VIRTIO_CC_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET, "%s", what);
    cr_assert_eq(count_substr(err, "chyve: warning:"), 1, "%s: stderr '%s'", what, err);
    free(err);
    cr_assert_eq(seen.irq[seen.nirq - 1], true, "%s: interrupt", what);
    cr_assert_eq(fvq_used_idx(&q0), 0, "%s: nothing used", what);
    /* Repair the ring: still nothing until a reset. */
    fvq_init(&q0, &mem, BASE, 8);
    fvq_desc(&q0, 0, BUF, 8, 0, 0);
    fvq_make_avail(&q0, 0);
    cr_assert_eq(pop(), 0, "%s: popped after repair without reset", what);
    running();
    fvq_desc(&q0, 0, BUF, 8, 0, 0);
    fvq_make_avail(&q0, 0);
    cr_assert_eq(pop(), 1, "%s: reset and re-initialised, the queue works again", what);
}

Test(transport, hostile_descriptor_cycle)
{
    running();
    fvq_desc(&q0, 0, BUF, 8, VRING_DESC_F_NEXT, 1);
    fvq_desc(&q0, 1, BUF, 8, VRING_DESC_F_NEXT, 0);
    fvq_make_avail(&q0, 0);
    expect_broken("0 -> 1 -> 0");
}

Test(transport, hostile_self_loop_of_writables)
{
    running();
    fvq_desc(&q0, 3, BUF, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
    fvq_make_avail(&q0, 3);
    expect_broken("3 -> 3");
}

Test(transport, hostile_chain_longer_than_queue)
{
    running();
    for (uint16_t i = 0; i < 8; i++) { /* 0..7 then back to 0: the 9th link */
        fvq_desc(&q0, i, BUF, 8, VRING_DESC_F_NEXT, (uint16_t)((i + 1) % 8));
    }
    fvq_make_avail(&q0, 0);
    expect_broken("9 links in 8 entries");
}

Test(transport, hostile_next_out_of_range)
{
    running();
    fvq_desc(&q0, 0, BUF, 8, VRING_DESC_F_NEXT, 8);
    fvq_make_avail(&q0, 0);
    expect_broken("next = size");
}

Test(transport, hostile_next_far_out_of_range)
{
    running();
    fvq_desc(&q0, 0, BUF, 8, VRING_DESC_F_NEXT, 0xFFFF);
    fvq_make_avail(&q0, 0);
    expect_broken("next = 0xFFFF");
}

Test(transport, hostile_address_below_ram)
{
    running();
    fvq_desc(&q0, 0, BASE - 8, 16, 0, 0);
    fvq_make_avail(&q0, 0);
    expect_broken("below RAM");
}

Test(transport, hostile_address_above_ram)
{
    running();
    fvq_desc(&q0, 0, BUF, 8, VRING_DESC_F_NEXT, 1);
    fvq_desc(&q0, 1, END, 1, VRING_DESC_F_WRITE, 0);
    fvq_make_avail(&q0, 0);
    expect_broken("above RAM");
}

Test(transport, hostile_len_runs_past_end)
{
    running();
    fvq_desc(&q0, 0, END - 16, 17, 0, 0);
    fvq_make_avail(&q0, 0);
    expect_broken("one byte past the end");
}

Test(transport, hostile_len_wraps)
{
    running();
    fvq_desc(&q0, 0, END - 16, 0xFFFFFFFFu, 0, 0);
    fvq_make_avail(&q0, 0);
    expect_broken("END - 16 + 4 GiB");
}

Test(transport, hostile_address_wraps)
{
    running();
    fvq_desc(&q0, 0, UINT64_MAX - 7, 0x100, VRING_DESC_F_WRITE, 0);
    fvq_make_avail(&q0, 0);
    expect_broken("address + len wraps the address space");
}

Test(transport, hostile_avail_index_too_far_ahead)
{
    running();
    fvq_desc(&q0, 0, BUF, 8, 0, 0);
    fvq_set_avail_idx(&q0, 9);
    expect_broken("avail idx 9 in a queue of 8");
}

Test(transport, avail_index_exactly_a_queue_ahead_is_fine)
{
    running();
    for (uint16_t i = 0; i < 8; i++) {
        fvq_desc(&q0, i, BUF, 8, 0, 0);
        fvq_make_avail(&q0, i);
    }
    for (uint16_t i = 0; i < 8; i++) {
        cr_assert_eq(pop(), 1);
        cr_assert_eq(chain.head, i);
    }
    cr_assert_eq(pop(), 0);
}

Test(transport, hostile_avail_index_behind)
{
    running();
    fvq_set_avail_idx(&q0, 0xFFFF); /* "65535 ahead", i.e. one behind */
    expect_broken("avail idx moved backwards");
}

Test(transport, hostile_head_out_of_range)
{
    running();
    fvq_desc(&q0, 0, BUF, 8, 0, 0);
    fvq_make_avail(&q0, 8);
    expect_broken("head 8");
}

Test(transport, hostile_readable_after_writable)
{
    running();
    fvq_desc(&q0, 0, BUF, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
    fvq_desc(&q0, 1, BUF, 8, 0, 0);
    fvq_make_avail(&q0, 0);
    expect_broken("readable after writable");
}

Test(transport, hostile_indirect)
{
    running();
    fvq_desc(&q0, 0, BUF, 16, VRING_DESC_F_INDIRECT, 0);
    fvq_desc(&q0, 1, BUF, 8, 0, 0); /* what the indirect table would name */
    fvq_make_avail(&q0, 0);
    expect_broken("indirect");
}

Test(transport, hostile_indirect_in_the_middle)
{
    running();
    fvq_desc(&q0, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
    fvq_desc(&q0, 1, BUF, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 2);
    fvq_desc(&q0, 2, BUF, 16, VRING_DESC_F_WRITE, 0);
    fvq_make_avail(&q0, 0);
    expect_broken("indirect second");
}

Test(transport, good_chain_after_bad_one_stays_unread)
{
    running();
    fvq_desc(&q0, 0, END, 8, 0, 0);
    fvq_desc(&q0, 1, BUF, 8, 0, 0);
    fvq_make_avail(&q0, 0);
    fvq_make_avail(&q0, 1);
    cr_assert_eq(pop(), -1);
    cr_assert_eq(pop(), 0, "the device stopped at the first bad chain");
    cr_assert_eq(dev.q[0].next_avail, 0);
}
