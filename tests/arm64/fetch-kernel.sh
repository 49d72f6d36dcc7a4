#!/bin/sh
# fetch-kernel.sh: downloads Debian's arm64 cloud kernel (KVM, PL011, GICv3 and a gzip initramfs
# are built in) with apt-get and unpacks it into CACHE_DIR (default
# ${XDG_CACHE_HOME:-~/.cache}/chyve/arm64). Of the modules only tun.ko is kept (TAP devices for
# the network cases; it depends on no other module), in CACHE_DIR/kernel/modules, where
# run-qemu.sh looks for it, and the virtio-mmio network driver with what it needs (NET_MODULES),
# in CACHE_DIR/kernel/netmodules, for qemu's user network of the arm64_gdb test (run-qemu.sh
# --hostfwd). Prints the path of the kernel image. Needs the arm64 architecture in dpkg
# (scripts/setup-arm64.sh adds it); does not need root.
set -eu
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/chyve/arm64}
mkdir -p "$cache/debs" "$cache/kernel"
NET_MODULES="drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko drivers/virtio/virtio_mmio.ko
    net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko"
# Moves the tun module (tun.ko, or compressed) of the unpacked tree $1 into kernel/modules and
# the NET_MODULES into kernel/netmodules.
keep_tun() {
    mkdir -p "$cache/kernel/modules" "$cache/kernel/netmodules"
    for f in "$1"/lib/modules/*/kernel/drivers/net/tun.ko*; do
        if [ -f "$f" ]; then mv "$f" "$cache/kernel/modules/"; fi
    done
    for m in $NET_MODULES; do
        for f in "$1"/lib/modules/*/kernel/"$m"*; do
            if [ -f "$f" ]; then mv "$f" "$cache/kernel/netmodules/"; fi
        done
    done
}
existing=$(ls "$cache"/kernel/boot/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)
deb=$(ls "$cache"/debs/linux-image-*-cloud-arm64-unsigned_*_arm64.deb 2>/dev/null | sort -V |
      tail -1 || true)
if [ -n "$existing" ] && [ -n "$deb" ] && { ! ls "$cache"/kernel/modules/tun.ko* >/dev/null 2>&1 ||
        ! ls "$cache"/kernel/netmodules/virtio_net.ko* >/dev/null 2>&1; }; then
    # a cache from before these modules were kept: take them from the package again
    tmp=$(mktemp -d "$cache/tun.XXXXXX")
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './lib/modules/*/tun.ko*' \
        './lib/modules/*/virtio*.ko*' './lib/modules/*/*failover.ko*' ||
        echo "fetch-kernel: modules missing in $deb (the network or gdb cases will skip)" >&2
    keep_tun "$tmp"
    rm -rf "$tmp"
fi
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
keep_tun "$cache/kernel"
rm -rf "$cache/kernel/lib" "$cache/kernel/usr" # the other modules and docs: not needed, ~100 MB
ls "$cache"/kernel/boot/vmlinuz-* | sort -V | tail -1
