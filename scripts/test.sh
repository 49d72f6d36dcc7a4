#!/usr/bin/env bash
# test.sh: install what is missing, build with -Werror, run the whole test suite, then the same
# suite again in an AddressSanitizer + UndefinedBehaviorSanitizer build. Prints one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh build -Dwerror=true || exit 1
scripts/setup.sh build-asan -Dwerror=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debug || exit 1
# The cross compiler, qemu and arm64 kernel for the 'arm64' suite, which the x86_64 build runs
# (tests/arm64: a static cross build in build/arm64-cross, booted under emulated arm64 KVM).
# podman for the chyve-oci suite (tests/oci), which drives chyve-oci as its runtime.
scripts/setup-oci.sh || echo "test: podman setup failed: the oci suite skips (fails if CI=true)" >&2
scripts/setup-arm64.sh || echo "test: arm64 setup failed: the arm64 suite skips (fails if CI=true)" >&2

passed=0 failed=0 skipped=0 status=0
# Adds the outcome of one meson test log to the totals.
count() {
    local log=$1
    [ -f "$log" ] || return 0
    # Counts test cases: Criterion's own synthesis line where a test has one (skipped cases are
    # those neither passing nor failing), otherwise the meson result of the whole test.
    read -r p f s < <(python3 - "$log" <<'PY'
import json, re, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    text = (r.get("stdout") or "") + (r.get("stderr") or "")
    m = re.findall(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)", text)
    if m and r["result"] in ("OK", "FAIL"):
        t, ok, bad, crash = map(int, m[-1])
        p += ok; f += bad + crash; s += t - ok - bad - crash
        if r["result"] == "FAIL" and bad + crash == 0:
            f += 1
    elif r["result"] in ("OK", "EXPECTEDFAIL"): p += 1
    elif r["result"] == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
)
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

# Formatting is checked like a test: one passing or failing case (scripts/check-format.sh).
echo "=== format ===" >&2
if scripts/check-format.sh; then
    passed=$((passed + 1))
else
    failed=$((failed + 1)) status=1
fi

for b in build build-asan; do
    echo "=== $b ===" >&2
    if ! ninja -C "$b"; then
        echo "test: build $b failed" >&2
        failed=$((failed + 1)) status=1
        continue
    fi
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    meson test -C "$b" --print-errorlogs --num-processes 2 || status=1
    count "$b/meson-logs/testlog.json"
done

echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || status=1
exit $status
