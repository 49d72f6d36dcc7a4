#!/usr/bin/env python3
"""make_seeds.py: writes the hand-made seed inputs of the fuzz targets whose inputs are binary
layouts (hypercall, gdb_proto, fdtable, files, fdt, pt_x86, pt_aarch64, x86_emul; each layout is
in its fuzz_<name>.c). Starting points for the fuzzer; corpus/<name>/ keeps these and what
scripts/fuzz.sh merges in.
Usage: make_seeds.py CORPUS_DIR   (writes CORPUS_DIR/<target>/<seed>)
"""
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


# ---- hypercall: rows of the table (src/common/hypercall/calls.h order) ------------------------
ROW = {"write1": 0, "open1": 1, "close1": 2, "read1": 3, "exit1": 4, "lseek1": 5, "cmdsize": 6,
       "cmdval": 7, "byte1": 8, "unlink1": 9, "serbuf1": 10, "exit2": 11, "byte2": 12,
       "serbuf2": 13, "serread": 14, "write2": 15, "open2": 16, "close2": 17, "read2": 18,
       "lseek2": 19, "unlink2": 20, "getdents": 21, "stat": 22, "fstat": 23, "mkdir": 24}
H_O_RDWR, H_O_CREAT, H_O_DIRECTORY = 0x2, 0x40, 0x10000
PT_ROOT = 0x1000  # x86 identity map of the first 2 MiB: PML4 0x1000 -> PDPT 0x2000 -> PD 0x3000


def hc(calls, blocks, wide=False):
    """calls: [(row, block address)]; blocks: {gpa: bytes}. wide: pass all 64 address bits."""
    head = bytes([len(calls) - 1])
    for row, addr in calls:
        head += struct.pack("<BQ", row | (0x80 if wide or addr > 0xFFFF else 0), addr)
    head += b"\0" * (9 * (4 - len(calls)))
    head += struct.pack("<Q", PT_ROOT)
    ram = bytearray(0x3008)  # blocks and buffers below 0x1000, then the tables
    struct.pack_into("<Q", ram, 0x1000, 0x2003)
    struct.pack_into("<Q", ram, 0x2000, 0x3003)
    struct.pack_into("<Q", ram, 0x3000, 0x83)
    for gpa, b in blocks.items():
        ram[gpa:gpa + len(b)] = b
    return head + bytes(ram)


def cstr(s):
    return s.encode() + b"\0"


def open_blk(name_gpa, flags, mode=0o644):
    return struct.pack("<Qiii", name_gpa, flags, mode, -1)


def rw2(length, buf, fd):
    return struct.pack("<QqQii", length, 0, buf, fd, 0)


write("hypercall", "open_read_v2", hc(
    [(ROW["open2"], 0x100), (ROW["read2"], 0x400), (ROW["fstat"], 0x480), (ROW["close2"], 0x500)],
    {0x100: open_blk(0x200, 0), 0x200: cstr("/data/f"), 0x400: rw2(16, 0x600, 3),
     0x480: struct.pack("<iiQIi", 3, 0, 0x700, 0, 0), 0x500: struct.pack("<ii", 3, -1)}))
write("hypercall", "open_read_v1", hc(
    [(ROW["open1"], 0x100), (ROW["read1"], 0x400), (ROW["lseek1"], 0x480), (ROW["read1"], 0x400)],
    {0x100: open_blk(0x200, 0), 0x200: cstr("/data/f"),
     0x400: struct.pack("<iQQq", 3, 0x600, 16, 0), 0x480: struct.pack("<iqi", 3, 4, 0)}))
write("hypercall", "create_write_read", hc(
    [(ROW["open2"], 0x100), (ROW["write2"], 0x400), (ROW["lseek2"], 0x480), (ROW["read2"], 0x500)],
    {0x100: open_blk(0x200, H_O_RDWR | H_O_CREAT), 0x200: cstr("/data/d/new"),
     0x400: rw2(5, 0x600, 3), 0x600: b"hello", 0x480: struct.pack("<qIi", 0, 0, 3),
     0x500: rw2(5, 0x700, 3)}))
write("hypercall", "write_v1", hc(
    [(ROW["open1"], 0x100), (ROW["write1"], 0x400), (ROW["close1"], 0x500)],
    {0x100: open_blk(0x200, H_O_RDWR | H_O_CREAT), 0x200: cstr("/data/w"),
     0x400: struct.pack("<iQQ", 3, 0x600, 5), 0x600: b"hello", 0x500: struct.pack("<ii", 3, 0)}))
write("hypercall", "getdents", hc(
    [(ROW["open2"], 0x100), (ROW["getdents"], 0x400), (ROW["getdents"], 0x480),
     (ROW["getdents"], 0x480)],
    {0x100: open_blk(0x200, H_O_DIRECTORY), 0x200: cstr("/data"),
     0x400: struct.pack("<iiQQIIQ", 3, 0, 0x600, 64, 0, 0, 0),
     0x480: struct.pack("<iiQQIIQ", 3, 0, 0x700, 24, 0, 0, 0)}))
write("hypercall", "mkdir_stat_unlink", hc(
    [(ROW["mkdir"], 0x100), (ROW["stat"], 0x180), (ROW["unlink2"], 0x300), (ROW["stat"], 0x380)],
    {0x100: struct.pack("<QQIi", 0x200, 0, 0, 0), 0x200: cstr("/data/d/x"),
     0x180: struct.pack("<QIIQIi", 0x200, 0, 0, 0x800, 0, 0), 0x300: struct.pack("<Qi", 0x400, 0),
     0x400: cstr("/data/f"), 0x380: struct.pack("<QIIQIi", 0x400, 1, 0, 0x800, 0, 0)}))
write("hypercall", "wide_addresses", hc(
    [(ROW["open2"], 0x1_0000_0100), (ROW["serbuf2"], 0xFFFF_FFFF_FFFF_FFF0),
     (ROW["read2"], 0x8000_0000_0000_0400), (ROW["serbuf2"], 0x100)],
    {0x100: struct.pack("<QQ", 4, 0x200), 0x200: b"wide"}, wide=True))
write("hypercall", "serial_read", hc(
    [(ROW["serread"], 0x100), (ROW["serbuf1"], 0x180), (ROW["byte2"], 0x41)],
    {0x100: struct.pack("<QQQ", 16, 0, 0x600), 0x180: struct.pack("<QQ", 0x200, 3),
     0x200: b"abc"}))

# ---- gdb_proto: alive mask / breakpoint result, then length-prefixed packets ------------------


def gdb(cfg, pkts):
    out = bytes([cfg])
    for p in pkts:
        p = p.encode() if isinstance(p, str) else p
        out += struct.pack("<H", len(p)) + p
    return out


write("gdb_proto", "session", gdb(0x0F, ["qSupported:swbreak+;hwbreak+", "QStartNoAckMode", "?",
                                          "qfThreadInfo", "qsThreadInfo", "Hg2", "g", "qC",
                                          "m10000,40", "M10010,4:deadbeef", "p0", "P0=1122334455667788",
                                          "Z0,10020,1", "z0,10020,1", "vCont?", "vCont;s:1;c",
                                          b"\x25", "qOffsets", "T3", "D"]))
write("gdb_proto", "binary_write", gdb(0x05, [b"X10000,4:\x00\x7d\x23\x2a", "m0,0", "mffffffffffffffff,10",
                                              "Z2,10000,8", "c", b"\x09", "s", b"\x10", "k"]))
write("gdb_proto", "errors", gdb(0x25, ["Z1,10000,1", "Hg9", "Hc-1", "G00", "vCont;x", "qXfer:features:read:target.xml:0,fff",
                                        "qAttached", "qRcmd,6869", "vKill;1"]))

# ---- fdtable: one operation per byte ----------------------------------------------------------
write("fdtable", "mixed", bytes([0x00, 0x04, 0x08, 0x0C, 0x02, 0x01, 0x02, 0x05, 0xFD, 0x00, 0xFE,
                                 0x07, 0xFF, 0x02, 0x09, 0x01]))
write("fdtable", "limit", bytes([0x03] * 17 + [0x08, 0x01, 0x08, 0x05, 0x0A]))

# ---- files: opcode, argument, path NUL ---------------------------------------------------------


def fop(op, arg, path=""):
    return bytes([op, arg]) + path.encode() + b"\0"


OPEN, CLOSE, READ, WRITE, LSEEK, UNLINK, MKDIR, STAT, FSTAT, GETDENTS, RESOLVE, CLEAN = range(12)
write("files", "read_write", fop(OPEN, 0, "/data/f") + fop(READ, 0, "") + fop(OPEN, 2, "/data/d/n")
      + fop(WRITE, 1, "hello") + fop(LSEEK, 1, "\x02") + fop(READ, 1) + fop(FSTAT, 1)
      + fop(CLOSE, 0) + fop(READ, 0))
write("files", "dirs", fop(MKDIR, 0, "/data/x") + fop(MKDIR, 0, "/data/x/y") + fop(OPEN, 4, "/data")
      + fop(GETDENTS, 0x30) + fop(OPEN, 4, "/") + fop(GETDENTS, 0xF9) + fop(OPEN, 4, "/data/dl")
      + fop(GETDENTS, 0x02) + fop(STAT, 0, "/data/dl") + fop(STAT, 1, "/data/dl"))
write("files", "escape", fop(OPEN, 0, "/data/up") + fop(OPEN, 0, "/data/abs") + fop(OPEN, 0, "/data/../../etc/passwd")
      + fop(OPEN, 1, "/data/self") + fop(UNLINK, 0, "/data/up") + fop(RESOLVE, 0, "up")
      + fop(RESOLVE, 1, "dl/../../outside") + fop(RESOLVE, 0, "dl/g") + fop(RESOLVE, 9, "self")
      + fop(RESOLVE, 2, "abs") + fop(RESOLVE, 3, "d/new") + fop(RESOLVE, 7, "dl/x"))
write("files", "temp_and_single", fop(OPEN, 2, "/tmp/a") + fop(WRITE, 0, "x" * 20) + fop(MKDIR, 0, "/tmp/b")
      + fop(OPEN, 2, "/tmp/b/c") + fop(OPEN, 6, "/single/file") + fop(WRITE, 1, "new")
      + fop(UNLINK, 0, "/single/file") + fop(STAT, 0, "/single") + fop(OPEN, 4, "/single")
      + fop(GETDENTS, 0x40))
write("files", "read_only", fop(OPEN, 0, "/ro/r") + fop(READ, 0) + fop(WRITE, 0, "x")
      + fop(OPEN, 1, "/ro/new") + fop(OPEN, 2, "/ro/r") + fop(OPEN, 5, "/ro/rl/h")
      + fop(OPEN, 7, "/ro/w/../r") + fop(UNLINK, 0, "/ro/r") + fop(MKDIR, 0, "/ro/x")
      + fop(MKDIR, 0, "/ro/rd") + fop(OPEN, 2, "/ro/w/n") + fop(WRITE, 1, "nested")
      + fop(MKDIR, 0, "/ro/w/m") + fop(OPEN, 4, "/ro") + fop(GETDENTS, 0x32) + fop(OPEN, 0, "/ro/ru")
      + fop(UNLINK, 0, "/ro/w") + fop(STAT, 1, "/ro/rl") + fop(OPEN, 3, "//ro/./rd/../rl/h"))
write("files", "clean", fop(CLEAN, 0, "/a/./b//../c/") + fop(CLEAN, 0, "../../..") + fop(CLEAN, 0, "\xff\xfe")
      + fop(CLEAN, 0, "a" * 300) + fop(OPEN, 0, "/data/" + "a" * 300))

# ---- fdt: vCPUs-1, pci|tsc, mem size, guest base, strings ---------------------------------------


def fdt(ncpus, flags, mem, base, args, env, mounts):
    s = b"".join(a.encode() + b"\0" for a in args) + b"\0"
    s += b"".join(e.encode() + b"\0" for e in env) + b"\0"
    s += b"".join(m.encode() + b"\0" for m in mounts)
    return bytes([ncpus - 1, flags]) + struct.pack("<QQ", mem, base) + s


write("fdt", "plain", fdt(1, 0, 64 << 20, 0, ["-v"], [], []))
write("fdt", "full", fdt(4, 0x05, 1 << 30, 0x40000000, ["-freq", "2000", "--", "app arg", "it's"],
                         ["HOME=/", "A=b c", "EMPTY=", "X"], ["/data", "/tmp", "/root/sub"]))
write("fdt", "many_cpus", fdt(255, 0x01, 8 << 30, 0, [], ["K=" + "v" * 2000], ["/m"]))

# ---- pt_x86 / pt_aarch64: base select, root, va, len, RAM ---------------------------------------


def pt(base_sel, root, va, length, entries):
    ram = bytearray(0x6000)
    for gpa, e in entries:
        struct.pack_into("<Q", ram, gpa, e)
    return bytes([base_sel]) + struct.pack("<QQH", root, va, length) + bytes(ram)


# x86: PML4 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000; 4 KiB pages 0 and 1 swapped, a 2 MiB
# leaf at 2 MiB (outside RAM), a 1 GiB leaf at 1 GiB
X86 = [(0x1000, 0x2003), (0x2000, 0x3003), (0x2008, 0x40000083), (0x3000, 0x4003),
       (0x3008, 0x200083), (0x4000, 0x1003), (0x4008, 0x0003), (0x4010, 0x5003)]
write("pt_x86", "pages", pt(0, 0x1000, 0x0F00, 0x2200, X86))
write("pt_x86", "leaf_1g", pt(0, 0x1000, 0x40000000, 0x100, X86))
write("pt_x86", "outside", pt(0, 0x1000, 0x200000, 16, X86))
write("pt_x86", "base_1g", pt(1, 0x40001000, 0x0, 0x10, [(g, e + (0x40000000 if e & 1 else 0)) for g, e in X86]))
write("pt_x86", "noncanonical", pt(0, 0x1000, 0x0000800000000000, 8, X86))
# aarch64: L0 0x1000 -> L1 0x2000 -> L2 0x3000 -> L3 0x4000 (table/page = 0b11, block = 0b01)
A64 = [(0x1000, 0x2003), (0x2000, 0x3003), (0x2008, 0x40000001), (0x3000, 0x4003),
       (0x3008, 0x200001), (0x4000, 0x1003), (0x4008, 0x0003), (0x4010, 0x5001)]
write("pt_aarch64", "pages", pt(0, 0x1000, 0x0F00, 0x2200, A64))
write("pt_aarch64", "block_1g", pt(0, 0x1000, 0x40000000, 0x100, A64))
write("pt_aarch64", "bad_l3", pt(0, 0x1000, 0x2000, 8, A64))
write("pt_aarch64", "high_va", pt(0, 0x1000, 0x0001000000000000, 8, A64))

# ---- x86_emul: insn, n, xcr0, regs, sregs, flags, cpuid, RAM -----------------------------------
CR4_OSXSAVE, EFER_LMA = 1 << 18, 1 << 10


def emul(insn, xcr0=0x7, rax=0x7, rcx=0, rdx=0, rbx=0x1000, rsi=0, rdi=0, rip=0x3000, cr0=0x80000011,
         cr3=0x4000, cr4=CR4_OSXSAVE | 0x20, efer=EFER_LMA | 0x100, flags=1, comps=((256, 576),),
         area=b"", pd=0x83):
    ib = bytes(insn)
    h = ib + b"\0" * (15 - len(ib)) + bytes([len(ib)])
    h += struct.pack("<Q", xcr0) + struct.pack("<7Q", rax, rcx, rdx, rbx, rsi, rdi, rip)
    h += struct.pack("<4Q", cr0, cr3, cr4, efer) + bytes([flags])
    c = list(comps) + [(0, 0)] * (8 - len(comps))
    h += b"".join(struct.pack("<HH", s, o) for s, o in c)
    ram = bytearray(0x6008)
    struct.pack_into("<Q", ram, 0x4000, 0x5003)  # PML4 -> PDPT -> PD: 2 MiB identity, writable
    struct.pack_into("<Q", ram, 0x5000, 0x6003)
    struct.pack_into("<Q", ram, 0x6000, pd)
    ram[0x1000:0x1000 + len(area)] = area
    return h + bytes(ram)


write("x86_emul", "xgetbv", emul([0x0F, 0x01, 0xD0]))
write("x86_emul", "xsave_rbx", emul([0x0F, 0xAE, 0x23]))
write("x86_emul", "xsave64_sib_disp8", emul([0x48, 0x0F, 0xAE, 0x64, 0x33, 0x40], rax=0xFF, rbx=0xFC0))
hdr = bytearray(576)
struct.pack_into("<I", hdr, 24, 0x1F80)
struct.pack_into("<Q", hdr, 512, 0x3)
write("x86_emul", "xrstor_rbx", emul([0x0F, 0xAE, 0x2B], area=bytes(hdr)))
write("x86_emul", "xrstor64_rip_rel", emul([0x48, 0x0F, 0xAE, 0x2D, 0x00, 0xE0, 0xFF, 0xFF], rip=0x2FF8,
                                           flags=3, area=bytes(hdr)))
write("x86_emul", "xsave_prefix", emul([0x66, 0x0F, 0xAE, 0x23]))
write("x86_emul", "xsave_r8", emul([0x41, 0x0F, 0xAE, 0x20]))
# a read-only 2 MiB page with CR0.WP: the CPU raises #PF (kvm_x86_64_emul.c injects it)
write("x86_emul", "xsave_ro_page", emul([0x0F, 0xAE, 0x23], cr0=0x80010011, pd=0x81))
write("x86_emul", "not_ours", emul([0x0F, 0xAE, 0xF0]))
