#!/usr/bin/env bash
# zmqipc: Windows cross-build check, run on Linux with mingw-w64 and Wine.
#
# What it does
#   1. Makes sure vendor/libzmq/source/ holds the verified, patched libzmq tree
#      (python3 vendor/libzmq/fetch.py; a no-op when it is already prepared).
#   2. Cross-compiles the same libzmq sources setup.py builds on Windows (all
#      src/*.cpp except precompiled.cpp and ws_*/wss_*, plus src/tweetnacl.c and
#      external/wepoll/wepoll.c) with x86_64-w64-mingw32-g++/gcc (posix threads
#      variant), using OUR Windows config (vendor/libzmq/config/windows/
#      platform.hpp) and setup.py's macros, in parallel, into a static archive.
#   3. Compiles tools/windows_smoke.c, links it statically against that archive
#      (-static, ws2_32 iphlpapi advapi32 rpcrt4) and runs it under Wine with a
#      timeout.  The smoke program prints one line per check; see its header.
#
# The Python extension is not built and the editable install is not touched.
#
# Usage
#   tools/windows_cross_check.sh [--build-only] [--keep]
#     --build-only   stop after linking windows_smoke.exe (no Wine needed)
#     --keep         keep the build directory (printed at the end)
#
# Environment
#   ZMQIPC_CROSS_BUILD_DIR  build directory, kept and reused incrementally
#                           (default: a fresh mktemp -d, removed unless --keep)
#   ZMQIPC_CROSS_JOBS       parallel compile jobs (default: nproc)
#   ZMQIPC_CROSS_PREFIX     toolchain prefix (default: x86_64-w64-mingw32)
#   ZMQIPC_WINE             wine binary (default: wine, else wine64)
#   ZMQIPC_WINE_TIMEOUT     seconds before the Wine run counts as hung (default 120)
#
# Needs (Debian): g++-mingw-w64-x86-64-posix (or mingw-w64) and wine/wine64.
# Exit status: 0 when the build succeeded and every smoke check passed.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BUILD_ONLY=0
KEEP=0
for arg in "$@"; do
    case "$arg" in
        --build-only) BUILD_ONLY=1 ;;
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

PREFIX="${ZMQIPC_CROSS_PREFIX:-x86_64-w64-mingw32}"
JOBS="${ZMQIPC_CROSS_JOBS:-$(nproc 2>/dev/null || echo 2)}"
TIMEOUT="${ZMQIPC_WINE_TIMEOUT:-120}"

# Prefer the posix-threads variant (Debian's default for C++11 threading
# support in libstdc++); the win32 variant is tried as a fallback.
pick() {
    for c in "$@"; do
        if command -v "$c" >/dev/null 2>&1; then echo "$c"; return 0; fi
    done
    return 1
}
CXX="$(pick "$PREFIX-g++-posix" "$PREFIX-g++")" || {
    echo "error: $PREFIX-g++ not found; apt-get install g++-mingw-w64-x86-64-posix" >&2; exit 2; }
CC="$(pick "$PREFIX-gcc-posix" "$PREFIX-gcc")" || {
    echo "error: $PREFIX-gcc not found; apt-get install gcc-mingw-w64-x86-64-posix" >&2; exit 2; }
AR="$(pick "$PREFIX-gcc-ar-posix" "$PREFIX-ar")"

echo "== preparing libzmq source"
python3 vendor/libzmq/fetch.py >/dev/null

SRC="vendor/libzmq/source"
CONFIG="vendor/libzmq/config/windows"
if [ -n "${ZMQIPC_CROSS_BUILD_DIR:-}" ]; then
    BUILD="$ZMQIPC_CROSS_BUILD_DIR"
    mkdir -p "$BUILD"
else
    BUILD="$(mktemp -d "${TMPDIR:-/tmp}/zmqipc-wincross.XXXXXX")"
fi
cleanup() {
    if [ "$KEEP" = 0 ] && [ -z "${ZMQIPC_CROSS_BUILD_DIR:-}" ]; then rm -rf "$BUILD"
    else echo "build directory kept: $BUILD"; fi
}
trap cleanup EXIT
mkdir -p "$BUILD/obj"

# Same macros as setup.py's LIBZMQ_MACROS on Windows.
DEFS=(-DZMQ_CUSTOM_PLATFORM_HPP -DZMQ_STATIC -D_REENTRANT -D_THREAD_SAFE
      -DFD_SETSIZE=16384 -D_CRT_SECURE_NO_WARNINGS -DWIN32_LEAN_AND_MEAN -DNOMINMAX)
INCS=(-I "$CONFIG" -I "$SRC/include" -I "$SRC/src")
# Same flags as setup.py's libzmq_flags() for gcc.
CFLAGS=(-O2 -fvisibility=hidden -Wno-unused -Wno-deprecated-declarations)
CXXFLAGS=("${CFLAGS[@]}" -std=gnu++11 -fvisibility-inlines-hidden)

# Source selection mirrors setup.py's libzmq_sources().
SOURCES=()
for f in "$SRC"/src/*.cpp; do
    b="$(basename "$f")"
    case "$b" in precompiled.cpp|ws_*|wss_*) continue ;; esac
    SOURCES+=("$f")
done
SOURCES+=("$SRC/src/tweetnacl.c" "$SRC/external/wepoll/wepoll.c")

echo "== cross-compiling ${#SOURCES[@]} libzmq sources with $CXX / $CC ($JOBS jobs) into $BUILD"
CONFIG_HPP="$CONFIG/platform.hpp"
export CXX CC BUILD CONFIG_HPP
export CXXFLAGS_STR="${CXXFLAGS[*]} ${DEFS[*]} ${INCS[*]}"
export CFLAGS_STR="${CFLAGS[*]} ${DEFS[*]} ${INCS[*]}"
compile_one() {
    src="$1"
    obj="$BUILD/obj/$(basename "${src%.*}").o"
    # Reused build dir: skip objects newer than their source and our config
    # (fetch.py re-extracts the whole tree when patches change, so header
    # edits from patches show up as newer sources too).
    if [ -f "$obj" ] && [ "$obj" -nt "$src" ] && [ "$obj" -nt "$CONFIG_HPP" ]; then
        return 0
    fi
    case "$src" in
        *.c) cmd="$CC $CFLAGS_STR -c $src -o $obj" ;;
        *) cmd="$CXX $CXXFLAGS_STR -c $src -o $obj" ;;
    esac
    # shellcheck disable=SC2086
    if ! out="$($cmd 2>&1)"; then
        printf 'FAILED: %s\n%s\n' "$src" "$out" >&2
        return 255   # 255 makes xargs stop starting new jobs
    fi
    # Show warnings, which usually point at config mistakes.
    [ -z "$out" ] || printf '%s\n' "$out" >&2
}
export -f compile_one
START=$(date +%s)
if ! printf '%s\n' "${SOURCES[@]}" | xargs -P "$JOBS" -I{} bash -c 'compile_one "$1"' _ {}; then
    echo "== cross-build FAILED" >&2
    exit 1
fi
rm -f "$BUILD/libzmq.a"
"$AR" rcs "$BUILD/libzmq.a" "$BUILD"/obj/*.o
END=$(date +%s)
echo "== libzmq.a built in $((END - START)) s ($(ls "$BUILD"/obj/*.o | wc -l) objects)"

echo "== linking windows_smoke.exe"
# zmq.h is C; libzmq is C++, so link with g++ and pull in the C++ runtime statically.
"$CC" -O2 -DZMQ_STATIC -I "$SRC/include" -c tools/windows_smoke.c -o "$BUILD/windows_smoke.o"
"$CXX" -static -static-libgcc -static-libstdc++ -o "$BUILD/windows_smoke.exe" \
    "$BUILD/windows_smoke.o" "$BUILD/libzmq.a" -lws2_32 -liphlpapi -ladvapi32 -lrpcrt4
echo "== built $BUILD/windows_smoke.exe"

if [ "$BUILD_ONLY" = 1 ]; then
    KEEP=1
    exit 0
fi

WINE="${ZMQIPC_WINE:-$(pick wine wine64)}" || {
    echo "error: wine not found; apt-get install wine wine64 (or use --build-only)" >&2; exit 2; }
# A private, quiet Wine prefix: no GUI dialogs, no Mono/Gecko installers.
export WINEPREFIX="${WINEPREFIX:-$HOME/.cache/zmqipc/wineprefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
export DISPLAY=
mkdir -p "$WINEPREFIX"
echo "== running under $("$WINE" --version 2>/dev/null || echo "$WINE") (prefix $WINEPREFIX, timeout ${TIMEOUT}s)"
set +e
timeout --kill-after=10 "$TIMEOUT" "$WINE" "$BUILD/windows_smoke.exe" | tr -d '\r'
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "== smoke test HUNG (killed after ${TIMEOUT}s)" >&2
elif [ "$rc" != 0 ]; then
    echo "== smoke test FAILED (exit $rc)" >&2
else
    echo "== smoke test passed"
fi
exit "$rc"
