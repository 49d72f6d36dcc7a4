#!/bin/bash
# net-bench.sh: chyve's TAP path against the floor, in one run. The floor is the same network
# stack the test guest runs (tests/guests/net/netstack.c), as a host process on the same TAP:
# Linux's TAP-to-namespace path with no VM. Paired rounds (floor, chyve, floor, ...) measure ping
# latency, UDP round trips per second and TCP echo MiB/s each way; medians and ratios are printed.
# Usage: net-bench.sh BUILD_DIR [ROUNDS [MTU]]   (root; exit 77 = cannot run here)
set -u
B=${1:?usage: net-bench.sh BUILD_DIR [ROUNDS [MTU]]}
ROUNDS=${2:-3}
MTU=${3:-9000}
TCP_BYTES=${NET_BENCH_TCP_BYTES:-$((8 << 20))}
src=$(cd "$(dirname "$0")/.." && pwd)
check="python3 $src/tests/net/netcheck.py"
[ "$(id -u)" -eq 0 ] || { echo "net-bench: skipped: needs root (network namespaces)"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "net-bench: skipped: no usable /dev/kvm"; exit 77; }
[ -x "$B/chyve" ] && [ -x "$B/tests/guests/net_echo" ] || { echo "net-bench: build $B first" >&2; exit 1; }

work=$(mktemp -d) ns=chyve-bench-$$ pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; ip netns del "$ns" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
in_ns() { ip netns exec "$ns" "$@"; }

# The floor: netstack.c built for the host (freestanding, as the guest builds it) on a TAP.
h=$src/tests/net/stack_host
cc -std=gnu11 -O2 -ffreestanding -nostdlib -I "$h/shim" -I "$src/tests/guests/net" \
    -c "$src/tests/guests/net/netstack.c" -o "$work/netstack.o" &&
    cc -std=gnu11 -O2 -I "$src/tests/guests/net" "$h/tap_harness.c" "$work/netstack.o" \
        -o "$work/floor" || { echo "net-bench: cannot build the floor" >&2; exit 1; }

ip netns add "$ns" || { echo "net-bench: skipped: cannot create a namespace"; exit 77; }
in_ns ip link set lo up
in_ns ip tuntap add dev tap0 mode tap
in_ns ip link set tap0 mtu "$MTU"
in_ns ip addr add 10.0.5.1/24 dev tap0
in_ns ip link set tap0 up

start() { # floor | chyve
    : >"$work/out"
    if [ "$1" = floor ]; then
        in_ns "$work/floor" --tap tap0 --ip 10.0.5.3 --gw 10.0.5.1 --prefix 24 --mtu "$MTU" \
            --port 9975 --offload --timeout 600 >"$work/out" 2>&1 &
        ready='^ready'
    else
        in_ns "$B/chyve" --net tap:tap0 "$B/tests/guests/net_echo" >"$work/out" 2>&1 &
        ready='^net: ready'
    fi
    pid=$!
    for _ in $(seq 300); do grep -q "$ready" "$work/out" && return 0; sleep 0.1; done
    echo "net-bench: $1 did not start" >&2; cat "$work/out" >&2; exit 1
}
stop() { in_ns $check udp-exit 10.0.5.3 9975 0; wait "$pid"; pid=""; }

# One round: ping average (µs), UDP round trips/s, TCP MiB/s each way.
measure() {
    local rtt rps mibs
    rtt=$(in_ns ping -c 100 -i 0.01 -q 10.0.5.3 | awk -F/ '/rtt|round-trip/ {printf "%d", $5 * 1000}')
    rps=$(in_ns $check udp-flood 10.0.5.3 9975 2000 | awk '{print $(NF-2)}')
    mibs=$(in_ns $check tcp-echo 10.0.5.3 9975 "$TCP_BYTES" | awk '{print $(NF-3)}')
    echo "$rtt $rps $mibs"
}

for ((i = 0; i < ROUNDS; i++)); do
    for who in floor chyve; do
        start "$who"
        measure >>"$work/$who.txt"
        stop
    done
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { awk -v c="$2" '{print $c}' "$work/$1.txt" | median; }
printf "net-bench: TAP, MTU %s, %s rounds, TCP %s MiB each way per round\n" "$MTU" "$ROUNDS" \
    "$((TCP_BYTES >> 20))"
printf "%-26s %12s %12s %8s\n" "" chyve floor ratio
for m in "1 ping round trip (us)" "2 UDP round trips/s" "3 TCP echo MiB/s each way"; do
    c=${m%% *} name=${m#* }
    a=$(col chyve "$c") f=$(col floor "$c")
    printf "%-26s %12s %12s %8s\n" "$name" "$a" "$f" "$(awk -v a="$a" -v f="$f" 'BEGIN {printf "%.3fx", f ? a / f : 0}')"
done
