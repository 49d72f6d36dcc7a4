#!/bin/bash
# bench.sh: chyve against the bare-KVM floor: boot time of the example guest, cost per hypercall.
# Usage: bench.sh BUILD_DIR [ROUNDS]   (exit 77 = skipped: no usable /dev/kvm)
set -u

B=${1:?usage: bench.sh BUILD_DIR [ROUNDS]}
ROUNDS=${2:-20}
HYPERCALLS=20000 # what tests/guests/bench_hypercalls issues

if [ ! -e /dev/kvm ]; then
    echo "bench: skipped: /dev/kvm does not exist on this host"
    exit 77
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    echo "bench: skipped: no read/write access to /dev/kvm"
    exit 77
fi
for f in chyve examples/hello bench/floor; do
    if [ ! -x "$B/$f" ]; then
        echo "bench: $B/$f is missing; build first (ninja -C $B)" >&2
        exit 1
    fi
done

# Wall time of one command in microseconds (EPOCHREALTIME: no fork for the clock itself).
# Fails the benchmark if the command does not exit 0.
elapsed_us() {
    local t0 t1
    t0=${EPOCHREALTIME/./}
    "$@" >/dev/null 2>&1
    local rc=$?
    t1=${EPOCHREALTIME/./}
    if [ $rc -ne 0 ]; then
        echo "bench: '$*' exited with $rc" >&2
        exit 1
    fi
    echo $((t1 - t0))
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
                                        else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The same command interleaved with another keeps drifts (frequency, cache, load) out of ratios.
chyve_t=()
floor_t=()
for ((i = 0; i < ROUNDS; i++)); do
    chyve_t+=("$(elapsed_us "$B/chyve" "$B/examples/hello")") || exit 1
    floor_t+=("$(elapsed_us "$B/bench/floor")") || exit 1
done
chyve_med=$(printf '%s\n' "${chyve_t[@]}" | median)
floor_med=$(printf '%s\n' "${floor_t[@]}" | median)
echo "boot, median of $ROUNDS paired runs:"
awk -v c="$chyve_med" -v f="$floor_med" 'BEGIN {
    printf "  chyve examples/hello  %9.2f ms\n", c / 1000
    printf "  bare KVM floor        %9.2f ms\n", f / 1000
    printf "  ratio                 %9.2f x\n", c / f }'

if [ ! -x "$B/tests/guests/bench_hypercalls" ]; then
    echo "bench: per-hypercall part skipped: $B/tests/guests/bench_hypercalls was not built"
    exit 0
fi
hello_t=()
many_t=()
exit_ns=()
for ((i = 0; i < ROUNDS; i++)); do
    hello_t+=("$(elapsed_us "$B/chyve" "$B/examples/hello")") || exit 1
    many_t+=("$(elapsed_us "$B/chyve" "$B/tests/guests/bench_hypercalls")") || exit 1
    ns=$("$B/bench/floor" --exits "$HYPERCALLS" | awk '{ print $1 }')
    if [ -z "$ns" ]; then
        echo "bench: floor --exits $HYPERCALLS failed" >&2
        exit 1
    fi
    exit_ns+=("$ns")
done
hello_med=$(printf '%s\n' "${hello_t[@]}" | median)
many_med=$(printf '%s\n' "${many_t[@]}" | median)
exit_med=$(printf '%s\n' "${exit_ns[@]}" | median)
echo "hypercall round trip, median of $ROUNDS paired runs:"
awk -v h="$hello_med" -v m="$many_med" -v e="$exit_med" -v n="$HYPERCALLS" 'BEGIN {
    per = (m - h) * 1000 / n
    printf "  chyve SerialWriteByte %9.0f ns  ((%.2f ms - %.2f ms) / %d)\n",
           per, m / 1000, h / 1000, n
    printf "  bare KVM exit         %9.0f ns\n", e
    printf "  ratio                 %9.2f x\n", per / e }'
