#!/usr/bin/env python3
"""gdb_cases.py: Debian's gdb in batch mode against `chyve -s PORT gdb_target`, one case per
function; each asserts what gdb shows, chyve's exit status and the guest's output.
Usage: gdb_cases.py [CASE...]  (env: CHYVE, GUEST_DIR, optional GDB). Exits 0, 1 or 77 (skip).
tests/arm64/arm64_gdb.py runs the same cases on the aarch64 guests (ARCH "aarch64")."""

import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

GDB_TIMEOUT = 120
ROUNDS = 3
SW_BREAK_WORDS = ("software breakpoint", "int3", "breakpoint instruction")
WATCH_WORDS = ("watchpoint",)

# What the cases name per guest architecture: the pc's name in gdb, a scratch register (on
# aarch64 the first argument: the guest then prints the value written as gdb_checkpoint's round),
# the register holding the CPU number at entry, the sizes of the first two instructions at
# _start, the register lines target.xml's floating-point feature brings, the pc's number in `p`.
# tests/arm64/arm64_gdb.py sets ARCH to the aarch64 entry.
ARCHES = {
    "x86_64": {"pc": "rip", "scratch": "rax", "cpu": "rsi", "steps": (1, 1),
               "fp": ("info registers st0", r"^st0\s+\S", "info registers xmm0", r"^xmm0\s+\{",
                      "info registers mxcsr", r"^mxcsr\s+0x[0-9a-f]+",
                      "info registers fctrl", r"^fctrl\s+0x[0-9a-f]+"),
               "pc_regnum": 16},
    "aarch64": {"pc": "pc", "scratch": "x0", "scratch_is_arg": True, "cpu": "x1",
                "steps": (4, 4),
                "fp": ("info registers v0", r"^v0\s+\{", "info registers d0", r"^d0\s+\{",
                       "info registers fpsr", r"^fpsr\s+0x[0-9a-f]+",
                       "info registers fpcr", r"^fpcr\s+0x[0-9a-f]+"),
                "pc_regnum": 32},
}
ARCH = ARCHES["x86_64"]


def gdb_path():
    g = os.environ.get("GDB") or shutil.which("gdb")
    if not g:
        if os.environ.get("CI") == "true":
            raise h.Fail("no gdb (scripts/setup.sh installs it)")
        raise h.Skip("no gdb installed (scripts/setup.sh installs it)")
    return g


def full_output(out, counter_from=1, cpus=1):
    """Fails unless out is the guest's complete run from round 1 to 'done'."""
    h.check(re.search(r"^gdb_target: image 0x[0-9a-f]+ pattern 0xde$", out, re.M) is not None,
            "the guest's first line is missing", out)
    h.check("gdb_target: %d of %d cpus online\n" % (cpus, cpus) in out,
            "not all %d cpus came online" % cpus, out)
    for i in range(1, ROUNDS + 1):
        line = "gdb_target: counter %d (round %d)\n" % (counter_from + i - 1, i)
        h.check(line in out, "missing %r in the guest's output" % line, out)
    h.check(out.endswith("gdb_target: done\n"), "the guest's output does not end with done", out)


def exited_with(gdb_out, code):
    """Fails unless gdb saw the inferior exit with code (gdb prints it in octal)."""
    want = "exited with code 0%o]" % code  # gdb prints it as 0 plus octal digits
    h.check(want in gdb_out, "gdb did not report '%s'" % want, gdb_out)


def value(gdb_out, key):
    """The integer printed by our `printf "KEY=%#lx\\n", ...` lines (the last one)."""
    m = re.findall(r"^%s=(0x[0-9a-f]+|0)$" % re.escape(key), gdb_out, re.M)
    h.check(m, "gdb printed no %s= line" % key, gdb_out)
    return int(m[-1], 16)


def pv(key, expr):
    return 'printf "%s=%%#lx\\n", (unsigned long)(%s)' % (key, expr)


class Session:
    """chyve -s PORT guest (started at construction) plus one gdb batch run."""

    def __init__(self, guest="gdb_target", extra=None, how="-s", env=None):
        self.chyve_bin, guests = h.env_paths()
        self.gdb = gdb_path()
        self.guest = h.guest(guests, guest)
        self.syms = h.elf_symbols(self.guest)
        self.c, self.port = h.start_stub(self.chyve_bin, self.guest, extra, env, how)

    def run(self, cmds, before=()):
        """Runs gdb -nx -batch on the guest's ELF with `before`, target remote, then cmds (each
        one -ex, so one failing command does not end the script). Returns stdout+stderr."""
        argv = [self.gdb, "-nx", "-batch", "-ex", "set confirm off", "-ex", "set pagination off",
                "-ex", "set width 0"]
        for c in list(before) + ["target remote :%d" % self.port] + list(cmds):
            argv += ["-ex", c]
        try:
            p = subprocess.run(argv + [self.guest], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=GDB_TIMEOUT)
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace")
            raise h.Fail("gdb still runs after %d s" % GDB_TIMEOUT,
                         out + "\n" + self.c.describe())
        self.gdb_out = p.stdout.decode(errors="replace")
        return self.gdb_out

    def detail(self):
        return "gdb:\n" + getattr(self, "gdb_out", "") + "\n" + self.c.describe()

    def status(self, want, timeout=60):
        st = self.c.wait(timeout)
        h.check(st == want, "chyve exited with %s, want %d" % (st, want), self.detail())

    def sym(self, name):
        return self.syms[name][0]


def case(fn):
    """Runs fn(session-maker) so that every chyve it started is killed at the end."""
    def wrapped():
        made = []

        def make(*a, **k):
            s = Session(*a, **k)
            made.append(s)
            return s
        try:
            fn(make)
        finally:
            for s in made:
                s.c.stop()
    wrapped.__name__ = fn.__name__
    return wrapped


@case
def entry_and_exit(make):
    """At connect the one vCPU is stopped at _start; continue runs the guest to exit 7."""
    s = make()
    out = s.run(["info symbol $pc", pv("PC", "$pc"), "info threads", "continue"])
    h.check(value(out, "PC") == s.sym("_start"),
            "pc at connect is not _start (0x%x)" % s.sym("_start"), s.detail())
    h.check(re.search(r"^_start in section \.text", out, re.M), "not stopped in _start", out)
    exited_with(out, 7)
    s.status(7)
    full_output(s.c.out())


@case
def hbreak_registers(make):
    """hbreak gdb_checkpoint stops there with the counter not yet bumped, twice; registers are
    read (rip) and written (rax); qOffsets is 0 for this fixed-address guest."""
    s = make()
    fn = s.sym("gdb_checkpoint")
    out = s.run(["hbreak gdb_checkpoint", "continue", pv("PC", "$pc"),
                 pv("FN", "gdb_checkpoint"), "info registers " + ARCH["pc"],
                 pv("C1", "gdb_counter"), "continue", pv("C2", "gdb_counter"),
                 "set var $%s = 0x1234abcd" % ARCH["scratch"], pv("RAX", "$" + ARCH["scratch"]),
                 "delete", "continue"])
    h.check(value(out, "FN") == fn, "gdb relocated the symbols of an ET_EXEC guest", s.detail())
    h.check(value(out, "PC") == fn, "pc is not gdb_checkpoint (0x%x)" % fn, s.detail())
    h.check(re.search(r"^%s\s+0x%x\s+0x%x <gdb_checkpoint>" % (ARCH["pc"], fn, fn), out, re.M),
            "info registers %s does not show gdb_checkpoint" % ARCH["pc"], s.detail())
    h.check(value(out, "C1") == 0 and value(out, "C2") == 1,
            "gdb_counter is not 0 then 1 at the two stops", s.detail())
    h.check(value(out, "RAX") == 0x1234ABCD, ARCH["scratch"] + " was not written", s.detail())
    exited_with(out, 7)
    s.status(7)
    out = s.c.out()
    if ARCH.get("scratch_is_arg"):
        line = "gdb_target: counter 2 (round %d)\n" % 0x1234ABCD
        h.check(line in out, "the guest did not see %s written" % ARCH["scratch"], s.detail())
        out = out.replace(line, "gdb_target: counter 2 (round 2)\n")
    full_output(out)


@case
def set_exit_code(make):
    """set var gdb_exit_code = 42 at the first stop: the guest exits 42, output complete."""
    s = make()
    out = s.run(["hbreak gdb_checkpoint", "continue", "set var gdb_exit_code = 42",
                 pv("E", "gdb_exit_code"), "delete", "continue"])
    h.check(value(out, "E") == 42, "gdb_exit_code does not read back 42", s.detail())
    exited_with(out, 42)
    s.status(42)
    full_output(s.c.out())


@case
def memory(make):
    """x/4xb on the guest's pattern and on an unmapped address; a memory write the guest sees."""
    s = make()
    out = s.run(["x/4xb &gdb_pattern", "x/4xb 0xffff800000000000", "set var gdb_counter = 5",
                 pv("C", "gdb_counter"), "continue"])
    pat = s.sym("gdb_pattern")
    h.check(re.search(r"^0x%x <gdb_pattern>:\s+0xde\s+0xad\s+0xbe\s+0xef$" % pat, out, re.M),
            "x/4xb &gdb_pattern does not show de ad be ef", s.detail())
    h.check("Cannot access memory at address 0xffff800000000000" in out,
            "reading an unmapped address did not fail", s.detail())
    h.check(value(out, "C") == 5, "gdb_counter does not read back 5", s.detail())
    exited_with(out, 7)
    s.status(7)
    full_output(s.c.out(), counter_from=6)


@case
def stepi(make):
    """stepi from _start moves pc over cli (1 byte) then cld (1 byte) (aarch64: two 4-byte
    msr)."""
    s = make()
    out = s.run([pv("P0", "$pc"), "stepi", pv("P1", "$pc"), "stepi", pv("P2", "$pc"),
                 "continue"])
    st = s.sym("_start")
    a, b = ARCH["steps"]
    got = (value(out, "P0"), value(out, "P1"), value(out, "P2"))
    h.check(got == (st, st + a, st + a + b),
            "pc after 0, 1, 2 stepi is %s, want _start+0/%d/%d" % ([hex(x) for x in got], a, a + b),
            s.detail())
    exited_with(out, 7)
    s.status(7)
    full_output(s.c.out())


@case
def threads(make):
    """-c 2: two threads, each vCPU with its own entry registers (RSI / X1 = CPU number)."""
    s = make(extra=["-c", "2"])
    cpu = "$" + ARCH["cpu"]
    out = s.run(["info threads", "thread 2", pv("RSI2", cpu), pv("PC2", "$pc"), "thread 1",
                 pv("RSI1", cpu), "stepi", pv("PS", "$pc"), "thread 2", pv("PC2B", "$pc"),
                 "continue"])
    rows = re.findall(r"^\*?\s+(\d+)\s+Thread ", out, re.M)
    h.check(rows == ["1", "2"], "info threads shows %s, want threads 1 and 2" % rows, s.detail())
    h.check(value(out, "RSI1") == 0 and value(out, "RSI2") == 1,
            "%s of thread 1/2 is not 0/1" % ARCH["cpu"], s.detail())
    h.check(value(out, "PC2") == s.sym("_start"), "thread 2 is not at _start", s.detail())
    # After switching threads, stepi steps thread 1 only, and its registers are the ones shown.
    h.check(value(out, "PS") == s.sym("_start") + ARCH["steps"][0],
            "stepi in thread 1 did not move its pc",
            s.detail())
    h.check(value(out, "PC2B") == s.sym("_start"), "thread 2 moved while thread 1 stepped",
            s.detail())
    exited_with(out, 7)
    s.status(7)
    out = s.c.out()
    h.check("gdb_target: cpu 1 online\n" in out, "cpu 1 did not run", out)
    full_output(out, cpus=2)


@case
def detach(make):
    """detach at a breakpoint (port from HERMIT_GDB_PORT): breakpoints go, the guest runs on to
    its own end."""
    s = make(how="env")
    out = s.run(["hbreak gdb_checkpoint", "continue", pv("C", "gdb_counter"), "detach"])
    h.check(value(out, "C") == 0, "not stopped at the first round", s.detail())
    s.status(7)
    full_output(s.c.out())


@case
def kill(make):
    """kill at a breakpoint (--gdb-port): chyve exits 3 saying so; the guest ran no further."""
    s = make(how="--gdb-port")
    s.run(["hbreak gdb_checkpoint", "continue", "kill"])
    s.status(3)
    h.check("chyve: error: killed by the debugger" in s.c.err(), "no 'killed' line", s.detail())
    h.check("counter" not in s.c.out(), "the guest ran past the breakpoint", s.detail())


@case
def fp_registers(make):
    """target.xml brings the x87 and SSE registers: st0, xmm0, mxcsr are shown (aarch64: the
    fpu feature's v0, its d0 view, fpsr, fpcr)."""
    s = make()
    fp = ARCH["fp"]
    out = s.run(list(fp[0::2]) + ["continue"])
    for pat in fp[1::2]:
        h.check(re.search(pat, out, re.M), "no register line /%s/" % pat, s.detail())
    h.check("Invalid register" not in out, "gdb does not know a register", s.detail())
    exited_with(out, 7)
    s.status(7)


@case
def qoffsets_dyn(make):
    """The relocatable guest: gdb relocates its symbols by qOffsets, which is chyve's load
    offset (the image address the guest prints); hbreak then stops at the relocated address."""
    s = make(guest="gdb_target_dyn")
    out = s.run(["hbreak gdb_checkpoint", "continue", pv("PC", "$pc"),
                 pv("RELOC", "gdb_checkpoint"), pv("C", "gdb_counter"), "delete", "continue"],
                before=[pv("UNRELOC", "gdb_checkpoint")])
    m = re.search(r"^gdb_target: image 0x([0-9a-f]+) pattern 0xde$", s.c.out(), re.M)
    h.check(m, "the guest printed no image line", s.detail())
    base = int(m.group(1), 16)
    h.check(value(out, "UNRELOC") == s.sym("gdb_checkpoint"), "ELF address differs", s.detail())
    h.check(value(out, "RELOC") - value(out, "UNRELOC") == base,
            "gdb moved the symbols by something else than the load offset 0x%x" % base,
            s.detail())
    h.check(value(out, "PC") == value(out, "RELOC"), "not stopped at gdb_checkpoint",
            s.detail())
    h.check(value(out, "C") == 0, "gdb_counter is not read at its relocated address",
            s.detail())
    exited_with(out, 7)
    s.status(7)
    full_output(s.c.out())


def host_cannot(s, words):
    """Skips when chyve said this host cannot do what one of words names."""
    lines = [ln for ln in s.c.not_on_host() if any(w in ln.lower() for w in words)]
    if lines:
        raise h.Skip(lines[0])


@case
def sw_break(make):
    """break (Z0, software) gdb_checkpoint: stops twice, then the guest ends normally."""
    s = make()
    out = s.run(["break gdb_checkpoint", "continue", "info symbol $pc", pv("C1", "gdb_counter"),
                 "continue", pv("C2", "gdb_counter"), "delete", "continue"])
    host_cannot(s, SW_BREAK_WORDS)
    h.check(re.search(r"^gdb_checkpoint(\s+\+\s+\d+)? in section \.text", out, re.M),
            "not stopped in gdb_checkpoint", s.detail())
    h.check(value(out, "C1") == 0 and value(out, "C2") == 1,
            "gdb_counter is not 0 then 1 at the two stops", s.detail())
    exited_with(out, 7)
    s.status(7)
    full_output(s.c.out())


@case
def watch(make):
    """watch gdb_counter (Z2): stops after the first write with old 0, new 1."""
    s = make()
    out = s.run(["watch gdb_counter", "continue", "info symbol $pc", "delete", "continue"])
    host_cannot(s, WATCH_WORDS)
    h.check(re.search(r"Hardware watchpoint 1: gdb_counter\s+Old value = 0\s+New value = 1",
                      out), "the watchpoint did not report 0 -> 1", s.detail())
    h.check(re.search(r"^gdb_checkpoint \+ \d+ in section \.text", out, re.M),
            "the write was not in gdb_checkpoint", s.detail())
    exited_with(out, 7)
    s.status(7)
    full_output(s.c.out())


@case
def awatch(make):
    """awatch gdb_exit_code (Z4): stops when main reads it at the end (value 7)."""
    s = make()
    out = s.run(["awatch gdb_exit_code", "continue", "delete", "continue"])
    host_cannot(s, WATCH_WORDS)
    h.check(re.search(r"Hardware access \(read/write\) watchpoint 1: gdb_exit_code\s+Value = 7",
                      out), "the access watchpoint did not report value 7", s.detail())
    exited_with(out, 7)
    s.status(7)
    full_output(s.c.out())


@case
def interrupt(make):
    """Ctrl-C (0x03 from a raw client) stops a spinning guest in gdb_spin: T02, the spin
    counter stands still; D lets it run on to exit 7."""
    s = make(extra=["--", "--", "spin"])
    lo, size = s.syms["gdb_spin"]
    spins = s.sym("gdb_spins")
    r = h.Rsp(s.port)
    try:
        h.check(r.ask("?").startswith("T05thread:01;"), "? at connect is not T05thread:01;")
        r.send(h.frame(b"c"))
        h.check(r.read_ack() == "+", "c not acknowledged")
        deadline = time.monotonic() + 60
        while "gdb_target: spinning" not in s.c.out():
            h.check(time.monotonic() < deadline, "the guest never started spinning", s.detail())
            time.sleep(0.1)
        time.sleep(1)
        r.send(b"\x03")
        stop = r.read_packet()
        h.check(re.match(r"T02thread:0*[12];", stop), "Ctrl-C answered %r, want T02" % stop)
        pc = h.le_hex(r.ask("p%x" % ARCH["pc_regnum"]))  # rip 16 (x86-64), pc 32 (aarch64)
        h.check(lo <= pc < lo + size, "stopped at 0x%x, not in gdb_spin" % pc, s.detail())
        a = h.le_hex(r.ask("m%x,8" % spins))
        time.sleep(0.5)
        b = h.le_hex(r.ask("m%x,8" % spins))
        h.check(a == b and a > 0, "gdb_spins %d then %d: the guest is not stopped" % (a, b))
        h.check(r.ask("D") == "OK", "D not answered OK")
    finally:
        r.close()
    s.status(7, timeout=90)
    out = s.c.out()
    h.check("gdb_target: spun\n" in out, "the spin did not end", out)
    full_output(out)


CASES = {f.__name__: f for f in (entry_and_exit, hbreak_registers, set_exit_code, memory, stepi,
                                 threads, detach, kill, fp_registers, qoffsets_dyn, sw_break,
                                 watch, awatch, interrupt)}

if __name__ == "__main__":
    sys.exit(h.main(CASES, sys.argv))
