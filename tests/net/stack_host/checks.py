#!/usr/bin/env python3
"""checks.py: the Linux side of the netstack TAP test: UDP, TCP and exit checks against the
stack at --host (run inside the test's network namespace; only 10.0.5.0/24 is ever targeted)."""
import argparse
import hashlib
import ipaddress
import random
import socket
import sys
import threading
import time

PORT = 9975


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def udp_echo(host, mtu, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    rnd = random.Random(1)
    top = mtu - 28
    sizes = [0, 1, 2, 3, 7, 8, 9, top - 1, top]
    sizes += [rnd.randrange(0, top + 1) for _ in range(count - len(sizes))]
    t0 = time.monotonic()
    total = 0
    for i, n in enumerate(sizes):
        msg = rnd.randbytes(n)
        s.sendto(msg, (host, PORT))
        try:
            got, peer = s.recvfrom(65536)
        except socket.timeout:
            fail(f"udp: datagram {i} ({n} bytes) not echoed")
        if got != msg or peer != (host, PORT):
            fail(f"udp: datagram {i} ({n} bytes) came back as {len(got)} bytes from {peer}")
        total += n
    dt = time.monotonic() - t0
    print(f"udp: {len(sizes)} datagrams ({total} bytes, up to {top}) echoed exactly, "
          f"{len(sizes) / dt:.0f} round trips/s", flush=True)


def tcp_echo(host, nbytes, seed, chunk=1 << 20):
    """Sends nbytes of seeded random data and reads the echo back at the same time; returns
    (seconds, ok)."""
    s = socket.create_connection((host, PORT), timeout=30)
    s.settimeout(60)
    sent_hash = hashlib.sha256()
    recv_hash = hashlib.sha256()
    err = []

    def sender():
        rnd = random.Random(seed)
        left = nbytes
        try:
            while left:
                n = min(chunk, left)
                block = rnd.randbytes(n)
                sent_hash.update(block)
                s.sendall(block)
                left -= n
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(f"send: {e}")

    t0 = time.monotonic()
    th = threading.Thread(target=sender)
    th.start()
    got = 0
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    try:
        while True:
            n = s.recv_into(buf)
            if n == 0:
                break
            recv_hash.update(view[:n])
            got += n
    except OSError as e:
        err.append(f"recv after {got} bytes: {e}")
    th.join()
    dt = time.monotonic() - t0
    s.close()
    if err:
        fail("tcp: " + "; ".join(err))
    if got != nbytes or sent_hash.digest() != recv_hash.digest():
        fail(f"tcp: sent {nbytes} bytes, got {got} back, hashes "
             f"{'match' if sent_hash.digest() == recv_hash.digest() else 'differ'}")
    return dt


def cmd_tcp(a):
    dt = tcp_echo(a.host, a.bytes, 7)
    mib = a.bytes / (1 << 20)
    print(f"tcp: {mib:.0f} MiB echoed intact in {dt:.2f} s: {mib / dt:.1f} MiB/s each way",
          flush=True)


def cmd_tcp_many(a):
    sizes = [0, 1, 1000, 65535, 65536, 100000, 1 << 20, 3 << 20]
    for i in range(a.rounds):
        n = sizes[i % len(sizes)]
        tcp_echo(a.host, n, 100 + i)
    print(f"tcp: {a.rounds} connections in a row (0 B to 3 MiB) echoed and closed", flush=True)
    errs = []

    def one(k):
        try:
            tcp_echo(a.host, 8 << 20, 200 + k)
        except SystemExit:
            errs.append(k)

    ths = [threading.Thread(target=one, args=(k,)) for k in range(4)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    if errs:
        fail(f"tcp: concurrent connections {errs} failed")
    print("tcp: 4 concurrent connections x 8 MiB echoed", flush=True)


def cmd_udp(a):
    udp_echo(a.host, a.mtu, a.count)


def cmd_exit(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.settimeout(0.5)
    for _ in range(a.tries):  # more than one try only when the harness loses frames on purpose
        s.sendto(f"exit {a.code}".encode(), (a.host, PORT))
        try:
            got, _ = s.recvfrom(100)
            break
        except socket.timeout:
            pass
    else:
        fail("exit: no reply")
    if got != b"bye":
        fail(f"exit: reply {got!r}, not b'bye'")
    print(f"exit: 'exit {a.code}' answered with 'bye'", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="10.0.5.3")
    sub = p.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("udp")
    u.add_argument("--mtu", type=int, default=1500)
    u.add_argument("--count", type=int, default=1000)
    t = sub.add_parser("tcp")
    t.add_argument("--bytes", type=int, default=128 << 20)
    m = sub.add_parser("tcp-many")
    m.add_argument("--rounds", type=int, default=12)
    e = sub.add_parser("exit")
    e.add_argument("code", type=int)
    e.add_argument("--tries", type=int, default=1)
    a = p.parse_args()
    if ipaddress.ip_address(a.host) not in ipaddress.ip_network("10.0.5.0/24"):
        fail("only 10.0.5.0/24 may be targeted")
    {"udp": cmd_udp, "tcp": cmd_tcp, "tcp-many": cmd_tcp_many, "exit": cmd_exit}[a.cmd](a)


if __name__ == "__main__":
    main()
