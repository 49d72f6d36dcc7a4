/*
 * netstack.c: the test guest's IPv4 stack: Ethernet II, ARP, ICMP echo, UDP echo and a TCP echo
 * server (passive open only, in-order receive, one ring per connection that holds both the
 * received bytes and the echo not yet acknowledged). Every guest instruction is expensive, so the
 * hot path touches each payload byte at most once per copy and once per checksum, and skips the
 * checksum when the device does it.
 */
#include "netstack.h"
#include "rt.h"

#define ETH_HLEN 14
#define IP_HLEN 20
#define TCP_HLEN 20
#define UDP_HLEN 8
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

#define MTU_MIN 576
#define MTU_MAX 9000
#define FRAME_MAX (ETH_HLEN + MTU_MAX)

#define ARP_ENTRIES 8
#define ARP_RETRY_MS 100
#define ARP_TRIES 5

#define PING_MAX 4096
#define PING_GAP_MS 10
#define PING_TIMEOUT_MS 1000
#define PING_PAYLOAD 56
#define PING_ID 0xc4e5

#define TCP_CONNS 4
#define RING_SIZE 65536u /* a power of two */
#define RING_MASK (RING_SIZE - 1)
#define TCP_WND_MAX 65535u /* no window scaling */
#define TCP_MSS_DEFAULT 536
#define RTO_MIN_MS 200
#define RTO_MAX_MS 3000
#define TCP_RETRIES 10

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

/* Sequence number comparisons modulo 2^32 (RFC 793 §3.3). */
#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)

enum tcp_state { TCP_FREE, TCP_SYN_RCVD, TCP_ESTAB };

/*
 * One connection. The ring holds the sequence space [snd_una, snd_una + len) of what we send:
 * bytes already echoed but not acknowledged first, then bytes received but not yet sent back.
 * Its free space is the receive window we advertise.
 */
struct tcb {
    uint8_t state;
    bool peer_fin; /* the peer's FIN is received (and counted in rcv_nxt) */
    bool fin_sent; /* our FIN occupies fin_seq */
    bool ack_due;  /* an ACK must go out even if no data does */
    bool out_due;  /* cfg.tx refused a segment: retry from netstack_poll */
    bool dup_due;  /* a bare duplicate ACK must go out, ahead of any data */
    bool ooo;      /* [ooo_lo, ooo_hi) past a hole at rcv_nxt is already in the ring */
    bool ooo_fin;  /* ... and the peer's FIN follows it */
    bool rtt_on;   /* timing the segment that ends at rtt_seq (Karn: never a retransmission) */
    uint8_t mac[6];
    uint32_t rip;
    uint16_t rport, mss;
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, fin_seq;
    uint32_t rcv_nxt, rcv_adv, ooo_lo, ooo_hi;
    uint32_t cwnd, ssthresh;
    uint32_t head, len; /* ring index of snd_una, bytes in the ring */
    uint32_t rtt_seq, srtt8, rttvar4, rto;
    unsigned dupacks, retries;
    uint64_t rto_at, rtt_t; /* rto_at 0: timer stopped */
};

static struct {
    struct netstack_cfg cfg;
    struct netstack_stats st;
    uint64_t now;
    uint16_t ip_id;
    uint32_t iss_seed;
    struct {
        uint32_t ip;
        uint8_t mac[6];
        bool valid;
    } arp[ARP_ENTRIES];
    unsigned arp_next;
    struct tcb tcb[TCP_CONNS];
    struct {
        bool active, done;
        uint32_t dst, hop;
        unsigned count, sent, received, arp_tries;
        uint64_t last_tx, arp_at;
        uint8_t seen[PING_MAX / 8];
    } ping;
    bool exit_req;
    int exit_code;
} ns;

static uint8_t rings[TCP_CONNS][RING_SIZE] __attribute__((aligned(64)));
/* Frames are built at txbuf + 2 so that the IP header and a TCP payload are 4- and 8-aligned. */
static uint8_t txbuf[FRAME_MAX + 8] __attribute__((aligned(64)));
#define TXF (txbuf + 2)

/* --- bytes --- */

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return v;
}

static inline void st64(uint8_t *p, uint64_t v)
{
    __builtin_memcpy(p, &v, 8);
}

/*
 * Copies n bytes eight at a time. rt's memcpy goes byte by byte, which costs ~8x more guest
 * instructions on a full segment. GCC must not turn this loop back into a memcpy call.
 */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static void
copy(uint8_t *d, const uint8_t *s, size_t n)
{
#if defined(__x86_64__)
    /* A software-emulated CPU pays per instruction and per string-move element: 8-byte moves. */
    size_t q = n / 8;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(q) : : "memory");
    n &= 7;
#endif
    for (; n >= 32; n -= 32, d += 32, s += 32) {
        uint64_t a = ld64(s), b = ld64(s + 8), c = ld64(s + 16), e = ld64(s + 24);
        st64(d, a);
        st64(d + 8, b);
        st64(d + 16, c);
        st64(d + 24, e);
    }
    for (; n >= 8; n -= 8, d += 8, s += 8)
        st64(d, ld64(s));
    for (; n; n--)
        *d++ = *s++;
}

/* --- the Internet checksum (RFC 1071), summed in memory order, so no byte swapping --- */

static inline uint64_t add_carry(uint64_t acc, uint64_t v)
{
    acc += v;
    return acc + (acc < v);
}

/* Adds the n bytes at p to acc (n may be odd: the last byte is padded with a zero after it). */
static uint64_t csum_add(uint64_t acc, const uint8_t *p, size_t n)
{
    for (; n >= 32; n -= 32, p += 32) {
        acc = add_carry(acc, ld64(p));
        acc = add_carry(acc, ld64(p + 8));
        acc = add_carry(acc, ld64(p + 16));
        acc = add_carry(acc, ld64(p + 24));
    }
    for (; n >= 8; n -= 8, p += 8)
        acc = add_carry(acc, ld64(p));
    if (n >= 4) {
        uint32_t w;
        __builtin_memcpy(&w, p, 4);
        acc = add_carry(acc, w);
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        uint16_t w;
        __builtin_memcpy(&w, p, 2);
        acc = add_carry(acc, w);
        p += 2;
        n -= 2;
    }
    if (n) {
        uint8_t b[2] = {p[0], 0};
        uint16_t w;
        __builtin_memcpy(&w, b, 2);
        acc = add_carry(acc, w);
    }
    return acc;
}

/* Folds acc to 16 bits (not complemented), still in memory order. */
static uint16_t csum_fold(uint64_t acc)
{
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}

/* A 16-bit big-endian value as csum_add would read it from memory. */
static inline uint16_t mem16(uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    uint16_t w;
    __builtin_memcpy(&w, b, 2);
    return w;
}

/* The TCP/UDP pseudo-header sum (RFC 793 §3.1, RFC 768); addresses in host byte order. */
static uint64_t pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4len)
{
    uint8_t b[12];
    wr32(b, src);
    wr32(b + 4, dst);
    b[8] = 0;
    b[9] = proto;
    wr16(b + 10, l4len);
    return csum_add(0, b, sizeof(b));
}

/* --- Ethernet, IPv4, transmission --- */

static int xmit(const uint8_t *f, size_t len, uint16_t cs_start, uint16_t cs_off)
{
    if (ns.cfg.tx(ns.cfg.ctx, f, len, cs_start, cs_off) != 0) {
        ns.st.drops++;
        return -1;
    }
    ns.st.tx++;
    return 0;
}

/* Writes an Ethernet header into f; returns where the payload goes. */
static uint8_t *eth_build(uint8_t *f, const uint8_t *dmac, uint16_t type)
{
    memcpy(f, dmac, 6);
    memcpy(f + 6, ns.cfg.mac, 6);
    wr16(f + 12, type);
    return f + ETH_HLEN;
}

/* Writes a 20-byte IPv4 header (DF, TTL 64) with its checksum; returns the L4 header. */
static uint8_t *ip_build(uint8_t *ip, uint32_t dst, uint8_t proto, size_t l4len)
{
    ip[0] = 0x45;
    ip[1] = 0;
    wr16(ip + 2, (uint16_t)(IP_HLEN + l4len));
    wr16(ip + 4, ns.ip_id++);
    wr16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = proto;
    ip[10] = ip[11] = 0;
    wr32(ip + 12, ns.cfg.ip);
    wr32(ip + 16, dst);
    uint16_t cs = (uint16_t)~csum_fold(csum_add(0, ip, IP_HLEN));
    __builtin_memcpy(ip + 10, &cs, 2);
    return ip + IP_HLEN;
}

/*
 * Fills the TCP/UDP checksum of the l4len bytes at l4 (field at l4 + field), either completely or,
 * with tx_csum_offload, as the pseudo-header sum the device finishes; *cs_start / *cs_off say
 * which for xmit.
 */
static void l4_csum(uint8_t *f, uint8_t *l4, size_t l4len, unsigned field, uint8_t proto,
                    uint32_t dst, uint16_t *cs_start, uint16_t *cs_off)
{
    uint64_t ps = pseudo_sum(ns.cfg.ip, dst, proto, (uint16_t)l4len);
    uint16_t cs;
    l4[field] = l4[field + 1] = 0;
    if (ns.cfg.tx_csum_offload) {
        cs = csum_fold(ps);
        *cs_start = (uint16_t)(l4 - f);
        *cs_off = (uint16_t)field;
    } else {
        cs = (uint16_t)~csum_fold(csum_add(ps, l4, l4len));
        if (proto == IPPROTO_UDP && cs == 0)
            cs = 0xffff; /* 0 would mean "no checksum" (RFC 768) */
        *cs_start = *cs_off = 0;
    }
    __builtin_memcpy(l4 + field, &cs, 2);
}

/* --- ARP (RFC 826) --- */

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static const uint8_t *arp_lookup(uint32_t ip)
{
    for (unsigned i = 0; i < ARP_ENTRIES; i++)
        if (ns.arp[i].valid && ns.arp[i].ip == ip)
            return ns.arp[i].mac;
    return NULL;
}

static void arp_learn(uint32_t ip, const uint8_t *mac)
{
    unsigned i;
    for (i = 0; i < ARP_ENTRIES; i++)
        if (ns.arp[i].valid && ns.arp[i].ip == ip)
            break;
    if (i == ARP_ENTRIES) {
        i = ns.arp_next;
        ns.arp_next = (ns.arp_next + 1) % ARP_ENTRIES;
    }
    ns.arp[i].valid = true;
    ns.arp[i].ip = ip;
    memcpy(ns.arp[i].mac, mac, 6);
}

static void arp_send(uint16_t op, const uint8_t *dmac, const uint8_t *tha, uint32_t tpa)
{
    uint8_t *a = eth_build(TXF, dmac, ETH_P_ARP);
    wr16(a, 1); /* Ethernet */
    wr16(a + 2, ETH_P_IP);
    a[4] = 6;
    a[5] = 4;
    wr16(a + 6, op);
    memcpy(a + 8, ns.cfg.mac, 6);
    wr32(a + 14, ns.cfg.ip);
    memcpy(a + 18, tha, 6);
    wr32(a + 24, tpa);
    memset(a + 28, 0, 60 - ETH_HLEN - 28); /* pad to the Ethernet minimum */
    xmit(TXF, 60, 0, 0);
}

static void ping_step(void);

static void arp_input(const uint8_t *a, size_t len)
{
    if (len < 28 || rd16(a) != 1 || rd16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4 ||
        (a[8] & 1)) {
        ns.st.bad++;
        return;
    }
    ns.st.arp++;
    uint16_t op = rd16(a + 6);
    uint32_t spa = rd32(a + 14), tpa = rd32(a + 24);
    if (tpa != ns.cfg.ip || (op != 1 && op != 2)) {
        ns.st.drops++;
        return;
    }
    arp_learn(spa, a + 8);
    if (op == 1)
        arp_send(2, a + 8, a + 8, spa);
    else if (ns.ping.active)
        ping_step();
}

/* --- ICMP (RFC 792) --- */

static void ping_send(const uint8_t *mac)
{
    uint8_t *ic =
        ip_build(eth_build(TXF, mac, ETH_P_IP), ns.ping.dst, IPPROTO_ICMP, 8 + PING_PAYLOAD);
    ic[0] = 8;
    ic[1] = ic[2] = ic[3] = 0;
    wr16(ic + 4, PING_ID);
    wr16(ic + 6, (uint16_t)ns.ping.sent);
    for (unsigned i = 0; i < PING_PAYLOAD; i++)
        ic[8 + i] = (uint8_t)(i + 0x20);
    uint16_t cs = (uint16_t)~csum_fold(csum_add(0, ic, 8 + PING_PAYLOAD));
    __builtin_memcpy(ic + 2, &cs, 2);
    if (xmit(TXF, ETH_HLEN + IP_HLEN + 8 + PING_PAYLOAD, 0, 0) == 0) {
        ns.ping.sent++;
        ns.ping.last_tx = ns.now;
    }
}

/* Advances the running ping: resolves the next hop, sends the next request, notices the end. */
static void ping_step(void)
{
    if (!ns.ping.active)
        return;
    if (ns.ping.sent < ns.ping.count) {
        const uint8_t *mac = arp_lookup(ns.ping.hop);
        if (!mac) {
            if (ns.now < ns.ping.arp_at)
                return;
            if (ns.ping.arp_tries == ARP_TRIES) {
                ns.ping.active = false;
                ns.ping.done = true;
                return;
            }
            ns.ping.arp_tries++;
            ns.ping.arp_at = ns.now + ARP_RETRY_MS;
            arp_send(1, bcast_mac, (const uint8_t[6]){0}, ns.ping.hop);
            return;
        }
        if (ns.ping.sent == 0 || ns.ping.received == ns.ping.sent ||
            ns.now - ns.ping.last_tx >= PING_GAP_MS)
            ping_send(mac);
    } else if (ns.ping.received == ns.ping.sent || ns.now - ns.ping.last_tx >= PING_TIMEOUT_MS) {
        ns.ping.active = false;
        ns.ping.done = true;
    }
}

static void ping_reply(uint32_t src, const uint8_t *ic, size_t len)
{
    unsigned seq = rd16(ic + 6);
    if (!ns.ping.active || src != ns.ping.dst || rd16(ic + 4) != PING_ID || seq >= ns.ping.sent ||
        len != 8 + PING_PAYLOAD || (ns.ping.seen[seq / 8] & (1u << (seq % 8)))) {
        ns.st.drops++;
        return;
    }
    for (unsigned i = 0; i < PING_PAYLOAD; i++)
        if (ic[8 + i] != (uint8_t)(i + 0x20)) {
            ns.st.bad++;
            return;
        }
    ns.ping.seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
    ns.ping.received++;
    ping_step();
}

static void icmp_input(const uint8_t *smac, uint32_t src, const uint8_t *ic, size_t len)
{
    if (len < 8 || csum_fold(csum_add(0, ic, len)) != 0xffff) {
        ns.st.bad++;
        return;
    }
    ns.st.icmp++;
    if (ic[0] == 0 && ic[1] == 0) {
        ping_reply(src, ic, len);
        return;
    }
    if (ic[0] != 8 || ic[1] != 0 || IP_HLEN + len > ns.cfg.mtu) {
        ns.st.drops++;
        return;
    }
    uint8_t *r = ip_build(eth_build(TXF, smac, ETH_P_IP), src, IPPROTO_ICMP, len);
    copy(r, ic, len);
    /* Type 8 -> 0: update the checksum for the changed word instead of summing again (RFC 1624
     * eqn. 3: HC' = ~(~HC + ~m + m'), with m' = 0). */
    uint16_t hc;
    __builtin_memcpy(&hc, r + 2, 2);
    r[0] = 0;
    hc = (uint16_t)~csum_fold((uint64_t)(uint16_t)~hc + (uint16_t)~mem16(0x0800));
    __builtin_memcpy(r + 2, &hc, 2);
    xmit(TXF, ETH_HLEN + IP_HLEN + len, 0, 0);
}

/* --- UDP (RFC 768) --- */

/* "exit N" (optionally followed by one newline): true and *code = N. */
static bool parse_exit(const uint8_t *p, size_t n, int *code)
{
    if (n && p[n - 1] == '\n')
        n--;
    if (n < 6 || n > 16 || memcmp(p, "exit ", 5) != 0)
        return false;
    size_t i = 5;
    bool neg = p[i] == '-';
    if (neg)
        i++;
    if (i == n)
        return false;
    long v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || v > 100000000)
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *code = (int)(neg ? -v : v);
    return true;
}

static void udp_input(const uint8_t *smac, uint32_t src, const uint8_t *u, size_t len,
                      bool csum_valid)
{
    size_t ulen = len >= UDP_HLEN ? rd16(u + 4) : 0;
    if (ulen < UDP_HLEN || ulen > len) {
        ns.st.bad++;
        return;
    }
    uint16_t rx_cs;
    __builtin_memcpy(&rx_cs, u + 6, 2);
    if (!csum_valid && rx_cs != 0 &&
        csum_fold(csum_add(pseudo_sum(src, ns.cfg.ip, IPPROTO_UDP, (uint16_t)ulen), u, ulen)) !=
            0xffff) {
        ns.st.bad++;
        return;
    }
    ns.st.udp++;
    uint16_t sport = rd16(u), dport = rd16(u + 2);
    if (dport != ns.cfg.port || IP_HLEN + ulen > ns.cfg.mtu) {
        ns.st.drops++;
        return;
    }
    const uint8_t *data = u + UDP_HLEN;
    size_t dlen = ulen - UDP_HLEN;
    int code;
    bool bye = parse_exit(data, dlen, &code);
    if (bye) {
        ns.exit_req = true;
        ns.exit_code = code;
        data = (const uint8_t *)"bye";
        dlen = 3;
    }
    size_t rlen = UDP_HLEN + dlen;
    uint8_t *r = ip_build(eth_build(TXF, smac, ETH_P_IP), src, IPPROTO_UDP, rlen);
    wr16(r, dport);
    wr16(r + 2, sport);
    wr16(r + 4, (uint16_t)rlen);
    copy(r + UDP_HLEN, data, dlen);
    uint16_t cs_start = 0, cs_off = 0;
    if (!bye && !csum_valid) {
        /* Swapping addresses and ports changes no sum: the checked request checksum fits. */
        __builtin_memcpy(r + 6, &rx_cs, 2);
    } else {
        l4_csum(TXF, r, rlen, 6, IPPROTO_UDP, src, &cs_start, &cs_off);
    }
    xmit(TXF, ETH_HLEN + IP_HLEN + rlen, cs_start, cs_off);
}

/* --- TCP (RFC 793, 5681, 6298) --- */

static uint8_t *tcb_ring(const struct tcb *c)
{
    return rings[c - ns.tcb];
}

static uint16_t tcb_window(const struct tcb *c)
{
    uint32_t free = RING_SIZE - c->len;
    return (uint16_t)(free < TCP_WND_MAX ? free : TCP_WND_MAX);
}

/*
 * Sends one segment. With c, it is that connection's (ack, window from it) and carries dlen bytes
 * of the ring from sequence number seq; without c it is a reset built from the arguments.
 * mss_opt != 0 adds an MSS option (SYN-ACK). Returns xmit's result.
 */
static int tcp_xmit(struct tcb *c, const uint8_t *mac, uint32_t dst, uint16_t dport, uint32_t seq,
                    uint32_t ack, uint8_t flags, uint32_t dlen, uint16_t mss_opt)
{
    size_t hlen = TCP_HLEN + (mss_opt ? 4 : 0), l4len = hlen + dlen;
    uint8_t *t = ip_build(eth_build(TXF, mac, ETH_P_IP), dst, IPPROTO_TCP, l4len);
    uint16_t wnd = 0;
    if (c) {
        ack = c->rcv_nxt;
        /* While a hole holds rcv_nxt still, repeat the last window: the peer counts only
         * identical ACKs as duplicates (RFC 5681 §2) and needs three to retransmit fast. */
        wnd = c->ooo ? (uint16_t)(c->rcv_adv - c->rcv_nxt) : tcb_window(c);
    }
    wr16(t, ns.cfg.port);
    wr16(t + 2, dport);
    wr32(t + 4, seq);
    wr32(t + 8, ack);
    t[12] = (uint8_t)(hlen / 4) << 4;
    t[13] = flags;
    wr16(t + 14, wnd);
    wr32(t + 16, 0); /* checksum, urgent pointer */
    if (mss_opt) {
        t[20] = 2;
        t[21] = 4;
        wr16(t + 22, mss_opt);
    }
    if (dlen) {
        const uint8_t *ring = tcb_ring(c);
        uint32_t at = (c->head + (seq - c->snd_una)) & RING_MASK;
        uint32_t first = RING_SIZE - at < dlen ? RING_SIZE - at : dlen;
        copy(t + hlen, ring + at, first);
        copy(t + hlen + first, ring, dlen - first);
    }
    uint16_t cs_start, cs_off;
    l4_csum(TXF, t, l4len, 16, IPPROTO_TCP, dst, &cs_start, &cs_off);
    if (xmit(TXF, ETH_HLEN + IP_HLEN + l4len, cs_start, cs_off) != 0)
        return -1;
    if (c && (flags & TH_ACK)) {
        c->ack_due = false;
        c->rcv_adv = c->rcv_nxt + wnd;
    }
    return 0;
}

static int tcb_send(struct tcb *c, uint32_t seq, uint8_t flags, uint32_t dlen)
{
    return tcp_xmit(c, c->mac, c->rip, c->rport, seq, 0, flags, dlen, 0);
}

static int tcb_send_synack(struct tcb *c)
{
    return tcp_xmit(c, c->mac, c->rip, c->rport, c->iss, 0, TH_SYN | TH_ACK, 0,
                    (uint16_t)(ns.cfg.mtu - 40));
}

static void tcb_free(struct tcb *c)
{
    memset(c, 0, sizeof(*c));
}

static void tcb_abort(struct tcb *c)
{
    tcb_send(c, c->snd_nxt, TH_RST | TH_ACK, 0);
    tcb_free(c);
}

static uint32_t tcb_inflight(const struct tcb *c)
{
    return c->snd_max - c->snd_una;
}

/*
 * Sends what the ring, the peer's window and the congestion window allow, then our FIN once the
 * peer's FIN is in and everything is echoed, then a bare ACK if one is still owed.
 */
static void tcp_output(struct tcb *c)
{
    if (c->state != TCP_ESTAB)
        return;
    c->out_due = false;
    if (c->dup_due) {
        if (tcb_send(c, c->snd_nxt, TH_ACK, 0) != 0) {
            c->out_due = true;
            return;
        }
        c->dup_due = false;
    }
    uint32_t end = c->snd_una + c->len;
    uint32_t wnd = c->snd_wnd < c->cwnd ? c->snd_wnd : c->cwnd;
    uint32_t lim = c->snd_una + wnd;
    bool sent = false;
    while (SEQ_LT(c->snd_nxt, end)) {
        uint32_t avail = end - c->snd_nxt;
        uint32_t room = SEQ_LT(c->snd_nxt, lim) ? lim - c->snd_nxt : 0;
        uint32_t n = avail < room ? avail : room;
        if (n > c->mss)
            n = c->mss;
        /* Sender-side silly window avoidance: wait for the window to open while data is in
         * flight rather than send a small segment that more data would have filled. */
        if (n == 0 || (n < c->mss && n < avail && c->snd_max != c->snd_una))
            break;
        if (tcb_send(c, c->snd_nxt, TH_ACK | (n == avail ? TH_PSH : 0), n) != 0) {
            c->out_due = true;
            return;
        }
        if (!c->rtt_on && c->snd_nxt == c->snd_max) {
            c->rtt_on = true;
            c->rtt_seq = c->snd_nxt + n;
            c->rtt_t = ns.now;
        }
        c->snd_nxt += n;
        if (SEQ_GT(c->snd_nxt, c->snd_max))
            c->snd_max = c->snd_nxt;
        sent = true;
    }
    if (c->peer_fin && !c->fin_sent && c->snd_nxt == end) {
        if (tcb_send(c, c->snd_nxt, TH_FIN | TH_ACK, 0) != 0) {
            c->out_due = true;
            return;
        }
        c->fin_sent = true;
        c->fin_seq = c->snd_nxt++;
        if (SEQ_GT(c->snd_nxt, c->snd_max))
            c->snd_max = c->snd_nxt;
        sent = true;
    }
    if (c->ack_due && tcb_send(c, c->snd_nxt, TH_ACK, 0) != 0)
        c->out_due = true;
    /* The timer runs while anything is in flight, and as the persist timer while a zero window
     * holds back data. */
    if (!c->rto_at && (sent || tcb_inflight(c) || c->len))
        c->rto_at = ns.now + c->rto;
}

/* The retransmission timer expired: back off, go back to snd_una, probe a zero window. */
static void tcp_timeout(struct tcb *c)
{
    if (++c->retries > TCP_RETRIES) {
        tcb_abort(c);
        return;
    }
    c->rto = c->rto * 2 < RTO_MAX_MS ? c->rto * 2 : RTO_MAX_MS;
    c->rto_at = ns.now + c->rto;
    if (c->state == TCP_SYN_RCVD) {
        tcb_send_synack(c);
        return;
    }
    uint32_t fl = tcb_inflight(c);
    if (fl == 0 && c->len == 0) {
        c->rto_at = 0;
        return;
    }
    c->ssthresh = fl / 2 > 2u * c->mss ? fl / 2 : 2u * c->mss;
    c->cwnd = c->mss;
    c->snd_nxt = c->snd_una;
    c->fin_sent = false;
    c->rtt_on = false;
    c->dupacks = 0;
    if (c->len && c->snd_wnd == 0) {
        /* Zero-window probe: one byte past the window makes the peer restate it. */
        if (tcb_send(c, c->snd_nxt, TH_ACK, 1) == 0 && c->snd_max == c->snd_nxt++)
            c->snd_max = c->snd_nxt;
        return;
    }
    tcp_output(c);
}

/* The RTO from a new round-trip sample (RFC 6298 §2, clock granularity 1 ms). */
static void tcp_rtt_sample(struct tcb *c, uint32_t rtt)
{
    if (c->srtt8 == 0) {
        c->srtt8 = (rtt << 3) | 1;
        c->rttvar4 = rtt << 1;
    } else {
        int32_t d = (int32_t)rtt - (int32_t)(c->srtt8 >> 3);
        c->srtt8 += (uint32_t)d;
        if (d < 0)
            d = -d;
        c->rttvar4 += (uint32_t)d - (c->rttvar4 >> 2);
    }
}

static uint32_t tcp_rto_of(const struct tcb *c)
{
    uint32_t rto = (c->srtt8 >> 3) + c->rttvar4;
    return rto < RTO_MIN_MS ? RTO_MIN_MS : rto > RTO_MAX_MS ? RTO_MAX_MS : rto;
}

/* Handles an acknowledgment that may advance snd_una. false: the connection is gone. */
static bool tcp_ack(struct tcb *c, uint32_t seq, uint32_t ack, uint32_t wnd, size_t dlen,
                    uint8_t flags)
{
    if (SEQ_GT(ack, c->snd_max)) {
        c->ack_due = true; /* acknowledges what we never sent */
        return true;
    }
    if (SEQ_GT(ack, c->snd_una)) {
        uint32_t acked = ack - c->snd_una;
        if (acked > c->len) {
            /* Past the data only our FIN can be acknowledged (even after a timeout rewound
             * fin_sent), and it comes only after the peer's: both directions are done. */
            tcb_free(c);
            return false;
        }
        c->head = (c->head + acked) & RING_MASK;
        c->len -= acked;
        c->snd_una = ack;
        if (SEQ_LT(c->snd_nxt, ack))
            c->snd_nxt = ack;
        if (c->rtt_on && SEQ_LEQ(c->rtt_seq, ack)) {
            c->rtt_on = false;
            tcp_rtt_sample(c, (uint32_t)(ns.now - c->rtt_t));
        }
        c->rto = tcp_rto_of(c);
        c->rto_at = c->snd_una == c->snd_max && c->len == 0 ? 0 : ns.now + c->rto;
        c->dupacks = 0;
        if (c->cwnd < c->ssthresh)
            c->cwnd += acked < c->mss ? acked : c->mss;
        else
            c->cwnd += (c->mss * c->mss) / c->cwnd + 1;
        if (c->cwnd > 4 * RING_SIZE)
            c->cwnd = 4 * RING_SIZE;
        /* Receiver-side silly window avoidance: tell the peer about the freed space only when
         * it at least doubles what it may still send and adds a full segment. */
        int32_t adv_left = (int32_t)(c->rcv_adv - c->rcv_nxt);
        uint32_t left = adv_left > 0 ? (uint32_t)adv_left : 0, now_wnd = tcb_window(c);
        if (now_wnd >= 2 * left && now_wnd - left >= c->mss)
            c->ack_due = true;
    } else if (ack == c->snd_una && dlen == 0 && !(flags & TH_FIN) && wnd == c->snd_wnd &&
               c->snd_max != c->snd_una && ++c->dupacks == 3) {
        /* Fast retransmit (RFC 5681 §3.2), without the recovery bookkeeping. */
        uint32_t fl = tcb_inflight(c), n = c->len < c->mss ? c->len : c->mss;
        c->ssthresh = fl / 2 > 2u * c->mss ? fl / 2 : 2u * c->mss;
        c->cwnd = c->ssthresh;
        c->rtt_on = false;
        if (n)
            tcb_send(c, c->snd_una, TH_ACK, n);
    }
    if (SEQ_LEQ(c->snd_una, ack) &&
        (SEQ_LT(c->snd_wl1, seq) || (c->snd_wl1 == seq && SEQ_LEQ(c->snd_wl2, ack)))) {
        c->snd_wnd = wnd;
        c->snd_wl1 = seq;
        c->snd_wl2 = ack;
    }
    return true;
}

/* Copies n received bytes that start gap bytes past rcv_nxt into the ring (there is room). */
static void tcb_ring_put(struct tcb *c, uint32_t gap, const uint8_t *data, uint32_t n)
{
    uint8_t *ring = tcb_ring(c);
    uint32_t at = (c->head + c->len + gap) & RING_MASK;
    uint32_t first = RING_SIZE - at < n ? RING_SIZE - at : n;
    copy(ring + at, data, first);
    copy(ring, data + first, n - first);
}

/*
 * Keeps a segment that lies past a hole when it fits the free space and touches the one range
 * already kept (or none is), so that the peer's retransmission of the hole completes everything
 * at once; others are dropped. Either way a duplicate ACK asks for the hole.
 */
static void tcp_data_ahead(struct tcb *c, uint32_t gap, uint32_t seq, const uint8_t *data,
                           size_t dlen, bool fin)
{
    uint32_t free = RING_SIZE - c->len, hi = seq + (uint32_t)dlen;
    c->dup_due = true;
    if (dlen == 0 || gap >= free || dlen > free - gap ||
        (c->ooo && (SEQ_GT(seq, c->ooo_hi) || SEQ_LT(hi, c->ooo_lo)))) {
        ns.st.drops++;
        return;
    }
    tcb_ring_put(c, gap, data, (uint32_t)dlen);
    if (!c->ooo) {
        c->ooo = true;
        c->ooo_lo = seq;
        c->ooo_hi = hi;
        c->ooo_fin = false;
    }
    if (SEQ_LT(seq, c->ooo_lo))
        c->ooo_lo = seq;
    if (SEQ_LEQ(c->ooo_hi, hi)) {
        c->ooo_fin = fin || (c->ooo_fin && c->ooo_hi == hi);
        c->ooo_hi = hi;
    }
}

/* Puts in-order data (and a FIN) into the ring, joining what was kept past a hole. */
static void tcp_data(struct tcb *c, uint32_t seq, const uint8_t *data, size_t dlen, bool fin)
{
    int32_t off = (int32_t)(c->rcv_nxt - seq);
    if (c->peer_fin) {
        c->ack_due = true;
        return;
    }
    if (off > 0) {
        if ((size_t)off >= dlen + fin) {
            c->ack_due = true; /* an old duplicate: say where we are */
            return;
        }
        data += off;
        dlen -= (size_t)off;
    } else if (off < 0) {
        tcp_data_ahead(c, (uint32_t)-off, seq, data, dlen, fin);
        return;
    }
    uint32_t free = RING_SIZE - c->len;
    uint32_t take = dlen < free ? (uint32_t)dlen : free;
    tcb_ring_put(c, 0, data, take);
    c->len += take;
    c->rcv_nxt += take;
    fin = fin && take == dlen;
    if (c->ooo && SEQ_LEQ(c->ooo_lo, c->rcv_nxt)) {
        /* The hole is filled: what was kept behind it is in place already. */
        if (SEQ_LT(c->rcv_nxt, c->ooo_hi)) {
            c->len += c->ooo_hi - c->rcv_nxt;
            c->rcv_nxt = c->ooo_hi;
            fin = c->ooo_fin;
        } else if (c->rcv_nxt == c->ooo_hi) {
            fin = fin || c->ooo_fin;
        }
        c->ooo = false;
    }
    if (fin) {
        c->peer_fin = true;
        c->rcv_nxt++;
    }
    c->ack_due = true;
}

static struct tcb *tcp_lookup(uint32_t src, uint16_t sport)
{
    for (unsigned i = 0; i < TCP_CONNS; i++)
        if (ns.tcb[i].state != TCP_FREE && ns.tcb[i].rip == src && ns.tcb[i].rport == sport)
            return &ns.tcb[i];
    return NULL;
}

/* The MSS option of a SYN (RFC 793 §3.1), or the default 536. */
static uint16_t tcp_syn_mss(const uint8_t *opt, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (opt[i] == 0)
            break;
        if (opt[i] == 1) {
            i++;
            continue;
        }
        if (i + 1 >= n || opt[i + 1] < 2 || opt[i + 1] > n - i)
            break;
        if (opt[i] == 2 && opt[i + 1] == 4) {
            uint16_t mss = rd16(opt + i + 2);
            return mss ? mss : TCP_MSS_DEFAULT;
        }
        i += opt[i + 1];
    }
    return TCP_MSS_DEFAULT;
}

static void tcp_accept(const uint8_t *smac, uint32_t src, uint16_t sport, uint32_t seq,
                       uint16_t wnd, uint16_t peer_mss)
{
    struct tcb *c = NULL;
    for (unsigned i = 0; i < TCP_CONNS && !c; i++)
        if (ns.tcb[i].state == TCP_FREE)
            c = &ns.tcb[i];
    if (!c) {
        ns.st.drops++;
        tcp_xmit(NULL, smac, src, sport, 0, seq + 1, TH_RST | TH_ACK, 0, 0);
        return;
    }
    memset(c, 0, sizeof(*c));
    c->state = TCP_SYN_RCVD;
    memcpy(c->mac, smac, 6);
    c->rip = src;
    c->rport = sport;
    uint16_t mss = (uint16_t)(ns.cfg.mtu - 40);
    c->mss = peer_mss < mss ? peer_mss : mss;
    if (c->mss < 64)
        c->mss = 64;
    ns.iss_seed = ns.iss_seed * 1103515245u + 12345u;
    c->iss = ns.iss_seed ^ (uint32_t)(ns.now * 250) ^ (src << 7) ^ sport;
    c->snd_una = c->iss;
    c->snd_nxt = c->snd_max = c->iss + 1;
    c->snd_wnd = wnd;
    c->rcv_nxt = seq + 1;
    c->cwnd = 10u * c->mss;
    c->ssthresh = 4 * RING_SIZE;
    c->rto = RTO_MIN_MS;
    c->rto_at = ns.now + c->rto;
    tcb_send_synack(c);
}

static void tcp_input(const uint8_t *smac, uint32_t src, const uint8_t *t, size_t len,
                      bool csum_valid)
{
    size_t hlen = len >= TCP_HLEN ? (size_t)(t[12] >> 4) * 4 : 0;
    if (hlen < TCP_HLEN || hlen > len ||
        (!csum_valid && csum_fold(csum_add(pseudo_sum(src, ns.cfg.ip, IPPROTO_TCP, (uint16_t)len),
                                           t, len)) != 0xffff)) {
        ns.st.bad++;
        return;
    }
    ns.st.tcp++;
    uint16_t sport = rd16(t), dport = rd16(t + 2), wnd = rd16(t + 14);
    uint32_t seq = rd32(t + 4), ack = rd32(t + 8);
    uint8_t flags = t[13];
    const uint8_t *data = t + hlen;
    size_t dlen = len - hlen;
    struct tcb *c = dport == ns.cfg.port ? tcp_lookup(src, sport) : NULL;
    if (!c) {
        if (flags & TH_RST)
            return;
        if (dport == ns.cfg.port && (flags & (TH_SYN | TH_ACK | TH_FIN)) == TH_SYN) {
            tcp_accept(smac, src, sport, seq, wnd, tcp_syn_mss(t + TCP_HLEN, hlen - TCP_HLEN));
            return;
        }
        /* No such connection: a reset (RFC 793 §3.4, "reset generation" case 1). */
        if (flags & TH_ACK)
            tcp_xmit(NULL, smac, src, sport, ack, 0, TH_RST, 0, 0);
        else
            tcp_xmit(NULL, smac, src, sport, 0,
                     seq + (uint32_t)dlen + !!(flags & TH_SYN) + !!(flags & TH_FIN),
                     TH_RST | TH_ACK, 0, 0);
        return;
    }
    if (flags & TH_RST) {
        /* Only a reset inside the window is believed (RFC 793 §3.4). */
        uint32_t w = c->rcv_adv - c->rcv_nxt;
        if (c->rcv_nxt == seq || (SEQ_LT(c->rcv_nxt, seq) && SEQ_LT(seq, c->rcv_nxt + w)))
            tcb_free(c);
        return;
    }
    if (c->state == TCP_SYN_RCVD) {
        if (flags & TH_SYN) {
            if (seq + 1 == c->rcv_nxt)
                tcb_send_synack(c); /* our SYN-ACK was lost */
            return;
        }
        if (!(flags & TH_ACK))
            return;
        if (ack != c->iss + 1) {
            tcp_xmit(NULL, smac, src, sport, ack, 0, TH_RST, 0, 0);
            return;
        }
        c->state = TCP_ESTAB;
        c->snd_una = ack;
        c->snd_wnd = wnd;
        c->snd_wl1 = seq;
        c->snd_wl2 = ack;
        c->retries = 0;
        c->rto_at = 0;
    } else if (flags & TH_SYN) {
        c->ack_due = true; /* a SYN inside a connection: answer with where we are */
        tcp_output(c);
        return;
    }
    if (!(flags & TH_ACK))
        return;
    c->retries = 0; /* the peer is alive */
    if (!tcp_ack(c, seq, ack, wnd, dlen, flags))
        return;
    if (dlen || (flags & TH_FIN))
        tcp_data(c, seq, data, dlen, flags & TH_FIN);
    tcp_output(c);
}

/* --- IPv4 (RFC 791) and the entry points --- */

static void ip_input(const uint8_t *smac, const uint8_t *ip, size_t len, bool csum_valid)
{
    size_t ihl = len >= IP_HLEN ? (size_t)(ip[0] & 15) * 4 : 0;
    size_t total = len >= IP_HLEN ? rd16(ip + 2) : 0;
    if (ihl < IP_HLEN || (ip[0] >> 4) != 4 || total < ihl || total > len ||
        csum_fold(csum_add(0, ip, ihl)) != 0xffff) {
        ns.st.bad++;
        return;
    }
    uint32_t src = rd32(ip + 12), dst = rd32(ip + 16);
    if ((rd16(ip + 6) & 0x3fff) || dst != ns.cfg.ip) {
        ns.st.drops++; /* a fragment, or not for us */
        return;
    }
    /* Options (ihl > 5) are skipped: nothing here needs one. */
    const uint8_t *l4 = ip + ihl;
    size_t l4len = total - ihl;
    switch (ip[9]) {
    case IPPROTO_ICMP:
        icmp_input(smac, src, l4, l4len);
        break;
    case IPPROTO_UDP:
        udp_input(smac, src, l4, l4len, csum_valid);
        break;
    case IPPROTO_TCP:
        tcp_input(smac, src, l4, l4len, csum_valid);
        break;
    default:
        ns.st.drops++;
    }
}

void netstack_init(const struct netstack_cfg *cfg)
{
    memset(&ns, 0, sizeof(ns));
    ns.cfg = *cfg;
    if (ns.cfg.mtu == 0)
        ns.cfg.mtu = 1500;
    if (ns.cfg.mtu < MTU_MIN)
        ns.cfg.mtu = MTU_MIN;
    if (ns.cfg.mtu > MTU_MAX)
        ns.cfg.mtu = MTU_MAX;
    ns.iss_seed = (uint32_t)cfg->mac[5] << 24 | (uint32_t)cfg->mac[4] << 16 | cfg->ip;
}

void netstack_input(const uint8_t *frame, size_t len, bool csum_valid, uint64_t now_ms)
{
    ns.now = now_ms;
    ns.st.rx++;
    if (len < ETH_HLEN || (frame[6] & 1)) {
        ns.st.bad++; /* too short, or from a multicast source address */
        return;
    }
    if (memcmp(frame, ns.cfg.mac, 6) != 0 && memcmp(frame, bcast_mac, 6) != 0) {
        ns.st.drops++;
        return;
    }
    uint16_t type = rd16(frame + 12);
    if (type == ETH_P_ARP)
        arp_input(frame + ETH_HLEN, len - ETH_HLEN);
    else if (type == ETH_P_IP)
        ip_input(frame + 6, frame + ETH_HLEN, len - ETH_HLEN, csum_valid);
    else
        ns.st.drops++;
}

void netstack_poll(uint64_t now_ms)
{
    ns.now = now_ms;
    for (unsigned i = 0; i < TCP_CONNS; i++) {
        struct tcb *c = &ns.tcb[i];
        if (c->state == TCP_FREE)
            continue;
        if (c->rto_at && now_ms >= c->rto_at)
            tcp_timeout(c);
        else if (c->out_due || c->ack_due)
            tcp_output(c);
    }
    ping_step();
}

void netstack_ping(uint32_t dst, unsigned count, uint64_t now_ms)
{
    ns.now = now_ms;
    memset(&ns.ping, 0, sizeof(ns.ping));
    ns.ping.dst = dst;
    ns.ping.hop = (dst & ns.cfg.mask) == (ns.cfg.ip & ns.cfg.mask) ? dst : ns.cfg.gw;
    ns.ping.count = count < PING_MAX ? count : PING_MAX;
    ns.ping.active = ns.ping.count > 0;
    ns.ping.done = !ns.ping.active;
    ping_step();
}

void netstack_ping_status(unsigned *sent, unsigned *received, bool *done)
{
    *sent = ns.ping.sent;
    *received = ns.ping.received;
    *done = ns.ping.done;
}

bool netstack_exit_requested(int *code)
{
    if (ns.exit_req)
        *code = ns.exit_code;
    return ns.exit_req;
}

void netstack_get_stats(struct netstack_stats *out)
{
    *out = ns.st;
}
