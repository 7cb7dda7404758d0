#!/usr/bin/env bash
# zmqipc: Windows cross-build check, run on Linux with mingw-w64 and Wine.
#
# What it does
#   1. tools/windows_cross_build.py builds, from vendor/libzmq/build_config.py (the
#      build description setup.py uses too), with mingw-w64: libzmq with our
#      Windows config and patches, the complete extension
#      _zmq.cp3XY-win_amd64.pyd against real Windows CPython headers (checked:
#      imports only Windows system DLLs and python3XY.dll, exports only
#      PyInit__zmq), and windows_smoke.exe. It prints "pyd: <path>".
#   2. Runs windows_smoke.exe under Wine with a timeout. The smoke program prints
#      one line per check; see its header.
#   3. Runs windows_ipc_paths.exe under Wine: checks of our libzmq patches'
#      Windows ipc path logic (tools/windows_ipc_paths.cpp).
#
# Usage
#   tools/windows_cross_check.sh [--build-only] [--keep]
#     --build-only   stop after building (no Wine needed)
#     --keep         keep the build directory (printed at the end)
#
# Environment
#   ZMQIPC_CROSS_BUILD_DIR  build directory, kept and reused incrementally
#                           (default: a fresh mktemp -d, removed unless --keep)
#   ZMQIPC_CROSS_JOBS       parallel compile jobs (default: nproc)
#   ZMQIPC_CROSS_PREFIX     toolchain prefix (default: x86_64-w64-mingw32)
#   ZMQIPC_WINE             wine binary (default: wine, else wine64)
#   ZMQIPC_WINE_TIMEOUT     seconds before the Wine run counts as hung (default 120)
#   PYTHON                  Python with Cython installed (default: python3)
#
# Needs (Debian): g++-mingw-w64-x86-64-posix, mingw-w64 and wine/wine64.
# Exit status: 0 when the build and its checks succeeded and every smoke check passed.

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

JOBS="${ZMQIPC_CROSS_JOBS:-$(nproc 2>/dev/null || echo 2)}"
TIMEOUT="${ZMQIPC_WINE_TIMEOUT:-120}"
PYTHON="${PYTHON:-python3}"

pick() {
    for c in "$@"; do
        if command -v "$c" >/dev/null 2>&1; then echo "$c"; return 0; fi
    done
    return 1
}

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

START=$(date +%s)
"$PYTHON" tools/windows_cross_build.py "$BUILD" --jobs "$JOBS" | tee "$BUILD/build.log"
SMOKE="$(sed -n 's/^smoke: //p' "$BUILD/build.log")"
IPC_PATHS="$(sed -n 's/^ipc-paths: //p' "$BUILD/build.log")"
echo "== cross-build took $(($(date +%s) - START)) s"

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
timeout --kill-after=10 "$TIMEOUT" "$WINE" "$SMOKE" | tr -d '\r'
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "== smoke test HUNG (killed after ${TIMEOUT}s)" >&2
elif [ "$rc" != 0 ]; then
    echo "== smoke test FAILED (exit $rc)" >&2
else
    echo "== smoke test passed"
fi
# Our patches' Windows ipc path logic (non-ASCII paths, ipc://* dir, errnos).
echo "== ipc path checks"
set +e
timeout --kill-after=10 "$TIMEOUT" "$WINE" "$IPC_PATHS" | tr -d '\r'
paths_rc=${PIPESTATUS[0]}
set -e
if [ "$paths_rc" != 0 ]; then
    echo "== ipc path checks FAILED (exit $paths_rc)" >&2
    [ "$rc" != 0 ] || rc=$paths_rc
fi
exit "$rc"
