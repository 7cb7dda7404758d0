"""Shared-memory arrays (zmqipc.shm) side by side with pyzmq, in one run.

    python bench/shm_bench.py            # ~2-4 minutes, includes 1 GiB cases
    python bench/shm_bench.py --quick    # no 1 GiB cases
    (bench/bench.py runs it as its last section; --no-shm skips it there)

Rows:
- hand-off: the sender calls send_array on an array that already lives in shared
  memory (zmqipc.shm.empty), the receiver holds the ndarray; one message at a time
  (the receiver acks), one-way time = receiver's clock after recv_array minus the
  sender's before send_array (CLOCK_MONOTONIC is system-wide). pyzmq: the same array
  sent with send_multipart([header, array], copy=False), received with copy=False.
- shm=True: send_array(ordinary_array, shm=True) PUSH/PULL pipelined (HWM 4 on both
  libraries), versus pyzmq's zero-copy send; GB/s end to end, minor page faults per
  message on each side, and the copy's GB/s against np.copyto of the same size.
- peak RSS of a fresh receiver process holding (and reading) one 1 GiB array.
Ratios are zmqipc / pyzmq. Timing figures are medians over repeats.
"""

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time

import numpy as np
from workers import maxrss_mib, minor_faults

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
WARM = 16  # untimed messages first: the pool, mappings and queues settle


def _lib(name):
    if name == "pyzmq":
        import zmq

        return zmq
    import zmqipc

    return zmqipc


# --- worker processes (spawned) ---------------------------------------------------


def handoff_receiver(lib, url, n, conn):
    zmq = _lib(lib)
    ctx = zmq.Context()
    s = ctx.socket(zmq.PAIR)
    s.bind(url)
    conn.send("bound")
    times = []
    for _ in range(n):
        if lib == "pyzmq":
            header, data = s.recv_multipart(copy=False)
            meta = json.loads(header.bytes)
            got = np.frombuffer(data, meta["dtype"]).reshape(meta["shape"])
        else:
            got = s.recv_array()
        t1 = time.perf_counter()
        times.append(t1 - float(got.reshape(-1)[0]))
        del got
        s.send(b"")
    conn.send(times)
    s.close(linger=0)
    ctx.term()


def handoff_sender(lib, url, size, n):
    zmq = _lib(lib)
    ctx = zmq.Context()
    s = ctx.socket(zmq.PAIR)
    s.connect(url)
    shape = (size // 8,)
    arr = zmq.shm.empty(shape, "f8") if lib == "zmqipc" else np.empty(shape, "f8")
    arr[:] = 1.0  # touched once, before timing
    header = json.dumps({"dtype": "<f8", "shape": shape}).encode()
    for _ in range(n):
        arr[0] = time.perf_counter()
        if lib == "pyzmq":
            s.send_multipart([header, arr], copy=False)
        else:
            s.send_array(arr)
        s.recv()
    s.close(linger=0)
    ctx.term()


def stream_receiver(lib, url, size, n, conn):
    zmq = _lib(lib)
    ctx = zmq.Context()
    s = ctx.socket(zmq.PULL)
    s.rcvhwm = 4
    s.bind(url)
    conn.send("bound")
    for _ in range(WARM):
        _recv_one(lib, s)
    faults = minor_faults()
    conn.recv()  # the sender has started its clock
    for _ in range(n):
        got = _recv_one(lib, s)
        del got
    t1 = time.perf_counter()
    conn.send((t1, (minor_faults() - faults) / n))
    s.close(linger=0)
    ctx.term()


def _recv_one(lib, s):
    if lib == "pyzmq":
        header, data = s.recv_multipart(copy=False)
        return np.frombuffer(data, "u1")
    return s.recv_array()


def stream_sender(lib, url, size, n, conn):
    zmq = _lib(lib)
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.sndhwm = 4
    s.connect(url)
    arr = np.ones(size, "u1")
    header = json.dumps({"dtype": "|u1", "shape": [size]}).encode()

    def send():
        if lib == "pyzmq":
            s.send_multipart([header, arr], copy=False)
        else:
            s.send_array(arr, shm=True)

    for _ in range(WARM):
        send()
    time.sleep(0.2)  # the receiver drains the warm-up
    faults = minor_faults()
    t0 = time.perf_counter()
    conn.send(t0)
    for _ in range(n):
        send()
    conn.send((minor_faults() - faults) / n)
    s.close()
    ctx.term()


def rss_receiver(lib, url, size, conn):
    zmq = _lib(lib)
    ctx = zmq.Context()
    s = ctx.socket(zmq.PAIR)
    s.bind(url)
    base = maxrss_mib()
    conn.send(("bound", base))
    if lib == "pyzmq":
        header, data = s.recv_multipart(copy=False)
        got = np.frombuffer(data, "u1")
    else:
        got = s.recv_array()
    total = int(got[::4096].sum())  # touch every page
    conn.send((maxrss_mib() - base, total))
    s.send(b"")
    s.close(linger=0)
    ctx.term()


def rss_sender(lib, url, size):
    zmq = _lib(lib)
    ctx = zmq.Context()
    s = ctx.socket(zmq.PAIR)
    s.connect(url)
    arr = zmq.shm.empty(size, "u1") if lib == "zmqipc" else np.empty(size, "u1")
    arr[:] = 1
    if lib == "pyzmq":
        s.send_multipart([b"{}", arr], copy=False)
    else:
        s.send_array(arr)
    s.recv()
    s.close(linger=0)
    ctx.term()


# --- the coordinator -----------------------------------------------------------------


def _pair(mp, recv_target, recv_args, send_target, send_args):
    parent, child = mp.Pipe()
    rx = mp.Process(target=recv_target, args=recv_args + (child,))
    rx.start()
    first = parent.recv()
    tx_parent, tx_child = mp.Pipe()
    extra = (tx_child,) if send_target is stream_sender else ()
    tx = mp.Process(target=send_target, args=send_args + extra)
    tx.start()
    return rx, tx, parent, tx_parent, first


def _join(*procs):
    for p in procs:
        p.join(300)
        if p.is_alive():
            p.kill()
            raise TimeoutError("benchmark worker hung")


def handoff(mp, lib, size, n, tmp):
    url = "ipc://%s/h-%s-%d" % (tmp, lib, size)
    rx, tx, conn, _, _ = _pair(
        mp, handoff_receiver, (lib, url, n), handoff_sender, (lib, url, size, n)
    )
    times = conn.recv()
    _join(rx, tx)
    warm = times[min(2, len(times) - 1) :]
    return {"p50_us": statistics.median(warm) * 1e6, "min_us": min(warm) * 1e6, "n": len(warm)}


def stream(mp, lib, size, n, tmp):
    url = "ipc://%s/s-%s-%d" % (tmp, lib, size)
    rx, tx, rconn, tconn, _ = _pair(
        mp, stream_receiver, (lib, url, size, n), stream_sender, (lib, url, size, n)
    )
    t0 = tconn.recv()
    rconn.send(t0)
    send_faults = tconn.recv()
    t1, recv_faults = rconn.recv()
    _join(rx, tx)
    return {
        "gbps": n * size / (t1 - t0) / 1e9,
        "send_faults": send_faults,
        "recv_faults": recv_faults,
    }


def rss(mp, lib, size, tmp):
    url = "ipc://%s/r-%s" % (tmp, lib)
    parent, child = mp.Pipe()
    rx = mp.Process(target=rss_receiver, args=(lib, url, size, child))
    rx.start()
    parent.recv()
    tx = mp.Process(target=rss_sender, args=(lib, url, size))
    tx.start()
    grown, _ = parent.recv()
    _join(rx, tx)
    return {"receiver_rss_growth_mib": grown}


def copy_rates(size, repeats=9):
    """GB/s of the shm=True copy (pooled segment, warm) against np.copyto."""
    import zmqipc

    src = np.ones(size, "u1")
    dst = np.empty(size, "u1")
    np.copyto(dst, src)
    held = [zmqipc.shm.empty(size, "u1")]
    del held
    mine, plain = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        out = zmqipc.shm.empty(size, "u1")
        np.copyto(out, src)
        mine.append(time.perf_counter() - t)
        del out
        t = time.perf_counter()
        np.copyto(dst, src)
        plain.append(time.perf_counter() - t)
    return {
        "shm_copy_gbps": size / statistics.median(mine) / 1e9,
        "copyto_gbps": size / statistics.median(plain) / 1e9,
    }


def run(quick=False, repeats=5, progress=print):
    mp = multiprocessing.get_context("spawn")
    tmp = tempfile.mkdtemp(prefix="zs-")
    big = [] if quick else [GiB]
    rows = {"handoff": [], "stream": [], "copy": [], "rss": []}
    for size in [16 * MiB] + big:
        for rep in range(repeats if size < GiB else 1):
            for lib in ("zmqipc", "pyzmq") if rep % 2 == 0 else ("pyzmq", "zmqipc"):
                n = (
                    (200 if lib == "zmqipc" else 20)
                    if size < GiB
                    else (50 if lib == "zmqipc" else 4)
                )
                rows["handoff"].append(dict(handoff(mp, lib, size, n, tmp), lib=lib, size=size))
        progress("  shm hand-off %s done" % _size(size))
    for size in (MiB, 16 * MiB):
        n = 2000 if size == MiB else 200
        for rep in range(repeats):
            for lib in ("zmqipc", "pyzmq") if rep % 2 == 0 else ("pyzmq", "zmqipc"):
                rows["stream"].append(dict(stream(mp, lib, size, n, tmp), lib=lib, size=size))
        rows["copy"].append(dict(copy_rates(size), size=size))
        progress("  shm=True stream %s done" % _size(size))
    if not quick:
        for lib in ("zmqipc", "pyzmq"):
            rows["rss"].append(dict(rss(mp, lib, GiB, tmp), lib=lib, size=GiB))
        progress("  shm peak RSS done")
    os.rmdir(tmp) if not os.listdir(tmp) else None
    return rows


def _size(size):
    return "%d GiB" % (size // GiB) if size >= GiB else "%d MiB" % (size // MiB)


def _median(rows, lib, size, key):
    values = [r[key] for r in rows if r["lib"] == lib and r["size"] == size]
    return statistics.median(values) if values else float("nan")


def markdown(rows):
    out = [
        "## Shared-memory arrays (zmqipc.shm) vs pyzmq, same run",
        "",
        "Hand-off, one array at a time over ipc (receiver holds the ndarray), one-way p50:",
        "",
        "| size | zmqipc.shm p50 | pyzmq zero-copy p50 | pyzmq / zmqipc |",
        "|---|---|---|---|",
    ]
    for size in sorted({r["size"] for r in rows["handoff"]}):
        z = _median(rows["handoff"], "zmqipc", size, "p50_us")
        p = _median(rows["handoff"], "pyzmq", size, "p50_us")
        out.append("| %s | %.0f us | %.0f us | %.0fx |" % (_size(size), z, p, p / z))
    out += [
        "",
        "send_array(arr, shm=True), PUSH/PULL over ipc, HWM 4 (medians of repeats):",
        "",
        "| size | zmqipc shm=True | pyzmq zero-copy | ratio | faults/msg send / recv (zmqipc) "
        "| faults/msg send / recv (pyzmq) | shm copy vs np.copyto |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in sorted({r["size"] for r in rows["stream"]}):
        z = _median(rows["stream"], "zmqipc", size, "gbps")
        p = _median(rows["stream"], "pyzmq", size, "gbps")
        c = next(r for r in rows["copy"] if r["size"] == size)
        out.append(
            "| %s | %.2f GB/s | %.2f GB/s | %.2fx | %.1f / %.1f | %.1f / %.1f | %.2f vs %.2f GB/s |"
            % (
                _size(size),
                z,
                p,
                z / p,
                _median(rows["stream"], "zmqipc", size, "send_faults"),
                _median(rows["stream"], "zmqipc", size, "recv_faults"),
                _median(rows["stream"], "pyzmq", size, "send_faults"),
                _median(rows["stream"], "pyzmq", size, "recv_faults"),
                c["shm_copy_gbps"],
                c["copyto_gbps"],
            )
        )
    if rows["rss"]:
        out += ["", "Peak RSS growth of a fresh receiver holding and reading one 1 GiB array:", ""]
        for r in rows["rss"]:
            out.append("- %s: %.0f MiB" % (r["lib"], r["receiver_rss_growth_mib"]))
    return "\n".join(out) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    rows = run(args.quick, args.repeats)
    text = markdown(rows)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "shm.json"), "w") as f:
        json.dump(rows, f, indent=1)
    with open(os.path.join(args.out, "shm.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
