#!/usr/bin/env bash
# net-test.sh: the network test guest against the real Linux network stack.
#   net-test.sh tap MTU      as root, in a network namespace this script creates and deletes: a TAP
#                            at 10.0.5.1/24, the guest at 10.0.5.3; traffic never leaves the namespace
#   net-test.sh hostile      as tap, with a guest that attacks the device (garbage in every
#                            register and ring field), then must still reach the host
#   net-test.sh user         --net user with host port forwards on 127.0.0.1, no root needed
#                            (the guest programs its IOAPIC entry edge-triggered, as Hermit does)
# Needs $CHYVE and $GUEST_DIR (meson sets them). Exit 77 = skipped, with the reason on stderr.
set -uo pipefail
mode=${1:?usage: net-test.sh tap MTU | user}
here=$(cd "$(dirname "$0")" && pwd)
check="python3 $here/netcheck.py"
guest=$GUEST_DIR/net_echo
tcp_bytes=${NET_TEST_TCP_BYTES:-$((128 << 20))}
skip() { echo "net-test: skipped: $*" >&2; exit 77; }
fail() { echo "net-test: FAILED: $*" >&2; [ -f "$work/out" ] && sed 's/^/  guest: /' "$work/out" >&2
         [ -f "$work/err" ] && sed 's/^/  chyve: /' "$work/err" >&2; exit 1; }

[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is not usable"
[ -x "$guest" ] || skip "no network test guest at $guest"
work=$(mktemp -d)
ns="" pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# Starts chyve (in the namespace if there is one) and waits for the guest's ready line.
start() {
    local run=()
    [ -n "$ns" ] && run=(ip netns exec "$ns")
    "${run[@]}" "$CHYVE" "$@" >"$work/out" 2>"$work/err" &
    pid=$!
    for _ in $(seq 600); do
        grep -q '^net: ready' "$work/out" && return 0
        kill -0 "$pid" 2>/dev/null || fail "chyve ended before the guest was ready"
        sleep 0.1
    done
    fail "the guest did not get ready within 60 s"
}

# Waits for chyve to exit and checks the code and the guest's last line.
finish() {
    local want=$1
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    wait "$pid"; local rc=$?; pid=""
    [ "$rc" -eq "$want" ] || fail "chyve exited with $rc, not $want"
    grep -Eq "^net: exit $want irqs [1-9][0-9]* " "$work/out" ||
        fail "the guest did not report interrupt-driven receive and exit $want"
}

in_ns() { if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi; }

# A namespace of our own with tap0 at 10.0.5.1/24 (MTU $1) in it.
make_ns() {
    [ "$(id -u)" -eq 0 ] || skip "TAP tests need root (network namespaces)"
    command -v ip >/dev/null || skip "no ip(8) (iproute2)"
    [ -c /dev/net/tun ] || skip "no /dev/net/tun"
    ns=chyve-net-$$
    ip netns add "$ns" || skip "cannot create a network namespace"
    in_ns ip link set lo up
    in_ns ip tuntap add dev tap0 mode tap || fail "cannot create a TAP in the namespace"
    in_ns ip link set tap0 mtu "$1"
    in_ns ip addr add 10.0.5.1/24 dev tap0
    in_ns ip link set tap0 up
}

case $mode in
hostile)
    make_ns 1500
    in_ns "$CHYVE" --net tap:tap0 "$guest" -- -- hostile >"$work/out" 2>"$work/err"
    rc=$?
    [ "$rc" -eq 0 ] || fail "the hostile guest run ended with $rc"
    grep -q '^net: hostile survived$' "$work/out" || fail "the guest did not survive its attacks"
    warnings=$(grep -c 'warning' "$work/err")
    [ "$warnings" -ge 1 ] || fail "no attack was reported"
    [ "$warnings" -le 64 ] || fail "$warnings warning lines: not one per attack"
    grep -vq 'warning' "$work/err" && fail "chyve printed more than warnings: $(grep -v warning "$work/err")"
    echo "net-test: hostile guest: $warnings warnings, device and VM survived" >&2
    ;;
tap)
    mtu=${2:-1500}
    make_ns "$mtu"
    # Errors first: a missing TAP, and a TAP in use.
    if in_ns "$CHYVE" --net tap:nosuch0 "$guest" >/dev/null 2>"$work/e1"; then fail "a missing TAP was accepted"; fi
    grep -q "tap:nosuch0: no such network interface" "$work/e1" || fail "missing TAP: $(cat "$work/e1")"
    [ "$(wc -l <"$work/e1")" -eq 1 ] || fail "missing TAP: more than one line: $(cat "$work/e1")"

    # Another user, to whom /dev/net/tun is closed (as on this test's hosts), gets one line.
    as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    if command -v setpriv >/dev/null && "${as_nobody[@]}" test -r "$guest" &&
        ! "${as_nobody[@]}" test -w /dev/net/tun; then
        if in_ns "${as_nobody[@]}" "$CHYVE" --net tap:tap0 "$guest" >/dev/null 2>"$work/e3"; then
            fail "a user without access to /dev/net/tun got a TAP"
        fi
        grep -q "tap:tap0: no permission to" "$work/e3" || fail "no permission: $(cat "$work/e3")"
        [ "$(wc -l <"$work/e3")" -eq 1 ] || fail "no permission: more than one line: $(cat "$work/e3")"
    fi
    start --net tap:tap0 "$guest" -- -- ping 10.0.5.1 5
    grep -q "mtu $mtu\$" "$work/out" || fail "the guest did not get MTU $mtu"
    if in_ns "$CHYVE" --net tap:tap0 "$guest" >/dev/null 2>"$work/e2"; then fail "a busy TAP was accepted"; fi
    grep -q "already in use" "$work/e2" || fail "busy TAP: $(cat "$work/e2")"
    in_ns ping -c 5 -i 0.2 -W 2 -q 10.0.5.3 >"$work/ping" || fail "the host cannot ping the guest: $(cat "$work/ping")"
    for _ in $(seq 100); do grep -q '^net: ping 10.0.5.1 sent' "$work/out" && break; sleep 0.1; done
    grep -q '^net: ping 10.0.5.1 sent 5 received 5$' "$work/out" || fail "the guest's pings of the host did not all come back"
    in_ns $check udp-echo 10.0.5.3 9975 300 "$mtu" || fail "udp echo"
    in_ns $check udp-flood 10.0.5.3 9975 10000 || fail "10 000 packets"
    in_ns $check tcp-echo 10.0.5.3 9975 65536 3 || fail "tcp echo, three connections"
    in_ns $check tcp-echo 10.0.5.3 9975 "$tcp_bytes" || fail "tcp bulk echo"
    in_ns $check udp-exit 10.0.5.3 9975 7
    finish 7
    ;;
user)
    [ "${CHYVE_HAS_SLIRP:-1}" = 1 ] || skip "this chyve was built without libslirp"
    port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
    uport=$(python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
    start --net "user,hostfwd=tcp:127.0.0.1:$port-:9975,hostfwd=udp:127.0.0.1:$uport-:9975" "$guest" -- -- edge ping 10.0.5.1 3
    $check udp-echo 127.0.0.1 "$uport" 100 || fail "udp echo through the forward"
    $check tcp-echo 127.0.0.1 "$port" 65536 2 || fail "tcp echo through the forward"
    $check tcp-echo 127.0.0.1 "$port" "${NET_TEST_USER_BYTES:-$((16 << 20))}" || fail "tcp bulk through the forward"
    for _ in $(seq 100); do grep -q '^net: ping 10.0.5.1 sent' "$work/out" && break; sleep 0.1; done
    grep -q '^net: ping 10.0.5.1 sent 3 received 3$' "$work/out" || fail "the guest's pings of the gateway did not all come back"
    $check udp-exit 127.0.0.1 "$uport" 9
    finish 9
    ;;
*) echo "usage: net-test.sh tap MTU | hostile | user" >&2; exit 2 ;;
esac
echo "net-test: $mode ${2:-} passed" >&2
exit 0
