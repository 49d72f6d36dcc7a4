#!/usr/bin/env python3
"""make_virtio_seeds.py: writes the seed inputs of fuzz_virtio (layout: fuzz_virtio.c).

A driver's normal start and one transmitted frame, then the same with a descriptor cycle, an
avail index run away and rings outside guest RAM: starting points for the fuzzer to mutate.
Usage: make_virtio_seeds.py DIR
"""
import struct
import sys

LEN = {1: 0, 2: 1, 4: 2, 8: 3}


def op(kind, off, length, value):
    return struct.pack("<BHBQ", kind, off, LEN[length], value)


def bar(off, length, value):
    return op(0, off, length, value)


def init(q_desc, q_avail, q_used, size=4):
    o = op(2, 4, 2, 6)  # command: memory + bus master
    for st in (0, 1, 3):
        o += bar(0x14, 1, st)
    o += bar(0x08, 4, 1) + bar(0x0C, 4, 1)  # driver features, high word: VERSION_1
    o += bar(0x08, 4, 0) + bar(0x0C, 4, 1 << 5)  # low word: MAC
    o += bar(0x14, 1, 0x0B)  # FEATURES_OK
    o += bar(0x16, 2, 1) + bar(0x18, 2, size)  # TX queue
    o += bar(0x20, 8, q_desc) + bar(0x28, 8, q_avail) + bar(0x30, 8, q_used)
    o += bar(0x1C, 2, 1) + bar(0x14, 1, 0x0F)  # enable, DRIVER_OK
    return o


def ram(descs, avail_idx, ring):
    img = bytearray(0x2100)
    for i, (addr, length, flags, nxt) in enumerate(descs):
        struct.pack_into("<QIHH", img, 0x1000 + 16 * i, addr, length, flags, nxt)
    struct.pack_into("<HH", img, 0x1100, 0, avail_idx)
    for i, head in enumerate(ring):
        struct.pack_into("<H", img, 0x1104 + 2 * i, head)
    img[0x2000 + 12:0x2000 + 24] = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01"
    return bytes(img)


kick = bar(0x300 + 4, 2, 1) + bar(0x100, 1, 0)  # notify TX, read the ISR
frame = [(0x2000, 12, 1, 1), (0x200C, 60, 0, 0)]
good = init(0x1000, 0x1100, 0x1200) + kick
seeds = {  # name: (operations, guest RAM)
    "tx_one_frame": (good, ram(frame, 1, [0])),
    "descriptor_cycle": (good, ram([(0x2000, 12, 1, 1), (0x200C, 60, 1, 0)], 1, [0])),
    "avail_runaway": (good, ram(frame, 1000, [0])),
    "rings_outside_ram": (init(0xFFFF0000, 0x1100, 0x7FFFFFFFFFFF) + kick, ram(frame, 1, [0])),
    "reset_and_again": (good + bar(0x14, 1, 0) + good, ram(frame, 1, [0])),
}
for name, data in seeds.items():
    ops, image = data
    assert len(ops) % 12 == 0 and len(ops) // 12 < 256
    with open(f"{sys.argv[1]}/{name}", "wb") as f:
        f.write(bytes([len(ops) // 12]) + ops + image)
