#!/bin/sh
# fetch-libfdt.sh: Debian's libfdt-dev cannot be installed for amd64 and arm64 at the same time,
# so the arm64 static libfdt for cross builds is downloaded with apt-get and unpacked into
# CACHE_DIR/libfdt (default ${XDG_CACHE_HOME:-~/.cache}/chyve/arm64), with a pkg-config file.
# Prints the directory to give meson as -Dpkg_config_path. Needs dpkg's arm64 architecture.
set -eu
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/chyve/arm64}
dir=$cache/libfdt
root=$dir/root
[ -f "$root/usr/lib/aarch64-linux-gnu/libfdt.a" ] ||
    root=$("$(dirname "$0")/fetch-deb.sh" libfdt-dev libfdt/root "$cache")
mkdir -p "$dir/pkgconfig"
version=$(ls "$cache"/debs/libfdt-dev_*_arm64.deb 2>/dev/null | sort -V | tail -1 |
          sed 's/.*libfdt-dev_\([0-9.]*\).*/\1/')
cat >"$dir/pkgconfig/libfdt.pc" <<PC
libdir=$root/usr/lib/aarch64-linux-gnu
includedir=$root/usr/include
Name: libfdt
Description: libfdt for arm64 (Debian libfdt-dev:arm64, unpacked)
Version: ${version:-1}
Libs: -L\${libdir} -lfdt
Cflags: -I\${includedir}
PC
echo "$dir/pkgconfig"
