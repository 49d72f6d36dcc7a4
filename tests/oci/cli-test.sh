#!/usr/bin/env bash
# cli-test.sh: chyve-oci's command line driven by hand, as an engine drives it, on bundles made
# here from the test guests (no engine needed): create holds the VM, state says so, start runs
# it, its exit status is the guest's; kill by name and number; delete refuses a live container
# without --force; concurrent creates of one ID; as root, a guest in a network namespace of the
# test's own taking eth0's address, and delete giving eth0 back (twice in one namespace); and
# the errors, one line each.
# Needs $CHYVE_OCI and $GUEST_DIR (meson sets them). Exit 77 = skipped, with the reason.
set -uo pipefail
skip() { echo "cli-test: skipped: $*" >&2; exit 77; }
fail() { echo "cli-test: FAILED: $*" >&2; exit 1; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is not usable"
[ -x "$CHYVE_OCI" ] || skip "no chyve-oci at $CHYVE_OCI"
work=$(mktemp -d /tmp/chyve-oci-cli-XXXXXX)
root=$work/root
O=("$CHYVE_OCI" --root "$root")
cleanup() {
    for d in "$root"/*/; do
        [ -d "$d" ] && "${O[@]}" delete --force "$(basename "$d")" >/dev/null 2>&1
    done
    ip netns del "chyve-cli-$$" 2>/dev/null
    ip netns del "chyve-clp-$$" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# bundle NAME ARGS-JSON [EXTRA-JSON]: a bundle whose rootfs holds the test guests.
bundle() {
    local b=$work/$1
    mkdir -p "$b/rootfs/bin"
    cp "$GUEST_DIR"/{exitcode,stopwait,args_fdt,files} "$b/rootfs/bin/" || skip "test guests missing"
    printf 'not a kernel\n' >"$b/rootfs/bin/text"
    cat >"$b/config.json" <<JSON
{"ociVersion": "1.0.2", "root": {"path": "rootfs"},
 "process": {"args": $2, "env": ["PATH=/bin", "FROM_SPEC=yes"], "cwd": "/"},
 "annotations": {"org.example.test": "cli"}${3:-}}
JSON
    echo "$b"
}
# alive PID: the process exists and is not a zombie (its reaper may not have collected it yet).
alive() { [ -r "/proc/$1/stat" ] && ! sed 's/.*) //' "/proc/$1/stat" | grep -q '^[ZX]'; }
state_of() { "${O[@]}" state "$1" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["status"], s["pid"])'; }
# one_line FILE TEXT: FILE is exactly one line holding TEXT.
one_line() {
    grep -q "$2" "$1" || fail "expected '$2', got: $(cat "$1")"
    [ "$(wc -l <"$1")" -eq 1 ] || fail "more than one line: $(cat "$1")"
}

# --- lifecycle: create holds the guest, start runs it, the status follows
b=$(bundle life '["stopwait", "spin", "600"]')
"${O[@]}" create --bundle "$b" --pid-file "$work/pid" life >"$work/out" 2>"$work/err" || fail "create: $(cat "$work/err")"
read -r st pid < <(state_of life)
[ "$st" = created ] || fail "after create: $st"
[ "$pid" = "$(cat "$work/pid")" ] || fail "state pid $pid, pid file $(cat "$work/pid")"
alive "$pid" || fail "the VM process is not there"
sleep 0.3
grep -q spinning "$work/out" && fail "the guest ran before start"
"${O[@]}" start life || fail "start"
for _ in $(seq 100); do grep -q spinning "$work/out" && break; sleep 0.1; done
grep -q spinning "$work/out" || fail "the guest did not run after start"
[ "$(state_of life)" = "running $pid" ] || fail "after start: $(state_of life)"
"${O[@]}" start life 2>"$work/e" && fail "a second start was accepted"
one_line "$work/e" "only a created container can be started"
"${O[@]}" delete life 2>"$work/e" && fail "delete of a running container without --force"
one_line "$work/e" "not stopped: running"
"${O[@]}" list | grep -q "^life .*running" || fail "list: $("${O[@]}" list)"
"${O[@]}" list --format json | python3 -c 'import json,sys; l=json.load(sys.stdin); assert l[0]["id"]=="life" and l[0]["annotations"]["org.example.test"]=="cli"' ||
    fail "list --format json"
"${O[@]}" kill life TERM || fail "kill TERM"
for _ in $(seq 300); do [ "$(state_of life)" = "stopped 0" ] && break; sleep 0.1; done
[ "$(state_of life)" = "stopped 0" ] || fail "after kill: $(state_of life)"
"${O[@]}" kill life 9 2>"$work/e" && fail "kill of a stopped container"
one_line "$work/e" "container not running"
"${O[@]}" kill --all life 9 || fail "kill --all of a stopped container is not done at once (as runc)"
"${O[@]}" delete life || fail "delete of a stopped container"
[ -e "$root/life" ] && fail "delete left $root/life"
"${O[@]}" state life 2>"$work/e" && fail "state of a deleted container"
one_line "$work/e" "container life does not exist"
"${O[@]}" delete --force life || fail "delete --force of a missing container is not done at once (as runc)"

# --- run: the guest's exit status and arguments, environment from the spec
b=$(bundle code '["/bin/exitcode", "42"]')
"${O[@]}" run --bundle "$b" code >"$work/out" 2>&1
rc=$?
[ $rc -eq 42 ] || fail "run passed on $rc, not 42: $(cat "$work/out")"
[ -e "$root/code" ] && fail "run left its state"
b=$(bundle args '["args_fdt", "first", "second arg"]')
"${O[@]}" run --bundle "$b" args >"$work/out" 2>&1 || fail "run args_fdt: $(cat "$work/out")"
grep -q "second arg" "$work/out" && grep -q "FROM_SPEC=yes" "$work/out" || fail "args/env: $(cat "$work/out")"

# --- read-only: root.readonly and a bind mount with "ro" keep the host's files as they are
mkdir -p "$work/data"
mnt() { echo ", \"mounts\": [{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"$work/data\", \"options\": [\"rbind\", \"$1\"]}]"; }
b=$(bundle romnt '["files", "rw", "/data/new.txt"]' "$(mnt ro)")
"${O[@]}" run --bundle "$b" romnt >"$work/out" 2>&1
grep -q "open for writing: FAIL" "$work/out" || fail "a read-only mount was written: $(cat "$work/out")"
[ -e "$work/data/new.txt" ] && fail "a file appeared in a read-only mount's host directory"
b=$(bundle rwmnt '["files", "rw", "/data/new.txt"]' "$(mnt rw)")
"${O[@]}" run --bundle "$b" rwmnt >"$work/out" 2>&1 || fail "files rw on a writable mount: $(cat "$work/out")"
grep -q "hello, chyve files" "$work/data/new.txt" || fail "the writable mount's host file is not there"
b=$(bundle roroot '["files", "rw", "/bin/new.txt"]')
sed -i 's/"root": {"path": "rootfs"}/"root": {"path": "rootfs", "readonly": true}/' "$b/config.json"
"${O[@]}" run --bundle "$b" roroot >"$work/out" 2>&1
grep -q "open for writing: FAIL" "$work/out" || fail "a read-only rootfs was written: $(cat "$work/out")"
[ -e "$b/rootfs/bin/new.txt" ] && fail "a file appeared in a read-only rootfs"
b=$(bundle rwroot '["files", "rw", "/bin/new.txt"]')
"${O[@]}" run --bundle "$b" rwroot >"$work/out" 2>&1 || fail "files rw on the rootfs: $(cat "$work/out")"
grep -q "hello, chyve files" "$b/rootfs/bin/new.txt" || fail "the rootfs did not get the guest's file"

# --- delete --force of a created (never started) VM, and kill with a signal name
b=$(bundle held '["stopwait", "spin", "600"]')
"${O[@]}" create --bundle "$b" held >/dev/null 2>&1 || fail "create held"
pid=$(state_of held | cut -d' ' -f2)
"${O[@]}" kill held SIGFOO 2>"$work/e" && fail "a bad signal name was accepted"
one_line "$work/e" "is not a signal"
"${O[@]}" delete --force held || fail "delete --force"
alive "$pid" && fail "the VM survived delete --force"
[ -e "$root/held" ] && fail "delete --force left its state"

# --- one ID, two concurrent creates: exactly one wins
b=$(bundle race '["stopwait", "spin", "600"]')
"${O[@]}" create --bundle "$b" race >/dev/null 2>"$work/e1" & p1=$!
"${O[@]}" create --bundle "$b" race >/dev/null 2>"$work/e2" & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
[ $((r1 + r2)) -eq 1 ] || fail "two creates of one ID: statuses $r1 and $r2"
cat "$work/e1" "$work/e2" | grep -q "container race already exists" || fail "the loser's error: $(cat "$work/e1" "$work/e2")"
"${O[@]}" delete --force race || fail "delete race"

# --- in a network namespace (root): the guest takes eth0's address; delete gives eth0 back
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && ip netns add "chyve-cli-$$" 2>/dev/null; then
    ns=chyve-cli-$$ peer=chyve-clp-$$
    ip netns add "$peer"
    ip -n "$ns" link add eth0 type veth peer name eth1 netns "$peer"
    ip -n "$ns" addr add 10.203.0.2/24 dev eth0 && ip -n "$ns" link set eth0 up && ip -n "$ns" link set lo up
    ip -n "$ns" route add default via 10.203.0.1
    ip -n "$peer" addr add 10.203.0.1/24 dev eth1 && ip -n "$peer" link set eth1 up
    cp "$GUEST_DIR/net_echo" "$work/"
    for round in 1 2; do # the second create in the same namespace needs the first undone
        b=$(bundle "net$round" '["/bin/net_echo"]' ", \"linux\": {\"namespaces\": [{\"type\": \"network\", \"path\": \"/run/netns/$ns\"}]}")
        cp "$work/net_echo" "$b/rootfs/bin/"
        "${O[@]}" create --bundle "$b" "net$round" >"$work/nout" 2>"$work/e" || fail "create in a namespace: $(cat "$work/e")"
        ip -n "$ns" link show chyve0 >/dev/null 2>&1 || fail "no TAP chyve0 in the namespace"
        "${O[@]}" start "net$round" || fail "start net$round"
        for _ in $(seq 300); do grep -q "net: ready" "$work/nout" && break; sleep 0.1; done
        grep -q "net: ready mac .* ip 10.203.0.2 " "$work/nout" || fail "the guest does not have eth0's address: $(cat "$work/nout")"
        ip netns exec "$peer" ping -c 2 -W 5 -q 10.203.0.2 >/dev/null || fail "the guest does not answer on eth0's address"
        "${O[@]}" kill "net$round" TERM && for _ in $(seq 300); do [ "$(state_of "net$round")" = "stopped 0" ] && break; sleep 0.1; done
        "${O[@]}" delete "net$round" || fail "delete net$round"
        ip -n "$ns" link show chyve0 >/dev/null 2>&1 && fail "delete left the TAP chyve0"
        tc -n "$ns" qdisc show dev eth0 | grep -q ingress && fail "delete left eth0's ingress qdisc"
    done
    ip netns del "$ns"; ip netns del "$peer"
fi

# --- errors: one line on stderr, status 1, nothing left behind
b=$(bundle text '["/bin/text"]')
"${O[@]}" create --bundle "$b" t1 2>"$work/e" && fail "a non-Hermit command was created"
one_line "$work/e" "is not a Hermit kernel"
b=$(bundle missing '["/bin/nosuch"]')
"${O[@]}" create --bundle "$b" t2 2>"$work/e" && fail "a missing command was created"
one_line "$work/e" "is not in the rootfs"
b=$(bundle escape '["../../../../../../bin/true"]')
"${O[@]}" create --bundle "$b" t3 2>"$work/e" && fail "a path out of the rootfs was followed"
one_line "$work/e" "is not in the rootfs"
# A symlink to a real kernel outside the rootfs resolves inside it (as the container sees it).
b=$(bundle link '["/bin/outside"]')
ln -s "$GUEST_DIR/exitcode" "$b/rootfs/bin/outside"
"${O[@]}" create --bundle "$b" t6 2>"$work/e" && fail "a symlink out of the rootfs was followed"
one_line "$work/e" "is not in the rootfs"
b=$(bundle small '["exitcode", "1"]' ', "linux": {"resources": {"memory": {"limit": 8388608}}}')
"${O[@]}" create --bundle "$b" t4 2>"$work/e" && fail "an 8 MiB limit was accepted"
one_line "$work/e" "below chyve's smallest guest"
mkdir -p "$work/bad" && echo '{"ociVersion": "1.0.2", "root": ' >"$work/bad/config.json"
"${O[@]}" create --bundle "$work/bad" t5 2>"$work/e" && fail "a broken config.json was accepted"
one_line "$work/e" "config.json: line"
"${O[@]}" create --bundle "$work/bad" 'bad/id' 2>"$work/e" && fail "a bad ID was accepted"
one_line "$work/e" "not a valid container ID"
"${O[@]}" frobnicate x 2>"$work/e" && fail "an unknown command was accepted"
one_line "$work/e" "unknown command 'frobnicate'"
"${O[@]}" exec x 2>"$work/e" && fail "exec was accepted"
one_line "$work/e" "not possible for a Hermit VM"
for id in t1 t2 t3 t4 t5 t6; do [ -e "$root/$id" ] && fail "a failed create left $root/$id"; done

# --- delete removes a directory without state only if create could have left it
mkdir -p "$root/notours" && echo precious >"$root/notours/data"
"${O[@]}" delete notours 2>"$work/e" && fail "delete removed a directory that was never a container's"
one_line "$work/e" "has no readable state.json and holds other files"
[ -f "$root/notours/data" ] || fail "delete removed a file of a directory it did not make"
rm -rf "$root/notours"
mkdir -p "$root/halfway" && mkfifo "$root/halfway/start"
"${O[@]}" delete halfway || fail "delete of a create that died before its state"
[ -e "$root/halfway" ] && fail "delete left a half-made container"

# --- the JSON log engines read: one JSON object per error line
"$CHYVE_OCI" --root "$root" --log "$work/log.json" --log-format json state nosuch 2>/dev/null &&
    fail "state of a missing container"
python3 -c 'import json,sys; o=json.loads(open(sys.argv[1]).readline()); assert o["level"]=="error" and "nosuch does not exist" in o["msg"], o' \
    "$work/log.json" || fail "the JSON log: $(cat "$work/log.json")"
"$CHYVE_OCI" features | python3 -c 'import json,sys; assert json.load(sys.stdin)["ociVersionMax"]' || fail "features"
"$CHYVE_OCI" --version | grep -q '^chyve-oci version' || fail "--version"
[ -z "$(ls -A "$root")" ] || fail "the root holds $(ls -A "$root")"
echo "cli-test: passed" >&2
