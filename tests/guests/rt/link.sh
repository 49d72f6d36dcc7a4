#!/bin/sh
# link.sh: runs the compiler command given after the output path, then marks the guest as a
# Hermit kernel: EI_OSABI (byte 7 of the ELF header) = 0xFF, ELFOSABI_STANDALONE (ABI §1.2).
set -e
out=$1
shift
"$@" -o "$out"
printf '\377' | dd of="$out" bs=1 seek=7 count=1 conv=notrunc 2>/dev/null
