/* gdb_packet.c: GDB remote protocol framing (checksums, escapes, run lengths) and hex parsing. */
#include "gdb/gdb_packet.h"

/* Receiver states; GDB_ST_IDLE must be 0 so that a zeroed struct gdb_rx is ready. */
enum {
    GDB_ST_IDLE,   /* between packets: acks, interrupts, noise */
    GDB_ST_DATA,   /* after '$' */
    GDB_ST_ESCAPE, /* after '}': the next byte is xored with 0x20 */
    GDB_ST_COUNT,  /* after '*': the next byte is a repeat count */
    GDB_ST_SUM1,   /* after '#': first checksum digit */
    GDB_ST_SUM2,   /* second checksum digit */
};

/*
 * Run lengths as the protocol defines them: the count byte minus 29 is how many more times the
 * previous byte appears. Counts are printable (' ' .. '~', so 3 .. 97 repeats).
 */
#define RLE_BIAS 29
#define RLE_MIN (' ' - RLE_BIAS)
#define RLE_MAX ('~' - RLE_BIAS)

void gdb_rx_init(struct gdb_rx *rx)
{
    rx->state = GDB_ST_IDLE;
    rx->sum = 0;
    rx->sent_sum = 0;
    rx->error = false;
    rx->overflow = false;
    rx->len = 0;
    rx->buf[0] = 0;
}

/* A '$' was seen: forget any partial packet and start a new one. */
static void rx_start(struct gdb_rx *rx)
{
    rx->state = GDB_ST_DATA;
    rx->sum = 0;
    rx->sent_sum = 0;
    rx->error = false;
    rx->overflow = false;
    rx->len = 0;
}

/* Appends n copies of c to the decoded payload, or marks the packet as overflowed. */
static void rx_put(struct gdb_rx *rx, uint8_t c, size_t n)
{
    if (rx->overflow || n > GDB_PACKET_MAX - rx->len) {
        rx->overflow = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        rx->buf[rx->len++] = c;
}

/* The packet's verdict once both checksum digits are in. */
static enum gdb_rx_event rx_finish(struct gdb_rx *rx)
{
    rx->state = GDB_ST_IDLE;
    enum gdb_rx_event ev = GDB_RX_PACKET;
    /* A wrong checksum first: the other errors are then most likely line noise too. */
    if (rx->sent_sum != rx->sum)
        ev = GDB_RX_BAD_CHECKSUM;
    else if (rx->overflow)
        ev = GDB_RX_OVERFLOW;
    else if (rx->error)
        ev = GDB_RX_BAD_ENCODING;
    if (ev != GDB_RX_PACKET)
        rx->len = 0;
    rx->buf[rx->len] = 0;
    return ev;
}

enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, uint8_t c)
{
    /* '$' never appears escaped or as a count, so it resynchronises from any state. */
    if (c == '$') {
        rx_start(rx);
        return GDB_RX_NONE;
    }
    switch (rx->state) {
    case GDB_ST_DATA:
        if (c == '#') {
            rx->state = GDB_ST_SUM1;
            return GDB_RX_NONE;
        }
        rx->sum += c;
        if (c == '}')
            rx->state = GDB_ST_ESCAPE;
        else if (c == '*')
            rx->state = GDB_ST_COUNT;
        else
            rx_put(rx, c, 1);
        return GDB_RX_NONE;
    case GDB_ST_ESCAPE:
    case GDB_ST_COUNT:
        if (c == '#') {
            /* an escape or run cut short: end the packet here, to stay in step */
            rx->error = true;
            rx->state = GDB_ST_SUM1;
            return GDB_RX_NONE;
        }
        rx->sum += c;
        if (rx->state == GDB_ST_ESCAPE) {
            rx_put(rx, c ^ 0x20, 1);
        } else if (c < ' ' || c > '~' || rx->len == 0) {
            rx->error = true; /* not a printable count, or nothing to repeat */
        } else {
            rx_put(rx, rx->buf[rx->len - 1], (size_t)(c - RLE_BIAS));
        }
        rx->state = GDB_ST_DATA;
        return GDB_RX_NONE;
    case GDB_ST_SUM1:
    case GDB_ST_SUM2: {
        int d = gdb_hex_digit(c);
        if (d < 0) {
            /* not a checksum: the packet is lost; resend it */
            rx->state = GDB_ST_IDLE;
            rx->len = 0;
            rx->buf[0] = 0;
            return GDB_RX_BAD_CHECKSUM;
        }
        rx->sent_sum = (uint8_t)(rx->sent_sum << 4 | d);
        if (rx->state == GDB_ST_SUM1) {
            rx->state = GDB_ST_SUM2;
            return GDB_RX_NONE;
        }
        return rx_finish(rx);
    }
    default:
        break;
    }
    /* between packets */
    rx->state = GDB_ST_IDLE;
    switch (c) {
    case '+':
        return GDB_RX_ACK;
    case '-':
        return GDB_RX_NACK;
    case 0x03:
        return GDB_RX_INTERRUPT;
    default:
        return GDB_RX_NONE;
    }
}

/* Bytes that gdb_frame escapes in a payload. */
static bool needs_escape(uint8_t c)
{
    return c == '$' || c == '#' || c == '}' || c == '*';
}

/*
 * A repeat count gdb_frame may use for up to `left` more copies (left >= RLE_MIN): the largest
 * whose count byte is not '#', '$', '}' or '*' (repeats 6, 7, 96 and 13).
 */
static size_t rle_count(size_t left)
{
    size_t k = left < RLE_MAX ? left : RLE_MAX;
    if (k == '#' - RLE_BIAS || k == '$' - RLE_BIAS)
        k = '"' - RLE_BIAS;
    else if (k == '*' - RLE_BIAS || k == '}' - RLE_BIAS)
        k--;
    return k;
}

static const char hex_lower[] = "0123456789abcdef";

size_t gdb_frame(uint8_t *out, size_t cap, const uint8_t *payload, size_t len, bool rle)
{
    size_t o = 0;
    uint8_t sum = 0;
    if (cap < 4)
        return 0;
    out[o++] = '$';
    /* the payload must leave room for "#xx" */
    size_t end = cap - 3;
    for (size_t i = 0; i < len;) {
        uint8_t c = payload[i];
        if (needs_escape(c)) {
            if (end - o < 2)
                return 0;
            out[o++] = '}';
            out[o++] = c ^ 0x20;
            sum += '}' + (c ^ 0x20);
            i++;
            continue;
        }
        if (o >= end)
            return 0;
        out[o++] = c;
        sum += c;
        i++;
        if (!rle)
            continue;
        size_t left = 0;
        while (i + left < len && payload[i + left] == c && left < RLE_MAX)
            left++;
        if (left < RLE_MIN)
            continue;
        size_t k = rle_count(left);
        if (end - o < 2)
            return 0;
        uint8_t count = (uint8_t)(k + RLE_BIAS);
        out[o++] = '*';
        out[o++] = count;
        sum += '*' + count;
        i += k;
    }
    out[o++] = '#';
    out[o++] = (uint8_t)hex_lower[sum >> 4];
    out[o++] = (uint8_t)hex_lower[sum & 15];
    return o;
}

int gdb_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t gdb_hex_encode(char *out, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_lower[in[i] >> 4];
        out[2 * i + 1] = hex_lower[in[i] & 15];
    }
    return 2 * n;
}

int gdb_hex_decode(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* the high digit first: a NUL there stops before s[2 * i + 1] is read */
        int hi = gdb_hex_digit((unsigned char)s[2 * i]);
        if (hi < 0)
            return -1;
        int lo = gdb_hex_digit((unsigned char)s[2 * i + 1]);
        if (lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int gdb_parse_hex(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    int n = 0, d;
    while ((d = gdb_hex_digit((unsigned char)s[n])) >= 0) {
        if (n == 16)
            return -1;
        x = x << 4 | (uint64_t)d;
        n++;
    }
    if (n == 0)
        return -1;
    *v = x;
    *p = s + n;
    return 0;
}

int gdb_parse_addr_len(const char **p, uint64_t *addr, uint64_t *len)
{
    const char *s = *p;
    uint64_t a, l;
    if (gdb_parse_hex(&s, &a) < 0 || *s++ != ',' || gdb_parse_hex(&s, &l) < 0)
        return -1;
    *addr = a;
    *len = l;
    *p = s;
    return 0;
}

/* One id of a thread-id: "-1" or a hex number up to INT64_MAX; *p unchanged on error. */
static int parse_id(const char **p, int64_t *id)
{
    const char *s = *p;
    if (s[0] == '-') {
        /* "-1" only; "-10" or "-2" are garbage, not -1 followed by something */
        if (s[1] != '1' || gdb_hex_digit((unsigned char)s[2]) >= 0)
            return -1;
        *id = -1;
        *p = s + 2;
        return 0;
    }
    uint64_t v;
    if (gdb_parse_hex(&s, &v) < 0 || v > INT64_MAX)
        return -1;
    *id = (int64_t)v;
    *p = s;
    return 0;
}

int gdb_parse_thread(const char **p, int64_t *tid)
{
    const char *s = *p;
    int64_t pid, t;
    if (*s != 'p') {
        if (parse_id(&s, &t) < 0)
            return -1;
    } else {
        s++;
        if (parse_id(&s, &pid) < 0)
            return -1;
        if (*s == '.') {
            s++;
            if (parse_id(&s, &t) < 0)
                return -1;
        } else {
            t = -1; /* "pPID" alone: every thread of the process */
        }
    }
    *tid = t;
    *p = s;
    return 0;
}
