#!/usr/bin/env python3
"""bench.py: chyve against the bare-KVM floor, every figure from paired rounds in one run.

    bench.py BUILD_DIR [--rounds N] [--only NAME[,NAME...]]

For each figure, each round runs chyve and then the floor (and Solo5 hvt where given), so that
drifts of load and clock hit both alike. Printed per figure: median, min and max of each side,
and the median of the per-round ratios (chyve / floor; for rates floor / chyve, so that > 1 is
always "chyve is worse"). Figures (names for --only):

  boot      trivial guest (exits at once), 64 MiB, boot to exit; examples/hello beside it
  launch    64 VMs of the trivial guest, 16 at a time: VMs per second
  hypercall SerialWriteByte round trip: (bench_hypercalls - trivial) / 20000, against the
            floor's cost of one port exit (floor --exits 20000)
  rss       peak RSS of the process's own image (VmHWM at exit, bench/peakrss) for 64 MiB,
            1 GiB and 16 GiB guests
  pci       what 2048 PCI configuration probes (pciprobe) add to a boot

SOLO5_HVT="TENDER KERNEL" (e.g. "solo5-hvt test_quiet.hvt", built by hand from Solo5's sources)
adds Solo5's hvt tender to the boot, launch and rss figures, run as `TENDER --mem=MiB KERNEL
--solo5:quiet` with the guest size chyve has. Solo5's x86_64 hvt refuses more than 4 GiB, so its
side of the 16 GiB figure is a 4 GiB guest (neither touches guest RAM the guest does not use).
Exit 77: no usable /dev/kvm. Python 3 standard library only.
"""

import os
import statistics
import subprocess
import sys
import time

HYPERCALLS = 20000  # what tests/guests/bench_hypercalls issues
SOLO5_MAX_MIB = 4096  # Solo5 hvt on x86_64: "guest memory size ... exceeds the max size"


def run(argv):
    """Runs argv (stdout/stderr to /dev/null); returns (wall ns, rusage). Fails on rc != 0."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1),
                                       (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status, ru = os.wait4(pid, 0)
    t1 = time.perf_counter_ns()
    os.close(devnull)
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        sys.exit(f"bench: '{' '.join(argv)}' exited with {rc}")
    return t1 - t0, ru


def peak_rss(peakrss, argv):
    """Peak RSS in KiB of argv's own image (bench/peakrss: VmHWM at its exit). Fails when argv
    does: a tender that refused its arguments has a peak too, of no run."""
    p = subprocess.run([peakrss] + argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True)
    r = p.stdout.split()
    if p.returncode != 0 or not r or int(r[-1]) <= 0:
        sys.exit(f"bench: peakrss {' '.join(argv)} failed (exit {p.returncode})")
    return int(r[-1])


def solo5_argv(solo5, mem_mib):
    """Solo5 hvt's command for a guest of mem_mib MiB (capped at what hvt accepts)."""
    return [solo5[0], f"--mem={min(mem_mib, SOLO5_MAX_MIB)}", solo5[1], "--solo5:quiet"]


def burst(argv, total=64, parallel=16):
    """Starts `total` copies of argv, `parallel` at a time; returns VMs per second."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    fa = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    started = running = 0
    t0 = time.perf_counter_ns()
    while started < total or running:
        while running < parallel and started < total:
            os.posix_spawn(argv[0], argv, os.environ, file_actions=fa)
            started += 1
            running += 1
        _, status = os.wait()
        running -= 1
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"bench: a copy of '{' '.join(argv)}' failed")
    t1 = time.perf_counter_ns()
    os.close(devnull)
    return total / ((t1 - t0) / 1e9)


def stats(xs):
    return statistics.median(xs), min(xs), max(xs)


def report(title, unit, scale, sides, ratios, note=""):
    print(f"{title}{note}:")
    for name, xs in sides:
        med, lo, hi = stats(xs)
        print(f"  {name:<28} median {med / scale:10.2f} {unit}  (min {lo / scale:.2f}, "
              f"max {hi / scale:.2f})")
    for name, rs in ratios:
        med, lo, hi = stats(rs)
        print(f"  {name:<28} ratio  {med:10.2f} x   (min {lo:.2f}, max {hi:.2f})")


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__.strip().splitlines()[2].strip())
    build = args[0]
    rounds = 20
    only = None
    i = 1
    while i < len(args):
        if args[i] == "--rounds" and i + 1 < len(args):
            rounds = int(args[i + 1])
            i += 2
        elif args[i] == "--only" and i + 1 < len(args):
            only = set(args[i + 1].split(","))
            i += 2
        else:
            sys.exit(f"bench: unknown argument {args[i]}")
    if not os.path.exists("/dev/kvm"):
        print("bench: skipped: /dev/kvm does not exist on this host")
        sys.exit(77)
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("bench: skipped: no read/write access to /dev/kvm")
        sys.exit(77)
    chyve = os.path.join(build, "chyve")
    floor = os.path.join(build, "bench", "floor")
    peakrss = os.path.join(build, "bench", "peakrss")
    g = lambda name: os.path.join(build, "tests", "guests", name)
    hello = os.path.join(build, "examples", "hello")
    for f in (chyve, floor, peakrss, hello, g("trivial"), g("bench_hypercalls"), g("pciprobe")):
        if not os.access(f, os.X_OK):
            sys.exit(f"bench: {f} is missing; build first (ninja -C {build})")
    solo5 = os.environ.get("SOLO5_HVT", "").split()
    if solo5 and (len(solo5) != 2 or not all(os.access(p, os.R_OK) for p in solo5)):
        sys.exit("bench: SOLO5_HVT must be 'TENDER KERNEL', both readable")
    want = lambda name: only is None or name in only
    print(f"bench: {rounds} paired rounds per figure; host: {os.uname().release}, "
          f"{os.cpu_count()} CPUs")

    trivial = [chyve, g("trivial")]
    if want("boot"):
        c, h, f, s = [], [], [], []
        for _ in range(rounds):
            c.append(run(trivial)[0])
            h.append(run([chyve, hello])[0])
            f.append(run([floor, "--mem", "64"])[0])
            if solo5:
                s.append(run(solo5_argv(solo5, 64))[0])
        sides = [("chyve trivial guest", c), ("chyve examples/hello", h), ("bare KVM floor", f)]
        ratios = [("trivial / floor", [a / b for a, b in zip(c, f)]),
                  ("hello / floor", [a / b for a, b in zip(h, f)])]
        if solo5:
            sides.append(("Solo5 hvt", s))
            ratios += [("Solo5 / floor", [a / b for a, b in zip(s, f)]),
                       ("trivial / Solo5", [a / b for a, b in zip(c, s)])]
        report("boot to exit, 64 MiB", "ms", 1e6, sides, ratios)

    if want("launch"):
        c, f, s = [], [], []
        for _ in range(max(3, rounds // 4)):
            c.append(burst(trivial))
            f.append(burst([floor, "--mem", "64"]))
            if solo5:
                s.append(burst(solo5_argv(solo5, 64)))
        sides = [("chyve trivial guest", c), ("bare KVM floor", f)]
        ratios = [("floor / chyve", [b / a for a, b in zip(c, f)])]
        if solo5:
            sides.append(("Solo5 hvt", s))
            ratios.append(("Solo5 / chyve", [b / a for a, b in zip(c, s)]))
        report("launch rate, 64 VMs 16 at a time", "VMs/s", 1, sides, ratios,
               " (chyve's VMs/s target: >= 0.85x the floor's, i.e. ratio <= 1.18)")

    if want("hypercall"):
        per, ex = [], []
        for _ in range(rounds):
            t_triv = run(trivial)[0]
            t_many = run([chyve, g("bench_hypercalls")])[0]
            per.append((t_many - t_triv) / HYPERCALLS)
            out = os.popen(f"'{floor}' --exits {HYPERCALLS}").read().split()
            if not out:
                sys.exit(f"bench: floor --exits {HYPERCALLS} failed")
            ex.append(float(out[0]))
        report("hypercall round trip (SerialWriteByte)", "ns", 1,
               [("chyve per hypercall", per), ("bare KVM exit", ex)],
               [("chyve / floor", [a / b for a, b in zip(per, ex)])])

    if want("rss"):
        for mem_mib, label in ((64, "64 MiB"), (1024, "1 GiB"), (16384, "16 GiB")):
            c, f, s = [], [], []
            for _ in range(max(3, rounds // 4)):
                c.append(peak_rss(peakrss, [chyve, "-m", f"{mem_mib}MiB", g("trivial")]))
                f.append(peak_rss(peakrss, [floor, "--mem", str(mem_mib)]))
                if solo5:
                    s.append(peak_rss(peakrss, solo5_argv(solo5, mem_mib)))
            sides = [("chyve trivial guest", c), ("bare KVM floor", f)]
            ratios = [("chyve / floor", [a / b for a, b in zip(c, f)])]
            if solo5:
                capped = " (4 GiB: its most)" if mem_mib > SOLO5_MAX_MIB else ""
                sides.append(("Solo5 hvt" + capped, s))
                ratios.append(("chyve / Solo5", [a / b for a, b in zip(c, s)]))
            report(f"peak RSS, {label} guest", "MiB", 1024, sides, ratios)

    if want("pci"):
        p, t = [], []
        for _ in range(rounds):
            p.append(run([chyve, g("pciprobe")])[0])
            t.append(run(trivial)[0])
        d = [a - b for a, b in zip(p, t)]
        report("2048 PCI probes (pciprobe - trivial)", "ms", 1e6,
               [("added to a boot", d)], [("pciprobe / trivial", [a / b for a, b in zip(p, t)])])


if __name__ == "__main__":
    main()
