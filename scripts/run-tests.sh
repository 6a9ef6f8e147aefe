#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install what the tests need, build, and run the whole test suite:
#   1. formatting check (clang-format)
#   2. a normal build (gcc) and every test
#   3. a clang build with AddressSanitizer + UndefinedBehaviorSanitizer and
#      libFuzzer targets, and every test again plus a short run of each
#      fuzzer; any sanitizer report fails the run
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --tests

echo "== format"
./scripts/check-format.sh

echo "== build (gcc)"
if [ ! -f build/build.ninja ]; then
    meson setup build -Dinterop_tests=enabled -Dqemu_tests=enabled
fi
ninja -C build
echo "== tests (gcc)"
meson test -C build --print-errorlogs

echo "== build (clang, ASan + UBSan, fuzzers)"
if [ ! -f build-asan/build.ninja ]; then
    CC=clang meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
        -Dfuzzing=true -Dinterop_tests=enabled
fi
ninja -C build-asan
echo "== tests (ASan + UBSan, fuzz smoke runs)"
meson test -C build-asan --print-errorlogs

echo "== all tests passed"
