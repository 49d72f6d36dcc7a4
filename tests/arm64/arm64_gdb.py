#!/usr/bin/env python3
"""arm64_gdb.py: the gdb suite's cases (tests/gdb/gdb_cases.py, aarch64 mode) with gdb-multiarch
on the host against chyve -s PORT on the aarch64 gdb_target guests under KVM in ONE boot of the
emulated arm64 machine. arm64-test.sh keeps the cross build up to date and boots the machine
with gdb_agent.c as its driver and two ports forwarded from the host (run-qemu.sh --hostfwd):
the agent's control port (it starts and ends each case's chyve there) and its relay to the
stub on the machine's loopback.
Usage: arm64_gdb.py SOURCE_ROOT CROSS_DIR [CASE...]. Exit 0, 1 (a failure), 77 (tools missing,
unless CI=true, or gdb-multiarch missing), or the harness's status (124 timeout, 125 no result)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

SRC, CROSS = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SRC, "tests", "gdb"))
import harness as h  # noqa: E402
import gdb_cases as g  # noqa: E402

BOOT_TIMEOUT = 1200  # a stale cross build is rebuilt first (ninja -j1 on a loaded machine)
AGENT_LIMIT = 600  # the agent inside kills everything and powers off after that
CASES = ["entry_and_exit", "hbreak_registers", "set_exit_code", "memory", "stepi", "threads",
         "detach", "kill", "fp_registers", "qoffsets_dyn", "sw_break", "watch", "awatch",
         "interrupt"]


def connect_agent(port, qemu):
    """The agent's control connection once it answers; None if the harness ended first
    (its status then says why)."""
    end = time.monotonic() + BOOT_TIMEOUT
    while time.monotonic() < end:
        if qemu.poll() is not None:
            return None
        try:
            # qemu's user network accepts at once and drops the connection while nothing
            # listens inside: only an answer to "poll" means the agent is there
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"poll\n")
            if sock.recv(64).startswith(b"none"):
                return sock
            sock.close()
        except OSError:
            pass
        time.sleep(0.5)
    raise h.Fail("the arm64 agent did not come up within %d s" % BOOT_TIMEOUT)


def main():
    gdb = os.environ.get("GDB") or shutil.which("gdb-multiarch")
    if not gdb:
        print("arm64_gdb: gdb-multiarch is missing (scripts/setup-arm64.sh installs it)")
        return 1 if os.environ.get("CI") == "true" else h.SKIP
    os.environ["GDB"] = gdb
    os.environ["GUEST_DIR"] = os.path.join(CROSS, "tests", "guests", "aarch64")
    g.ARCH = g.ARCHES["aarch64"]
    ctl, relay = h.free_port(), h.free_port()
    while relay == ctl:
        relay = h.free_port()
    argv = [os.path.join(SRC, "tests", "arm64", "arm64-test.sh"), SRC, CROSS,
            "--driver", os.path.join(CROSS, "tests", "arm64", "arm64-gdb-agent"),
            "--hostfwd", "%d:5000" % ctl, "--hostfwd", "%d:5001" % relay,
            "--", str(AGENT_LIMIT)]
    qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("killed by SIGTERM (timeout?)"))
    status = 1
    try:
        sock = connect_agent(ctl, qemu)
        if sock is None:
            return qemu.wait()
        h.REMOTE = h.Agent(sock, relay)
        h.REMOTE.buf = b""
        t0 = time.monotonic()
        status = h.main(g.CASES, [sys.argv[0]] + (sys.argv[3:] or CASES))
        print("arm64_gdb: cases took %.1f s" % (time.monotonic() - t0), flush=True)
        h.REMOTE.ask("quit %d" % status)
        sock.close()
        try:
            qrc = qemu.wait(60)
        except subprocess.TimeoutExpired:
            print("arm64_gdb: the emulated machine did not power off")
            return 1
        if qrc != status:
            print("arm64_gdb: the machine's result %d is not the cases' %d" % (qrc, status))
            return 1
        return status
    except h.Fail as e:
        print("FAIL arm64_gdb: %s" % e, flush=True)
        return 1
    finally:
        if qemu.poll() is None:
            os.killpg(qemu.pid, signal.SIGKILL)
            qemu.wait()


if __name__ == "__main__":
    sys.exit(main())
