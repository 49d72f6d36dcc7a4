#!/usr/bin/env bash
# setup-arm64.sh: installs what the arm64 build and tests need on Debian/Ubuntu x86_64
# (idempotent): the aarch64 cross compiler, qemu-system-aarch64, the :arm64 libraries chyve links
# statically, and, in ~/.cache/chyve/arm64, Debian's arm64 cloud kernel, the arm64 libfdt
# (libfdt-dev cannot be installed for two architectures at once) and a static arm64 busybox.
# Then, with a directory argument, configures that cross build:
#   scripts/setup-arm64.sh build-arm64 [meson options...]
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
need_update=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "setup-arm64: adding the arm64 architecture to dpkg" >&2
    $sudo dpkg --add-architecture arm64
    need_update=1
fi
packages=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm cpio
          zlib1g-dev:arm64 libinih-dev:arm64 libyaml-dev:arm64
          gdb-multiarch) # gdb-multiarch: debugging the aarch64 guests (tests/gdb/README.md)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] || [ $need_update = 1 ]; then
    $sudo apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup-arm64: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi
pcdir=$(tests/arm64/fetch-libfdt.sh)
kernel=$(tests/arm64/fetch-kernel.sh)
tests/arm64/fetch-deb.sh busybox-static busybox >/dev/null # /bin/sh of the test initramfs
echo "setup-arm64: cross compiler, qemu, $(basename "$kernel"), arm64 libfdt and busybox ready" >&2

if [ $# -gt 0 ]; then
    build=$1
    shift
    opts=(--cross-file cross/aarch64-linux-gnu.ini -Dprefer_static=true -Dc_link_args=-static
          -Dpkg_config_path="$pcdir" -Dtests=disabled --wrap-mode=nodownload "$@")
    if [ -f "$build/build.ninja" ]; then
        meson setup --reconfigure "$build" "${opts[@]}" >/dev/null
    else
        meson setup "$build" "${opts[@]}" >/dev/null
    fi
    echo "setup-arm64: configured $build (static aarch64 chyve)" >&2
fi
