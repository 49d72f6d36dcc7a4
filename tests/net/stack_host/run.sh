#!/usr/bin/env bash
# run.sh: proves the guest network stack (tests/guests/net/netstack.c) against the Linux stack.
# Builds tap_harness, and for each MTU (MTUS, default "1500 9000") and checksum mode (MODES,
# default "plain offload") makes a network namespace with a TAP in it (10.0.5.1/24 on the Linux
# side, the stack at 10.0.5.3), then from inside it: ping, UDP echo, a 128 MiB TCP echo (TCP_BYTES),
# connections in a row and concurrently, the stack pinging 10.0.5.1, and "exit 7" ending the
# harness with status 7; then (LOSSY_MTUS, default "1500 9000") TCP again with the harness losing
# LOSS per mille of the frames each way. Before all that, hostile.c replays damaged frames under
# ASan/UBSan. Nothing leaves the namespace; it is deleted on exit however the run ends.
# Needs root, ip, ping, python3. Exit: 0 all passed, 1 a check failed, 77 cannot run here.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
if [ "$(id -u)" != 0 ]; then
    echo "run.sh: needs root (network namespaces, TAP devices); skipped" >&2
    exit 77
fi
for tool in ip ping python3 cc; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool missing; skipped" >&2; exit 77; }
done

ns=chyve-stack-$$
tmp=$(mktemp -d)
harness_pid=
cleanup() {
    if [ -n "$harness_pid" ]; then
        kill "$harness_pid" 2>/dev/null || true
    fi
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# netstack.c is compiled as the guest compiles it (freestanding); the shim rt.h maps the few
# runtime functions it uses onto libc.
cflags=(-std=gnu11 -O2 -Wall -Wextra -Wshadow -Wpointer-arith -Wwrite-strings -Werror)
cc "${cflags[@]}" -ffreestanding -nostdlib -fno-tree-loop-distribute-patterns \
    -I "$here/shim" -I "$root/tests/guests/net" -c "$root/tests/guests/net/netstack.c" \
    -o "$tmp/netstack.o"
cc "${cflags[@]}" -I "$root/tests/guests/net" "$here/tap_harness.c" "$tmp/netstack.o" \
    -o "$tmp/tap_harness"

in_ns() { ip netns exec "$ns" "$@"; }
failures=0

# Hostile input first: damaged and adversarial frames under ASan and UBSan.
san=(-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all)
cc "${cflags[@]}" "${san[@]}" -ffreestanding -I "$here/shim" -I "$root/tests/guests/net" \
    -c "$root/tests/guests/net/netstack.c" -o "$tmp/netstack_san.o"
cc "${cflags[@]}" "${san[@]}" -I "$root/tests/guests/net" "$here/hostile.c" "$tmp/netstack_san.o" \
    -o "$tmp/hostile"
echo "== hostile frames"
if "$tmp/hostile" "${HOSTILE_FRAMES:-1000000}"; then
    echo "== hostile frames: passed"
else
    echo "== hostile frames: FAILED"
    failures=$((failures + 1))
fi

run_case() { # MTU MODE
    local mtu=$1 mode=$2 log=$tmp/harness-$1-$2.log
    local offload=()
    [ "$mode" = offload ] && offload=(--offload)
    echo "== MTU $mtu, checksums $mode"
    ip netns add "$ns"
    in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    in_ns ip link set lo up
    in_ns ip tuntap add dev tapS mode tap
    in_ns ip link set tapS mtu "$mtu"
    in_ns ip addr add 10.0.5.1/24 dev tapS
    in_ns ip link set tapS up

    in_ns "$tmp/tap_harness" --tap tapS --ip 10.0.5.3 --gw 10.0.5.1 --prefix 24 --mtu "$mtu" \
        --port 9975 --ping 10.0.5.1 --ping-count 20 --timeout 300 "${offload[@]}" >"$log" 2>&1 &
    harness_pid=$!
    for _ in $(seq 50); do
        grep -q '^ready' "$log" && break
        sleep 0.1
    done

    local ok=true
    local out
    out=$(in_ns ping -c 20 -i 0.05 -W 2 10.0.5.3 2>&1) || ok=false
    echo "$out" | grep -E 'packets transmitted|rtt'
    echo "$out" | grep -q ' 0% packet loss' || ok=false
    out=$(in_ns ping -c 5 -i 0.05 -W 2 -M do -s $((mtu - 28)) 10.0.5.3 2>&1) || ok=false
    echo "large: $(echo "$out" | grep 'packets transmitted')"
    echo "$out" | grep -q ' 0% packet loss' || ok=false
    in_ns python3 "$here/checks.py" udp --mtu "$mtu" || ok=false
    in_ns python3 "$here/checks.py" tcp --bytes "${TCP_BYTES:-$((128 << 20))}" || ok=false
    in_ns python3 "$here/checks.py" tcp-many || ok=false
    in_ns python3 "$here/checks.py" exit 7 || ok=false

    local rc=0
    wait "$harness_pid" || rc=$?
    harness_pid=
    grep -E '^(ping|stats|checksums|exit|timeout)' "$log" || true
    grep -q ' 0 of them wrong$' "$log" || { echo "FAIL: wrong partial checksums"; ok=false; }
    if [ "$mode" = offload ] && grep -q ' 0 out partial' "$log"; then
        echo "FAIL: offload mode sent no partial checksums"
        ok=false
    fi
    [ "$rc" = 7 ] || { echo "FAIL: harness exited with $rc, not 7"; ok=false; }
    grep -q '^ping 10.0.5.1: sent 20 received 20$' "$log" ||
        { echo "FAIL: the stack's ping of 10.0.5.1 did not get 20 of 20"; ok=false; }
    ip netns del "$ns"
    if $ok; then
        echo "== MTU $mtu, checksums $mode: passed"
    else
        echo "== MTU $mtu, checksums $mode: FAILED"
        failures=$((failures + 1))
    fi
}

# The same stack with LOSS per mille of the frames dropped each way by the harness: TCP must
# still deliver every byte (timeouts, duplicate ACKs, fast retransmit, out-of-order drops).
run_lossy() { # MTU MODE
    local mtu=$1 mode=$2 loss=${LOSS:-10} log=$tmp/harness-$1-$2-loss.log
    local offload=()
    [ "$mode" = offload ] && offload=(--offload)
    echo "== MTU $mtu, checksums $mode, $loss per mille lost each way"
    ip netns add "$ns"
    in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    in_ns ip link set lo up
    in_ns ip tuntap add dev tapS mode tap
    in_ns ip link set tapS mtu "$mtu"
    in_ns ip addr add 10.0.5.1/24 dev tapS
    in_ns ip link set tapS up
    in_ns "$tmp/tap_harness" --tap tapS --ip 10.0.5.3 --gw 10.0.5.1 --prefix 24 --mtu "$mtu" \
        --port 9975 --loss "$loss" --timeout 300 "${offload[@]}" >"$log" 2>&1 &
    harness_pid=$!
    for _ in $(seq 50); do
        grep -q '^ready' "$log" && break
        sleep 0.1
    done
    local ok=true rc=0
    in_ns python3 "$here/checks.py" tcp --bytes "${LOSSY_TCP_BYTES:-$((32 << 20))}" || ok=false
    in_ns python3 "$here/checks.py" tcp-many --rounds 8 || ok=false
    in_ns python3 "$here/checks.py" exit 7 --tries 20 || ok=false
    wait "$harness_pid" || rc=$?
    harness_pid=
    grep -E '^(stats|checksums|loss|exit|timeout)' "$log" || true
    [ "$rc" = 7 ] || { echo "FAIL: harness exited with $rc, not 7"; ok=false; }
    grep -q ' 0 of them wrong$' "$log" || { echo "FAIL: wrong partial checksums"; ok=false; }
    ip netns del "$ns"
    if $ok; then
        echo "== MTU $mtu, checksums $mode, lossy: passed"
    else
        echo "== MTU $mtu, checksums $mode, lossy: FAILED"
        failures=$((failures + 1))
    fi
}

for mtu in ${MTUS:-1500 9000}; do
    for mode in ${MODES:-plain offload}; do
        run_case "$mtu" "$mode"
    done
done
for mtu in ${LOSSY_MTUS:-1500 9000}; do
    run_lossy "$mtu" plain
done
echo "run.sh: $failures case(s) failed"
[ "$failures" = 0 ]
