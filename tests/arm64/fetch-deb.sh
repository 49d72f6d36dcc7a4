#!/bin/sh
# fetch-deb.sh: downloads one arm64 Debian package with apt-get and unpacks it, once, into
# CACHE_DIR/DIR (CACHE_DIR defaults to ${XDG_CACHE_HOME:-~/.cache}/chyve/arm64); prints that
# directory. Usage: fetch-deb.sh PACKAGE DIR [CACHE_DIR]. Needs dpkg's arm64 architecture
# (scripts/setup-arm64.sh adds it); does not need root.
set -eu
pkg=$1
cache=${3:-${XDG_CACHE_HOME:-$HOME/.cache}/chyve/arm64}
dir=$cache/$2
if [ ! -f "$dir/.unpacked" ]; then
    dpkg --print-foreign-architectures | grep -qx arm64 || {
        echo "fetch-deb: dpkg has no arm64 architecture (run scripts/setup-arm64.sh)" >&2
        exit 1
    }
    mkdir -p "$cache/debs" "$dir"
    (cd "$cache/debs" && apt-get download "$pkg:arm64" >/dev/null 2>&1) ||
        { echo "fetch-deb: apt-get download $pkg:arm64 failed" >&2; exit 1; }
    dpkg-deb -x "$(ls "$cache/debs/${pkg}"_*_arm64.deb | sort -V | tail -1)" "$dir"
    touch "$dir/.unpacked"
fi
echo "$dir"
