#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install what is needed, build, and run the demo host on 127.0.0.1:5900.
# Extra arguments go to spice-demo-host (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
if [ ! -f build/build.ninja ]; then
    meson setup build
fi
ninja -C build
exec ./build/tools/spice-demo-host --addr 127.0.0.1 --port 5900 "$@"
