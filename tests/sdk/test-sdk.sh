#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-sdk.sh: prove that a third party can build a channel plugin with
# nothing but the installed SDK, and that an installed server picks it up.
#
#   1. meson install the build tree into a temporary root (DESTDIR);
#   2. point pkg-config at that root only (PKG_CONFIG_LIBDIR +
#      PKG_CONFIG_SYSROOT_DIR) and copy docs/examples/echo-plugin out of
#      the source tree;
#   3. build the copy with its own meson.build and with its Makefile; each
#      result exports exactly spice_plugin_echo_query;
#   4. the installed spice-plugin-list finds it through SPICE_PLUGIN_PATH;
#   5. the installed spice-demo-host (installed libspicecore) loads it,
#      lists channel 240, and echo-check talks to it over 127.0.0.1.
#
# Usage: test-sdk.sh BUILD_ROOT SOURCE_ROOT ECHO_CHECK MESON
set -euo pipefail

if [[ $# -ne 4 ]]; then
    echo "usage: $0 BUILD_ROOT SOURCE_ROOT ECHO_CHECK MESON" >&2
    exit 2
fi
BUILD_ROOT=$(realpath "$1")
SOURCE_ROOT=$(realpath "$2")
ECHO_CHECK=$(realpath "$3")
MESON=$4

log() { printf 'test-sdk: %s\n' "$*"; }
fail() {
    printf 'test-sdk: FAIL: %s\n' "$*" >&2
    exit 1
}

TMP=$(realpath "$(mktemp -d "${TMPDIR:-/tmp}/spicecore-sdk.XXXXXX")")
HOST_PID=

cleanup() {
    local rc=$?
    if [[ -n $HOST_PID ]] && kill -0 "$HOST_PID" 2>/dev/null; then
        kill -TERM "$HOST_PID" 2>/dev/null || true
        wait "$HOST_PID" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 && -f $TMP/host.log ]]; then
        echo "--- spice-demo-host output ---" >&2
        cat "$TMP/host.log" >&2 || true
    fi
    rm -rf -- "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

case $TMP/ in
"$SOURCE_ROOT"/* | "$BUILD_ROOT"/*)
    fail "temporary directory $TMP is inside the source or build tree" ;;
esac

ROOT=$TMP/root

# ---- 1. install -------------------------------------------------------------
log "meson install into $ROOT"
if ! "$MESON" install -C "$BUILD_ROOT" --destdir "$ROOT" --no-rebuild >"$TMP/install.log" 2>&1; then
    cat "$TMP/install.log" >&2
    fail "meson install failed"
fi

# The prefix and libdir as configured (e.g. /usr/local, lib/x86_64-linux-gnu).
PREFIX=$("$MESON" introspect --buildoptions "$BUILD_ROOT" |
    python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
INSTALL_BIN=$ROOT$PREFIX/bin
[[ -x $INSTALL_BIN/spice-plugin-list ]] || fail "spice-plugin-list not installed in $INSTALL_BIN"
[[ -x $INSTALL_BIN/spice-demo-host ]] || fail "spice-demo-host not installed in $INSTALL_BIN"

mapfile -t PC_DIRS < <(find "$ROOT" -type d -name pkgconfig | sort)
[[ ${#PC_DIRS[@]} -gt 0 ]] || fail "no pkgconfig directory under $ROOT"
PC_FILE=$(find "${PC_DIRS[@]}" -name spicecore-plugin.pc | head -n 1)
[[ -n $PC_FILE ]] || fail "spicecore-plugin.pc not installed (pkgconfig dirs: ${PC_DIRS[*]})"
log "installed SDK: $PC_FILE"

# ---- 2. pkg-config sees only the temporary root -----------------------------
# spicecore-plugin.pc requires spice-protocol, a system package that is not
# ours. A real sysroot has it installed; stage the build machine's copy (.pc
# file and headers) into the temporary root so the sysroot is complete and
# pkg-config needs nothing outside it.
SP_PCDIR=$(pkg-config --variable=pcfiledir spice-protocol) ||
    fail "spice-protocol (a dependency of the SDK) is not installed on this machine"
SP_INCLUDES=$(pkg-config --cflags-only-I spice-protocol)
mkdir -p "$ROOT$SP_PCDIR"
cp "$SP_PCDIR/spice-protocol.pc" "$ROOT$SP_PCDIR/"
for flag in $SP_INCLUDES; do
    dir=${flag#-I}
    mkdir -p "$ROOT$(dirname "$dir")"
    cp -r "$dir" "$ROOT$dir"
done
PC_DIRS+=("$ROOT$SP_PCDIR")

PC_PATH=$(IFS=:; echo "${PC_DIRS[*]}")
export PKG_CONFIG_PATH=$PC_PATH
export PKG_CONFIG_LIBDIR=$PC_PATH
export PKG_CONFIG_SYSROOT_DIR=$ROOT
unset PKG_CONFIG_ALLOW_SYSTEM_CFLAGS

SDK_CFLAGS=$(pkg-config --cflags spicecore-plugin) || fail "pkg-config --cflags spicecore-plugin failed"
log "pkg-config --cflags spicecore-plugin: $SDK_CFLAGS"
for flag in $SDK_CFLAGS; do
    case $flag in
    -I"$ROOT"/*) [[ -d ${flag#-I} ]] || fail "include dir ${flag#-I} from the .pc file does not exist" ;;
    -I*) fail "include flag $flag does not point into $ROOT" ;;
    esac
done
[[ -f $ROOT$PREFIX/include/spicecore/spice-plugin.h ]] || fail "spice-plugin.h not installed"
PLUGINDIR=$(pkg-config --variable=plugindir spicecore-plugin)
# pkgconf prefixes the sysroot to path variables, pkg-config does not.
[[ $PLUGINDIR == "$ROOT"/* ]] || PLUGINDIR=$ROOT$PLUGINDIR
for p in main inputs; do
    [[ -f $PLUGINDIR/libspice-plugin-$p.so ]] ||
        fail "plugindir from the .pc file ($PLUGINDIR) has no libspice-plugin-$p.so"
done

# Build a copy, so nothing relative to the repository can be found.
cp -r "$SOURCE_ROOT/docs/examples/echo-plugin" "$TMP/echo-src"
rm -f "$TMP/echo-src/libspice-plugin-echo.so"

# Every header the compiler read must come from the temporary root or the
# system, never from the source or build tree; and the SDK headers must be
# the installed ones.
check_headers() {
    local what=$1 deps=$2
    if grep -F -e "$SOURCE_ROOT/" -e "$BUILD_ROOT/" "$deps"; then
        fail "$what: the compiler read the files above from the source/build tree"
    fi
    local h
    for h in spicecore/spice-plugin.h spicecore/spice-plugin-wire.h spicecore/spice-server/spice.h; do
        grep -q -F "$ROOT$PREFIX/include/$h" "$deps" ||
            fail "$what: $h was not read from the installed SDK ($ROOT$PREFIX/include)"
    done
}

check_exports() {
    local so=$1 syms
    [[ -f $so ]] || fail "$so was not built"
    syms=$(nm -D --defined-only "$so" | awk '{print $NF}')
    if [[ $syms != spice_plugin_echo_query ]]; then
        fail "$so must export exactly spice_plugin_echo_query, exports: ${syms//$'\n'/ }"
    fi
    log "$so exports exactly spice_plugin_echo_query"
}

# ---- 3a. meson build of the copy --------------------------------------------
log "meson setup + ninja of the copy"
if ! "$MESON" setup "$TMP/echo-build" "$TMP/echo-src" >"$TMP/echo-meson.log" 2>&1 ||
    ! ninja -C "$TMP/echo-build" >>"$TMP/echo-meson.log" 2>&1; then
    cat "$TMP/echo-meson.log" >&2
    fail "the meson build of the example failed"
fi
ninja -C "$TMP/echo-build" -t deps >"$TMP/echo-meson.deps"
check_headers "meson build" "$TMP/echo-meson.deps"
check_exports "$TMP/echo-build/libspice-plugin-echo.so"

# ---- 3b. make build of the copy ---------------------------------------------
log "make of the copy"
if ! make -C "$TMP/echo-src" >"$TMP/echo-make.log" 2>&1; then
    cat "$TMP/echo-make.log" >&2
    fail "the make build of the example failed"
fi
# The Makefile writes no dependency file; ask the compiler the same way.
read -r -a sdk_cflags <<<"$SDK_CFLAGS"
"${CC:-cc}" "${sdk_cflags[@]}" -DSPICE_PLUGIN_FILE_NAME=echo -M "$TMP/echo-src/echo-plugin.c" \
    >"$TMP/echo-make.deps"
check_headers "make build" "$TMP/echo-make.deps"
check_exports "$TMP/echo-src/libspice-plugin-echo.so"

unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR

# ---- 4. the installed spice-plugin-list -------------------------------------
# The installed library and tool look for plugins in the configured install
# dir, not in the temporary root: add the root's plugin dir to the path.
INSTALL_LIBDIR=$(dirname "$(find "$ROOT" -name 'libspicecore.so.1' | head -n 1)")
[[ $INSTALL_LIBDIR == "$ROOT"/* ]] || fail "libspicecore.so.1 not installed"
export SPICE_PLUGIN_CONFIG=
unset SPICE_PLUGIN_ENABLE SPICE_PLUGIN_DISABLE
export LD_LIBRARY_PATH=$INSTALL_LIBDIR

plugin_list() {
    "$INSTALL_BIN/spice-plugin-list" "$@"
}

for echo_dir in "$TMP/echo-build" "$TMP/echo-src"; do
    export SPICE_PLUGIN_PATH=$echo_dir:$PLUGINDIR
    log "spice-plugin-list echo (SPICE_PLUGIN_PATH=$SPICE_PLUGIN_PATH)"
    rc=0
    out=$(plugin_list echo) || rc=$?
    [[ $rc -eq 0 ]] || { echo "$out" >&2; fail "spice-plugin-list echo exited with status $rc"; }
    printf '%s\n' "$out" | sed 's/^/    /'
    grep -q -E "^  file: +$echo_dir/libspice-plugin-echo\.so$" <<<"$out" ||
        fail "spice-plugin-list did not find the plugin in $echo_dir"
    grep -q -E '^  status: +ok$' <<<"$out" || fail "echo plugin status is not ok"
    grep -q -E '^  channel type 240, class "echo"$' <<<"$out" ||
        fail "spice-plugin-list does not show channel type 240 / class echo"
    grep -q -E '^    capabilities: +ECHO_STREAM \(0\)$' <<<"$out" ||
        fail "spice-plugin-list does not show capability ECHO_STREAM"

    out=$(plugin_list) || rc=$?
    [[ $rc -eq 0 ]] || { echo "$out" >&2; fail "spice-plugin-list exited with status $rc"; }
    printf '%s\n' "$out" | sed 's/^/    /'
    for p in main inputs echo; do
        grep -q -E "^$p +ok " <<<"$out" || fail "spice-plugin-list does not show $p as ok"
    done

    out=$(plugin_list --check) || rc=$?
    [[ $rc -eq 0 ]] || { echo "$out" >&2; fail "spice-plugin-list --check exited with status $rc"; }
    log "spice-plugin-list --check: $out"
done

# ---- 5. the installed demo host serves the channel --------------------------
run_host_check() {
    local echo_dir=$1 port='' i rc
    export SPICE_PLUGIN_PATH=$echo_dir:$PLUGINDIR
    log "spice-demo-host --port 0 with SPICE_PLUGIN_PATH=$SPICE_PLUGIN_PATH"
    : >"$TMP/host.log"
    "$INSTALL_BIN/spice-demo-host" --addr 127.0.0.1 --port 0 >"$TMP/host.log" 2>&1 &
    HOST_PID=$!
    for ((i = 0; i < 200; i++)); do
        port=$(sed -n 's/^spice-demo-host: listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
            "$TMP/host.log")
        [[ -n $port ]] && break
        kill -0 "$HOST_PID" 2>/dev/null || break
        sleep 0.1
    done
    [[ -n $port ]] || fail "spice-demo-host did not report a listening port"
    log "spice-demo-host (pid $HOST_PID) listening on 127.0.0.1:$port"

    # The running server is the installed library with the third-party plugin.
    grep -q -F "$INSTALL_LIBDIR/libspicecore.so.1" "/proc/$HOST_PID/maps" ||
        fail "spice-demo-host did not load $INSTALL_LIBDIR/libspicecore.so.1"
    grep -q -F "$echo_dir/libspice-plugin-echo.so" "/proc/$HOST_PID/maps" ||
        fail "spice-demo-host did not load $echo_dir/libspice-plugin-echo.so"
    if grep -F -e "$BUILD_ROOT/" -e "$SOURCE_ROOT/" "/proc/$HOST_PID/maps"; then
        fail "spice-demo-host mapped the files above from the build/source tree"
    fi

    "$ECHO_CHECK" "$port" || fail "echo-check failed against the $echo_dir plugin"

    kill -TERM "$HOST_PID"
    rc=0
    wait "$HOST_PID" || rc=$?
    HOST_PID=
    [[ $rc -eq 0 ]] || fail "spice-demo-host exited with status $rc after SIGTERM"
    sed 's/^/    host: /' "$TMP/host.log"
}

run_host_check "$TMP/echo-build"
run_host_check "$TMP/echo-src"

log "PASS: the echo plugin built against the installed SDK only (meson and make) loads in the installed server"
