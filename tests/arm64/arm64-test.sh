#!/bin/sh
# arm64-test.sh: the 'arm64' meson test of an x86_64 build: keeps a cross build of chyve, its
# aarch64 test guests and the test driver up to date in CROSS_DIR (static, -Werror), then runs
# them under KVM in an emulated arm64 machine (run-qemu.sh).
# Usage: arm64-test.sh SOURCE_ROOT CROSS_DIR [RUN_QEMU_ARGS...] (e.g. --append KERNEL_ARGS --
# DRIVER_ARGS). Exit 77 (skip) when the cross compiler, qemu or the arm64 packages are missing,
# unless CI=true: then that is a failure.
set -u
src=$1 cross=$2
shift 2
here=$src/tests/arm64
missing() {
    echo "arm64-test: $* (scripts/setup-arm64.sh installs everything)" >&2
    [ "${CI:-}" = true ] && { echo "arm64-test: CI=true, so this is a failure" >&2; exit 1; }
    exit 77
}
command -v aarch64-linux-gnu-gcc >/dev/null || missing "aarch64-linux-gnu-gcc is missing"
command -v qemu-system-aarch64 >/dev/null || missing "qemu-system-aarch64 is missing"
[ -f /usr/aarch64-linux-gnu/include/stdio.h ] || missing "libc6-dev-arm64-cross is missing"
pcdir=$("$here/fetch-libfdt.sh") || missing "no arm64 libfdt"
kernel=$("$here/fetch-kernel.sh") || missing "no arm64 kernel"
busybox=$("$here/fetch-deb.sh" busybox-static busybox)/bin/busybox || missing "no arm64 busybox"

if [ ! -f "$cross/build.ninja" ]; then
    meson setup "$cross" "$src" --cross-file "$src/cross/aarch64-linux-gnu.ini" -Dwerror=true \
        -Dprefer_static=true -Dc_link_args=-static -Dpkg_config_path="$pcdir" \
        -Dtests=disabled --wrap-mode=nodownload >"$cross.setup.log" 2>&1 ||
        { cat "$cross.setup.log" >&2; echo "arm64-test: meson setup of $cross failed" >&2; exit 1; }
fi
# A cross build that does not compile is a real failure, not a missing tool.
ninja -C "$cross" >"$cross.ninja.log" 2>&1 ||
    { tail -40 "$cross.ninja.log" >&2; echo "arm64-test: the cross build failed" >&2; exit 1; }
# The module layout of the aarch64 build (its arch and backend files), as module_cycles checks
# the host's: no cycle in the core, no two files of core and backend calling each other.
for check in "$cross/libchyve_core.a" "--pairs-only $cross/libchyve_core.a $cross/libchyve_backend.a"; do
    # shellcheck disable=SC2086 # $check is a list of arguments
    python3 "$src/scripts/check-cycles.py" --source-root "$src" $check >"$cross.cycles.log" 2>&1 ||
        { cat "$cross.cycles.log" >&2; echo "arm64-test: module cycles in the aarch64 build" >&2; exit 1; }
done
exec "$here/run-qemu.sh" --kernel "$kernel" --busybox "$busybox" \
    --init "$cross/tests/arm64/arm64-init" --driver "$cross/tests/arm64/arm64-driver" \
    --chyve "$cross/chyve" --guests "$cross/tests/guests/aarch64" "$@"
