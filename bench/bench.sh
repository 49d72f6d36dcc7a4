#!/bin/bash
# bench.sh: chyve against the bare-KVM floor (bench.py: boot, launch rate, hypercall round trip,
# peak RSS, PCI probes), each figure from paired rounds in one run.
# Usage: bench.sh BUILD_DIR [ROUNDS]   (exit 77 = skipped: no usable /dev/kvm)
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/bench.py" "${1:?usage: bench.sh BUILD_DIR [ROUNDS]}" --rounds "${2:-20}"
