#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install the Debian 12 packages this project needs (run as root).
#   install-deps.sh          what building and the demo host need
#   install-deps.sh --tests  also what the test suite needs
set -euo pipefail

build_pkgs=(
    meson ninja-build pkg-config gcc
    libglib2.0-dev libpixman-1-dev libssl-dev libjpeg-dev liblz4-dev zlib1g-dev libopus-dev
    libusbredirparser-dev libspice-protocol-dev libsasl2-dev
)
test_pkgs=(
    git make binutils clang libclang-rt-14-dev clang-format
    python3 python3-gi gir1.2-spiceclientglib-2.0
    libspice-server-dev
    qemu-system-x86 libdrm-dev
    spice-vdagent xvfb xclip
    openssl chromium spice-html5
    sasl2-bin libsasl2-modules libsasl2-modules-db virt-viewer
)

pkgs=("${build_pkgs[@]}")
if [ "${1:-}" = "--tests" ]; then
    pkgs+=("${test_pkgs[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
