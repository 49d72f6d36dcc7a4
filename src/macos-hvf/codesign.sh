#!/bin/sh
# codesign.sh: ad-hoc signs chyve with the Hypervisor.framework entitlement (macOS, run by meson).
#   codesign.sh build CODESIGN ENTITLEMENTS BINARY STAMP   sign the built binary, touch STAMP
#   codesign.sh install CODESIGN ENTITLEMENTS BINDIR       sign the installed binary again
# Installing may strip the binary, which drops the signature, hence the second step.
set -eu
mode=$1 codesign=$2 entitlements=$3
case $mode in
build)
    "$codesign" --force --sign - --entitlements "$entitlements" "$4"
    touch "$5"
    ;;
install)
    case $4 in
    /*) bin="${DESTDIR:-}$4/chyve" ;;
    *) bin="$MESON_INSTALL_DESTDIR_PREFIX/$4/chyve" ;;
    esac
    "$codesign" --force --sign - --entitlements "$entitlements" "$bin"
    ;;
*)
    echo "codesign.sh: unknown mode '$mode'" >&2
    exit 2
    ;;
esac
