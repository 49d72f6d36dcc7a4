#!/usr/bin/env bash
# containerd-test.sh: chyve-oci under containerd's runc v2 shim (io.containerd.runc.v2), for
# real: a private containerd (its own config, root, state and socket in a temporary directory,
# no CRI plugin), an image of the test guests made by examples/containerd/hermit-oci-image.py and
# imported with ctr, and `ctr run --runc-binary $CHYVE_OCI --runc-root DIR`: the runtime options
# BinaryName and Root, as containerd's CRI config sets them for a runtime handler. containerd
# runs as root inside a network namespace this script creates and deletes. Cases:
#   run    output and exit status of the guest (its own arguments, the image's Cmd), arguments
#          and environment, a memory limit chyve cannot boot and a non-Hermit command refused
#          with the reason
#   kill   run -d: the log, task ls, exec refused; task kill (SIGTERM: exit 143 in containerd's
#          events), task delete, container delete; then task delete --force of a running guest
#   pod    a Kubernetes pod's shape through examples/containerd/chyve-oci-cri as the runtime: a
#          sandbox container (the CRI annotation; a static pause built here) that runc runs in a
#          network namespace of the test's, and a Hermit container joining its network and PID
#          namespaces that chyve-oci runs: the guest has the pod's address and echoes TCP; its
#          stop (exit 143) is cleaned up without errors from the shim's kill --all; then the
#          sandbox's stop and removal
# Each checks afterwards that no chyve, no shim and no mount of the test is left, and nothing of
# the containers in the runtime root; at the end, that the temporary directory is gone.
# Needs $CHYVE_OCI and $GUEST_DIR (meson sets them). Exit 77 = skipped, with the reason.
set -uo pipefail
mode=${1:?usage: containerd-test.sh run|kill|pod}
here=$(cd "$(dirname "$0")" && pwd)
mkimage="python3 $here/../../examples/containerd/hermit-oci-image.py"
cri_runtime=$here/../../examples/containerd/chyve-oci-cri
check="python3 $here/../net/netcheck.py"
skip() {
    if [ "${CI:-}" = true ]; then echo "containerd-test: FAILED (CI): cannot run: $*" >&2; exit 1; fi
    echo "containerd-test: skipped: $*" >&2; exit 77
}
fail() {
    echo "containerd-test: FAILED: $*" >&2
    [ -s "$work/err" ] && sed 's/^/  stderr: /' "$work/err" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || skip "containerd runs as root here (network namespace, its state)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is not usable"
for c in containerd ctr containerd-shim-runc-v2; do
    command -v $c >/dev/null || skip "no $c (scripts/setup-oci.sh installs containerd)"
done
command -v ip >/dev/null || skip "no ip(8) (iproute2)"
command -v nsenter >/dev/null || skip "no nsenter(1) (util-linux)"
[ -x "$CHYVE_OCI" ] || skip "no chyve-oci at $CHYVE_OCI"

work=$(mktemp -d /tmp/chyve-ctrd-XXXXXX)
ns=chyve-ctrd-$$
podns=chyve-ctrd-pod-$$ # the pod case's network namespace
cns=chyve-test-$$ # containerd's namespace: the shim passes --root $rroot/$cns to the runtime
rroot=$work/runc-root
sock=$work/containerd.sock
ctrd_pid="" events_pid=""
# The shim's sockets are under /run/containerd/s whatever containerd's state is: what the test
# made there, it removes (rmdir: only empty directories, never a system containerd's).
made_run=true
[ -e /run/containerd ] && made_run=false
# Only the network namespace: `ip netns exec` would give each command a mount namespace of its
# own, in which the shim's mounts of the containers' rootfs would not outlive the command.
in_ns() { nsenter --net="/run/netns/$ns" "$@"; }
C() { timeout 120 nsenter --net="/run/netns/$ns" ctr --address "$sock" --namespace "$cns" "$@"; }
R=(--runc-binary "$CHYVE_OCI" --runc-root "$rroot" --fifo-dir "$work/fifo")
# stop PID: SIGTERM to a child of this script, SIGKILL if it is still there after 10 s.
stop() {
    kill "$1" 2>/dev/null || return 0
    for _ in $(seq 100); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
cleanup() {
    if [ -n "$ctrd_pid" ]; then
        local id
        for id in $(C task ls -q 2>/dev/null); do C task delete --force "$id" >/dev/null 2>&1; done
        for id in $(C container ls -q 2>/dev/null); do C container delete "$id" >/dev/null 2>&1; done
        stop "$ctrd_pid"
    fi
    [ -n "$events_pid" ] && stop "$events_pid"
    # Whatever is still mounted in the work directory (a failed case's rootfs), innermost first.
    awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null; done
    ip netns del "$podns" 2>/dev/null
    ip netns del "$ns" 2>/dev/null
    # runc's cgroups of the pod case's sandbox are under /$cns in each hierarchy: the parents too.
    rmdir /sys/fs/cgroup/*/"$cns" /sys/fs/cgroup/"$cns" 2>/dev/null
    if $made_run; then
        rmdir /run/containerd/s /run/containerd/fifo /run/containerd/runc/* /run/containerd/runc \
            /run/containerd 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns" || skip "cannot create a network namespace"
in_ns ip link set lo up

# A private containerd: no CRI (no CNI, no streaming server), no /opt/containerd.
cat >"$work/config.toml" <<CONF
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt",
                    "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$sock"
[ttrpc]
  address = ""
[debug]
  level = "info"
CONF
# Not through in_ns: $! must be containerd itself (nsenter execs it), not a subshell.
nsenter --net="/run/netns/$ns" containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
ctrd_pid=$!
for _ in $(seq 300); do
    C version >/dev/null 2>&1 && break
    kill -0 "$ctrd_pid" 2>/dev/null || skip "containerd did not start: $(tail -1 "$work/containerd.log")"
    sleep 0.1
done
C version >/dev/null 2>&1 || skip "containerd does not answer on $sock: $(tail -1 "$work/containerd.log")"

# The image: the test guests under /bin, one file that is not a Hermit kernel, and a Cmd.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc"
for g in exitcode args_fdt stopwait net_echo; do
    cp "$GUEST_DIR/$g" "$work/rootfs/bin/" || skip "no test guest $g in $GUEST_DIR"
done
printf '#!/bin/sh\necho not hermit\n' >"$work/rootfs/bin/sh"
chmod +x "$work/rootfs/bin/sh"
echo "the image's own file" >"$work/rootfs/etc/motd"
$mkimage --name localhost/chyve-test:1 --cmd /bin/exitcode --cmd 3 --env PATH=/bin \
    "$work/image.tar" "$work/rootfs/bin:/bin" "$work/rootfs/etc:/etc" >/dev/null 2>"$work/err" ||
    fail "cannot make the image archive"
C images import "$work/image.tar" >/dev/null 2>"$work/err" ||
    skip "containerd cannot import an image here: $(tail -1 "$work/err")"

ids=()
# After each case: no chyve, shim or mount of the test left, nothing in the runtime root.
leftovers() {
    local id
    for id in "${ids[@]}"; do
        [ -e "$rroot/$cns/$id" ] && fail "chyve-oci left $rroot/$cns/$id behind"
    done
    [ -n "$(C task ls -q)" ] && fail "containerd still has tasks: $(C task ls -q | tr '\n' ' ')"
    [ -n "$(C container ls -q)" ] && fail "containerd still has containers: $(C container ls -q | tr '\n' ' ')"
    # The shim leaves once containerd has deleted its task; give it a moment.
    for _ in $(seq 100); do
        pgrep -f "containerd-shim-runc-v2 .*$sock" >/dev/null || break
        sleep 0.1
    done
    pgrep -f "containerd-shim-runc-v2 .*$sock" >/dev/null && fail "a shim is left"
    pgrep -f "chyve .*--start-fifo $rroot/" >/dev/null && fail "a chyve process is left"
    grep -q " $work/state/" /proc/self/mounts && fail "a rootfs is still mounted"
    return 0
}
# Waits up to $2 s for $3 in the file $1.
wait_for() {
    for _ in $(seq $(($2 * 10))); do
        grep -q "$3" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
status_of() { C task ls | awk -v id="$1" '$1 == id { print $3 }'; }

case $mode in
run)
    ids+=(r1 r2 r3 r4 r5)
    C run --rm "${R[@]}" localhost/chyve-test:1 r1 /bin/exitcode 7 >"$work/out" 2>"$work/err"
    rc=$?
    [ "$rc" -eq 7 ] || fail "ctr run ended with $rc, not the guest's 7"
    grep -q "exiting with 7" "$work/out" || fail "no guest output: $(cat "$work/out")"
    # No command: the image's Cmd.
    C run --rm "${R[@]}" localhost/chyve-test:1 r2 >"$work/out" 2>"$work/err"
    rc=$?
    [ "$rc" -eq 3 ] || fail "the image's Cmd ended with $rc, not 3: $(cat "$work/out")"
    # Arguments and environment reach the guest; a bare name is found on the image's PATH.
    C run --rm "${R[@]}" --env GREETING=hello-from-ctr localhost/chyve-test:1 r3 \
        args_fdt one 'two words' >"$work/out" 2>"$work/err" || fail "args_fdt run failed"
    grep -q "one" "$work/out" && grep -q "two words" "$work/out" || fail "arguments: $(cat "$work/out")"
    grep -q "GREETING=hello-from-ctr" "$work/out" || fail "environment: $(cat "$work/out")"
    # The memory limit is the guest's memory: one too small to boot is refused at create.
    if C run --rm "${R[@]}" --memory-limit 8388608 localhost/chyve-test:1 r4 /bin/exitcode 0 \
        >"$work/out" 2>"$work/err"; then
        fail "an 8 MiB memory limit was accepted"
    fi
    grep -q "below chyve's smallest guest" "$work/err" || fail "memory limit refusal: $(cat "$work/err")"
    # A command that is not a Hermit kernel: refused, with the reason.
    if C run --rm "${R[@]}" localhost/chyve-test:1 r5 /bin/sh >"$work/out" 2>"$work/err"; then
        fail "a non-Hermit command was run"
    fi
    grep -q "is not a Hermit kernel" "$work/err" || fail "refusal: $(cat "$work/err")"
    ;;
kill)
    ids+=(k1 k2)
    timeout 300 nsenter --net="/run/netns/$ns" ctr --address "$sock" --namespace "$cns" events \
        >"$work/events" 2>&1 &
    events_pid=$!
    C run -d "${R[@]}" --log-uri "file://$work/k1.log" localhost/chyve-test:1 k1 \
        /bin/stopwait spin 600 >/dev/null 2>"$work/err" || fail "ctr run -d"
    wait_for "$work/k1.log" 60 spinning || fail "the guest's output is not in the log: $(cat "$work/k1.log")"
    [ "$(status_of k1)" = RUNNING ] || fail "task ls says $(status_of k1) while it runs"
    pid=$(C task ls | awk '$1 == "k1" { print $2 }')
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "chyve .*--start-fifo $rroot/$cns/k1/" ||
        fail "the task's pid $pid is not the VM: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
    if C task exec --exec-id e1 --fifo-dir "$work/fifo" k1 /bin/exitcode 1 >"$work/out" 2>"$work/err"; then
        fail "exec was accepted"
    fi
    grep -q "not possible for a Hermit VM" "$work/err" || fail "exec refusal: $(cat "$work/err")"
    C task kill k1 2>"$work/err" || fail "ctr task kill"
    for _ in $(seq 300); do [ "$(status_of k1)" = STOPPED ] && break; sleep 0.1; done
    [ "$(status_of k1)" = STOPPED ] || fail "after task kill: $(status_of k1)"
    # SIGTERM stops the VM cleanly: 128 + 15, as a process that runc's container ran would show.
    wait_for "$work/events" 10 '/tasks/exit.*"container_id":"k1".*"exit_status":143' ||
        fail "no exit 143 of k1 in containerd's events: $(grep /tasks/exit "$work/events")"
    C task delete k1 >/dev/null 2>"$work/err" || fail "ctr task delete"
    C container delete k1 2>"$work/err" || fail "ctr container delete"
    # A running guest removed at once: delete --force kills it (SIGKILL: 137).
    C run -d "${R[@]}" --log-uri "file://$work/k2.log" localhost/chyve-test:1 k2 \
        /bin/stopwait spin 600 >/dev/null 2>"$work/err" || fail "ctr run -d k2"
    wait_for "$work/k2.log" 60 spinning || fail "the guest k2 did not start"
    C task delete --force k2 >/dev/null 2>"$work/err" || fail "ctr task delete --force"
    wait_for "$work/events" 10 '/tasks/exit.*"container_id":"k2".*"exit_status":137' ||
        fail "no exit 137 of k2 in containerd's events: $(grep /tasks/exit "$work/events")"
    C container delete k2 2>"$work/err" || fail "ctr container delete k2"
    ;;
pod)
    ids+=(p1 h1)
    command -v cc >/dev/null || skip "no C compiler for the pod's pause"
    command -v runc >/dev/null || skip "no runc for the pod's sandbox (containerd's package brings it)"
    cat >"$work/pause.c" <<'C'
#include <signal.h>
#include <unistd.h>
static void done(int sig) { (void)sig; _exit(0); }
int main(void) { signal(SIGTERM, done); signal(SIGINT, done); for (;;) pause(); }
C
    cc -static -O2 -o "$work/pause" "$work/pause.c" 2>"$work/err" || skip "cannot link a static pause"
    $mkimage --name localhost/chyve-pause:1 --cmd /pause "$work/pause.tar" "$work/pause:/pause" \
        >/dev/null 2>"$work/err" || fail "cannot make the pause image"
    C images import "$work/pause.tar" >/dev/null 2>"$work/err" || fail "cannot import the pause image"
    # The pod's network, as a CNI plugin would make it: eth0 with an address and a default route.
    ip netns add "$podns" || fail "cannot create the pod's network namespace"
    ip link add eth0 netns "$podns" type veth peer name podveth netns "$ns" || fail "no veth pair"
    in_ns ip addr add 10.201.1.1/24 dev podveth && in_ns ip link set podveth up || fail "host side"
    nsenter --net="/run/netns/$podns" sh -c 'ip link set lo up && ip addr add 10.201.1.2/24 dev eth0 &&
        ip link set eth0 up && ip route add default via 10.201.1.1' || fail "the pod's side"
    P=(--runc-binary "$cri_runtime" --runc-root "$rroot" --fifo-dir "$work/fifo")
    C run -d "${P[@]}" --annotation io.kubernetes.cri.container-type=sandbox \
        --with-ns "network:/run/netns/$podns" localhost/chyve-pause:1 p1 >/dev/null 2>"$work/err" ||
        fail "the sandbox did not start"
    [ -d "$rroot/$cns/@runc/p1" ] || fail "the sandbox is not runc's: $(ls -A "$rroot/$cns")"
    ppid=$(C task ls | awk '$1 == "p1" { print $2 }')
    timeout 300 nsenter --net="/run/netns/$ns" ctr --address "$sock" --namespace "$cns" events \
        >"$work/events" 2>&1 &
    events_pid=$!
    C run -d "${P[@]}" --annotation io.kubernetes.cri.container-type=container \
        --with-ns "network:/proc/$ppid/ns/net" --with-ns "pid:/proc/$ppid/ns/pid" \
        --log-uri "file://$work/h1.log" localhost/chyve-test:1 h1 /bin/net_echo >/dev/null 2>"$work/err" ||
        fail "the Hermit container did not start"
    [ -d "$rroot/$cns/h1" ] || fail "the Hermit container is not chyve-oci's"
    wait_for "$work/h1.log" 60 "net: ready" || fail "the guest did not get ready: $(cat "$work/h1.log")"
    grep -q "ip 10.201.1.2 " "$work/h1.log" || fail "the guest does not have the pod's address: $(cat "$work/h1.log")"
    hpid=$(C task ls | awk '$1 == "h1" { print $2 }')
    tr '\0' ' ' <"/proc/$hpid/cmdline" | grep -q "HERMIT_GATEWAY=10.201.1.1 " ||
        fail "the guest is not given the pod's gateway: $(tr '\0' ' ' <"/proc/$hpid/cmdline")"
    in_ns $check tcp-echo 10.201.1.2 9975 65536 2 || fail "tcp echo to the pod's address"
    C task kill h1 2>"$work/err" || fail "ctr task kill h1"
    wait_for "$work/events" 30 '/tasks/exit.*"container_id":"h1".*"exit_status":143' ||
        fail "no exit 143 of h1 in containerd's events: $(grep /tasks/exit "$work/events")"
    C task delete h1 >/dev/null 2>"$work/err" || fail "ctr task delete h1"
    C container delete h1 2>"$work/err" || fail "ctr container delete h1"
    # With the pod's PID namespace the shim ends a stopped container with kill --all; runc
    # answers that for a stopped container with success, and so must chyve-oci-cri.
    grep -q "failed to kill init's children" "$work/containerd.log" &&
        fail "the shim's kill --all failed: $(grep "kill init's children" "$work/containerd.log")"
    C task kill p1 2>"$work/err" || fail "ctr task kill p1"
    wait_for "$work/events" 30 '/tasks/exit.*"container_id":"p1"' || fail "the sandbox did not end"
    # Status 0: the events' JSON leaves a zero exit_status out.
    exit_line=$(grep '/tasks/exit.*"container_id":"p1"' "$work/events")
    [[ $exit_line == *'"exit_status":'* ]] && fail "the sandbox's pause did not exit 0: $exit_line"
    C task delete p1 >/dev/null 2>"$work/err" || fail "ctr task delete p1"
    C container delete p1 2>"$work/err" || fail "ctr container delete p1"
    [ -e "$rroot/$cns/@runc/p1" ] && fail "runc left the sandbox's state"
    ;;
*) echo "usage: containerd-test.sh run|kill|pod" >&2; exit 2 ;;
esac
leftovers
cleanup
trap - EXIT
kill -0 "$ctrd_pid" 2>/dev/null && { echo "containerd-test: FAILED: containerd $ctrd_pid is still running" >&2; exit 1; }
[ -e "$work" ] && { echo "containerd-test: FAILED: $work is left" >&2; exit 1; }
ip netns list | grep -q "^$ns\b" && { echo "containerd-test: FAILED: the namespace $ns is left" >&2; exit 1; }
echo "containerd-test: $mode passed" >&2
exit 0
