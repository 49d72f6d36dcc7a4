/* test_net_config.c: parsing --net (tap, tap:NAME, user with hostfwd rules) and --mac. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "net/netif.h"

/* Sanitizer builds: undefined behaviour fails the test instead of printing and passing. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

static struct net_spec s;

static int parse(const char *net, const char *mac)
{
    memset(&s, 0xA5, sizeof(s)); /* the parser must set every field it reports */
    return net_spec_parse(net, mac, &s);
}

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

Test(net_config, tap_default_name)
{
    cr_assert_eq(parse("tap", NULL), 0, "%s", err_msg());
    cr_assert_eq(s.kind, NET_TAP);
    cr_assert_str_eq(s.tap, "tap10");
    cr_assert(!s.has_mac);
    cr_assert_eq(s.nhostfwd, 0);
}

Test(net_config, tap_named)
{
    cr_assert_eq(parse("tap:chyve0", NULL), 0, "%s", err_msg());
    cr_assert_eq(s.kind, NET_TAP);
    cr_assert_str_eq(s.tap, "chyve0");
    cr_assert_eq(parse("tap:abcdefghijklmno", NULL), 0, "15 bytes fit IFNAMSIZ");
    cr_assert_str_eq(s.tap, "abcdefghijklmno");
}

Test(net_config, tap_bad_names)
{
    const char *bad[] = {"tap:",    "tap:abcdefghijklmnop",
                         "tap:a/b", "tap:../x",
                         "tap:a b", "tap:a:b",
                         "tap:.",   "tap:..",
                         "tap:\tx"};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(parse(bad[i], NULL), -1, "'%s' accepted", bad[i]);
        cr_assert(strstr(err_msg(), "is not a network interface name") != NULL, "%s: %s", bad[i],
                  err_msg());
    }
}

Test(net_config, unknown_networks)
{
    const char *bad[] = {"", "tap10", "taps", "TAP", "user1", "bridge", "tap ", "users"};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(parse(bad[i], NULL), -1, "'%s' accepted", bad[i]);
        cr_assert(strstr(err_msg(), "unknown network") != NULL, "%s: %s", bad[i], err_msg());
    }
}

Test(net_config, user_plain)
{
    cr_assert_eq(parse("user", NULL), 0, "%s", err_msg());
    cr_assert_eq(s.kind, NET_USER);
    cr_assert_eq(s.nhostfwd, 0);
    cr_assert(!s.has_mac);
}

Test(net_config, hostfwd_tcp_without_addresses)
{
    cr_assert_eq(parse("user,hostfwd=tcp::8080-:80", NULL), 0, "%s", err_msg());
    cr_assert_eq(s.kind, NET_USER);
    cr_assert_eq(s.nhostfwd, 1);
    const struct net_hostfwd *f = &s.hostfwd[0];
    cr_assert(!f->udp);
    cr_assert_eq(f->host_addr, 0);
    cr_assert_eq(f->host_port, 8080);
    cr_assert_eq(f->guest_addr, 0);
    cr_assert_eq(f->guest_port, 80);
}

Test(net_config, hostfwd_udp_with_addresses_and_several_rules)
{
    cr_assert_eq(parse("user,hostfwd=udp:127.0.0.1:5353-10.0.2.15:53,hostfwd=::2222-:22,"
                       "hostfwd=tcp:0.0.0.0:1-255.255.255.255:65535",
                       NULL),
                 0, "%s", err_msg());
    cr_assert_eq(s.nhostfwd, 3);
    cr_assert(s.hostfwd[0].udp);
    cr_assert_eq(s.hostfwd[0].host_addr, IP(127, 0, 0, 1));
    cr_assert_eq(s.hostfwd[0].host_port, 5353);
    cr_assert_eq(s.hostfwd[0].guest_addr, IP(10, 0, 2, 15));
    cr_assert_eq(s.hostfwd[0].guest_port, 53);
    cr_assert(!s.hostfwd[1].udp, "protocol omitted: tcp");
    cr_assert_eq(s.hostfwd[1].host_port, 2222);
    cr_assert_eq(s.hostfwd[1].guest_port, 22);
    cr_assert_eq(s.hostfwd[1].host_addr, 0);
    cr_assert_eq(s.hostfwd[2].host_port, 1);
    cr_assert_eq(s.hostfwd[2].guest_addr, IP(255, 255, 255, 255));
    cr_assert_eq(s.hostfwd[2].guest_port, 65535);
}

Test(net_config, hostfwd_bad_rules)
{
    const char *bad[] = {
        "user,hostfwd=tcp::0-:80",
        "user,hostfwd=tcp::80-:0",
        "user,hostfwd=tcp::65536-:80",
        "user,hostfwd=tcp::80-:65536",
        "user,hostfwd=tcp::99999-:80",
        "user,hostfwd=tcp::abc-:80",
        "user,hostfwd=tcp::80-:8a",
        "user,hostfwd=tcp::-:80",
        "user,hostfwd=tcp::80-:",
        "user,hostfwd=tcp::8080:80",
        "user,hostfwd=tcp::8080",
        "user,hostfwd=tcp:8080-:80",
        "user,hostfwd=tcp::8080-80",
        "user,hostfwd=sctp::1-:2",
        "user,hostfwd=tcp:",
        "user,hostfwd=:",
        "user,hostfwd=tcp:256.0.0.1:80-:80",
        "user,hostfwd=tcp:1.2.3:80-:80",
        "user,hostfwd=tcp:1.2.3.4.5:80-:80",
        "user,hostfwd=tcp::80-1.2.3.x:80",
        "user,hostfwd=tcp:1.2.3.4 :80-:80",
        "user,hostfwd=tcp::080000-:80",
        "user,hostfwd=tcp::80-:80-:81",
        "user,hostfwd=tcp: 1.2.3.4:80-:80",
        "user,hostfwd=tcp:+1.2.3.4:80-:80",
        "user,hostfwd=tcp::80- 1.2.3.4:80",
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(parse(bad[i], NULL), -1, "'%s' accepted", bad[i]);
        cr_assert(strstr(err_msg(), "bad rule") != NULL, "%s: %s", bad[i], err_msg());
    }
}

Test(net_config, user_bad_options)
{
    cr_assert_eq(parse("user,foo=bar", NULL), -1);
    cr_assert_str_eq(err_msg(), "--net: unknown user-mode option 'foo=bar' (known: hostfwd=, "
                                "restrict=on|off)");
    cr_assert_eq(parse("user,", NULL), -1, "an empty option");
    cr_assert_eq(parse("user,hostfwd=", NULL), -1);
    cr_assert_eq(parse("user,hostfwd=tcp::1-:2,", NULL), -1, "a trailing comma");
}

Test(net_config, hostfwd_limit)
{
    char v[2048] = "user";
    for (unsigned i = 0; i < NETIF_HOSTFWD_MAX; i++) {
        snprintf(v + strlen(v), sizeof(v) - strlen(v), ",hostfwd=tcp::%u-:80", 1000 + i);
    }
    cr_assert_eq(parse(v, NULL), 0, "%s", err_msg());
    cr_assert_eq(s.nhostfwd, NETIF_HOSTFWD_MAX);
    cr_assert_eq(s.hostfwd[NETIF_HOSTFWD_MAX - 1].host_port, 1000 + NETIF_HOSTFWD_MAX - 1);
    strcat(v, ",hostfwd=tcp::2000-:80");
    cr_assert_eq(parse(v, NULL), -1);
    cr_assert_str_eq(err_msg(), "--net: more than 16 hostfwd rules");
}

Test(net_config, mac_good)
{
    cr_assert_eq(parse("tap", "02:00:00:00:00:01"), 0, "%s", err_msg());
    cr_assert(s.has_mac);
    const uint8_t want[6] = {2, 0, 0, 0, 0, 1};
    cr_assert_arr_eq(s.mac, want, 6);
    cr_assert_eq(parse("user", "0A:bB:Cc:dd:EE:fe"), 0, "%s", err_msg());
    const uint8_t want2[6] = {0x0A, 0xBB, 0xCC, 0xDD, 0xEE, 0xFE};
    cr_assert_arr_eq(s.mac, want2, 6);
    cr_assert_eq(s.kind, NET_USER);
}

Test(net_config, mac_bad)
{
    const char *bad[] = {
        "01:00:5e:00:00:01",    /* multicast */
        "ff:ff:ff:ff:ff:ff",    /* broadcast */
        "03:00:00:00:00:01",    /* multicast, locally administered */
        "02:00:00:00:00",       /* short */
        "02:00:00:00:00:",      /* short, trailing colon */
        "02:00:00:00:00:01:02", /* long */
        "02:00:00:00:00:01:",   /* trailing colon */
        "02:00:00:00:00:zz",    /* not hex */
        "g2:00:00:00:00:01",    /* not hex */
        "02-00-00-00-00-01",    /* wrong separator */
        "002:00:00:00:00:01",   /* three digits */
        "02:00:00:00:00:0x1",   /* C prefix */
        "02:00:00:00:00:01 ",   /* trailing space */
        " 02:00:00:00:00:01",   /* leading space */
        "02:+0:00:00:00:01",    /* a sign */
        "02::00:00:00:01",      /* empty byte */
        "",
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(parse("tap", bad[i]), -1, "'%s' accepted", bad[i]);
        cr_assert(strstr(err_msg(), "--mac: '") == err_msg(), "%s: %s", bad[i], err_msg());
    }
}
