#!/usr/bin/env bash
# fuzz-coverage.sh: line coverage of the files each fuzz target is for, from replaying its
# corpus in a clang source-based coverage build (-fprofile-instr-generate -fcoverage-mapping).
# Prints one line per target: the files and their line coverage (llvm-cov report).
# Usage: scripts/fuzz-coverage.sh [TARGET...]   (default: every target below)
# Environment: COV_BUILD (build directory, default build-cov), COV_CORPUS (the directory holding
# <target>/ corpora, default tests/fuzz/corpus; e.g. a long run's grown corpora), CC (clang).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

build=${COV_BUILD:-build-cov}
corpora=${COV_CORPUS:-tests/fuzz/corpus}

# The sources each target exists to test (relative to src/).
declare -A files=(
    [elf]="common/loader/elf.c"
    [toml]="common/loader/toml.c common/loader/toml_scan.c common/loader/utf8.c"
    [tar]="common/loader/tar.c"
    [image]="common/loader/image.c"
    [config]="common/config/config.c common/config/config_reader.c common/config/config_ini.c
              common/config/config_yaml.c common/config/config_toml.c"
    [cli]="common/config/cli.c common/config/options.c common/config/size.c
           common/config/strlist.c common/boot/bootargs.c"
    [hypercall]="common/hypercall/hypercall.c common/hypercall/hc_file.c
                 common/hypercall/hc_console.c common/hypercall/hc_cmdline.c"
    [virtio]="common/dev/virtio.c common/dev/pci.c common/net/virtio_net.c"
    [gdb_packet]="common/gdb/gdb_packet.c"
    [gdb_proto]="common/gdb/gdb_proto.c"
    [fdtable]="common/files/fdtable.c"
    [files]="common/files/resolve.c common/files/filedir.c common/files/fileops.c
             common/files/filemap.c common/files/tempquota.c common/files/tempdir.c"
    [fdt]="common/boot/fdt.c common/boot/bootargs.c arch-x86_64/fdt_x86.c"
    [pt_x86]="common/guest_virt.c arch-x86_64/paging.c"
    [pt_aarch64]="common/guest_virt.c arch-aarch64/aarch64_paging.c"
    [x86_emul]="linux-kvm/kvm_x86_64_emul.c"
)
if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=(elf toml tar image config cli hypercall virtio gdb_packet gdb_proto fdtable files fdt
        pt_x86 pt_aarch64 x86_emul)
fi
for t in "${targets[@]}"; do
    if [ -z "${files[$t]:-}" ]; then
        echo "fuzz-coverage: no target '$t'" >&2
        exit 2
    fi
done
for tool in llvm-profdata llvm-cov; do
    if ! command -v $tool >/dev/null; then
        echo "fuzz-coverage: $tool is missing (Debian: apt-get install llvm)" >&2
        exit 2
    fi
done

flags="-fprofile-instr-generate -fcoverage-mapping"
if [ ! -f "$build/build.ninja" ]; then
    CC=${CC:-clang} CFLAGS="$flags" LDFLAGS="$flags" meson setup "$build" -Dbuildtype=debug \
        >"$build.setup.log" 2>&1 || {
        echo "fuzz-coverage: meson setup failed (see $build.setup.log)" >&2
        exit 2
    }
fi
bins=()
for t in "${targets[@]}"; do
    bins+=("tests/fuzz/replay_$t")
done
work=$build/coverage
mkdir -p "$work"
# programs the build runs are instrumented too: keep their profiles out of the source tree
LLVM_PROFILE_FILE="$work/build-%p.profraw" ninja -C "$build" -j"${COV_JOBS:-2}" "${bins[@]}" \
    >/dev/null || exit 2
status=0
for t in "${targets[@]}"; do
    bin=$build/tests/fuzz/replay_$t
    rm -f "$work/$t".prof*
    # The replay stops at a crash; a target whose corpus does not replay cleanly is reported.
    if ! LLVM_PROFILE_FILE="$work/$t.profraw" UBSAN_OPTIONS=halt_on_error=1 \
        "$bin" "$corpora/$t" >"$work/$t.log" 2>&1; then
        echo "$t: the replay failed (see $work/$t.log)"
        status=1
        continue
    fi
    llvm-profdata merge -sparse -o "$work/$t.profdata" "$work/$t.profraw" || exit 2
    n=$(find "$corpora/$t" -maxdepth 1 -type f | wc -l)
    # llvm-cov report: Filename Regions Missed Cover Functions Missed Executed Lines Missed Cover
    line=$(llvm-cov report "$bin" -instr-profile="$work/$t.profdata" 2>/dev/null |
        awk -v want=" ${files[$t]//$'\n'/ } " '$1 ~ /\.c$/ {
                f = $1; sub(/^(.*\/)?src\//, "", f)
                if (index(want, " " f " ")) out = out sprintf(" %s %s,", f, $10) }
            END { sub(",$", "", out); print out }')
    echo "$t ($n inputs):$line"
done
exit $status
