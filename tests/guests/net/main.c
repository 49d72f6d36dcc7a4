/*
 * main.c: the virtio-net test guest ("net_echo"). Drives chyve's virtio-net device the way the
 * Hermit kernel does and serves netstack (ARP, ICMP echo, UDP/TCP echo on port 9975) until a UDP
 * "exit N" arrives, waiting for work with sti; hlt (interrupts only, no busy polling).
 *   env HERMIT_IP / HERMIT_GATEWAY / HERMIT_MASK: the address (default 10.0.5.3/24 via 10.0.5.1)
 *   app args: "ping A.B.C.D N" pings A.B.C.D N times after start; "hostile" first attacks the
 *   device through every register and ring (hostile.c), then pings the gateway 3 times and exits
 *   0 if it still answers ("hostile serve": then serves as usual instead of exiting); "edge"
 *   programs the x86_64 IOAPIC entry edge-triggered (as Hermit does) instead of level.
 * Prints "net: ready mac .. ip .. mtu M", "net: ping .. sent S received R",
 * "net: exit CODE irqs I rx R tx T"; "net: timeout" (exit 124) after 600 s without an exit request.
 */
#include "arch.h"
#include "hostile.h"
#include "netstack.h"
#include "rt.h"
#include "virtio_net.h"

#define ECHO_PORT 9975
#define TIMER_MS 20
#define TIMEOUT_MS 600000
#define QUEUE_RX 256
#define QUEUE_TX 128 /* smaller than the device's 256: exercises writing queue_size */

static uint64_t now_ms_cached;
static uint64_t tick_khz;

static uint64_t now_ms(void)
{
    return rt_rdtsc() / tick_khz;
}

static bool parse_ip(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int part = 0; part < 4; part++) {
        unsigned n = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) {
            n = n * 10 + (unsigned)(*s++ - '0');
            digits++;
        }
        if (digits == 0 || n > 255 || (part < 3 && *s++ != '.'))
            return false;
        v = v << 8 | n;
    }
    if (*s)
        return false;
    *out = v;
    return true;
}

static void print_ip(const char *label, uint32_t ip)
{
    rt_printf("%s%u.%u.%u.%u", label, ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static const char *env_get(const struct rt_args *a, const char *key)
{
    size_t n = strlen(key);
    for (int i = 0; i < a->nenv; i++)
        if (strncmp(a->env[i], key, n) == 0 && a->env[i][n] == '=')
            return a->env[i] + n + 1;
    return NULL;
}

static void env_ip(const struct rt_args *a, const char *key, uint32_t *ip)
{
    const char *v = env_get(a, key);
    if (v && !parse_ip(v, ip))
        rt_printf("net: ignoring %s=%s (not an IPv4 address)\n", key, v);
}

static int stack_tx(void *ctx, const uint8_t *frame, size_t len, uint16_t csum_start,
                    uint16_t csum_offset)
{
    (void)ctx;
    return vnet_tx(frame, len, csum_start, csum_offset);
}

static void deliver(const uint8_t *frame, size_t len, bool csum_ok)
{
    netstack_input(frame, len, csum_ok, now_ms_cached);
}

/* A configuration interrupt: if the device stopped itself, say so and bring it back. */
static void check_device(const struct netstack_cfg *cfg)
{
    uint8_t s = vpci_status(&vnet.pci);
    if (!(s & VIRTIO_STATUS_NEEDS_RESET))
        return;
    rt_printf("net: device needs a reset (status 0x%x); reinitialising\n", s);
    vnet.st.resets++;
    if (vnet_init(QUEUE_RX, QUEUE_TX) != 0)
        rt_exit(3);
    netstack_init(cfg);
}

/*
 * Serves until an exit request, the ping finished (when stop_after_ping), or the timeout.
 * Returns the exit code.
 */
static int serve(const struct netstack_cfg *cfg, uint32_t ping_dst, bool stop_after_ping)
{
    uint64_t start = now_ms();
    bool ping_reported = ping_dst == 0;
    for (;;) {
        now_ms_cached = now_ms();
        uint8_t isr = __atomic_exchange_n(&vnet.isr_bits, 0, __ATOMIC_SEQ_CST);
        if (isr & 2)
            check_device(cfg);
        vnet_rx(deliver);
        netstack_poll(now_ms_cached);
        vnet_tx_flush();

        int code;
        if (netstack_exit_requested(&code))
            return code;
        if (!ping_reported) {
            unsigned sent, received;
            bool done;
            netstack_ping_status(&sent, &received, &done);
            if (done) {
                print_ip("net: ping ", ping_dst);
                rt_printf(" sent %u received %u\n", sent, received);
                ping_reported = true;
                if (stop_after_ping)
                    return received ? 0 : 1;
            }
        }
        if (now_ms_cached - start > TIMEOUT_MS) {
            rt_puts("net: timeout\n");
            return 124;
        }
        if (!vnet_rx_ready() && vnet.isr_bits == 0)
            arch_wait();
    }
}

int guest_main(void)
{
    static struct rt_args args;
    rt_parse_bootargs(&args);
    tick_khz = rt_tick_khz();

    struct netstack_cfg cfg = {
        .ip = 0x0A000503,   /* 10.0.5.3 */
        .mask = 0xFFFFFF00, /* /24 */
        .gw = 0x0A000501,   /* 10.0.5.1 */
        .port = ECHO_PORT,
        .tx = stack_tx,
    };
    env_ip(&args, "HERMIT_IP", &cfg.ip);
    env_ip(&args, "HERMIT_GATEWAY", &cfg.gw);
    env_ip(&args, "HERMIT_MASK", &cfg.mask);

    uint32_t ping_dst = 0;
    long ping_count = 0;
    bool hostile = false, serve_after = false, edge = false;
    for (int i = 0; i < args.napp; i++) {
        if (strcmp(args.app[i], "ping") == 0 && i + 2 < args.napp &&
            parse_ip(args.app[i + 1], &ping_dst) && rt_parse_int(args.app[i + 2], &ping_count) &&
            ping_count > 0) {
            i += 2;
        } else if (strcmp(args.app[i], "hostile") == 0) {
            hostile = true;
        } else if (strcmp(args.app[i], "serve") == 0) {
            serve_after = true;
        } else if (strcmp(args.app[i], "edge") == 0) {
            edge = true; /* an edge-triggered IOAPIC entry, as Hermit programs it */
        } else {
            rt_printf("net: FAIL: unknown argument '%s'\n", args.app[i]);
            return 2;
        }
    }

    if (vnet_probe() != 0)
        return 3;
    if (arch_irq_init(vnet.pci.irq_line, vnet_isr, TIMER_MS, edge) != 0)
        return 3;
    if (vnet_init(QUEUE_RX, QUEUE_TX) != 0)
        return 3;
    unsigned hostile_bad = 0;
    if (hostile) {
        unsigned n;
        hostile_bad = hostile_run(QUEUE_RX, QUEUE_TX, cfg.ip, cfg.gw, &n);
        if (vnet_init(QUEUE_RX, QUEUE_TX) != 0) {
            rt_printf("net: FAIL: the device does not initialise after %u attacks\n", n);
            return 3;
        }
        vnet.isr_bits = 0;
        if (!ping_dst) {
            ping_dst = cfg.gw;
            ping_count = 3;
        }
    }

    memcpy(cfg.mac, vnet.mac, 6);
    cfg.mtu = vnet.mtu;
    cfg.tx_csum_offload = (vnet.features & (1ull << VIRTIO_NET_F_CSUM)) != 0;
    netstack_init(&cfg);
    rt_printf("net: ready mac %02x:%02x:%02x:%02x:%02x:%02x", vnet.mac[0], vnet.mac[1], vnet.mac[2],
              vnet.mac[3], vnet.mac[4], vnet.mac[5]);
    print_ip(" ip ", cfg.ip);
    rt_printf(" mtu %u\n", vnet.mtu);

    if (ping_dst)
        netstack_ping(ping_dst, (unsigned)ping_count, now_ms());
    int code = serve(&cfg, ping_dst, hostile && !serve_after);
    if (hostile && !serve_after && code != 124) {
        if (code == 0 && hostile_bad == 0) {
            rt_puts("net: hostile survived\n");
        } else {
            rt_printf("net: FAIL: hostile: %u wrong answers, %s\n", hostile_bad,
                      code == 0 ? "pings answered" : "no ping answered after the attacks");
            code = 1;
        }
    }
    struct netstack_stats ns;
    netstack_get_stats(&ns);
    rt_printf("net: stats timer %lu isr-queue %lu isr-config %lu isr-empty %lu resets %lu tx-full "
              "%lu stack "
              "rx %lu tx %lu arp %lu icmp %lu udp %lu tcp %lu bad %lu drops %lu\n",
              (unsigned long)arch_timer_count(), (unsigned long)vnet.st.isr_queue,
              (unsigned long)vnet.st.isr_config, (unsigned long)vnet.st.isr_empty,
              (unsigned long)vnet.st.resets, (unsigned long)vnet.st.tx_full, (unsigned long)ns.rx,
              (unsigned long)ns.tx, (unsigned long)ns.arp, (unsigned long)ns.icmp,
              (unsigned long)ns.udp, (unsigned long)ns.tcp, (unsigned long)ns.bad,
              (unsigned long)ns.drops);
    rt_printf("net: exit %d irqs %lu rx %lu tx %lu\n", code, (unsigned long)arch_irq_count(),
              (unsigned long)vnet.st.rx, (unsigned long)vnet.st.tx);
    return code;
}
