#!/usr/bin/env bash
# check-format.sh: fails when a C source or header differs from what clang-format makes of it.
# Checks every git-tracked *.c and *.h under src/ tests/ bench/ examples/ against the repository's
# .clang-format with clang-format 14 (Debian's; other versions format differently), without
# changing any file. Skips subprojects/ and files marked "@generated" in their first 5 lines.
# Usage: scripts/check-format.sh [FILE...]   (default: all those files; CLANG_FORMAT=... overrides
# the program). Exits 0 when all match, 1 when some differ, 2 when clang-format cannot be run.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

cf=${CLANG_FORMAT:-}
if [ -z "$cf" ]; then
    for c in clang-format-14 clang-format; do
        if command -v "$c" >/dev/null; then
            cf=$c
            break
        fi
    done
fi
if [ -z "$cf" ] || ! command -v "$cf" >/dev/null; then
    echo "check-format: clang-format not found (Debian: apt-get install clang-format)" >&2
    exit 2
fi
version=$("$cf" --version)
case $version in
*"version 14."*) ;;
*) echo "check-format: warning: $version is not clang-format 14; results may differ" >&2 ;;
esac

files=()
if [ $# -gt 0 ]; then
    files=("$@")
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    while IFS= read -r -d '' f; do
        files+=("$f")
    done < <(git ls-files -z -- 'src/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]' 'examples/*.[ch]')
else
    # not a git checkout (a release tarball): the same directories, without build directories
    while IFS= read -r -d '' f; do
        files+=("${f#./}")
    done < <(find src tests bench examples -name '*.[ch]' -not -path '*/build*' -print0 \
                 2>/dev/null | sort -z)
fi

checked=0 differ=0
for f in "${files[@]}"; do
    case /$f in */subprojects/*) continue ;; esac
    [ -f "$f" ] || continue
    [[ $(head -n 5 "$f") == *@generated* ]] && continue
    checked=$((checked + 1))
    if ! "$cf" --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
        # --dry-run -Werror also fails on a file clang-format cannot parse: say which it was
        if ! "$cf" --style=file "$f" >/dev/null 2>&1; then
            echo "$f: clang-format failed on it" >&2
            exit 2
        fi
        echo "$f: not formatted (run: clang-format -i $f)"
        differ=$((differ + 1))
    fi
done

if [ "$differ" -gt 0 ]; then
    echo "check-format: $differ of $checked files differ from .clang-format"
    exit 1
fi
echo "check-format: $checked files match .clang-format"
