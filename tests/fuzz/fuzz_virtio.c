/*
 * fuzz_virtio.c: the virtio-net device as a hostile guest drives it: PCI configuration through
 * the 0xCF8/0xCFC ports and ECAM, BAR 0 registers (common, ISR, device, notify), and guest RAM
 * holding rings and descriptors, so every TX kick walks whatever chains the input built.
 * Input: byte 0 = the number of operations (n), n 12-byte operations, then (everything left) the
 * first bytes of guest RAM (64 KiB at guest-physical 0). An operation: op (byte 0 % 6), offset
 * (le16), length selector, value (le64): 0 BAR write, 1 BAR read (offset % 0x1000, length 1/2/4/8)
 *   2 configuration write, 3 read, through the ports (register offset % 256, length 1/2/4)
 *   4 an 8-byte store of value into guest RAM at offset * 8 % 64 KiB
 *   5 an ECAM access (offset, read or write by value's bit 0)
 * The receive thread is not started: TX runs on the notifying "vCPU", here the fuzzer itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dev/virtio.h"
#include "fuzz.h"
#include "guest_mem.h"
#include "iobus.h"
#include "le.h"
#include "log.h"
#include "net/virtio_net.h"

#define GUEST_SIZE (64u << 10)
#define BAR 0xFE000000ull
#define ECAM 0x09000000ull
#define OP_SIZE 12

static struct guest_mem mem;
static int sv[2] = {-1, -1};

static void setup(void)
{
    log_threshold = LOG_ERROR; /* a broken ring warns once per reset: keep the log quiet */
    if (guest_mem_init(&mem, 0, GUEST_SIZE) != 0 || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
        abort();
    int big = 1 << 20;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
}

/* Drains what the device sent, so that the link never fills up across inputs. */
static unsigned drain(void)
{
    uint8_t buf[2048];
    unsigned n = 0;
    while (recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) > 0)
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    if (size == 0)
        return 0;
    size_t nops = data[0];
    data++, size--;
    if (nops > size / OP_SIZE)
        nops = size / OP_SIZE;
    size_t ram = size - nops * OP_SIZE;
    guest_mem_zero(&mem, 0, GUEST_SIZE);
    guest_mem_write(&mem, 0, data + nops * OP_SIZE, ram < GUEST_SIZE ? ram : GUEST_SIZE);

    struct netif link = {.fd = sv[0], .mtu = 1500, .mac = {2, 0, 0, 0, 0, 1}};
    struct virtio_net *vn;
    struct iobus *bus = iobus_create();
    if (bus == NULL || virtio_net_create(&mem, &link, 11, &vn) != 0 ||
        iobus_attach_virtio(bus, virtio_net_device(vn), 0, BAR) != 0)
        abort();
    iobus_set_ecam(bus, ECAM, 1u << 20);

    for (size_t i = 0; i < nops; i++) {
        const uint8_t *op = data + i * OP_SIZE;
        unsigned off = le16_get(op + 1);
        unsigned len = 1u << (op[3] & 3);
        uint8_t val[8];
        memcpy(val, op + 4, 8);
        switch (op[0] % 6) {
        case 0:
        case 1:
            iobus_mmio(bus, BAR + off % VIRTIO_BAR_SIZE, op[0] % 6 == 0, val, len);
            break;
        case 2:
        case 3: {
            uint8_t addr[4];
            le32_put(addr, 0x80000000u | (off & 0xFC));
            iobus_pio(bus, 0xCF8, true, addr, 4);
            if (len == 8)
                len = 4;
            iobus_pio(bus, (uint16_t)(0xCFC + (off & 3)), op[0] % 6 == 2, val, len);
            break;
        }
        case 4:
            guest_mem_write(&mem, (uint64_t)off * 8 % GUEST_SIZE, val, 8);
            break;
        default:
            iobus_mmio(bus, ECAM + off, val[0] & 1, val, len == 8 ? 4 : len);
            break;
        }
    }
    if (getenv("FUZZ_VIRTIO_VERBOSE"))
        fprintf(stderr, "fuzz_virtio: %zu operations, %u frames sent\n", nops, drain());
    drain();
    virtio_net_destroy(vn);
    iobus_destroy(bus);
    return 0;
}
