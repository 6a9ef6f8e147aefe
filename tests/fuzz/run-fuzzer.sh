#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Smoke-run one libFuzzer target for a few seconds on a fresh corpus
# seeded from tests/fuzz/seeds/<target>/ (when present). Any crash, leak
# or sanitizer report fails the run.
#   run-fuzzer.sh FUZZER SEEDS_DIR SECONDS
set -euo pipefail
fuzzer=$(realpath "$1")
seeds=$2
seconds=$3
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
if [ -d "$seeds" ]; then
    cp -r "$seeds"/. "$corpus"/
fi
cd "$corpus"
# libFuzzer exits 77 on a crash by default, which meson reads as "skipped".
exec "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -error_exitcode=1 \
    -print_final_stats=1 "$corpus"
