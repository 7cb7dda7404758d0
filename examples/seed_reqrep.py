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

ITEMS = (1 << 20) // 8  # 1 MiB of float64
TIMEOUT_MS = 30_000  # a dead peer becomes an error, not a hang
STOP = np.zeros(0)  # an empty array ends the server


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
    check_s = 0.0  # time spent verifying, not messaging
    try:
        i = 0
        while True:
            got = rep.recv_array(copy=copy)
            if got.size == 0:
                rep.send_array(STOP)
                break
            t = time.perf_counter()
            if (
                got.shape != (ITEMS,)
                or got.dtype != np.float64
                or not np.array_equal(got, expected(i))
            ):
                mismatches += 1
            crc = zlib.crc32(got, crc)  # reads the frame memory directly
            check_s += time.perf_counter() - t
            np.negative(got, out=got)  # received frames are writable
            rep.send_array(got, copy=copy)  # send the same memory back
            checked += 1
            i += 1
        result.put(
            {
                "mismatches": mismatches,
                "checked": checked,
                "crc": crc,
                "error": None,
                "check_s": check_s,
            }
        )
    except Exception as e:  # noqa: BLE001 - reported to the client
        result.put(
            {
                "mismatches": mismatches,
                "checked": checked,
                "crc": crc,
                "error": repr(e),
                "check_s": check_s,
            }
        )
    finally:
        rep.close(linger=0)
        ctx.term()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--round-trips", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=20, help="untimed round trips first")
    parser.add_argument(
        "--copy", action="store_true", help="copying sends/receives (for comparison)"
    )
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
    check_s = 0.0
    total = args.warmup + args.round_trips
    try:
        if result.get(timeout=60) != "ready":
            raise RuntimeError("server did not start")
        req.connect(url)
        t0 = None
        for i in range(total):
            if i == args.warmup:
                t0 = time.perf_counter()
            t = time.perf_counter()
            request = expected(i)
            crc = zlib.crc32(request, crc)
            t1 = time.perf_counter()
            req.send_array(request, copy=copy)
            del request  # libzmq's lease keeps it alive
            reply = req.recv_array(copy=copy)
            t2 = time.perf_counter()
            if reply.shape != (ITEMS,) or not np.array_equal(reply, -expected(i)):
                mismatches += 1
            if i >= args.warmup:
                check_s += (t1 - t) + (time.perf_counter() - t2)
        elapsed = time.perf_counter() - t0
        req.send_array(STOP)
        req.recv_array()
        outcome = result.get(timeout=60)
    except Exception as e:  # noqa: BLE001
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
    # REQ/REP is strictly sequential, so the time both sides spent building and
    # verifying arrays can be subtracted to show the messaging alone. (The server's
    # figure includes its warm-up rounds: a slight over-subtraction.)
    server_check = outcome.get("check_s", 0.0) * n / max(outcome["checked"], 1)
    messaging = max(elapsed - check_s - server_check, 1e-9)
    print(
        "REQ/REP over ipc between two processes, %s, 1 MiB float64 each way"
        % ("copy=True" if copy else "zero-copy send_array(copy=False) / recv_array()")
    )
    print("round trips: %d timed (+%d warm-up) in %.3f s" % (n, args.warmup, elapsed))
    print(
        "  with verification: %.0f round trips/s, %.0f us per round trip, %.0f MB/s each way"
        % (n / elapsed, elapsed / n * 1e6, n * mb / elapsed)
    )
    print(
        "  messaging only:    %.0f round trips/s, %.0f us per round trip, %.0f MB/s each way "
        "(%.0f + %.0f us/round trip of array building and checks subtracted)"
        % (
            n / messaging,
            messaging / n * 1e6,
            n * mb / messaging,
            check_s / n * 1e6,
            server_check / n * 1e6,
        )
    )
    problems = []
    if outcome["error"]:
        problems.append("server error: %s" % outcome["error"])
    if outcome["checked"] != total:
        problems.append("server checked %d of %d requests" % (outcome["checked"], total))
    if outcome["mismatches"]:
        problems.append("%d requests arrived corrupted" % outcome["mismatches"])
    if outcome["crc"] != crc:
        problems.append(
            "CRC32 of the requests differs: sent %08x, received %08x" % (crc, outcome["crc"])
        )
    if mismatches:
        problems.append("%d replies were wrong" % mismatches)
    if problems:
        print("MISMATCH: " + "; ".join(problems))
        return 1
    print("integrity: all %d requests and replies verified (CRC32 %08x)" % (total, crc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
