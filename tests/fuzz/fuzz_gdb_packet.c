/*
 * fuzz_gdb_packet.c: the input as a byte stream from a GDB client into gdb_rx_byte(); every packet
 * received is framed again by gdb_frame() (plain and run-length encoded) and must parse back to
 * the same payload, and the hex, address and thread-id parsers run over it.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gdb/gdb_packet.h"

static struct gdb_rx rx, again;
static uint8_t framed[2 * GDB_PACKET_MAX + 4];
static uint8_t bytes[GDB_PACKET_MAX / 2];
static char hex[GDB_PACKET_MAX];

/* gdb_frame(payload, rle) then the receiver must give the payload back, byte for byte. */
static void round_trip(const uint8_t *payload, size_t len, bool rle)
{
    size_t n = gdb_frame(framed, sizeof(framed), payload, len, rle);
    if (n < 4 || n > sizeof(framed) || framed[0] != '$' || framed[n - 3] != '#')
        abort();
    /* a short buffer is refused, never overrun */
    if (gdb_frame(framed, n - 1, payload, len, rle) != 0)
        abort();
    gdb_rx_init(&again);
    for (size_t i = 0; i < n; i++) {
        enum gdb_rx_event ev = gdb_rx_byte(&again, framed[i]);
        if (ev != (i + 1 == n ? GDB_RX_PACKET : GDB_RX_NONE))
            abort();
    }
    if (again.len != len || memcmp(again.buf, payload, len) != 0 || again.buf[len] != 0)
        abort();
}

/* The parsers at s (NUL-terminated, inside the payload); they must not read or move past it. */
static void parse_at(const char *s, const char *end)
{
    const char *p = s;
    uint64_t v, a, l;
    if (gdb_parse_hex(&p, &v) == 0) {
        if (p <= s || p > s + 16 || p > end || gdb_hex_digit((unsigned char)*p) >= 0)
            abort();
    } else if (p != s) {
        abort();
    }
    p = s;
    if (gdb_parse_addr_len(&p, &a, &l) == 0) {
        if (p < s + 3 || p > end)
            abort();
    } else if (p != s) {
        abort();
    }
    p = s;
    int64_t t;
    if (gdb_parse_thread(&p, &t) == 0) {
        if (p <= s || p > end || t < -1)
            abort();
    } else if (p != s) {
        abort();
    }
}

/* Hex decoding of the whole payload, and its re-encoding (lowercase) matching it. */
static void hex_check(const uint8_t *payload, size_t len)
{
    size_t n = len / 2;
    if (gdb_hex_decode((const char *)payload, bytes, n) != 0)
        return;
    if (gdb_hex_encode(hex, bytes, n) != 2 * n)
        abort();
    for (size_t i = 0; i < 2 * n; i++) {
        int c = payload[i];
        if (c >= 'A' && c <= 'F')
            c += 'a' - 'A';
        if (hex[i] != c)
            abort();
    }
}

static void check_packet(void)
{
    const uint8_t *payload = rx.buf;
    size_t len = rx.len;
    if (len > GDB_PACKET_MAX || payload[len] != 0)
        abort();
    round_trip(payload, len, false);
    round_trip(payload, len, true);
    hex_check(payload, len);
    /* where GDB puts numbers: after the command letter and after each ',', ':', ';' or '.' */
    const char *s = (const char *)payload, *end = s + len;
    if (len > 0)
        parse_at(s + 1, end);
    for (size_t i = 0; i < len; i++)
        if (s[i] == ',' || s[i] == ':' || s[i] == ';' || s[i] == '.')
            parse_at(s + i + 1, end);
    parse_at(s, end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gdb_rx_init(&rx);
    for (size_t i = 0; i < size; i++) {
        enum gdb_rx_event ev = gdb_rx_byte(&rx, data[i]);
        if (ev == GDB_RX_PACKET)
            check_packet();
        else if (ev > GDB_RX_NACK)
            abort();
        if (rx.len > GDB_PACKET_MAX)
            abort();
    }
    return 0;
}
