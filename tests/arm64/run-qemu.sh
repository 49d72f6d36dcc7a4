#!/bin/sh
# run-qemu.sh: runs the aarch64 chyve tests under KVM on an emulated arm64 machine: packs /init,
# /driver, /chyve, the guests and a static busybox (/bin/sh and tools, for the tests' system()
# calls) into an initramfs, boots Debian's arm64 cloud kernel in qemu-system-aarch64 (TCG, EL2
# for KVM, GICv3, 4 CPUs) and exits with the driver's status.
#
# Usage: run-qemu.sh --init INIT --driver DRIVER --chyve CHYVE --guests DIR [--kernel IMAGE]
#                    [--busybox BUSYBOX] [--append KERNEL_ARGS] [--extra SRC:DST]...
#                    [--hostfwd HOSTPORT:GUESTPORT]... [-v] [-- DRIVER_ARGS...]
#   DRIVER_ARGS default to "/chyve /guests"; INIT runs /driver with them. --kernel and --busybox
#   default to what fetch-kernel.sh and fetch-deb.sh (busybox-static) download. --append adds
#   kernel command-line words (e.g. lsm=yama: no Landlock). --extra copies more files into the
#   initramfs (e.g. a Hermit kernel to run by hand with a driver of your own). The kernel's
#   modules (fetch-kernel.sh keeps tun.ko in ../modules next to the image's boot/) go to
#   /lib/modules, which INIT loads. --hostfwd gives the machine a virtio-mmio network card on
#   qemu's user network (the machine is 10.0.2.15) with host 127.0.0.1:HOSTPORT forwarded to its
#   GUESTPORT; the card's modules (../netmodules) go to /lib/gdb-net, for the driver to load.
# Environment: CHYVE_ARM64_SMP (4), CHYVE_ARM64_MEM (1G), CHYVE_ARM64_TIMEOUT (900 s),
#   CHYVE_ARM64_CPU (max,pauth-impdef=on,lpa2=off), CI (true: missing tools fail, not skip).
# Exit: the driver's status; 77 = tools missing (skip); 124 = timeout; 125 = no result marker.
set -u
here=$(cd "$(dirname "$0")" && pwd)
init= driver= chyve= guests= kernel= busybox= kargs= extras= fwds= verbose=0
while [ $# -gt 0 ]; do
    case $1 in
    --init) init=$2; shift 2 ;;
    --driver) driver=$2; shift 2 ;;
    --chyve) chyve=$2; shift 2 ;;
    --guests) guests=$2; shift 2 ;;
    --kernel) kernel=$2; shift 2 ;;
    --busybox) busybox=$2; shift 2 ;;
    --append) kargs="$kargs $2"; shift 2 ;;
    --extra) extras="$extras $2"; shift 2 ;;
    --hostfwd) fwds="$fwds,hostfwd=tcp:127.0.0.1:${2%%:*}-:${2#*:}"; shift 2 ;;
    -v) verbose=1; shift ;;
    --) shift; break ;;
    *) echo "run-qemu: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ $# -gt 0 ] || set -- /chyve /guests

# A missing tool skips the test on a developer machine and fails it in CI.
missing() {
    echo "run-qemu: $* (scripts/setup-arm64.sh installs everything)" >&2
    [ "${CI:-}" = true ] && { echo "run-qemu: CI=true, so this is a failure" >&2; exit 1; }
    exit 77
}
command -v qemu-system-aarch64 >/dev/null || missing "qemu-system-aarch64 is missing"
command -v cpio >/dev/null || missing "cpio is missing"
for f in "$init" "$driver" "$chyve"; do
    [ -n "$f" ] && [ -f "$f" ] || missing "not built: '$f' (needs the aarch64 cross compiler)"
done
[ -n "$guests" ] && [ -f "$guests/hello" ] || missing "aarch64 test guests not built in '$guests'"
if [ -z "$kernel" ]; then
    kernel=$("$here/fetch-kernel.sh") || missing "no arm64 kernel (fetch-kernel.sh failed)"
fi
[ -f "$kernel" ] || missing "arm64 kernel '$kernel' not found"
if [ -z "$busybox" ]; then
    busybox=$("$here/fetch-deb.sh" busybox-static busybox)/bin/busybox ||
        missing "no arm64 busybox (fetch-deb.sh busybox-static failed)"
fi
[ -f "$busybox" ] || missing "arm64 busybox '$busybox' not found"
# The initramfs has no libraries: everything must be linked statically.
if command -v aarch64-linux-gnu-readelf >/dev/null; then
    for f in "$init" "$driver" "$chyve"; do
        if aarch64-linux-gnu-readelf -l "$f" | grep -q 'program interpreter'; then
            echo "run-qemu: $f is dynamically linked; configure the cross build with" \
                "-Dprefer_static=true -Dc_link_args=-static" >&2
            exit 1
        fi
    done
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/chyve-arm64.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/guests" "$root/dev" "$root/bin"
cp "$busybox" "$root/bin/busybox" || { echo "run-qemu: cannot copy busybox" >&2; exit 125; }
for tool in sh mkdir rm ln echo cat ls cp mv chmod touch; do
    ln -s busybox "$root/bin/$tool"
done
cp "$init" "$root/init" && cp "$driver" "$root/driver" && cp "$chyve" "$root/chyve" ||
    { echo "run-qemu: cannot copy the binaries" >&2; exit 125; }
for g in "$guests"/*; do
    [ -f "$g" ] && cp "$g" "$root/guests/"
done
mkdir -p "$root/lib/modules"
for m in "$(dirname "$kernel")"/../modules/*.ko*; do
    [ -f "$m" ] && cp "$m" "$root/lib/modules/"
done
net=
if [ -n "$fwds" ]; then
    mkdir -p "$root/lib/gdb-net"
    for m in "$(dirname "$kernel")"/../netmodules/*.ko*; do
        [ -f "$m" ] && cp "$m" "$root/lib/gdb-net/"
    done
    net="-netdev user,id=n0,restrict=on$fwds -device virtio-net-device,netdev=n0"
fi
for pair in $extras; do
    mkdir -p "$root/$(dirname "${pair#*:}")" && cp "${pair%%:*}" "$root/${pair#*:}" ||
        { echo "run-qemu: --extra $pair failed" >&2; exit 125; }
done
chmod 755 "$root/init" "$root/driver" "$root/chyve" "$root/bin/busybox"
(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1 >"$work/initrd.gz") ||
    { echo "run-qemu: cannot pack the initramfs" >&2; exit 125; }

log=$work/console.log
start=$(date +%s)
timeout --foreground -k 5 "${CHYVE_ARM64_TIMEOUT:-900}" qemu-system-aarch64 \
    -M virt,virtualization=on,gic-version=3 \
    -cpu "${CHYVE_ARM64_CPU:-max,pauth-impdef=on,lpa2=off}" \
    -smp "${CHYVE_ARM64_SMP:-4}" -m "${CHYVE_ARM64_MEM:-1G}" \
    -nographic -nodefaults -serial stdio -monitor none -no-reboot \
    -kernel "$kernel" -initrd "$work/initrd.gz" $net \
    -append "console=ttyAMA0 panic=-1 loglevel=3$kargs -- $*" </dev/null >"$log" 2>&1
qrc=$?
tr -d '\r' <"$log" >"$log.txt"
if [ "$verbose" = 1 ]; then
    cat "$log.txt"
else
    sed -n '/^init: /,/^@@CHYVE_ARM64_EXIT=/p' "$log.txt" | grep -v '^@@CHYVE_ARM64_EXIT='
fi
status=$(sed -n 's/^@@CHYVE_ARM64_EXIT=\([0-9]*\)@@$/\1/p' "$log.txt" | tail -1)
echo "run-qemu: $(basename "$kernel")$kargs, qemu status $qrc, $(($(date +%s) - start)) s" >&2
if [ -z "$status" ]; then
    [ "$qrc" = 124 ] && { echo "run-qemu: timed out" >&2; exit 124; }
    echo "run-qemu: no result from the emulated machine; last console lines:" >&2
    tail -25 "$log.txt" >&2
    exit 125
fi
# The driver's 77 (no /dev/kvm inside the machine) is a broken harness here, not a skip.
[ "$status" = 77 ] && { echo "run-qemu: no /dev/kvm inside the emulated machine" >&2; exit 1; }
exit "$status"
