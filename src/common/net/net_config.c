/* net_config.c: the --net and --mac values (docs/chyve.1: NETWORKING). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "net/netif.h"

#define TAP_DEFAULT "tap10" /* uhyve's default when only "tap" is given */

/* Parses a MAC address "aa:bb:cc:dd:ee:ff" (hex digits, either case). */
static int parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        char *end;
        if (!((s[0] >= '0' && s[0] <= '9') || ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'f'))) {
            return -1;
        }
        unsigned long v = strtoul(s, &end, 16);
        if (v > 0xFF || end - s > 2 || end == s || (i < 5 ? *end != ':' : *end != '\0')) {
            return -1;
        }
        mac[i] = (uint8_t)v;
        s = end + 1;
    }
    if (mac[0] & 1) {
        return -1; /* a multicast address cannot name one guest */
    }
    return 0;
}

/* Parses a dotted IPv4 address of exactly len bytes at s (len 0 = any: 0). */
static int parse_ip(const char *s, size_t len, uint32_t *out)
{
    char buf[16];
    if (len == 0) {
        *out = 0;
        return 0;
    }
    if (len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (strspn(buf, "0123456789.") != len || buf[0] == '.') {
        return -1; /* no blanks or signs, which sscanf's %u would let through */
    }
    unsigned a, b, c, d;
    char extra;
    if (sscanf(buf, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &extra) != 4 || a > 255 || b > 255 ||
        c > 255 || d > 255) {
        return -1;
    }
    *out = (a << 24) | (b << 16) | (c << 8) | d;
    return 0;
}

static int parse_port(const char *s, size_t len, uint16_t *out)
{
    if (len == 0 || len > 5) {
        return -1;
    }
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535) {
        return -1;
    }
    *out = (uint16_t)v;
    return 0;
}

/* "tcp:HOSTADDR:HOSTPORT-GUESTADDR:GUESTPORT", the addresses optional (QEMU's spelling). */
static int parse_hostfwd(const char *s, size_t len, struct net_hostfwd *f)
{
    const char *end = s + len;
    memset(f, 0, sizeof(*f));
    if (len > 4 && memcmp(s, "tcp:", 4) == 0) {
        s += 4;
    } else if (len > 4 && memcmp(s, "udp:", 4) == 0) {
        f->udp = true;
        s += 4;
    } else if (len > 1 && s[0] == ':') {
        s += 1; /* protocol omitted: tcp */
    } else {
        return -1;
    }
    const char *dash = memchr(s, '-', (size_t)(end - s));
    if (dash == NULL) {
        return -1;
    }
    const char *c1 = memchr(s, ':', (size_t)(dash - s));
    const char *c2 = memchr(dash + 1, ':', (size_t)(end - dash - 1));
    if (c1 == NULL || c2 == NULL || parse_ip(s, (size_t)(c1 - s), &f->host_addr) != 0 ||
        parse_port(c1 + 1, (size_t)(dash - c1 - 1), &f->host_port) != 0 ||
        parse_ip(dash + 1, (size_t)(c2 - dash - 1), &f->guest_addr) != 0 ||
        parse_port(c2 + 1, (size_t)(end - c2 - 1), &f->guest_port) != 0) {
        return -1;
    }
    return 0;
}

int net_spec_parse(const char *value, const char *mac, struct net_spec *s)
{
    memset(s, 0, sizeof(*s));
    if (mac != NULL) {
        if (parse_mac(mac, s->mac) != 0) {
            return err_set("--mac: '%s' is not a unicast MAC address like 02:00:00:00:00:01", mac);
        }
        s->has_mac = true;
    }
    if (strcmp(value, "tap") == 0 || strncmp(value, "tap:", 4) == 0) {
        const char *name = value[3] == ':' ? value + 4 : TAP_DEFAULT;
        size_t n = strlen(name);
        /* Linux's dev_valid_name(): what TUNSETIFF would refuse later, refused here. */
        if (n == 0 || n >= sizeof(s->tap) || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
            strpbrk(name, "/: \t\n\v\f\r") != NULL) {
            return err_set("--net %s: '%s' is not a network interface name", value, name);
        }
        memcpy(s->tap, name, n + 1);
        s->kind = NET_TAP;
        return 0;
    }
    if (strcmp(value, "user") == 0 || strncmp(value, "user,", 5) == 0) {
        s->kind = NET_USER;
        const char *p = value + 4;
        while (*p == ',') {
            p++;
            const char *next = strchr(p, ',');
            size_t len = next ? (size_t)(next - p) : strlen(p);
            if (len > 8 && memcmp(p, "hostfwd=", 8) == 0) {
                if (s->nhostfwd == NETIF_HOSTFWD_MAX) {
                    return err_set("--net: more than %d hostfwd rules", NETIF_HOSTFWD_MAX);
                }
                if (parse_hostfwd(p + 8, len - 8, &s->hostfwd[s->nhostfwd]) != 0) {
                    return err_set("--net: bad rule '%.*s'; expected "
                                   "hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT",
                                   (int)len, p);
                }
                s->nhostfwd++;
            } else if (len == 11 && memcmp(p, "restrict=on", 11) == 0) {
                s->restrict_host = true;
            } else if (len == 12 && memcmp(p, "restrict=off", 12) == 0) {
                s->restrict_host = false;
            } else {
                return err_set("--net: unknown user-mode option '%.*s' (known: hostfwd=, "
                               "restrict=on|off)",
                               (int)len, p);
            }
            p += len;
        }
        return 0;
    }
    return err_set("--net: unknown network '%s'; use tap, tap:NAME or user[,hostfwd=...]", value);
}
