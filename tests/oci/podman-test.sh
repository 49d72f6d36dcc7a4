#!/usr/bin/env bash
# podman-test.sh: chyve-oci as podman's runtime, for real: an image imported from a local
# tarball of this project's test guests, run with --runtime chyve-oci. Everything runs as root
# inside a network namespace this script creates and deletes (podman's bridge, its iptables
# rules and the containers' namespaces are made there); podman's storage is in a temporary
# directory. Cases:
#   run      output, arguments, environment and exit status of a run, also with a terminal
#            (-t); volumes read-only and writable, --read-only; a non-Hermit command is refused
#            with a clear error
#   stop     run -d, logs, stop (SIGTERM: status 143), rm
#   rm       rm -f of a running container
#   ports    -p HOSTPORT:9975 to the network test guest: TCP and UDP echo through podman's port
#            forwarding, its bridge and chyve-oci's TAP; then stop
# Each checks afterwards that no chyve is left and nothing of the containers in chyve-oci's root.
# Needs $CHYVE_OCI and $GUEST_DIR (meson sets them). Exit 77 = skipped, with the reason.
set -uo pipefail
mode=${1:?usage: podman-test.sh run|stop|rm|ports}
here=$(cd "$(dirname "$0")" && pwd)
check="python3 $here/../net/netcheck.py"
oci_root=/run/chyve-oci # podman calls delete without its --runtime-flag: the default root
skip() {
    if [ "${CI:-}" = true ]; then echo "podman-test: FAILED (CI): cannot run: $*" >&2; exit 1; fi
    echo "podman-test: skipped: $*" >&2; exit 77
}
fail() { echo "podman-test: FAILED: $*" >&2; [ -s "$work/err" ] && sed 's/^/  stderr: /' "$work/err" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "podman with chyve-oci runs as root here (network namespace, TAP)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is not usable"
command -v podman >/dev/null || skip "no podman (scripts/setup-oci.sh installs it)"
command -v ip >/dev/null || skip "no ip(8) (iproute2)"
command -v nsenter >/dev/null || skip "no nsenter(1) (util-linux)"
[ -x "$CHYVE_OCI" ] || skip "no chyve-oci at $CHYVE_OCI"

work=$(mktemp -d /tmp/chyve-podman-XXXXXX)
ns=chyve-oci-$$
ids=()
cleanup() {
    if [ -n "${P:-}" ]; then
        in_ns "${P[@]}" rm -af -t 0 >/dev/null 2>&1
        in_ns "${P[@]}" rmi -af >/dev/null 2>&1
    fi
    ip netns del "$ns" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
# Only the network namespace: `ip netns exec` would also give each command a mount namespace of
# its own, in which podman's bind mounts of its containers' namespaces would not outlive it.
in_ns() { nsenter --net="/run/netns/$ns" "$@"; }

ip netns add "$ns" || skip "cannot create a network namespace"
in_ns ip link set lo up
# The namespace's own address, which port forwards are reached at.
in_ns ip addr add 10.201.0.1/32 dev lo || fail "cannot give the namespace an address"

cat >"$work/containers.conf" <<CONF
[containers]
default_ulimits = []
cgroups = "disabled"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$work/events.log"
runtime_supports_nocgroup = ["chyve-oci"]
[engine.runtimes]
chyve-oci = ["$CHYVE_OCI"]
[network]
network_backend = "cni"
network_config_dir = "$work/cni"
default_network = "chyve-test"
CONF
# A bridge network of the test's own, whose address bookkeeping stays in the work directory.
mkdir -p "$work/cni"
cat >"$work/cni/chyve-test.conflist" <<CONF
{
  "cniVersion": "0.4.0",
  "name": "chyve-test",
  "plugins": [
    {"type": "bridge", "bridge": "chyve-br0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$work/cni-ipam", "routes": [{"dst": "0.0.0.0/0"}],
              "ranges": [[{"subnet": "10.89.7.0/24", "gateway": "10.89.7.1"}]]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall", "backend": "iptables"},
    {"type": "tuning"}
  ]
}
CONF
export CONTAINERS_CONF=$work/containers.conf
P=(podman --root "$work/store" --runroot "$work/run" --tmpdir "$work/tmp" --storage-driver vfs
   --runtime chyve-oci)

# The image: the test guests under /bin, and one file that is not a Hermit kernel.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc"
for g in exitcode args_fdt stopwait net_echo files; do
    cp "$GUEST_DIR/$g" "$work/rootfs/bin/" || skip "no test guest $g in $GUEST_DIR"
done
printf '#!/bin/sh\necho not hermit\n' >"$work/rootfs/bin/sh"
chmod +x "$work/rootfs/bin/sh"
echo "the image's own file" >"$work/rootfs/etc/motd"
tar -C "$work/rootfs" -cf "$work/image.tar" . || fail "cannot pack the image"
in_ns "${P[@]}" import "$work/image.tar" localhost/chyve-test:1 >/dev/null 2>"$work/err" ||
    skip "podman cannot import an image here: $(tail -1 "$work/err")"

# After each case: no chyve of ours left, nothing of the containers in chyve-oci's root.
leftovers() {
    local id
    for id in "${ids[@]}"; do
        [ -e "$oci_root/$id" ] && fail "chyve-oci left $oci_root/$id behind"
    done
    pgrep -f "chyve.*--start-fifo $oci_root" >/dev/null && fail "a chyve process is left"
    return 0
}
remember() { ids+=("$(in_ns "${P[@]}" inspect --format '{{.Id}}' "$1")"); }
status_of() { in_ns "${P[@]}" inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$1"; }
# Waits up to $2 s for $3 in the container's log.
wait_log() {
    for _ in $(seq $(($2 * 10))); do
        in_ns "${P[@]}" logs "$1" 2>/dev/null | grep -q "$3" && return 0
        sleep 0.1
    done
    return 1
}

case $mode in
run)
    in_ns "${P[@]}" run --name r1 localhost/chyve-test:1 /bin/exitcode 7 >"$work/out" 2>"$work/err"
    rc=$?
    [ "$rc" -eq 7 ] || fail "podman run ended with $rc, not the guest's 7"
    grep -q "exiting with 7" "$work/out" || fail "no guest output: $(cat "$work/out")"
    remember r1
    [ "$(status_of r1)" = "exited 7" ] || fail "inspect says $(status_of r1)"
    in_ns "${P[@]}" rm r1 >/dev/null || fail "podman rm"
    # Arguments and environment (-e) reach the guest, as does the image's PATH lookup.
    in_ns "${P[@]}" run --rm -e GREETING=hello-from-podman localhost/chyve-test:1 args_fdt one 'two words' \
        >"$work/out" 2>"$work/err" || fail "args_fdt run failed"
    grep -q "one" "$work/out" && grep -q "two words" "$work/out" || fail "arguments: $(cat "$work/out")"
    grep -q "GREETING=hello-from-podman" "$work/out" || fail "environment: $(cat "$work/out")"
    # With a terminal (-t: --console-socket, the guest's console on a pty podman holds).
    in_ns "${P[@]}" run --rm -t localhost/chyve-test:1 /bin/exitcode 3 >"$work/out" 2>"$work/err"
    rc=$?
    [ "$rc" -eq 3 ] || fail "podman run -t ended with $rc, not 3"
    grep -q "exiting with 3" "$work/out" || fail "no guest output through the terminal: $(cat "$work/out")"
    # -v HOST:DEST:ro and --read-only: the guest cannot change the host's files; -v rw: it can.
    mkdir -p "$work/vol"
    in_ns "${P[@]}" run --rm --read-only -v "$work/vol:/vol:ro" localhost/chyve-test:1 /bin/files rw /vol/new.txt \
        >"$work/out" 2>"$work/err"
    grep -q "open for writing: FAIL" "$work/out" || fail "a read-only volume was written: $(cat "$work/out")"
    [ -e "$work/vol/new.txt" ] && fail "a file appeared in a read-only volume"
    in_ns "${P[@]}" run --rm --read-only localhost/chyve-test:1 /bin/files rw /etc/new.txt >"$work/out" 2>"$work/err"
    grep -q "open for writing: FAIL" "$work/out" || fail "--read-only: the rootfs was written: $(cat "$work/out")"
    in_ns "${P[@]}" run --rm -v "$work/vol:/vol" localhost/chyve-test:1 /bin/files rw /vol/new.txt \
        >"$work/out" 2>"$work/err" || fail "files rw on a volume: $(cat "$work/out" "$work/err")"
    grep -q "hello, chyve files" "$work/vol/new.txt" || fail "the volume did not get the guest's file"
    # A command that is not a Hermit kernel: refused, with the reason.
    if in_ns "${P[@]}" run --rm localhost/chyve-test:1 /bin/sh >"$work/out" 2>"$work/err"; then
        fail "a non-Hermit command was run"
    fi
    grep -q "is not a Hermit kernel" "$work/err" || fail "refusal: $(cat "$work/err")"
    ;;
stop)
    in_ns "${P[@]}" run -d --name s1 localhost/chyve-test:1 /bin/stopwait spin 600 >/dev/null 2>"$work/err" ||
        fail "podman run -d"
    remember s1
    wait_log s1 60 spinning || fail "the guest's output is not in podman logs"
    [ "$(status_of s1)" = "running 0" ] || fail "inspect says $(status_of s1) while it runs"
    in_ns "${P[@]}" stop -t 20 s1 >/dev/null 2>"$work/err" || fail "podman stop"
    # SIGTERM stops the VM cleanly: 128 + 15, as a process that runc's container ran would show.
    [ "$(status_of s1)" = "exited 143" ] || fail "after stop: $(status_of s1)"
    in_ns "${P[@]}" rm s1 >/dev/null 2>"$work/err" || fail "podman rm"
    ;;
rm)
    in_ns "${P[@]}" run -d --name f1 localhost/chyve-test:1 /bin/stopwait spin 600 >/dev/null 2>"$work/err" ||
        fail "podman run -d"
    remember f1
    wait_log f1 60 spinning || fail "the guest did not start"
    in_ns "${P[@]}" rm -f -t 0 f1 >/dev/null 2>"$work/err" || fail "podman rm -f"
    in_ns "${P[@]}" container exists f1 && fail "the container is still there"
    ;;
ports)
    in_ns "${P[@]}" run -d --name n1 -p 18080:9975 -p 18081:9975/udp localhost/chyve-test:1 \
        /bin/net_echo >/dev/null 2>"$work/err" || fail "podman run -d -p"
    remember n1
    wait_log n1 60 "net: ready" || fail "the network guest did not get ready: $(in_ns "${P[@]}" logs n1 2>&1)"
    ip=$(in_ns "${P[@]}" inspect --format '{{.NetworkSettings.IPAddress}}' n1)
    in_ns "${P[@]}" logs n1 | grep -q "ip $ip " || fail "the guest does not have the container's address $ip"
    in_ns $check tcp-echo 10.201.0.1 18080 65536 2 || fail "tcp echo through -p 18080:9975"
    in_ns $check udp-echo 10.201.0.1 18081 50 || fail "udp echo through -p 18081:9975/udp"
    in_ns "${P[@]}" stop -t 20 n1 >/dev/null 2>"$work/err" || fail "podman stop"
    [ "$(status_of n1)" = "exited 143" ] || fail "after stop: $(status_of n1)"
    in_ns "${P[@]}" rm n1 >/dev/null || fail "podman rm"
    ;;
*) echo "usage: podman-test.sh run|stop|rm|ports" >&2; exit 2 ;;
esac
leftovers
echo "podman-test: $mode passed" >&2
exit 0
