"""harness.py: what the GDB suite's drivers share: chyve under -s PORT, free ports, the guest's
ELF symbols, a raw GDB remote-protocol client, and the skip/fail conventions (exit 77 = skip)."""

import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77
WAITING = "chyve: gdb: waiting for the debugger on 127.0.0.1:{port} and [::1]:{port}"
NOT_ON_HOST = "chyve: gdb: not on this host:"


class Skip(Exception):
    """The host cannot check this case; the message says why."""


class Fail(Exception):
    """The case found chyve doing something else than the stub's documented behaviour."""


def check(cond, what, detail=""):
    """Raises Fail(what + detail) unless cond."""
    if not cond:
        raise Fail(what + ("\n--- detail ---\n" + detail if detail else ""))


# An Agent when chyve runs inside the emulated arm64 machine (tests/arm64/arm64_gdb.py): then
# start_stub starts it there and the debugger reaches the stub through the agent's relay port.
REMOTE = None


def env_paths():
    """CHYVE and GUEST_DIR from the environment (meson sets them); skips without /dev/kvm.
    With REMOTE, CHYVE is the agent's and GUEST_DIR holds the host's copies of the guests."""
    chyve = os.environ.get("CHYVE")
    guests = os.environ.get("GUEST_DIR")
    if REMOTE is not None:
        chyve = REMOTE.chyve
    if not chyve or not guests:
        raise Fail("CHYVE and GUEST_DIR must be set (meson test sets them)")
    if REMOTE is None and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        raise Skip("no usable /dev/kvm")
    return chyve, guests


def guest(guests, name):
    """The path of test guest name, or Skip when this build does not make it."""
    p = os.path.join(guests, name)
    if not os.path.exists(p):
        raise Skip("this build makes no guest " + name)
    return p


def free_port():
    """A TCP port free on both 127.0.0.1 and ::1 right now (the stub listens on both)."""
    for _ in range(50):
        s4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s4.bind(("127.0.0.1", 0))
        port = s4.getsockname()[1]
        try:
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            try:
                s6.bind(("::1", port))
            finally:
                s6.close()
        except OSError as e:
            if e.errno == 99:  # EADDRNOTAVAIL: no IPv6 loopback, the port is still fine
                s4.close()
                return port
            s4.close()
            continue
        s4.close()
        return port
    raise Fail("found no free TCP port")


class Chyve:
    """One chyve process in its own session, output in files; always end it with stop()."""

    def __init__(self, chyve, args, env=None):
        self.dir = tempfile.TemporaryDirectory(prefix="chyve-gdb-")
        self.out_path = os.path.join(self.dir.name, "stdout")
        self.err_path = os.path.join(self.dir.name, "stderr")
        e = {k: v for k, v in os.environ.items() if not k.startswith("HERMIT_")}
        e.update(env or {})
        self.argv = [chyve] + args
        with open(self.out_path, "wb") as o, open(self.err_path, "wb") as er:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=o,
                                         stderr=er, env=e, start_new_session=True)

    def out(self):
        with open(self.out_path, "r", errors="replace") as f:
            return f.read()

    def err(self):
        with open(self.err_path, "r", errors="replace") as f:
            return f.read()

    def not_on_host(self):
        """The stub's 'not on this host' lines."""
        return [ln for ln in self.err().splitlines() if ln.startswith(NOT_ON_HOST)]

    def describe(self):
        return "argv: %s\nstatus: %s\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(self.argv), self.proc.poll(), self.out(), self.err())

    def wait_listening(self, port, timeout=60):
        """Waits for the stub's waiting line; Skip if chyve refuses -s, Fail on anything else."""
        want = WAITING.format(port=port)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if want in self.err():
                return
            if self.proc.poll() is not None:
                err = self.err()
                if "no GDB stub" in err or ("'-s'" in err and "not supported" in err):
                    raise Skip("chyve refuses -s: " + err.strip().splitlines()[-1])
                raise Fail("chyve ended before it waited for the debugger", self.describe())
            time.sleep(0.05)
        raise Fail("chyve never printed '%s'" % want, self.describe())

    def wait(self, timeout=60):
        """The exit status (negative: killed by that signal); Fail if chyve is still running."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail("chyve still runs %d s later (hangs)" % timeout, self.describe())

    def stop(self):
        """Kills chyve's whole session if it still runs, and reaps it."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.dir.cleanup()


class Agent:
    """The control connection to tests/arm64/gdb_agent.c inside the emulated arm64 machine:
    starts chyve there (one at a time) and relays the debugger's connections to its stub."""

    chyve = "/chyve"
    guest_dir = "/guests"

    def __init__(self, sock, relay_port, timeout=60):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.relay_port = relay_port
        self.buf = b""
        self.next_port = 6000

    def _line(self):
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise Fail("the arm64 agent did not answer in time")
            if not chunk:
                raise Fail("the arm64 agent closed the control connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("latin-1")

    def ask(self, request):
        """Sends one request line, returns the reply line."""
        check("\n" not in request, "a newline in an agent request")
        self.sock.sendall(request.encode("latin-1") + b"\n")
        return self._line()

    def data(self, request):
        """The bytes of a "data LEN" reply (out, err) as str."""
        head = self.ask(request)
        check(head.startswith("data "), "the agent answered %r to %s" % (head, request))
        n = int(head[5:])
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Fail("the arm64 agent closed the control connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out.decode("utf-8", errors="replace")

    def port(self):
        """A fresh port for the stub inside the machine (nothing else listens there)."""
        self.next_port += 1
        return self.next_port


class RemoteChyve(Chyve):
    """Chyve's interface for one chyve run by the Agent inside the emulated machine."""

    def __init__(self, agent, args, env=None):  # pylint: disable=super-init-not-called
        self.agent = agent
        self.argv = [agent.chyve] + args
        self.status = None
        self.proc = self  # describe() and the cases call proc.poll()
        for k, v in (env or {}).items():
            check(agent.ask("env %s=%s" % (k, v)) == "ok", "the agent refused env " + k)
        for a in args:
            check(agent.ask("arg " + a) == "ok", "the agent refused arg " + a)

    def start(self, port):
        r = self.agent.ask("start %d" % port)
        check(r == "ok", "the agent did not start chyve: " + r)

    def out(self):
        return self.agent.data("out")

    def err(self):
        return self.agent.data("err")

    def poll(self):
        if self.status is None:
            r = self.agent.ask("poll").split()
            if r[0] == "exit":
                self.status = int(r[1])
            elif r[0] == "signal":
                self.status = -int(r[1])
        return self.status

    def wait(self, timeout=60):
        end = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > end:
                raise Fail("chyve still runs %d s later (hangs)" % timeout, self.describe())
            time.sleep(0.1)
        return self.status

    def stop(self):
        check(self.agent.ask("kill") == "ok", "the agent did not kill chyve")


def start_stub(chyve, guest_path, extra=None, env=None, how="-s"):
    """Starts chyve on guest_path with the stub on a free port; returns (Chyve, port). how: '-s',
    '--gdb-port' or 'env' (HERMIT_GDB_PORT). extra: chyve options before the kernel, and
    application arguments after it ('--', '--', ...)."""
    port = free_port() if REMOTE is None else REMOTE.port()
    if REMOTE is not None:
        guest_path = REMOTE.guest_dir + "/" + os.path.basename(guest_path)
    pre, post = [], []
    for a in extra or []:
        (post if post or a == "--" else pre).append(a)
    env = dict(env or {})
    if how == "env":
        env["HERMIT_GDB_PORT"] = str(port)
        args = pre + [guest_path] + post
    else:
        args = pre + [how, str(port), guest_path] + post
    if REMOTE is None:
        c = Chyve(chyve, args, env)
    else:
        c = RemoteChyve(REMOTE, args, env)
        c.start(port)
    try:
        c.wait_listening(port)
    except BaseException:
        c.stop()
        raise
    return c, (port if REMOTE is None else REMOTE.relay_port)


def elf_symbols(path):
    """{name: (value, size)} from the ELF64 little-endian file's .symtab."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, path + " is no ELF64 LE")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    syms = {}
    for s in secs:
        if s[1] != 2:  # SHT_SYMTAB
            continue
        strtab = secs[s[6]]
        for off in range(s[4], s[4] + s[5], 24):
            name, _info, _other, _shndx, value, size = struct.unpack_from("<IBBHQQ", data, off)
            start = strtab[4] + name
            end = data.index(b"\0", start)
            syms[data[start:end].decode()] = (value, size)
    return syms


def checksum(payload):
    return sum(payload) & 0xFF


def decode(payload):
    """A packet's payload with its escapes ('}' x^0x20) and run lengths ('*' N-29) undone."""
    out, i = bytearray(), 0
    while i < len(payload):
        c = payload[i]
        if c == 0x7D and i + 1 < len(payload):
            out.append(payload[i + 1] ^ 0x20)
            i += 2
        elif c == 0x2A and out and i + 1 < len(payload):
            out += bytes([out[-1]]) * (payload[i + 1] - 29)
            i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


def frame(payload):
    """$payload#cs for a bytes payload."""
    return b"$" + payload + b"#%02x" % checksum(payload)


class Rsp:
    """A raw GDB remote-protocol client on one TCP connection (acknowledgement mode)."""

    def __init__(self, port, host="127.0.0.1", timeout=20):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one packet per send
        self.sock.connect((host, port))
        self.buf = b""
        self.timeout = timeout

    def close(self):
        self.sock.close()

    def send(self, raw):
        self.sock.sendall(raw)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Fail("no reply from the stub within %d s" % self.timeout)
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            raise Fail("no reply from the stub within %d s" % self.timeout)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("the stub closed the connection")
        self.buf += chunk

    def read_ack(self):
        """The next '+' or '-' (skipping nothing else); returns it as a 1-char str."""
        deadline = time.monotonic() + self.timeout
        while not self.buf:
            self._fill(deadline)
        c, self.buf = self.buf[:1], self.buf[1:]
        check(c in (b"+", b"-"), "wanted an acknowledgement, got %r" % (c + self.buf[:40]))
        return c.decode()

    def read_packet(self, ack=True, skip_nak=False):
        """The next packet's payload as str (acks before it skipped; with skip_nak also '-');
        checks its checksum."""
        deadline = time.monotonic() + self.timeout
        while True:
            self.buf = self.buf.lstrip(b"+-" if skip_nak else b"+")
            if self.buf[:1] == b"-":
                raise Fail("the stub rejected our packet ('-')")
            i = self.buf.find(b"$")
            j = self.buf.find(b"#", i + 1) if i >= 0 else -1
            if i >= 0 and j >= 0 and len(self.buf) >= j + 3:
                check(i == 0, "junk before a packet: %r" % self.buf[:i])
                payload = self.buf[1:j]
                cs = int(self.buf[j + 1:j + 3], 16)
                self.buf = self.buf[j + 3:]
                check(cs == checksum(payload), "bad checksum from the stub on %r" % payload)
                if ack:
                    self.send(b"+")
                return decode(payload).decode("latin-1")
            self._fill(deadline)

    def ask(self, payload):
        """Sends one packet (str or bytes) and returns the reply payload."""
        if isinstance(payload, str):
            payload = payload.encode("latin-1")
        self.send(frame(payload))
        check(self.read_ack() == "+", "the stub did not acknowledge %r" % payload[:60])
        return self.read_packet()

    def closed(self, timeout=5):
        """True if the peer closes the connection within timeout s (data before it is dropped)."""
        end = time.monotonic() + timeout
        try:
            while time.monotonic() < end:
                r, _, _ = select.select([self.sock], [], [], end - time.monotonic())
                if r and not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, OSError):
            return True
        return False


def le_hex(hexstr):
    """The integer a little-endian hex register/memory string encodes."""
    return int.from_bytes(bytes.fromhex(hexstr), "little")


def main(cases, argv):
    """Runs the cases named in argv[1:] (all if none) and exits 0, 1 (a failure) or 77 (all
    skipped). Every case function takes no argument and raises Skip or Fail."""
    names = argv[1:] or list(cases)
    # meson's timeout sends SIGTERM: unwind so that every case's finally kills its chyve (which
    # runs in its own session, out of reach of a signal to our process group)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("killed by SIGTERM (timeout?)"))
    failed, skipped = 0, 0
    for n in names:
        if n not in cases:
            print("unknown case %s (have: %s)" % (n, " ".join(cases)))
            return 1
        t0 = time.monotonic()
        try:
            cases[n]()
            print("PASS %s (%.1f s)" % (n, time.monotonic() - t0), flush=True)
        except Skip as e:
            skipped += 1
            print("SKIP %s: %s" % (n, e), flush=True)
        except Fail as e:
            failed += 1
            print("FAIL %s: %s" % (n, e), flush=True)
    if failed:
        return 1
    return SKIP if skipped == len(names) else 0


def find_line(text, pattern):
    """The first match of the multi-line regex pattern in text, or None."""
    return re.search(pattern, text, re.M)
