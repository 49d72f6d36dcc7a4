#!/usr/bin/env python3
"""hostile_client.py: hostile GDB remote-protocol traffic against one `chyve -s PORT gdb_target`
per group. After each abuse the stub must still answer `?` with the stop at entry; at the end the
client detaches and chyve must exit with the guest's own code 7 and its full output: never a
crash (exit by a signal), never a hang.
Usage: hostile_client.py [GROUP...]  (env: CHYVE, GUEST_DIR). Exits 0, 1 or 77 (skip)."""

import os
import re
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

STOP_AT_ENTRY = "T05thread:01;"
MAX_PACKET = 16384


class Target:
    """One chyve under -s and its attached raw client."""

    def __init__(self):
        chyve, guests = h.env_paths()
        self.guest = h.guest(guests, "gdb_target")
        self.syms = h.elf_symbols(self.guest)
        self.c, self.port = h.start_stub(chyve, self.guest)
        self.r = h.Rsp(self.port)

    def alive(self, what):
        """Fails unless `?` still gets the stop at entry after what."""
        try:
            got = self.r.ask("?")
        except (EOFError, OSError) as e:
            raise h.Fail("after %s the stub is gone: %s" % (what, e), self.c.describe())
        h.check(got.startswith(STOP_AT_ENTRY), "after %s, ? answered %r" % (what, got[:80]),
                self.c.describe())

    def drain(self, what, replies=False):
        """Reads what arrives within 0.3 s: only acknowledgements (and with replies, whole
        packets) may be there."""
        end = time.monotonic() + 0.3
        while time.monotonic() < end:
            r, _, _ = select.select([self.r.sock], [], [], end - time.monotonic())
            if not r:
                break
            chunk = self.r.sock.recv(65536)
            h.check(chunk, "the stub closed the connection after " + what, self.c.describe())
            self.r.buf += chunk
        ok = re.fullmatch(rb"([+-]|\$[^$#]*#[0-9a-f]{2})*" if replies else rb"[+-]*", self.r.buf)
        h.check(ok, "after %s the stub sent %r" % (what, self.r.buf[:80]), self.c.describe())
        self.r.send(b"+" * self.r.buf.count(b"$"))  # acknowledge the replies
        self.r.buf = b""

    def finish(self, detach=True):
        """D (or, detach False, just the end of the connection), then chyve must run the
        guest to its normal end."""
        if detach:
            h.check(self.r.ask("D") == "OK", "D not answered OK", self.c.describe())
        self.r.close()
        st = self.c.wait(60)
        h.check(st == 7, "chyve exited with %s after the abuse, want the guest's 7" % st,
                self.c.describe())
        out = self.c.out()
        h.check(out.endswith("gdb_target: done\n") and "counter 3 (round 3)" in out,
                "the guest's output is incomplete", self.c.describe())

    def stop(self):
        self.r.close()
        self.c.stop()


def group(fn):
    def wrapped():
        t = Target()
        try:
            fn(t)
            t.finish()
        finally:
            t.stop()
    wrapped.__name__ = fn.__name__
    return wrapped


def thread_ids(s):
    """The hex thread ids of a comma-separated list, or None if it is not one."""
    try:
        return [int(x, 16) for x in s.split(",")]
    except ValueError:
        return None


def is_qc1(reply):
    return reply[:2] == "QC" and thread_ids(reply[2:]) == [1]


def cut_read(reply, head):
    """True if reply is hex data starting with head and no longer than a packet."""
    return (reply.startswith(head) and 0 < len(reply) <= MAX_PACKET and len(reply) % 2 == 0
            and all(c in "0123456789abcdef" for c in reply))


def expect(t, packet, want, what=None):
    """Sends packet; the reply must be want (str) or satisfy want (callable)."""
    got = t.r.ask(packet)
    ok = want(got) if callable(want) else got == want
    shown = packet if isinstance(packet, str) else packet.decode("latin-1")
    h.check(ok, "%s answered %r" % (what or shown[:60], got[:80]), t.c.describe())


@group
def framing(t):
    """Bad checksums, garbage, a truncated packet, an oversized packet."""
    t.r.send(b"$?#00")
    h.check(t.r.read_ack() == "-", "a bad checksum was not answered '-'")
    t.alive("a bad checksum")
    t.r.send(b"$g#zz")
    h.check(t.r.read_ack() == "-", "a non-hex checksum was not answered '-'")
    t.alive("a non-hex checksum")
    # noise between packets ('$' would start a packet, 0x03 is Ctrl-C, '-' asks for a resend)
    t.r.send(bytes(range(256)).translate(None, b"$\x03-") * 4)
    t.alive("binary garbage outside a packet")
    t.r.send(b"##++}}**")
    t.alive("stray framing characters")
    t.r.send(b"-")  # a NACK: the last reply (the stop at entry) comes again, unchanged
    got = t.r.read_packet()
    h.check(got.startswith(STOP_AT_ENTRY), "a '-' got %r, not the last reply again" % got[:80])
    t.alive("a resend request")
    t.r.send(b"$m0,4$?#3f")  # a '$' inside a packet starts a new one
    h.check(t.r.read_ack() == "+", "the packet after a dropped partial one was not acknowledged")
    got = t.r.read_packet()
    h.check(got.startswith(STOP_AT_ENTRY), "a restarted packet got %r" % got[:80])
    big = b"X" * (100 * 1024)
    t.r.send(h.frame(big))
    h.check(t.r.read_ack() == "-", "a 100 KB packet was not answered '-'")
    t.drain("a 100 KB packet")
    t.alive("a 100 KB packet")
    t.r.send(h.frame(b"m0," + b"0" * (MAX_PACKET + 10) + b"1"))
    h.check(t.r.read_ack() == "-", "a packet over %d bytes was not answered '-'" % MAX_PACKET)
    t.drain("a packet just over the limit")
    t.alive("a packet just over the limit")
    expect(t, "vFooBarUnknown", "", "an unknown packet")
    expect(t, "", "", "an empty packet")
    # runs with nothing to repeat, a dangling escape (it eats the '#'; the next '$' restarts)
    for bad in (b"*", b"**", b"m}", b"g*\x7f"):
        t.r.send(b"$" + bad + b"#%02x" % h.checksum(bad))
        t.drain("the packet %r" % bad, replies=True)
    t.alive("bad run-length encodings and escapes")


@group
def memory(t):
    """m/M/X with huge, overflowing and mismatched lengths and addresses."""
    pat = t.syms["gdb_pattern"][0]
    expect(t, "m%x,4" % pat, "deadbeef", "m of gdb_pattern")
    for p in ("mffffffffffffffff,10", "mfffffffffffffff0,20", "mffff800000000000,4"):
        expect(t, p, "E0e")
    # lengths running past 2^64: an error, or (a stub may cut a read to its packet size) the
    # bytes that are there, no more than fit a packet
    for p, head in (("m0,ffffffffffffffff", ""), ("m%x,ffffffffffffffff" % pat, "deadbeef")):
        expect(t, p, lambda r: r.startswith("E") or cut_read(r, head), p)
    for p in ("m", "m,", "m%x" % pat, "m%x," % pat, "mzz,4", "m-1,4", "m1,-4",
              "m1ffffffffffffffff,4", "m1,1ffffffffffffffff"):
        expect(t, p, lambda r: r.startswith("E"), "bad m syntax " + p)
    # M: length and data disagree either way; X: binary longer / shorter than its length
    for p in ("M%x,4:de" % pat, "M%x,1:deadbeef" % pat, "M%x,4:zzzzzzzz" % pat,
              "M%x,4:dea" % pat, "Mffffffffffffffff,10:" + "00" * 16):
        expect(t, p, lambda r: r.startswith("E"), p)
    for p in (b"X%x,4:\x01" % pat, b"X%x,1:\x01\x02\x03\x04" % pat,
              b"Xffffffffffffffff,10:" + b"\0" * 16, b"X%x,ffffffffffffffff:" % pat):
        expect(t, p, lambda r: r.startswith("E"), "X " + p[:30].decode("latin-1"))
    expect(t, "m%x,4" % pat, "deadbeef", "gdb_pattern after the bad writes")
    expect(t, "m%x,8000" % pat, lambda r: r.startswith("E") or len(r) <= 2 * 0x8000,
           "a read larger than a packet")


@group
def registers(t):
    """G short or long, p/P of absurd registers."""
    g = t.r.ask("g")
    h.check(len(g) >= 2 * 8 * 17 and all(c in "0123456789abcdefx" for c in g),
            "g answered %r" % g[:80])
    for p in ("G", "G00", "G" + g[:-2], "G" + "zz" * (len(g) // 2)):
        expect(t, p, lambda r: r.startswith("E"), "G of %d digits" % (len(p) - 1))
    # longer than g: an error, or the extra digits ignored (g is unchanged either way)
    expect(t, "G" + g + "00", lambda r: r.startswith("E") or r == "OK", "a long G")
    expect(t, "g", g, "g after the bad G")
    for p in ("p3e8", "pffffffffffffffff", "p", "pzz", "P3e8=00", "P10", "P10=12",
              "Pffffffff=0000000000000000"):
        expect(t, p, lambda r: r.startswith("E") or r == "", p)
    expect(t, "g", g, "g after the bad p/P")


@group
def breakpoints(t):
    """Z/z with absurd kinds, lengths and addresses; a breakpoint inserted twice and removed."""
    fn = t.syms["gdb_checkpoint"][0]
    for p in ("Z1,%x,ffffffffffffffff" % fn, "Z1,%x,0" % fn, "Z2,0,ffffffff", "Z3,1,1000",
              "Z4,ffffffffffffffff,8", "Z9,%x,1" % fn, "Z1", "Z1,", "Z1,zz,1", "z1,%x,1" % fn,
              "Z0,ffffffffffffffff,1", "Z0,%x,ffffffff" % fn):
        expect(t, p, lambda r: r.startswith("E") or r in ("", "OK"), p)
    # fill every hardware slot and one more: each answer is OK or an error, never a crash
    for i in range(8):
        expect(t, "Z1,%x,1" % (fn + i), lambda r: r == "OK" or r.startswith("E"), "Z1 #%d" % i)
    for i in range(8):
        expect(t, "z1,%x,1" % (fn + i), lambda r: r == "OK" or r.startswith("E"), "z1 #%d" % i)


@group
def threads(t):
    """vCont, H and T with bad thread ids, and bad vCont actions."""
    for p in ("Hg0", "Hc-1", "Hg1"):
        expect(t, p, "OK")
    for p in ("Hg2", "Hgffffffffffffffff", "Hg-2", "Hgzz", "Tffffffff", "T2", "Tzz"):
        expect(t, p, lambda r: r.startswith("E"), p)
    expect(t, "T1", "OK")
    # each must be refused whole: a stub that acted on a valid first action would resume the guest
    for p in ("vCont;c:ffffffff", "vCont;s:2", "vCont;s:-2", "vCont;q", "vCont;", "vCont;c:",
              "vCont;s:1;s:1;s:1;s:1;s:1;s:1;s:1;s:1;c:zz", "vCont;c:1;" + "s:zz;" * 2000):
        expect(t, p, lambda r: r.startswith("E") or r == "", p)
    expect(t, "qfThreadInfo", lambda r: r[:1] == "m" and thread_ids(r[1:]) == [1], "qfThreadInfo")
    expect(t, "qsThreadInfo", "l", "qsThreadInfo")


@group
def pipelined(t):
    """200 requests sent at once without reading; then every reply comes, in order."""
    pat = t.syms["gdb_pattern"][0]
    reqs = [b"?", b"m%x,4" % pat, b"qC", b"g"] * 50
    t.r.send(b"".join(h.frame(p) for p in reqs))
    for p in reqs:
        h.check(t.r.read_ack() == "+", "pipelined %r not acknowledged" % p)
        got = t.r.read_packet()
        if p == b"?":
            h.check(got.startswith(STOP_AT_ENTRY), "pipelined ? answered %r" % got[:40])
        elif p.startswith(b"m"):
            h.check(got == "deadbeef", "pipelined m answered %r" % got[:40])
        elif p == b"qC":
            h.check(is_qc1(got), "pipelined qC answered %r" % got[:40])


@group
def second_client(t):
    """A second debugger while one is attached is accepted and closed at once; the first one
    is still served, also over IPv6 loopback when the host has it."""
    for host in ("127.0.0.1", "::1"):
        try:
            other = h.Rsp(t.port, host=host, timeout=10)
        except OSError as e:
            if host == "::1" and e.errno in (97, 99, 101):  # no IPv6 on this host
                continue
            raise h.Fail("the second client on %s was not accepted: %s" % (host, e))
        try:
            other.send(h.frame(b"?"))
            h.check(other.closed(10), "the second client on %s was not closed" % host)
        finally:
            other.close()
        t.alive("a second client on " + host)


def disconnect(send, reset=False):
    """A client that sends send and vanishes (with a reset if reset): the guest runs on to its
    normal end, as after D."""
    def run():
        t = Target()
        try:
            t.alive("the connect")
            if reset:
                t.r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            t.r.send(send)
            time.sleep(0.2)
            t.finish(detach=False)
        finally:
            t.stop()
    return run


DISCONNECTS = {
    "disconnect_truncated": disconnect(b"$m0,"),
    "disconnect_mid_packet": disconnect(b"$qSupported:multiprocess+;swbreak+;hwbr"),
    "disconnect_before_reply": disconnect(h.frame(b"g")),
    "disconnect_unread": disconnect(h.frame(b"m0,1000") * 20),
    "disconnect_reset": disconnect(b"$?#3", reset=True),
}


def noack(t):
    """QStartNoAckMode, then bad traffic with no acknowledgements."""
    expect(t, "QStartNoAckMode", "OK")
    t.r.send(h.frame(b"?"))
    got = t.r.read_packet(ack=False)
    h.check(got.startswith(STOP_AT_ENTRY), "? without acks answered %r" % got)
    t.r.send(b"$?#00" + b"garbage" + h.frame(b"qC"))
    got = t.r.read_packet(ack=False, skip_nak=True)
    h.check(is_qc1(got), "after a bad packet in no-ack mode, qC answered %r" % got)
    t.r.send(h.frame(b"D"))
    h.check(t.r.read_packet(ack=False) == "OK", "D without acks not OK")
    t.finish(detach=False)


GROUPS = {f.__name__: f for f in (framing, memory, registers, breakpoints, threads, pipelined,
                                  second_client)}
GROUPS.update(DISCONNECTS)


def noack_group():
    t = Target()
    try:
        noack(t)
    finally:
        t.stop()


GROUPS["noack"] = noack_group

if __name__ == "__main__":
    sys.exit(h.main(GROUPS, sys.argv))
