/*
 * hostile.c: feeds netstack millions of damaged and adversarial frames under ASan/UBSan. A peer
 * model keeps TCP connections alive with plausible sequence numbers so that the deep paths run
 * too; every frame sits in a buffer of exactly its length, so any read past it is caught. The
 * stack's transmissions are checked: within the MTU, partial checksum offsets inside the frame.
 * Usage: hostile [ITERATIONS [SEED]]; exits 0 when no check failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netstack.h"

#define OUR_IP 0x0a000503u
#define PEER_IP 0x0a000501u
#define PORT 9975

static uint64_t rng_state;
static unsigned mtu;
static unsigned long failures, sent_frames, refused;

/* The stack's last SYN-ACK / segment towards the peer model: where its sequence space is. */
static uint32_t stack_seq, stack_ack;
static uint16_t stack_port_seen;
static int fail_tx; /* percent of transmissions refused, to exercise the retry paths */

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, (uint16_t)(v >> 16));
    wr16(p + 2, (uint16_t)v);
}

static uint16_t sum(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i < n; i++)
        acc += i & 1 ? p[i] : (uint32_t)p[i] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}

static int tx(void *ctx, const uint8_t *f, size_t len, uint16_t cs, uint16_t co)
{
    (void)ctx;
    if (len < 14 || len > 14 + mtu || (cs && (size_t)cs + co + 2 > len)) {
        fprintf(stderr, "bad transmission: len %zu, csum %u+%u (mtu %u)\n", len, cs, co, mtu);
        failures++;
    }
    if ((int)(rnd() % 100) < fail_tx) {
        refused++;
        return -1;
    }
    sent_frames++;
    if (len >= 54 && f[12] == 8 && f[13] == 0 && f[23] == 6) {
        size_t hl = (size_t)(f[46] >> 4) * 4;
        stack_seq = rd32(f + 38) + (f[47] & 3 ? 1 : 0) + (uint32_t)(len - 34 - hl);
        stack_ack = rd32(f + 42);
        stack_port_seen = (uint16_t)(f[36] << 8 | f[37]);
    }
    return 0;
}

/* Builds Ethernet + IPv4 + (proto) with l4len bytes of L4 at f + 34; fills checksums. */
static size_t build_ip(uint8_t *f, uint8_t proto, size_t l4len)
{
    static const uint8_t our_mac[6] = {2, 0, 0, 0, 5, 3}, peer_mac[6] = {2, 0, 0, 0, 5, 1};
    memcpy(f, our_mac, 6);
    memcpy(f + 6, peer_mac, 6);
    wr16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    wr16(ip + 2, (uint16_t)(20 + l4len));
    ip[8] = 64;
    ip[9] = proto;
    wr32(ip + 12, PEER_IP);
    wr32(ip + 16, OUR_IP);
    wr16(ip + 10, (uint16_t)~sum(ip, 20, 0));
    uint8_t *l4 = ip + 20;
    if (proto == 6 || proto == 17) {
        unsigned field = proto == 6 ? 16 : 6;
        l4[field] = l4[field + 1] = 0;
        uint8_t ph[12] = {0};
        memcpy(ph, ip + 12, 8);
        ph[9] = proto;
        wr16(ph + 10, (uint16_t)l4len);
        wr16(l4 + field, (uint16_t)~sum(l4, l4len, sum(ph, 12, 0)));
    } else if (proto == 1) {
        l4[2] = l4[3] = 0;
        wr16(l4 + 2, (uint16_t)~sum(l4, l4len, 0));
    }
    return 34 + l4len;
}

static uint16_t peer_port = 40000;
static uint32_t peer_seq = 1000;

/* One frame the way a (possibly confused) peer would send it, before any damage. */
static size_t make_frame(uint8_t *f, size_t cap)
{
    uint8_t *l4 = f + 34;
    size_t room = cap - 34, n;
    switch (rnd() % 8) {
    case 0: /* ARP request for us (or someone else) */
        memset(f, 0xff, 6);
        memcpy(f + 6, "\x02\0\0\0\x05\x01", 6);
        wr16(f + 12, 0x0806);
        memcpy(f + 14, "\x00\x01\x08\x00\x06\x04\x00\x01\x02\0\0\0\x05\x01", 14);
        wr32(f + 28, PEER_IP);
        memset(f + 32, 0, 6);
        wr32(f + 38, rnd() % 4 ? OUR_IP : PEER_IP);
        return 42;
    case 1: /* echo request */
        n = 8 + rnd() % (room - 8);
        for (size_t i = 0; i < n; i++)
            l4[i] = (uint8_t)rnd();
        l4[0] = rnd() % 4 ? 8 : (uint8_t)rnd();
        l4[1] = 0;
        return build_ip(f, 1, n);
    case 2: /* UDP to the echo port, sometimes an exit request */
        n = 8 + rnd() % (room - 8);
        for (size_t i = 8; i < n; i++)
            l4[i] = (uint8_t)rnd();
        if (rnd() % 16 == 0) {
            memcpy(l4 + 8, "exit -12", 8);
            n = 16;
        }
        wr16(l4, 5555);
        wr16(l4 + 2, rnd() % 8 ? PORT : (uint16_t)rnd());
        wr16(l4 + 4, (uint16_t)n);
        return build_ip(f, 17, n);
    case 3: /* a SYN, with options */
        peer_port = (uint16_t)(40000 + rnd() % 6);
        peer_seq = rnd();
        memset(l4, 0, 40);
        wr16(l4, peer_port);
        wr16(l4 + 2, PORT);
        wr32(l4 + 4, peer_seq);
        l4[12] = 10 << 4;
        l4[13] = 0x02;
        wr16(l4 + 14, 65535);
        memcpy(l4 + 20, "\x02\x04\x05\xb4\x04\x02\x08\x0a\0\0\0\0\0\0\0\0\x01\x03\x03\x07", 20);
        if (rnd() % 4 == 0)
            l4[21 + 4 * (rnd() % 4)] = (uint8_t)rnd(); /* a bad option length */
        peer_seq++;
        return build_ip(f, 6, 40);
    default: { /* a segment on the current connection with plausible numbers */
        n = rnd() % 3 ? rnd() % (mtu - 40 + 1) : 0;
        if (n > room - 20)
            n = room - 20;
        memset(l4, 0, 20);
        wr16(l4, peer_port);
        wr16(l4 + 2, PORT);
        int32_t dseq = rnd() % 4 ? 0 : (int32_t)(rnd() % 4000) - 2000;
        wr32(l4 + 4, stack_ack + (uint32_t)dseq);
        uint32_t a = stack_seq - (rnd() % 3 ? 0 : rnd() % 70000);
        if (rnd() % 16 == 0)
            a = rnd();
        wr32(l4 + 8, a);
        l4[12] = 5 << 4;
        static const uint8_t fl[] = {0x10, 0x10, 0x18, 0x10, 0x11, 0x04, 0x14, 0x12, 0x01, 0x00};
        l4[13] = fl[rnd() % sizeof(fl)];
        wr16(l4 + 14, rnd() % 8 ? 65535 : (uint16_t)(rnd() % 3000));
        for (size_t i = 0; i < n; i++)
            l4[20 + i] = (uint8_t)rnd();
        return build_ip(f, 6, 20 + n);
    }
    }
}

/* Damage: flipped bytes, a length field set to something else, a cut, or nothing. */
static size_t damage(uint8_t *f, size_t len)
{
    switch (rnd() % 6) {
    case 0:
        for (unsigned k = 1 + rnd() % 4; k; k--)
            f[rnd() % len] ^= (uint8_t)(1 + rnd() % 255);
        break;
    case 1: {
        static const unsigned fields[] = {16, 14, 38, 46, 18, 20};
        unsigned at = fields[rnd() % 6];
        if (at + 2 <= len)
            wr16(f + at, (uint16_t)rnd());
        break;
    }
    case 2:
        len = rnd() % (len + 1);
        break;
    default:
        break;
    }
    return len;
}

int main(int argc, char **argv)
{
    unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000;
    rng_state = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x9e3779b97f4a7c15ull;
    static uint8_t scratch[9014];
    uint64_t now = 1;
    for (unsigned round = 0; round < 4; round++) {
        mtu = round & 1 ? 9000 : 1500;
        fail_tx = round & 2 ? 20 : 0;
        struct netstack_cfg cfg = {.mac = {2, 0, 0, 0, 5, 3},
                                   .ip = OUR_IP,
                                   .mask = 0xffffff00u,
                                   .gw = PEER_IP,
                                   .mtu = (uint16_t)mtu,
                                   .port = PORT,
                                   .tx_csum_offload = round & 1,
                                   .tx = tx};
        netstack_init(&cfg);
        netstack_ping(PEER_IP, 50, now);
        for (unsigned long i = 0; i < iters / 4; i++) {
            size_t cap = 14 + mtu + (rnd() % 16 == 0 ? 2000 : 0);
            size_t len = make_frame(scratch, cap < sizeof(scratch) ? cap : sizeof(scratch));
            if (rnd() % 3 == 0)
                len = damage(scratch, len);
            uint8_t *f = malloc(len ? len : 1);
            memcpy(f, scratch, len);
            netstack_input(f, len, rnd() % 4 == 0, now);
            free(f);
            now += rnd() % 8 == 0 ? rnd() % 3000 : rnd() % 3;
            netstack_poll(now);
            if (i % 100000 == 0)
                netstack_ping(PEER_IP, 1 + rnd() % 100, now);
        }
        struct netstack_stats st;
        netstack_get_stats(&st);
        printf("round %u (mtu %u, %d%% tx refused): rx %llu tx %llu arp %llu icmp %llu udp %llu "
               "tcp %llu bad %llu drops %llu\n",
               round, mtu, fail_tx, (unsigned long long)st.rx, (unsigned long long)st.tx,
               (unsigned long long)st.arp, (unsigned long long)st.icmp, (unsigned long long)st.udp,
               (unsigned long long)st.tcp, (unsigned long long)st.bad,
               (unsigned long long)st.drops);
    }
    printf("hostile: %lu frames sent, %lu refused, %lu bad transmissions, last port %u\n",
           sent_frames, refused, failures, stack_port_seen);
    return failures ? 1 : 0;
}
