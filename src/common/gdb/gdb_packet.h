/*
 * gdb_packet.h: the framing layer of the GDB remote serial protocol, with no I/O and no state
 * beyond one packet being received: `$payload#xx` with its modulo-256 checksum, `}` escapes
 * (byte ^ 0x20), `*` run-length encoding, `+`/`-` acknowledgements and the 0x03 interrupt byte,
 * plus the hex helpers every packet needs. Everything here is fed hostile bytes.
 */
#ifndef CHYVE_GDB_PACKET_H
#define CHYVE_GDB_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest payload chyve accepts or sends (advertised as PacketSize in qSupported, in hex). */
#define GDB_PACKET_MAX 16384

enum gdb_rx_event {
    GDB_RX_NONE,         /* byte consumed, nothing complete yet (or noise between packets) */
    GDB_RX_PACKET,       /* a packet with a good checksum: rx->buf[0 .. rx->len) */
    GDB_RX_BAD_CHECKSUM, /* a whole packet whose checksum is wrong: answer '-' */
    GDB_RX_OVERFLOW,     /* a packet longer than GDB_PACKET_MAX (decoded): dropped, answer '-' */
    GDB_RX_BAD_ENCODING, /* a bad escape or run length: dropped, answer '-' */
    GDB_RX_INTERRUPT,    /* 0x03 outside a packet: Ctrl-C */
    GDB_RX_ACK,          /* '+' outside a packet */
    GDB_RX_NACK,         /* '-' outside a packet: resend the last packet */
};

/* A packet being received. Zero it (or gdb_rx_init) before use. */
struct gdb_rx {
    int state;   /* private */
    uint8_t sum; /* private: running checksum */
    uint8_t sent_sum;
    bool error; /* private: overflow or encoding error seen in this packet */
    bool overflow;
    size_t len;                      /* decoded payload bytes so far / of the packet */
    uint8_t buf[GDB_PACKET_MAX + 1]; /* decoded payload (escapes and runs expanded), NUL after it */
};

void gdb_rx_init(struct gdb_rx *rx);

/*
 * Feeds one received byte. On GDB_RX_PACKET the decoded payload is rx->buf[0 .. rx->len), followed
 * by a NUL (the payload itself may contain NULs: binary X data), and stays valid until the next
 * call. A '$' inside a packet starts a new packet (the partial one is dropped).
 */
enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, uint8_t c);

/*
 * Frames payload[0 .. len) as `$...#xx` into out (cap bytes): escapes '$', '#', '}' and '*'
 * and, with rle, run-length encodes repeats (never producing a count byte that is '$', '#',
 * '}', '*' or above '~'). Returns the framed length, or 0 if it does not fit in cap.
 */
size_t gdb_frame(uint8_t *out, size_t cap, const uint8_t *payload, size_t len, bool rle);

/* Hex digit value, or -1. */
int gdb_hex_digit(int c);

/* Writes 2*n lowercase hex digits for in[0 .. n) into out (no NUL). Returns 2*n. */
size_t gdb_hex_encode(char *out, const uint8_t *in, size_t n);

/* Decodes exactly 2*n hex digits from s into out. Returns 0, or -1 on a non-hex digit. */
int gdb_hex_decode(const char *s, uint8_t *out, size_t n);

/*
 * Parses a hex number of 1 to 16 digits at *p and advances *p past it. Returns 0, or -1 if there
 * is no digit or the value does not fit 64 bits (then *p is unchanged).
 */
int gdb_parse_hex(const char **p, uint64_t *v);

/*
 * Parses "ADDR,LEN" at *p (each gdb_parse_hex) and advances past it; the caller checks what
 * follows (':' for M/X, '#'-less end for m). Returns 0 or -1.
 */
int gdb_parse_addr_len(const char **p, uint64_t *addr, uint64_t *len);

/*
 * Decodes a thread id as GDB sends it in H, T and vCont: "-1" (all, returns -1), "0" (any,
 * returns 0) or a positive hex number; with multiprocess syntax "pPID.TID" the TID part counts.
 * Advances *p. Returns 0 and sets *tid, or -1 on garbage.
 */
int gdb_parse_thread(const char **p, int64_t *tid);

#endif
