"""REQ/REP between two processes: a 1 MiB float64 array each way, zero-copy, checked.

The client (this process) sends request i -- a fresh 1 MiB float64 array equal to
``expected(i)`` -- with send_array(copy=False). The server (a second process,
multiprocessing 'spawn') receives it with recv_array(), which views the message
memory without copying, compares it with ``expected(i)``, negates it in place and
sends that same memory back with send_array(copy=False). The client checks that the
reply equals ``-expected(i)``.

Every round trip is verified (np.array_equal against the deterministic array, plus
a CRC32 of the bytes on the server side); the program prints round trips/s and
MB/s and exits 1 if any request or reply was wrong, 2 on any other failure.

    python examples/seed_reqrep.py                 # 2000 round trips
    python examples/seed_reqrep.py -n 10000 --copy # compare with copying sends
"""

import argparse
import multiprocessing as mp
import shutil
import sys
import tempfile
import time
import zlib

import numpy as np

ITEMS = (1 << 20) // 8          # 1 MiB of float64
TIMEOUT_MS = 30_000             # a dead peer becomes an error, not a hang
STOP = np.zeros(0)              # an empty array ends the server


def expected(i):
    """The deterministic content of request i: distinct per round and per element."""
    return np.arange(ITEMS, dtype=np.float64) * 0.5 + i * 1e6


def server(url, copy, result):
    import zmqipc as zmq
    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)
    rep.rcvtimeo = rep.sndtimeo = TIMEOUT_MS
    rep.bind(url)
    result.put("ready")
    mismatches = 0
    checked = 0
    crc = 0
    try:
        i = 0
        while True:
            got = rep.recv_array(copy=copy)
            if got.size == 0:
                rep.send_array(STOP)
                break
            if got.shape != (ITEMS,) or got.dtype != np.float64 or not np.array_equal(got, expected(i)):
                mismatches += 1
            crc = zlib.crc32(got, crc)           # reads the frame memory directly
            np.negative(got, out=got)            # received frames are writable
            rep.send_array(got, copy=copy)       # send the same memory back
            checked += 1
            i += 1
        result.put({"mismatches": mismatches, "checked": checked, "crc": crc, "error": None})
    except Exception as e:   # noqa: BLE001 - reported to the client
        result.put({"mismatches": mismatches, "checked": checked, "crc": crc, "error": repr(e)})
    finally:
        rep.close(linger=0)
        ctx.term()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--round-trips", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=20, help="untimed round trips first")
    parser.add_argument("--copy", action="store_true", help="copying sends/receives (for comparison)")
    args = parser.parse_args(argv)
    copy = args.copy

    import zmqipc as zmq

    tmp = tempfile.mkdtemp(prefix="zqseed")
    url = "ipc://%s/reqrep" % tmp
    spawn = mp.get_context("spawn")
    result = spawn.Queue()
    proc = spawn.Process(target=server, args=(url, copy, result), daemon=True)
    proc.start()
    ctx = zmq.Context()
    req = ctx.socket(zmq.REQ)
    req.rcvtimeo = req.sndtimeo = TIMEOUT_MS
    req.linger = 0
    mismatches = 0
    crc = 0
    total = args.warmup + args.round_trips
    try:
        if result.get(timeout=60) != "ready":
            raise RuntimeError("server did not start")
        req.connect(url)
        t0 = None
        for i in range(total):
            if i == args.warmup:
                t0 = time.perf_counter()
            request = expected(i)
            crc = zlib.crc32(request, crc)
            req.send_array(request, copy=copy)
            del request                              # libzmq's lease keeps it alive
            reply = req.recv_array(copy=copy)
            if reply.shape != (ITEMS,) or not np.array_equal(reply, -expected(i)):
                mismatches += 1
        elapsed = time.perf_counter() - t0
        req.send_array(STOP)
        req.recv_array()
        outcome = result.get(timeout=60)
    except Exception as e:   # noqa: BLE001
        print("FAILED: %r" % (e,))
        proc.terminate()
        return 2
    finally:
        req.close()
        ctx.term()
        proc.join(30)
        shutil.rmtree(tmp, ignore_errors=True)

    n = args.round_trips
    mb = ITEMS * 8 / 1e6
    print("REQ/REP over ipc between two processes, %s, 1 MiB float64 each way" % (
        "copy=True" if copy else "zero-copy send_array(copy=False) / recv_array()"))
    print("round trips: %d timed (+%d warm-up) in %.3f s" % (n, args.warmup, elapsed))
    print("  %.0f round trips/s, %.1f us per round trip" % (n / elapsed, elapsed / n * 1e6))
    print("  %.0f MB/s each way, %.0f MB/s total (1 MiB = %.3f MB)" % (
        n * mb / elapsed, 2 * n * mb / elapsed, mb))
    problems = []
    if outcome["error"]:
        problems.append("server error: %s" % outcome["error"])
    if outcome["checked"] != total:
        problems.append("server checked %d of %d requests" % (outcome["checked"], total))
    if outcome["mismatches"]:
        problems.append("%d requests arrived corrupted" % outcome["mismatches"])
    if outcome["crc"] != crc:
        problems.append("CRC32 of the requests differs: sent %08x, received %08x" % (crc, outcome["crc"]))
    if mismatches:
        problems.append("%d replies were wrong" % mismatches)
    if problems:
        print("MISMATCH: " + "; ".join(problems))
        return 1
    print("integrity: all %d requests and replies verified (CRC32 %08x)" % (total, crc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
