#!/bin/sh
# fetch-kernel.sh: downloads Debian's arm64 cloud kernel (KVM, PL011, GICv3 and a gzip initramfs
# are built in, so no modules are needed) with apt-get and unpacks it into CACHE_DIR (default
# ${XDG_CACHE_HOME:-~/.cache}/chyve/arm64). Prints the path of the kernel image. Needs the arm64
# architecture in dpkg (scripts/setup-arm64.sh adds it); does not need root.
set -eu
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/chyve/arm64}
mkdir -p "$cache/debs" "$cache/kernel"
existing=$(ls "$cache"/kernel/boot/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)
if [ -n "$existing" ]; then
    echo "$existing"
    exit 0
fi
command -v apt-get >/dev/null || { echo "fetch-kernel: apt-get is missing" >&2; exit 1; }
dpkg --print-foreign-architectures | grep -qx arm64 || {
    echo "fetch-kernel: dpkg does not know the arm64 architecture (run scripts/setup-arm64.sh)" >&2
    exit 1
}
pkg=$(apt-cache search --names-only '^linux-image-[0-9.]+-[0-9]+-cloud-arm64-unsigned$' |
      awk '{print $1}' | sort -V | tail -1)
[ -n "$pkg" ] || { echo "fetch-kernel: no linux-image-*-cloud-arm64-unsigned package" >&2; exit 1; }
(cd "$cache/debs" && apt-get download "$pkg:arm64" >/dev/null 2>&1) ||
    { echo "fetch-kernel: apt-get download $pkg:arm64 failed" >&2; exit 1; }
dpkg-deb -x "$(ls "$cache"/debs/"${pkg}"_*_arm64.deb | tail -1)" "$cache/kernel"
rm -rf "$cache/kernel/lib" "$cache/kernel/usr" # modules and docs: not needed, ~100 MB
ls "$cache"/kernel/boot/vmlinuz-* | sort -V | tail -1
