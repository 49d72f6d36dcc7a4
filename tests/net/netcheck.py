#!/usr/bin/env python3
"""netcheck.py: traffic checks against the network test guest (tests/guests/net).

Every check sends real packets to the guest's echo services and compares what comes back
byte for byte. Exit status 0 means the check passed; anything else prints why.

  netcheck.py udp-echo HOST PORT COUNT        COUNT datagrams of varied sizes, each echoed exactly
  netcheck.py udp-flood HOST PORT COUNT       COUNT datagrams in windows of 32; none may be lost
  netcheck.py tcp-echo HOST PORT BYTES [N]    N connections in a row, BYTES each way per connection
  netcheck.py udp-exit HOST PORT CODE         asks the guest to exit with CODE
"""
import hashlib
import os
import random
import socket
import sys
import threading
import time


def udp_echo(host, port, count, mtu=1500):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2.0)
    rng = random.Random(1)
    biggest = mtu - 28
    for i in range(count):
        n = [1, 18, 64, 512, biggest][i % 5] if i % 7 else rng.randint(1, biggest)
        payload = bytes(rng.getrandbits(8) for _ in range(min(n, 64))) * (n // 64 + 1)
        payload = payload[:n]
        if payload.startswith(b"exit"):
            payload = b"x" + payload[1:]
        for attempt in range(3):
            s.sendto(payload, (host, port))
            try:
                data, _ = s.recvfrom(65536)
                break
            except socket.timeout:
                continue
        else:
            sys.exit(f"udp-echo: datagram {i} ({n} bytes) got no reply")
        if data != payload:
            sys.exit(f"udp-echo: datagram {i}: sent {n} bytes, got {len(data)} different bytes")
    print(f"udp-echo: {count} datagrams echoed exactly")


def udp_flood(host, port, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.settimeout(5.0)
    window, got, start = 32, 0, time.monotonic()
    seen = set()
    for base in range(0, count, window):
        n = min(window, count - base)
        for i in range(base, base + n):
            s.sendto(b"%08d" % i, (host, port))
        for _ in range(n):
            try:
                data, _ = s.recvfrom(64)
            except socket.timeout:
                sys.exit(f"udp-flood: lost packets: {got} of {base + n} came back")
            seen.add(int(data))
            got += 1
    if len(seen) != count:
        sys.exit(f"udp-flood: {len(seen)} distinct of {count}")
    dt = time.monotonic() - start
    print(f"udp-flood: {count} datagrams, none lost, {count / dt:.0f} round trips/s")


def tcp_once(host, port, nbytes):
    c = socket.create_connection((host, port), timeout=30)
    c.settimeout(60)
    sent_hash, got_hash = hashlib.sha256(), hashlib.sha256()
    err = []

    def sender():
        rng = random.Random(nbytes)
        left = nbytes
        block = bytes(rng.getrandbits(8) for _ in range(65536))
        try:
            while left:
                chunk = block[: min(left, len(block))]
                c.sendall(chunk)
                sent_hash.update(chunk)
                left -= len(chunk)
                block = block[1:] + block[:1]
            c.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=sender)
    t.start()
    got = 0
    while True:
        data = c.recv(1 << 20)
        if not data:
            break
        got_hash.update(data)
        got += len(data)
    t.join()
    c.close()
    if err:
        sys.exit(f"tcp-echo: sending failed: {err[0]}")
    if got != nbytes or got_hash.digest() != sent_hash.digest():
        sys.exit(f"tcp-echo: sent {nbytes} bytes, got {got} back" +
                 ("" if got != nbytes else " with different contents"))


def tcp_echo(host, port, nbytes, conns=1):
    start = time.monotonic()
    for _ in range(conns):
        tcp_once(host, port, nbytes)
    dt = time.monotonic() - start
    mib = nbytes * conns / (1 << 20)
    print(f"tcp-echo: {conns} connection(s), {nbytes} bytes each way, byte-exact, "
          f"{mib / dt:.2f} MiB/s each way")


def udp_exit(host, port, code):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"exit %d" % code, (host, port))


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    cmd, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    args = [int(a) for a in sys.argv[4:]]
    {"udp-echo": udp_echo, "udp-flood": udp_flood, "tcp-echo": tcp_echo,
     "udp-exit": udp_exit}[cmd](host, port, *args)


if __name__ == "__main__":
    main()
