#!/bin/sh
# fetch-libfdt.sh: Debian's libfdt-dev cannot be installed for amd64 and arm64 at the same time,
# so the arm64 static libfdt for cross builds is downloaded with apt-get and unpacked into
# CACHE_DIR/libfdt (default ${XDG_CACHE_HOME:-~/.cache}/chyve/arm64), with a pkg-config file.
# Prints the directory to give meson as -Dpkg_config_path. Needs dpkg's arm64 architecture.
set -eu
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/chyve/arm64}
dir=$cache/libfdt
if [ ! -f "$dir/root/usr/lib/aarch64-linux-gnu/libfdt.a" ]; then
    dpkg --print-foreign-architectures | grep -qx arm64 || {
        echo "fetch-libfdt: dpkg has no arm64 architecture (run scripts/setup-arm64.sh)" >&2
        exit 1
    }
    mkdir -p "$cache/debs" "$dir/root"
    (cd "$cache/debs" && apt-get download libfdt-dev:arm64 >/dev/null 2>&1) ||
        { echo "fetch-libfdt: apt-get download libfdt-dev:arm64 failed" >&2; exit 1; }
    dpkg-deb -x "$(ls "$cache"/debs/libfdt-dev_*_arm64.deb | sort -V | tail -1)" "$dir/root"
fi
mkdir -p "$dir/pkgconfig"
version=$(ls "$cache"/debs/libfdt-dev_*_arm64.deb 2>/dev/null | sort -V | tail -1 |
          sed 's/.*libfdt-dev_\([0-9.]*\).*/\1/')
cat >"$dir/pkgconfig/libfdt.pc" <<PC
libdir=$dir/root/usr/lib/aarch64-linux-gnu
includedir=$dir/root/usr/include
Name: libfdt
Description: libfdt for arm64 (Debian libfdt-dev:arm64, unpacked)
Version: ${version:-1}
Libs: -L\${libdir} -lfdt
Cflags: -I\${includedir}
PC
echo "$dir/pkgconfig"
