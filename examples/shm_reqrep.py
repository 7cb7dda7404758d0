"""The seed's REQ/REP exchange at 1 GiB, through shared memory, beside the inline path.

Like examples/seed_reqrep.py, but each request is a 1 GiB float64 array: the client
fills request i with ``expected(i)`` and sends it; the server (a 'spawn' process)
checks it, negates it in place and sends the same memory back; the client checks the
reply equals ``-expected(i)``. Two runs, same program:

- shm:    the request lives in zmqipc.shm memory; only descriptors travel, both ways
          (the server's reply is a view on the client's segment);
- inline: an ordinary array with send_array(copy=False): every byte crosses the socket.

Every round trip is verified in full (chunked, against the formula); the program
prints the messaging time per round trip (array building and checks subtracted) for
both paths, and exits 1 on any mismatch, 2 on any other failure.

    python examples/shm_reqrep.py              # 3 timed round trips per path
    python examples/shm_reqrep.py -n 5 --gib 0.25
"""

import argparse
import multiprocessing as mp
import shutil
import sys
import tempfile
import time

import numpy as np

TIMEOUT_MS = 120_000
CHUNK = 1 << 22  # elements per verification step


def expected_chunk(out, start, i, sign=1.0):
    """out[k] = sign * ((start + k) * 0.5) + sign * i * 1e6: request i's elements from start."""
    np.multiply(np.arange(start, start + out.size, dtype=np.float64), 0.5 * sign, out=out)
    out += sign * i * 1e6


def fill(array, i):
    for start in range(0, array.size, CHUNK):  # chunk by chunk: no second GiB
        expected_chunk(array[start : start + CHUNK], start, i)


def matches(array, i, sign=1.0):
    scratch = np.empty(min(CHUNK, array.size))
    for start in range(0, array.size, CHUNK):
        part = array[start : start + CHUNK]
        want = scratch[: part.size]
        expected_chunk(want, start, i, sign)
        if not np.array_equal(part, want):
            return False
    return True


def server(url, items, use_shm, rounds, result):
    import zmqipc as zmq

    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)
    rep.rcvtimeo = rep.sndtimeo = TIMEOUT_MS
    rep.bind(url)
    result.put("ready")
    bad, check_s = 0, []
    try:
        for i in range(rounds):
            got = rep.recv_array()
            t = time.perf_counter()
            if got.shape != (items,) or zmq.shm.is_shm(got) != use_shm or not matches(got, i):
                bad += 1
            np.negative(got, out=got)  # in place: shared memory, or the frame
            check_s.append(time.perf_counter() - t)
            rep.send_array(got, copy=False)
            del got
        result.put({"bad": bad, "check_s": check_s, "error": None})
    except Exception as e:  # noqa: BLE001 - reported to the client
        result.put({"bad": bad, "check_s": check_s, "error": repr(e)})
    finally:
        rep.close(linger=TIMEOUT_MS)  # deliver the last reply before going
        ctx.term()


def exchange(items, rounds, warmup, use_shm):
    import zmqipc as zmq

    tmp = tempfile.mkdtemp(prefix="zqshm")
    url = "ipc://%s/reqrep" % tmp
    spawn = mp.get_context("spawn")
    result = spawn.Queue()
    total = warmup + rounds
    proc = spawn.Process(target=server, args=(url, items, use_shm, total, result), daemon=True)
    proc.start()
    ctx = zmq.Context()
    req = ctx.socket(zmq.REQ)
    req.rcvtimeo = req.sndtimeo = TIMEOUT_MS
    req.linger = 0
    bad, timed = 0, []
    try:
        if result.get(timeout=120) != "ready":
            raise RuntimeError("server did not start")
        req.connect(url)
        for i in range(total):
            request = zmq.shm.empty(items) if use_shm else np.empty(items)
            fill(request, i)
            t1 = time.perf_counter()
            req.send_array(request, copy=False)
            del request
            reply = req.recv_array()
            t2 = time.perf_counter()
            if not matches(reply, i, sign=-1.0):
                bad += 1
            del reply
            if i >= warmup:
                timed.append(t2 - t1)
        outcome = result.get(timeout=120)
    finally:
        req.close()
        ctx.term()
        proc.join(60)
        shutil.rmtree(tmp, ignore_errors=True)
    # The server's check of round i ran inside the client's window of round i.
    messaging = [t - c for t, c in zip(timed, outcome["check_s"][warmup:])]
    return {
        "bad": bad + outcome["bad"],
        "error": outcome["error"],
        "median_ms": float(np.median(messaging)) * 1e3,
        "round_trips": rounds,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--round-trips", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--gib", type=float, default=1.0, help="array size in GiB")
    args = parser.parse_args(argv)
    items = int(args.gib * (1 << 30)) // 8
    rows = {}
    try:
        for name, use_shm in (("shm", True), ("inline", False)):
            rows[name] = exchange(items, args.round_trips, args.warmup, use_shm)
    except Exception as e:  # noqa: BLE001
        print("FAILED: %r" % (e,))
        return 2
    print(
        "REQ/REP over ipc between two processes, %.2f GiB float64 each way, %d timed "
        "round trips (+%d warm-up), every byte verified" % (args.gib, args.round_trips, args.warmup)
    )
    for name, row in rows.items():
        print(
            "  %-6s messaging per round trip (median, checks subtracted): %9.2f ms%s"
            % (
                name,
                row["median_ms"],
                ""
                if name == "shm"
                else "   (%.0fx the shm path)"
                % (row["median_ms"] / max(rows["shm"]["median_ms"], 1e-6)),
            )
        )
    problems = ["%s: %s" % (n, r["error"]) for n, r in rows.items() if r["error"]]
    problems += ["%s: %d round trips wrong" % (n, r["bad"]) for n, r in rows.items() if r["bad"]]
    if problems:
        print("MISMATCH: " + "; ".join(problems))
        return 1
    print("integrity: every request and reply verified on both paths")
    return 0


if __name__ == "__main__":
    sys.exit(main())
