#!/usr/bin/env bash
# tools/memcheck.sh -- memory-check the zero-copy paths of zmqipc.
#
# What it does
#   1. Copies the repository (without build/, .git, *.so, generated files) to a
#      scratch directory and builds an AddressSanitizer copy of zmqipc._zmq
#      there (ZMQIPC_SANITIZE=address python setup.py build_ext --inplace).
#      The editable build in the repository is never touched.
#   2. Runs tests/test_zero_copy.py, test_arrays.py and the shared-memory tests
#      (test_shm.py, whose child processes inherit the ASan setup, and the
#      hostile-descriptor fuzz test_shm_descriptor.py) against that copy:
#        LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 \
#        PYTHONPATH=<copy> python -m pytest tests/test_zero_copy.py tests/test_arrays.py
#      Any ASan report (use-after-free, overflow, ...) aborts the run -> non-zero exit.
#   3. With --valgrind, also runs a short zero-copy script under valgrind
#      (memcheck, PYTHONMALLOC=malloc) against the normal in-tree build.
#
# How to run (from anywhere; needs gcc with libasan, Cython, numpy, pytest):
#   tools/memcheck.sh                      # ASan build + tests
#   tools/memcheck.sh --valgrind           # ... plus the valgrind script
#   tools/memcheck.sh -- -k tracker -x     # arguments after -- go to pytest
#   ZMQIPC_MEMCHECK_DIR=/tmp/zmqipc-asan tools/memcheck.sh
#       reuse a scratch directory: the ASan libzmq objects stay cached there, so
#       a re-run only rebuilds what changed (the first build takes a few minutes).
# Exit status: 0 when every step passed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python}
VALGRIND=0
PYTEST_ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --valgrind) VALGRIND=1 ;;
        --) shift; PYTEST_ARGS=("$@"); break ;;
        -h|--help) sed -n '2,26p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

WORK=${ZMQIPC_MEMCHECK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/zmqipc-asan.XXXXXX")}
mkdir -p "$WORK"
echo "== memcheck: ASan copy in $WORK"

# 1. Copy the tree. build/ in $WORK is kept between runs (cached ASan objects).
(cd "$ROOT" && tar -cf - --exclude=./build --exclude=./.git --exclude='./.venv*' --exclude='*.so' \
     --exclude='__pycache__' --exclude=./zmqipc/_zmq.cpp --exclude=./zmqipc/_build_info.json \
     --exclude='*.egg-info' --exclude=./.pytest_cache --exclude=./bench/results .) \
  | (cd "$WORK" && tar -xf -)

LIBASAN=$(gcc -print-file-name=libasan.so)
if [ ! -e "$LIBASAN" ]; then
    echo "libasan.so not found (gcc -print-file-name=libasan.so gave '$LIBASAN')" >&2
    exit 2
fi

(cd "$WORK" && ZMQIPC_SANITIZE=address "$PYTHON" setup.py -q build_ext --inplace) \
    > "$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; echo "ASan build failed" >&2; exit 1; }
echo "== memcheck: built ($(ls "$WORK"/zmqipc/_zmq*.so))"

SO=$(ls "$WORK"/zmqipc/_zmq*.so)
if ! nm -D --undefined-only "$SO" | grep __asan_report > /dev/null; then
    echo "$SO is not instrumented (no __asan_report_* references)" >&2
    exit 1
fi

ORIG_PYTHONPATH=${PYTHONPATH:-}
export LD_PRELOAD="$LIBASAN"
# Reports go to files: pytest captures fd 2, and an abort would swallow them.
rm -rf "$WORK/asan-logs" && mkdir -p "$WORK/asan-logs"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:print_summary=1:log_path=$WORK/asan-logs/asan:${ASAN_OPTIONS:-}"
# Python objects on malloc, so ASan also sees use-after-free of Python objects
# (e.g. a _BufferLease freed while libzmq still holds its node), not only of buffers.
export PYTHONMALLOC=malloc
export PYTHONPATH="$WORK${PYTHONPATH:+:$PYTHONPATH}"

# Make sure the interpreter really imports the sanitized copy (not the editable install).
(cd "$WORK" && "$PYTHON" - <<'EOF'
import json, os, sys
import zmqipc
here = os.path.realpath(os.getcwd())
path = os.path.realpath(zmqipc.__file__)
info = json.load(open(os.path.join(os.path.dirname(path), "_build_info.json")))
if not path.startswith(here + os.sep) or info.get("sanitize") != "address":
    sys.exit("memcheck: imported %s (sanitize=%r), not the ASan copy in %s"
             % (path, info.get("sanitize"), here))
print("== memcheck: importing", path, "sanitize=address")
EOF
)

status=0
(cd "$WORK" && "$PYTHON" -m pytest -p no:cacheprovider -q \
    tests/test_zero_copy.py tests/test_arrays.py tests/test_shm.py tests/test_shm_descriptor.py \
    "${PYTEST_ARGS[@]}") || status=$?
if compgen -G "$WORK/asan-logs/asan*" > /dev/null; then
    for f in "$WORK"/asan-logs/asan*; do echo "--- $f"; head -60 "$f"; done
    echo "== memcheck: AddressSanitizer reported errors (logs in $WORK/asan-logs)"
    status=${status/#0/1}
fi
if [ $status -ne 0 ]; then
    echo "== memcheck: ASan test run FAILED (exit $status)"
else
    echo "== memcheck: ASan test run passed, no ASan reports"
fi
unset LD_PRELOAD ASAN_OPTIONS PYTHONMALLOC
export PYTHONPATH="$ORIG_PYTHONPATH"

if [ $VALGRIND -eq 1 ]; then
    if ! command -v valgrind > /dev/null; then
        echo "valgrind not installed" >&2
        exit 2
    fi
    # The real interpreter, not a wrapper script (pyenv shims): valgrind must see python.
    PYEXE=$("$PYTHON" -c 'import sys; print(sys.executable)')
    echo "== memcheck: valgrind $PYEXE (in-tree build, PYTHONMALLOC=malloc)"
    mkdir -p "$WORK/valgrind"   # not $WORK itself: the script's dir goes first on sys.path
    SCRIPT="$WORK/valgrind/zero_copy.py"
    cat > "$SCRIPT" <<'EOF'
import gc
import json, os
import numpy as np
import zmqipc as zmq

print("valgrind script: zmqipc from", zmq.__file__, "sanitize:", zmq.build_info().get("sanitize"))

ctx = zmq.Context()
for url in ("inproc://vg", "ipc://@zmqipc-valgrind-%d" % id(ctx)):
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    pull.bind(url)
    push.connect(url)
    for i in range(50):
        a = np.arange(20_000, dtype=np.float64) + i
        tracker = push.send_array(a, copy=False, track=True)
        del a
        got = pull.recv_array()
        assert got[0] == i and got[-1] == 19_999 + i
        out = np.empty(20_000)
        push.send_array(got * 2, copy=False)
        del got
        pull.recv_array_into(out)
        assert out[1] == 2 * (1 + i)
        tracker.wait(10)
    ba = bytearray(100_000)
    push.send(ba, copy=False)
    frame = pull.recv(copy=False)
    push.close(linger=0)
    pull.close(linger=0)
    del ba
    gc.collect()
    assert len(memoryview(frame)) == 100_000
    del frame
queued = ctx.socket(zmq.PUSH)
queued.connect("inproc://nobody")
for i in range(10):
    queued.send(np.ones(50_000), copy=False)
queued.close(linger=0)
ctx.term()
print("valgrind script: ok")
EOF
    # CPython is valgrind-clean only with its own allocator off; libzmq's I/O threads
    # and numpy are exercised as well. Errors (not leaks) fail the run.
    vstatus=0
    (cd "$ROOT" && PYTHONMALLOC=malloc valgrind --tool=memcheck --error-exitcode=99 \
        --leak-check=no --track-origins=no --num-callers=30 \
        --log-file="$WORK/valgrind.log" "$PYEXE" "$SCRIPT") || vstatus=$?
    # This CPython (no --with-valgrind) reports its own false positives (small-int
    # cache, GC traversal, the dynamic loader). Only errors with a zmqipc/libzmq frame
    # in their stack count; the others are just summarised.
    ours=$("$PYTHON" - "$WORK/valgrind.log" <<'EOF'
import re, sys
blocks, cur = [], None
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"==\d+== (.*)", line.rstrip("\n"))
    if not m:
        continue
    text = m.group(1)
    if re.match(r"(Invalid |Conditional jump|Use of uninitialised|Syscall param|"
                r"Source and destination|Mismatched free)", text):
        cur = [text]
        blocks.append(cur)
    elif cur is not None:
        if text.strip():
            cur.append(text)
        else:
            cur = None
mine = [b for b in blocks if any(re.search(r"_zmq\.cpython|zmq::|zmqipc_|release_queue", f) for f in b)]
sys.stderr.write("valgrind: %d error contexts in total, %d with a zmqipc/libzmq frame\n"
                 % (len(blocks), len(mine)))
for b in mine[:10]:
    sys.stderr.write("\n".join(b[:25]) + "\n\n")
print(len(mine))
EOF
)
    if [ $vstatus -ne 0 ] && [ $vstatus -ne 99 ]; then
        echo "== memcheck: valgrind run FAILED (script exit $vstatus; log: $WORK/valgrind.log)"
        status=$((status ? status : vstatus))
    elif [ "$ours" != "0" ]; then
        echo "== memcheck: valgrind found $ours error(s) in zmqipc/libzmq (log: $WORK/valgrind.log)"
        status=$((status ? status : 1))
    else
        echo "== memcheck: valgrind run passed: no errors in zmqipc/libzmq (log: $WORK/valgrind.log)"
    fi
fi

if [ -z "${ZMQIPC_MEMCHECK_DIR:-}" ] && [ $status -eq 0 ]; then
    rm -rf "$WORK"
else
    echo "== memcheck: scratch directory kept: $WORK"
fi
exit $status
