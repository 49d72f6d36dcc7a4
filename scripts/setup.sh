#!/usr/bin/env bash
# setup.sh: install what chyve needs on Debian/Ubuntu (idempotent), then configure BUILD_DIR.
# Usage: scripts/setup.sh [BUILD_DIR] [extra meson setup options...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true

packages=(meson ninja-build pkg-config gcc libc6-dev libfdt-dev zlib1g-dev libinih-dev
          libyaml-dev libcriterion-dev clang-format libslirp-dev iproute2 iputils-ping
          libjansson-dev gdb) # gdb: the gdb suite (tests/gdb); jansson: chyve-oci
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null; then
        echo "setup: please install: ${missing[*]}" >&2
        exit 1
    fi
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

if [ -f "$build/build.ninja" ]; then
    meson setup --reconfigure "$build" "$@" >/dev/null
else
    meson setup "$build" "$@" >/dev/null
fi
echo "setup: configured $build" >&2
