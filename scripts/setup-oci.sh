#!/usr/bin/env bash
# setup-oci.sh: installs what the chyve-oci tests with podman and containerd need (idempotent):
# podman with its CNI plugins (the bridge and port forwarding the -p test uses), iptables, and
# containerd (with runc, which runs the pod test's pause container).
set -euo pipefail
packages=(podman containernetworking-plugins iptables containerd)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
    echo "setup-oci: please install: ${missing[*]}" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup-oci: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
