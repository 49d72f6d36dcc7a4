#!/usr/bin/env bash
# fuzz.sh: builds every libFuzzer target with clang (-fsanitize=fuzzer,address,undefined, UBSan
# reports fatal) in its own build directory and runs each in turn for SECONDS (default 60). Each
# target starts from tests/fuzz/corpus/<target>; afterwards the corpus is merged and minimised
# (-merge=1): the hand-made seeds (any name that is not a 40-digit SHA-1) stay as they are,
# merged inputs are stored under their SHA-1 and ones that add no coverage are dropped.
# A crash stops that target; its input is left in the work directory and the script exits 1.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (default: every target tests/fuzz/meson.build
# lists). Environment: FUZZ_BUILD (build directory, default build-fuzz), FUZZ_WORK (scratch
# corpora, crash inputs and logs, default $FUZZ_BUILD/fuzz-work), FUZZ_ARGS (more libFuzzer
# options, e.g. -jobs=2 -workers=2), CC (default clang), TMPDIR (where targets make their
# directories; default /dev/shm when writable).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

secs=${1:-60}
shift || true
build=${FUZZ_BUILD:-build-fuzz}
work=${FUZZ_WORK:-$build/fuzz-work}
case $secs in
'' | *[!0-9]*)
    echo "fuzz.sh: SECONDS must be a number, not '$secs'" >&2
    exit 2
    ;;
esac

if [ $# -gt 0 ]; then
    targets=("$@")
else
    # every name in the fuzz_targets dictionary and the later additions to it
    mapfile -t targets < <(sed -n "s/^ *'\([a-z0-9_]*\)': \[.*/\1/p; s/.*fuzz_targets += {'\([a-z0-9_]*\)'.*/\1/p" \
        tests/fuzz/meson.build)
fi

if [ ! -f "$build/build.ninja" ]; then
    CC=${CC:-clang} meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false ||
        exit 2
fi
ninja -C "$build" build.ninja >/dev/null || exit 2 # regenerates it after a meson.build change
if ! grep -q "^build tests/fuzz/fuzz_" "$build/build.ninja"; then
    echo "fuzz.sh: $build builds no fuzzers (needs clang with -fsanitize=fuzzer; Debian:" \
        "apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi
bins=()
for t in "${targets[@]}"; do
    grep -q "^build tests/fuzz/fuzz_$t:" "$build/build.ninja" && bins+=("tests/fuzz/fuzz_$t")
done
ninja -C "$build" -j"${FUZZ_JOBS:-1}" "${bins[@]}" || exit 2

# Inputs worth the longer length limits (an ELF, a gzip'd image, guest RAM).
max_len() {
    case $1 in
    elf | hypercall | x86_emul) echo 16384 ;;
    image | pt_x86 | pt_aarch64) echo 65536 ;;
    fdtable) echo 256 ;; # 17 bytes reach the fd limit; 256 bytes are up to 16 000 opens
    *) echo 4096 ;;
    esac
}

mkdir -p "$work"
root=$(pwd)
# The targets that rebuild a real directory per input (files, hypercall, config) run several
# times faster on a tmpfs: use /dev/shm unless TMPDIR says otherwise.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    export TMPDIR=/dev/shm
fi
work=$(cd "$work" && pwd)
status=0
summary=()
for t in "${targets[@]}"; do
    bin=$(realpath "$build/tests/fuzz/fuzz_$t" 2>/dev/null)
    if [ -z "$bin" ] || [ ! -x "$bin" ]; then
        summary+=("$t: not built on this host")
        continue
    fi
    corpus=$root/tests/fuzz/corpus/$t
    scratch=$work/$t
    mkdir -p "$corpus" "$scratch"
    log=$work/$t.log
    echo "== $t: ${secs}s (log: $log)"
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
    (cd "$work" && "$bin" -max_total_time="$secs" -max_len="$(max_len "$t")" \
        -print_final_stats=1 ${FUZZ_ARGS:-} "$scratch" "$corpus") >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    if [ $rc -ne 0 ]; then
        status=1
        crash=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -n1)
        summary+=("$t: FAILED after ${runs:-?} executions (exit $rc): ${crash:-see $log}")
        continue
    fi
    # merge: the minimal set of inputs that keeps the coverage of seeds + scratch
    merged=$work/$t.merged
    rm -rf "$merged"
    mkdir -p "$merged"
    if "$bin" -merge=1 -max_len="$(max_len "$t")" "$merged" "$corpus" "$scratch" \
        >"$work/$t.merge.log" 2>&1; then
        find "$corpus" -maxdepth 1 -type f -regextype posix-extended \
            -regex '.*/[0-9a-f]{40}' -delete
        # the hand-made seeds that remain, by content: merge names its output by SHA-1
        seeds=$(find "$corpus" -maxdepth 1 -type f -exec sha1sum {} + | cut -d' ' -f1)
        for f in "$merged"/*; do
            [ -e "$f" ] || continue
            grep -qx "$(basename "$f")" <<<"$seeds" || cp "$f" "$corpus/"
        done
    else
        summary+=("$t: merge failed, corpus unchanged (see $work/$t.merge.log)")
    fi
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' "$log" | tail -n1)
    n=$(find "$corpus" -maxdepth 1 -type f | wc -l)
    summary+=("$t: ${runs:-?} executions, coverage ${cov:-?} edges, no finding; corpus $n files")
done
echo
printf '%s\n' "${summary[@]}"
exit $status
