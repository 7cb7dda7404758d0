"""The asyncio section of the benchmark: zmqipc.asyncio vs pyzmq's zmq.asyncio.

Both libraries run the same coroutines in the same invocation, alternating (the
order flips every repeat); each figure is the median of the repeats and the ratio
is zmqipc / pyzmq, so > 1 favours zmqipc (for latency: pyzmq's round-trip time
over zmqipc's).

- PUSH/PULL throughput over ipc: a sender process streams messages
  (``await push.send(msg)``, copy=True) without pause; a receiver process counts
  ``await pull.recv()`` for n messages once the stream flows and n/10 messages
  were received untimed (both heaps have grown to their steady size by then). The stream never
  stops while the receiver counts, so a library that misses an FD edge at the
  end of a burst (pyzmq 27 stalls on some) is measured on its steady state.
- REQ/REP latency over ipc: a client process makes n round trips
  (``await req.send(msg); await req.recv()``) with an echo server process.

A run that stalls (no message for STALL_S seconds) is reported as a stall.
"""

import asyncio
import importlib
import multiprocessing
import os
import statistics
import tempfile
import time

LIBS = {"pyzmq": "zmq", "zmqipc": "zmqipc"}
KiB, MiB = 1 << 10, 1 << 20
FULL = dict(
    repeats=5, throughput=[64, KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB], latency=[64, KiB, 64 * KiB]
)
QUICK = dict(repeats=3, throughput=[64, KiB, 64 * KiB, MiB], latency=[64, 64 * KiB])
TARGET_BYTES = 12 * MiB  # per throughput repeat, at least N_MIN messages
# 1000: a timed run of 150 large messages lasted 20-80 ms, a few of a loaded machine's
# time slices, and the ratio of two identical runs varied by 2x.
N_MIN, N_MAX = 1000, 30_000
ROUND_TRIPS = {64: 2000, KiB: 2000, 64 * KiB: 800}
STALL_S = 20


def _libs(lib):
    name = LIBS[lib]
    return importlib.import_module(name), importlib.import_module(name + ".asyncio")


def messages_for(size):
    return max(N_MIN, min(N_MAX, TARGET_BYTES // size))


# --- worker processes (spawned; each runs one asyncio loop) -------------------------------


def _in_loop(lib, kind, endpoint, bound, timeout_option, timeout_ms, body):
    """On a new loop, make a socket of ``kind`` (bound, then ``bound.set()``, if
    ``bound`` is an Event; else connected), return ``await body(socket)``. A timeout
    (zmq.Again) ends it and returns None."""
    zmq, aio = _libs(lib)

    async def main():
        ctx = aio.Context()
        sock = ctx.socket(getattr(zmq, kind))
        sock.linger = 0
        sock.setsockopt(getattr(zmq, timeout_option), timeout_ms)
        if bound is None:
            sock.connect(endpoint)
        else:
            sock.bind(endpoint)
            bound.set()
        try:
            return await body(sock)
        except zmq.Again:
            return None
        finally:
            sock.close()
            ctx.term()

    return asyncio.run(main())


def _pull(lib, endpoint, n, bound, stop, results):
    async def count(pull):
        for _ in range(1 + n // 10):  # the stream flows, the heaps have grown
            await pull.recv()
        t0 = time.perf_counter()
        for _ in range(n):
            await pull.recv()
        return n / (time.perf_counter() - t0)

    try:  # None: stalled for STALL_S
        results.put(_in_loop(lib, "PULL", endpoint, bound, "RCVTIMEO", STALL_S * 1000, count))
    finally:
        stop.set()


def _push(lib, endpoint, size, stop):
    async def stream(push):
        msg = b"x" * size
        while not stop.is_set():
            for _ in range(64):
                await push.send(msg)

    # SNDTIMEO: once the receiver is gone, a blocked send ends the stream.
    _in_loop(lib, "PUSH", endpoint, None, "SNDTIMEO", 1000, stream)


def _echo(lib, endpoint, bound):
    async def echo(rep):
        while True:
            await rep.send(await rep.recv())

    # RCVTIMEO: the client is done (or stalled).
    _in_loop(lib, "REP", endpoint, bound, "RCVTIMEO", 2000, echo)


def _ask(lib, endpoint, size, n, results):
    async def round_trips(req):
        msg = b"x" * size
        for _ in range(max(20, n // 10)):  # warm-up
            await req.send(msg)
            await req.recv()
        t0 = time.perf_counter()
        for _ in range(n):
            await req.send(msg)
            await req.recv()
        return (time.perf_counter() - t0) / n

    results.put(_in_loop(lib, "REQ", endpoint, None, "RCVTIMEO", STALL_S * 1000, round_trips))


# --- one measurement -----------------------------------------------------------------------


def _run_pair(mp, bound, server, client, results):
    """Start the server process, then (once it has bound) the client; return the
    result one of them reports."""
    processes = [
        mp.Process(target=target, args=args, daemon=True) for target, args in (server, client)
    ]
    processes[0].start()
    if not bound.wait(30):
        raise RuntimeError("benchmark worker did not start")
    processes[1].start()
    try:
        value = results.get(timeout=STALL_S + 60)
    finally:
        for p in processes:
            p.join(10)
            if p.is_alive():
                p.kill()
    return value


def throughput(mp, lib, endpoint, size, n):
    bound, stop, results = mp.Event(), mp.Event(), mp.Queue()
    return _run_pair(
        mp,
        bound,
        (_pull, (lib, endpoint, n, bound, stop, results)),
        (_push, (lib, endpoint, size, stop)),
        results,
    )


def latency(mp, lib, endpoint, size, n):
    bound, results = mp.Event(), mp.Queue()
    return _run_pair(
        mp,
        bound,
        (_echo, (lib, endpoint, bound)),
        (_ask, (lib, endpoint, size, n, results)),
        results,
    )


# --- the section -----------------------------------------------------------------------------


def run(quick=False, progress=print):
    """Measure every case; return {"throughput": [...], "latency": [...]}, one row per
    (size, lib) with the samples and median."""
    cfg = QUICK if quick else FULL
    mp = multiprocessing.get_context("spawn")
    ipc_dir = tempfile.mkdtemp(prefix="zba-")
    rows = {"throughput": [], "latency": []}
    started = time.monotonic()
    try:
        cases = [("throughput", size, messages_for(size)) for size in cfg["throughput"]]
        cases += [("latency", size, ROUND_TRIPS[size]) for size in cfg["latency"]]
        for kind, size, n in cases:
            samples = {lib: [] for lib in LIBS}
            for rep in range(cfg["repeats"]):
                for lib in list(LIBS) if rep % 2 == 0 else list(LIBS)[::-1]:
                    endpoint = "ipc://%s/%s-%d-%d" % (ipc_dir, lib, size, rep)
                    measure = throughput if kind == "throughput" else latency
                    samples[lib].append(measure(mp, lib, endpoint, size, n))
            for lib in LIBS:
                good = [s for s in samples[lib] if s is not None]
                rows[kind].append(
                    {
                        "size": size,
                        "lib": lib,
                        "n": n,
                        "samples": samples[lib],
                        "median": statistics.median(good) if good else None,
                        "stalls": len(samples[lib]) - len(good),
                    }
                )
            progress("  [%4.0f s] asyncio %s %d B done" % (time.monotonic() - started, kind, size))
    finally:
        for name in os.listdir(ipc_dir):
            os.unlink(os.path.join(ipc_dir, name))
        os.rmdir(ipc_dir)
    return rows


def ratios(rows):
    """[(kind, size, pyzmq median, zmqipc median, ratio)]; ratio > 1 favours zmqipc."""
    out = []
    for kind in ("throughput", "latency"):
        by_size = {}
        for row in rows[kind]:
            by_size.setdefault(row["size"], {})[row["lib"]] = row["median"]
        for size, medians in by_size.items():
            pz, zi = medians.get("pyzmq"), medians.get("zmqipc")
            ratio = None
            if pz and zi:
                ratio = zi / pz if kind == "throughput" else pz / zi
            out.append((kind, size, pz, zi, ratio))
    return out


def _size(n):
    return "%d MiB" % (n // MiB) if n >= MiB else "%d KiB" % (n // KiB) if n >= KiB else "%d B" % n


def _show(kind, value, stalls):
    if value is None:
        return "stalled"
    text = "%.0f msg/s" % value if kind == "throughput" else "%.1f us" % (value * 1e6)
    return text + (" (%d stalled)" % stalls if stalls else "")


def markdown(rows):
    """The section as a Markdown table."""
    lines = [
        "## asyncio: zmqipc.asyncio vs zmq.asyncio (ipc, separate processes)",
        "",
        "| case | size | pyzmq | zmqipc | ratio (>1: zmqipc faster) |",
        "|---|---|---|---|---|",
    ]
    stalls = {(r["size"], r["lib"], kind): r["stalls"] for kind in rows for r in rows[kind]}
    for kind, size, pz, zi, ratio in ratios(rows):
        case = "PUSH/PULL throughput" if kind == "throughput" else "REQ/REP round trip"
        lines.append(
            "| %s | %s | %s | %s | %s |"
            % (
                case,
                _size(size),
                _show(kind, pz, stalls[(size, "pyzmq", kind)]),
                _show(kind, zi, stalls[(size, "zmqipc", kind)]),
                "%.2fx" % ratio if ratio else "-",
            )
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    print(markdown(run(quick="--quick" in sys.argv)))
