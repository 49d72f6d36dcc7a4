#!/usr/bin/env bash
# quickstart.sh: install what is missing, build chyve, and boot the bundled example guest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
ninja -C build >/dev/null
echo "+ build/chyve build/examples/hello -- -- hello from chyve" >&2
exec build/chyve build/examples/hello -- -- hello from chyve
