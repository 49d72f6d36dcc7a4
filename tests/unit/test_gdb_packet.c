/* test_gdb_packet.c: GDB remote framing (receive and frame) and the hex and thread-id parsers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdb/gdb_packet.h"

static struct gdb_rx rx;

static void setup(void)
{
    memset(&rx, 0xa5, sizeof(rx));
    gdb_rx_init(&rx);
}

TestSuite(gdb_packet, .init = setup);

/* Feeds n bytes; returns the last event other than GDB_RX_NONE (GDB_RX_NONE if there was none). */
static enum gdb_rx_event feed_n(const void *data, size_t n)
{
    const uint8_t *p = data;
    enum gdb_rx_event last = GDB_RX_NONE;
    for (size_t i = 0; i < n; i++) {
        enum gdb_rx_event ev = gdb_rx_byte(&rx, p[i]);
        if (ev != GDB_RX_NONE)
            last = ev;
    }
    return last;
}

static enum gdb_rx_event feed(const char *s)
{
    return feed_n(s, strlen(s));
}

/* Feeds s, which must hold exactly one event, on its last byte, and that event is a packet. */
static void expect_packet(const char *s, const void *payload, size_t len)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + 1 < n; i++)
        cr_assert_eq(gdb_rx_byte(&rx, (uint8_t)s[i]), GDB_RX_NONE, "byte %zu of %s", i, s);
    cr_assert_eq(gdb_rx_byte(&rx, (uint8_t)s[n - 1]), GDB_RX_PACKET, "for %s", s);
    cr_assert_eq(rx.len, len, "for %s: len %zu, want %zu", s, rx.len, len);
    cr_assert_eq(memcmp(rx.buf, payload, len), 0, "for %s", s);
    cr_assert_eq(rx.buf[len], 0);
}

/* "$" payload "#" checksum, the checksum computed over the raw payload text. */
static void make_raw(char *out, size_t cap, const char *raw)
{
    uint8_t sum = 0;
    for (const char *p = raw; *p; p++)
        sum += (uint8_t)*p;
    snprintf(out, cap, "$%s#%02x", raw, sum);
}

static void expect_raw(const char *raw, const char *decoded)
{
    char pkt[256];
    make_raw(pkt, sizeof(pkt), raw);
    expect_packet(pkt, decoded, strlen(decoded));
}

Test(gdb_packet, good_packets)
{
    expect_packet("$OK#9a", "OK", 2);
    expect_packet("$#00", "", 0);
    expect_packet("$g#67", "g", 1);
    expect_packet("$qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386#f0",
                  "qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386", 60);
    expect_packet("$vCont;c:p1.-1#0f", "vCont;c:p1.-1", 13);
}

Test(gdb_packet, zeroed_struct_works)
{
    memset(&rx, 0, sizeof(rx));
    expect_packet("$OK#9a", "OK", 2);
}

Test(gdb_packet, checksums)
{
    cr_assert_eq(feed("$OK#9b"), GDB_RX_BAD_CHECKSUM);
    cr_assert_eq(rx.len, 0);
    cr_assert_eq(feed("$OK#00"), GDB_RX_BAD_CHECKSUM);
    /* upper- and lower-case hex digits */
    expect_packet("$m0,1#fa", "m0,1", 4);
    expect_packet("$m0,1#FA", "m0,1", 4);
    expect_packet("$m0,1#Fa", "m0,1", 4);
    /* a non-hex checksum digit ends the packet at once, in either position */
    cr_assert_eq(gdb_rx_byte(&rx, '$'), GDB_RX_NONE);
    cr_assert_eq(feed("OK#"), GDB_RX_NONE);
    cr_assert_eq(gdb_rx_byte(&rx, 'g'), GDB_RX_BAD_CHECKSUM);
    cr_assert_eq(gdb_rx_byte(&rx, 'a'), GDB_RX_NONE); /* noise again */
    cr_assert_eq(feed("$OK#9"), GDB_RX_NONE);
    cr_assert_eq(gdb_rx_byte(&rx, 'x'), GDB_RX_BAD_CHECKSUM);
    cr_assert_eq(feed("$OK#9 "), GDB_RX_BAD_CHECKSUM);
    /* and the receiver is in step afterwards */
    expect_packet("$OK#9a", "OK", 2);
}

Test(gdb_packet, escapes)
{
    /* '}' then the byte xor 0x20, for each of the four bytes that must be escaped */
    expect_raw("a}\x03", "a#");
    expect_raw("}\x04", "$");
    expect_raw("}]", "}");
    expect_raw("}\x0a", "*");
    expect_raw("X0,4:}\x03}\x04}]}\x0a", "X0,4:#$}*");
    /* any byte may be escaped */
    expect_raw("}a", "A");
    /* the checksum covers the escape characters as sent */
    cr_assert_eq(feed("$}]#da"), GDB_RX_PACKET);
    cr_assert_eq(rx.buf[0], '}');
    cr_assert_eq(rx.len, 1);
}

Test(gdb_packet, escape_cut_short)
{
    /* "}#" cannot be completed: the packet ends there and is refused */
    cr_assert_eq(feed("$a}#de"), GDB_RX_BAD_ENCODING);
    cr_assert_eq(rx.len, 0);
    expect_packet("$OK#9a", "OK", 2);
}

Test(gdb_packet, rle_decoding)
{
    /* "0* " is "0000": ' ' - 29 = 3 more */
    expect_raw("0* ", "0000");
    char want[128];
    for (int count = ' '; count <= '~'; count++) {
        if (count == '#' || count == '$')
            continue; /* cannot be sent as counts */
        char raw[8] = {'x', '*', (char)count, 'y', 0};
        size_t n = 1 + (size_t)(count - 29);
        memset(want, 'x', n);
        want[n] = 'y';
        want[n + 1] = 0;
        expect_raw(raw, want);
    }
    /* a run of an escaped byte, and runs chained on the same byte */
    expect_raw("}\x03* ", "####");
    expect_raw("a* * ", "aaaaaaa");
}

Test(gdb_packet, rle_bad_counts)
{
    char pkt[64];
    /* a count below ' ' */
    make_raw(pkt, sizeof(pkt), "a*\x1f");
    cr_assert_eq(feed(pkt), GDB_RX_BAD_ENCODING);
    /* above '~' */
    make_raw(pkt, sizeof(pkt), "a*\x7f");
    cr_assert_eq(feed(pkt), GDB_RX_BAD_ENCODING);
    make_raw(pkt, sizeof(pkt), "a*\xff");
    cr_assert_eq(feed(pkt), GDB_RX_BAD_ENCODING);
    /* nothing to repeat */
    make_raw(pkt, sizeof(pkt), "* ");
    cr_assert_eq(feed(pkt), GDB_RX_BAD_ENCODING);
    /* "*#": the count is missing */
    cr_assert_eq(feed("$a*#8b"), GDB_RX_BAD_ENCODING);
    cr_assert_eq(rx.len, 0);
    expect_packet("$OK#9a", "OK", 2);
}

Test(gdb_packet, acks_and_interrupts)
{
    cr_assert_eq(gdb_rx_byte(&rx, '+'), GDB_RX_ACK);
    cr_assert_eq(gdb_rx_byte(&rx, '-'), GDB_RX_NACK);
    cr_assert_eq(gdb_rx_byte(&rx, 0x03), GDB_RX_INTERRUPT);
    expect_packet("$c#63", "c", 1);
    cr_assert_eq(gdb_rx_byte(&rx, 0x03), GDB_RX_INTERRUPT);
    cr_assert_eq(gdb_rx_byte(&rx, '+'), GDB_RX_ACK);
    /* inside a packet they are payload */
    expect_raw("+-\x03", "+-\x03");
}

Test(gdb_packet, dollar_restarts)
{
    cr_assert_eq(feed("$partial packet"), GDB_RX_NONE);
    expect_packet("$OK#9a", "OK", 2);
    /* in every state: after an escape, a '*', and in the checksum */
    cr_assert_eq(feed("$ab}"), GDB_RX_NONE);
    expect_packet("$OK#9a", "OK", 2);
    cr_assert_eq(feed("$ab*"), GDB_RX_NONE);
    expect_packet("$OK#9a", "OK", 2);
    cr_assert_eq(feed("$ab#"), GDB_RX_NONE);
    expect_packet("$OK#9a", "OK", 2);
    cr_assert_eq(feed("$ab#c"), GDB_RX_NONE);
    expect_packet("$OK#9a", "OK", 2);
}

Test(gdb_packet, noise_between_packets)
{
    static const char noise[] = "garbage\r\n#9a\x7f}*ff\x00\xff";
    for (size_t i = 0; i < sizeof(noise) - 1; i++)
        cr_assert_eq(gdb_rx_byte(&rx, (uint8_t)noise[i]), GDB_RX_NONE, "noise byte %zu", i);
    expect_packet("$OK#9a", "OK", 2);
    cr_assert_eq(feed("\r\n"), GDB_RX_NONE);
    expect_packet("$OK#9a", "OK", 2);
}

Test(gdb_packet, nul_bytes)
{
    static const uint8_t pkt[] = {'$', 'X', 0, 1, 0, '#', '5', '9'};
    static const uint8_t want[] = {'X', 0, 1, 0};
    cr_assert_eq(feed_n(pkt, 5), GDB_RX_NONE);
    cr_assert_eq(feed_n(pkt + 5, 2), GDB_RX_NONE);
    cr_assert_eq(gdb_rx_byte(&rx, pkt[7]), GDB_RX_PACKET);
    cr_assert_eq(rx.len, 4);
    cr_assert_eq(memcmp(rx.buf, want, 4), 0);
}

Test(gdb_packet, truncated)
{
    /* a packet cut off anywhere gives no event, and the next one is received whole */
    static const char *cuts[] = {"$", "$O", "$OK", "$OK#", "$OK#9", "$O}", "$O*"};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        cr_assert_eq(feed(cuts[i]), GDB_RX_NONE, "for %s", cuts[i]);
        expect_packet("$OK#9a", "OK", 2);
    }
}

/* A packet of n literal 'a' bytes and its checksum, with 8 bytes to spare; the caller frees it. */
static char *big_packet(size_t n, size_t *plen)
{
    char *p = malloc(n + 12);
    cr_assert_not_null(p);
    p[0] = '$';
    memset(p + 1, 'a', n);
    uint8_t sum = (uint8_t)(n * 'a');
    snprintf(p + 1 + n, 4, "#%02x", sum);
    *plen = n + 4;
    return p;
}

Test(gdb_packet, size_limit)
{
    size_t n;
    char *p = big_packet(GDB_PACKET_MAX, &n);
    cr_assert_eq(feed_n(p, n), GDB_RX_PACKET);
    cr_assert_eq(rx.len, GDB_PACKET_MAX);
    cr_assert_eq(rx.buf[GDB_PACKET_MAX - 1], 'a');
    cr_assert_eq(rx.buf[GDB_PACKET_MAX], 0);
    free(p);

    p = big_packet(GDB_PACKET_MAX + 1, &n);
    cr_assert_eq(feed_n(p, n), GDB_RX_OVERFLOW);
    free(p);
    expect_packet("$OK#9a", "OK", 2);

    /* far over the limit, and by a run length crossing it */
    p = big_packet(3 * GDB_PACKET_MAX, &n);
    cr_assert_eq(feed_n(p, n), GDB_RX_OVERFLOW);
    free(p);
    expect_packet("$OK#9a", "OK", 2);
    p = big_packet(GDB_PACKET_MAX - 1, &n);
    /* replace "#xx" by "*!" (4 more) and the new checksum */
    uint8_t sum = (uint8_t)((GDB_PACKET_MAX - 1) * 'a' + '*' + '!');
    snprintf(p + GDB_PACKET_MAX, 7, "*!#%02x", sum);
    cr_assert_eq(feed_n(p, GDB_PACKET_MAX + 5), GDB_RX_OVERFLOW);
    free(p);
    expect_packet("$OK#9a", "OK", 2);
}

Test(gdb_packet, rle_to_exactly_max)
{
    /* GDB_PACKET_MAX - 4 literal bytes and a run adding 4 (count '!') fit exactly */
    size_t n;
    char *p = big_packet(GDB_PACKET_MAX - 4, &n);
    uint8_t sum = (uint8_t)((GDB_PACKET_MAX - 4) * 'a' + '*' + '!');
    snprintf(p + GDB_PACKET_MAX - 3, 7, "*!#%02x", sum);
    cr_assert_eq(feed_n(p, GDB_PACKET_MAX + 2), GDB_RX_PACKET);
    cr_assert_eq(rx.len, GDB_PACKET_MAX);
    free(p);
}

static size_t frame_str(uint8_t *out, size_t cap, const char *s, bool rle)
{
    size_t n = gdb_frame(out, cap, (const uint8_t *)s, strlen(s), rle);
    if (n < cap)
        out[n] = 0;
    return n;
}

Test(gdb_packet, frame_basic)
{
    uint8_t out[256];
    cr_assert_eq(frame_str(out, sizeof(out), "OK", false), 6);
    cr_assert_str_eq((char *)out, "$OK#9a");
    cr_assert_eq(frame_str(out, sizeof(out), "", true), 4);
    cr_assert_str_eq((char *)out, "$#00");
    frame_str(out, sizeof(out), "a#$}*b", false);
    cr_assert_str_eq((char *)out, "$a}\x03}\x04}]}\x0a"
                                  "b#25");
}

Test(gdb_packet, frame_rle)
{
    uint8_t out[512];
    /* below 4 in a row, nothing to gain */
    frame_str(out, sizeof(out), "000", true);
    cr_assert_str_eq((char *)out, "$000#90");
    frame_str(out, sizeof(out), "0000", true);
    cr_assert_str_eq((char *)out, "$0* #7a");
    frame_str(out, sizeof(out), "0000", false);
    cr_assert_str_eq((char *)out, "$0000#c0");
    /* the longest run one count byte covers: 98 ('~' - 29 + 1) */
    char run[300];
    memset(run, 'f', 98);
    run[98] = 0;
    frame_str(out, sizeof(out), run, true);
    cr_assert_eq(memcmp(out, "$f*~#", 5), 0);
    /* 99 goes on with a literal */
    memset(run, 'f', 99);
    run[99] = 0;
    frame_str(out, sizeof(out), run, true);
    cr_assert_eq(memcmp(out, "$f*~f#", 6), 0);
    /* runs that would need the count bytes '#' (6) and '$' (7) are split */
    memset(run, 'f', 7);
    run[7] = 0;
    frame_str(out, sizeof(out), run, true);
    cr_assert_eq(memcmp(out, "$f*\"f#", 6), 0, "%s", out);
    memset(run, 'f', 8);
    run[8] = 0;
    frame_str(out, sizeof(out), run, true);
    cr_assert_eq(memcmp(out, "$f*\"ff#", 7), 0, "%s", out);
    /* escaped bytes are not run-length encoded */
    frame_str(out, sizeof(out), "####", true);
    cr_assert_str_eq((char *)out, "$}\x03}\x03}\x03}\x03#00");
}

/* Every byte between '$' and '#' of a framed packet is legal there, and every count allowed. */
static void check_framed(const uint8_t *f, size_t n)
{
    cr_assert_geq(n, 4);
    cr_assert_eq(f[0], '$');
    cr_assert_eq(f[n - 3], '#');
    uint8_t sum = 0;
    for (size_t i = 1; i < n - 3; i++) {
        sum += f[i];
        cr_assert(f[i] != '$' && f[i] != '#', "raw $ or # at %zu", i);
        if (f[i] == '}') {
            i++;
            sum += f[i];
        } else if (f[i] == '*') {
            i++;
            sum += f[i];
            uint8_t c = f[i];
            cr_assert(c >= ' ' && c <= '~' && c != '#' && c != '$' && c != '}' && c != '*',
                      "count byte 0x%02x", c);
        }
    }
    char hex[3];
    snprintf(hex, sizeof(hex), "%02x", sum);
    cr_assert_eq(memcmp(f + n - 2, hex, 2), 0);
}

Test(gdb_packet, frame_every_run_length)
{
    static uint8_t out[1024];
    uint8_t run[300];
    memset(run, 'z', sizeof(run));
    for (size_t len = 1; len <= sizeof(run); len++) {
        size_t n = gdb_frame(out, sizeof(out), run, len, true);
        cr_assert_gt(n, 0);
        check_framed(out, n);
        cr_assert_eq(feed_n(out, n), GDB_RX_PACKET, "run of %zu", len);
        cr_assert_eq(rx.len, len);
        cr_assert_eq(memcmp(rx.buf, run, len), 0);
    }
}

Test(gdb_packet, frame_round_trip_random)
{
    static uint8_t payload[GDB_PACKET_MAX];
    static uint8_t out[2 * GDB_PACKET_MAX + 4];
    unsigned seed = 12345;
    for (int iter = 0; iter < 400; iter++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 8) % (iter < 390 ? 600 : GDB_PACKET_MAX + 1);
        /* few distinct byte values so that runs, specials and NULs are common */
        seed = seed * 1103515245u + 12345u;
        unsigned alphabet = 1 + (seed >> 8) % 6;
        static const uint8_t sym[] = {'a', '#', 0, '*', '}', '$', 0xff};
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = (seed >> 16) & 0xff;
            payload[i] = r < 200 ? sym[r % (alphabet + 1)] : (uint8_t)r;
        }
        for (int rle = 0; rle < 2; rle++) {
            size_t n = gdb_frame(out, sizeof(out), payload, len, rle);
            cr_assert_gt(n, 0, "iteration %d", iter);
            check_framed(out, n);
            cr_assert_eq(feed_n(out, n), GDB_RX_PACKET, "iteration %d rle %d", iter, rle);
            cr_assert_eq(rx.len, len);
            cr_assert_eq(memcmp(rx.buf, payload, len), 0, "iteration %d rle %d", iter, rle);
            /* one byte too little room does not fit */
            cr_assert_eq(gdb_frame(out, n - 1, payload, len, rle), 0);
            cr_assert_eq(gdb_frame(out, n, payload, len, rle), n);
        }
    }
}

Test(gdb_packet, frame_small_cap)
{
    uint8_t out[16];
    memset(out, 0x55, sizeof(out));
    cr_assert_eq(gdb_frame(out, 0, (const uint8_t *)"", 0, false), 0);
    cr_assert_eq(gdb_frame(out, 3, (const uint8_t *)"", 0, false), 0);
    cr_assert_eq(gdb_frame(out, 4, (const uint8_t *)"", 0, false), 4);
    cr_assert_eq(gdb_frame(out, 5, (const uint8_t *)"OK", 2, false), 0);
    cr_assert_eq(gdb_frame(out, 6, (const uint8_t *)"OK", 2, false), 6);
    /* an escape needs both its bytes */
    cr_assert_eq(gdb_frame(out, 5, (const uint8_t *)"#", 1, false), 0);
    cr_assert_eq(gdb_frame(out, 6, (const uint8_t *)"#", 1, false), 6);
    /* nothing is written past cap */
    cr_assert_eq(gdb_frame(out, 8, (const uint8_t *)"0123456789", 10, true), 0);
    for (size_t i = 8; i < sizeof(out); i++)
        cr_assert_eq(out[i], 0x55);
}

Test(gdb_packet, hex_digit)
{
    cr_assert_eq(gdb_hex_digit('0'), 0);
    cr_assert_eq(gdb_hex_digit('9'), 9);
    cr_assert_eq(gdb_hex_digit('a'), 10);
    cr_assert_eq(gdb_hex_digit('F'), 15);
    cr_assert_eq(gdb_hex_digit('g'), -1);
    cr_assert_eq(gdb_hex_digit('G'), -1);
    cr_assert_eq(gdb_hex_digit('/'), -1);
    cr_assert_eq(gdb_hex_digit(':'), -1);
    cr_assert_eq(gdb_hex_digit(0), -1);
    cr_assert_eq(gdb_hex_digit(0x130), -1);
    cr_assert_eq(gdb_hex_digit(-1), -1);
}

Test(gdb_packet, hex_encode_decode)
{
    static const uint8_t in[] = {0x00, 0x7f, 0xab, 0xff, 0x10};
    char s[16];
    cr_assert_eq(gdb_hex_encode(s, in, sizeof(in)), 10);
    cr_assert_eq(memcmp(s, "007fabff10", 10), 0);
    uint8_t out[5];
    cr_assert_eq(gdb_hex_decode("007FABff10", out, 5), 0);
    cr_assert_eq(memcmp(out, in, 5), 0);
    cr_assert_eq(gdb_hex_decode("", out, 0), 0);
    cr_assert_eq(gdb_hex_decode("0g", out, 1), -1);
    cr_assert_eq(gdb_hex_decode("g0", out, 1), -1);
    /* a string shorter than 2n stops at its NUL */
    cr_assert_eq(gdb_hex_decode("abc", out, 2), -1);
    cr_assert_eq(gdb_hex_decode("ab", out, 2), -1);
}

static int parse_hex(const char *s, uint64_t *v, size_t *used)
{
    const char *p = s;
    int rc = gdb_parse_hex(&p, v);
    *used = (size_t)(p - s);
    return rc;
}

Test(gdb_packet, parse_hex)
{
    uint64_t v = 7;
    size_t used;
    cr_assert_eq(parse_hex("1f,", &v, &used), 0);
    cr_assert_eq(v, 0x1f);
    cr_assert_eq(used, 2);
    cr_assert_eq(parse_hex("ffffffffffffffff", &v, &used), 0);
    cr_assert_eq(v, UINT64_MAX);
    cr_assert_eq(used, 16);
    cr_assert_eq(parse_hex("DeadBeef:", &v, &used), 0);
    cr_assert_eq(v, 0xdeadbeef);
    v = 7;
    /* 17 digits: refused, nothing consumed, v untouched */
    cr_assert_eq(parse_hex("10000000000000000", &v, &used), -1);
    cr_assert_eq(used, 0);
    cr_assert_eq(v, 7);
    cr_assert_eq(parse_hex("ffffffffffffffff0", &v, &used), -1);
    cr_assert_eq(parse_hex("", &v, &used), -1);
    cr_assert_eq(used, 0);
    cr_assert_eq(parse_hex(",10", &v, &used), -1);
    cr_assert_eq(parse_hex("-1", &v, &used), -1);
    cr_assert_eq(v, 7);
}

Test(gdb_packet, parse_addr_len)
{
    uint64_t a = 1, l = 1;
    const char *s = "ffffffff80001000,40:abcd";
    const char *p = s;
    cr_assert_eq(gdb_parse_addr_len(&p, &a, &l), 0);
    cr_assert_eq(a, 0xffffffff80001000ull);
    cr_assert_eq(l, 0x40);
    cr_assert_eq(*p, ':');
    static const char *bad[] = {
        "", "1000", "1000,", ",40", "1000;40", "x,1", "1,10000000000000000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        a = l = 1;
        p = bad[i];
        cr_assert_eq(gdb_parse_addr_len(&p, &a, &l), -1, "for '%s'", bad[i]);
        cr_assert_eq(p, bad[i], "for '%s'", bad[i]);
        cr_assert_eq(a, 1);
        cr_assert_eq(l, 1);
    }
}

static void thread_ok(const char *s, int64_t want, size_t used)
{
    int64_t t = 12345;
    const char *p = s;
    cr_assert_eq(gdb_parse_thread(&p, &t), 0, "for '%s'", s);
    cr_assert_eq(t, want, "for '%s': %lld", s, (long long)t);
    cr_assert_eq((size_t)(p - s), used, "for '%s'", s);
}

static void thread_bad(const char *s)
{
    int64_t t = 12345;
    const char *p = s;
    cr_assert_eq(gdb_parse_thread(&p, &t), -1, "for '%s'", s);
    cr_assert_eq(p, s);
    cr_assert_eq(t, 12345);
}

Test(gdb_packet, parse_thread)
{
    thread_ok("-1", -1, 2);
    thread_ok("0", 0, 1);
    thread_ok("1f", 0x1f, 2);
    thread_ok("1;c", 1, 1);
    thread_ok("p1.2", 2, 4);
    thread_ok("p1.-1", -1, 5);
    thread_ok("p-1.-1", -1, 6);
    thread_ok("p1", -1, 2); /* all threads of process 1 */
    thread_ok("7fffffffffffffff", INT64_MAX, 16);
    thread_bad("");
    thread_bad("x");
    thread_bad("-");
    thread_bad("-2");
    thread_bad("-10");
    thread_bad("p");
    thread_bad("p1.");
    thread_bad("p.1");
    thread_bad("px.1");
    thread_bad("p1.x");
    thread_bad("8000000000000000");
    thread_bad("10000000000000000");
}
