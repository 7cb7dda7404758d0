"""zmqipc vs pyzmq benchmark: same run, alternating, medians, ratios (see README).

    python bench/bench.py            # full run (~6-8 minutes on a 2-vCPU VM)
    python bench/bench.py --quick    # ~1-2 minutes, no 1 GiB memory test
    python bench/bench.py --out DIR  # where results go (default bench/results/)

Both libraries run in the same invocation, alternating point by point (and the
order of the variants flips every repeat); each figure is the median of >= 5
repeats and comparisons are reported as ratios zmqipc / pyzmq. Throughput ratios
> 1 and latency / memory ratios < 1 favour zmqipc. GB/s means 1e9 bytes/s.

Cases: PUSH/PULL end-to-end throughput (ipc, tcp 127.0.0.1, inproc), REQ/REP
latency, header+array multipart, the raw AF_UNIX ceiling, and peak RSS for one
1 GiB array. Every row gets fresh worker processes (see Runner); the workers and the
measured loops are in workers.py. A last, separate section compares zmqipc.shm with
pyzmq (bench/shm_bench.py; --no-shm skips it), and another zmqipc.asyncio with zmq.asyncio (bench/asyncio_bench.py; --no-asyncio skips it).
"""

import argparse
import glob
import hashlib
import json
import multiprocessing
import os
import platform
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.reduction import send_handle

import asyncio_bench
import cpuload
import report
import shm_bench
import workers

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
ALL_SIZES = [64, KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB, 16 * MiB, 64 * MiB]
LIBS = ("pyzmq", "zmqipc")
MODES = ("copy", "zerocopy")  # send(copy=True) / send(copy=False), recv likewise

FULL = dict(
    repeats=9,
    target_s=0.3,
    sizes={
        "ipc": ALL_SIZES,
        "tcp": [64, KiB, 64 * KiB, MiB, 16 * MiB],
        "inproc": [64, KiB, 64 * KiB, MiB, 16 * MiB],
    },
    raw_sizes=[64 * KiB, 256 * KiB, MiB, 16 * MiB, 64 * MiB],
    multipart_sizes=[MiB, 16 * MiB],
    latency_sizes=[1, KiB],
    latency_n=4000,
    memory=True,
)
QUICK = dict(
    repeats=5,
    target_s=0.12,
    sizes={"ipc": ALL_SIZES, "tcp": [64, 64 * KiB, MiB], "inproc": [64, 64 * KiB, MiB]},
    raw_sizes=[64 * KiB, 256 * KiB, MiB, 16 * MiB, 64 * MiB],
    multipart_sizes=[MiB, 16 * MiB],
    latency_sizes=[1, KiB],
    latency_n=1000,
    memory=False,
)
N_MIN, N_MAX = 8, 2_000_000
MIN_BYTES = 256 * MiB  # at least this much per repeat, so pipeline start-up stays small
COPY_BYTES_MAX = 4 * GiB  # cap on n * size when every message is copied (queues may fill)
MEMORY_SIZE = GiB
TIMEOUT_S = 180


# --- worker processes -------------------------------------------------------------------


class Process:
    """One spawned worker and the coordinator's end of its pipe."""

    def __init__(self, lib, mp):
        self.conn, child = mp.Pipe()
        self.proc = mp.Process(target=workers.serve, args=(lib, child), daemon=True)
        self.proc.start()
        child.close()

    def command(self, name, **kwargs):
        self.conn.send((name, kwargs))

    def expect(self, tag):
        """The next message, which must be `tag` (a note) or "ok" (a command result)."""
        if not self.conn.poll(TIMEOUT_S):
            raise TimeoutError("worker %d sent nothing for %d s" % (self.proc.pid, TIMEOUT_S))
        message = self.conn.recv()
        if message[0] == "error":
            raise RuntimeError(message[1])
        if message[0] != tag:
            raise RuntimeError("expected %r from worker, got %r" % (tag, message))
        return message[1] if len(message) > 1 else None

    def close(self):
        try:
            self.conn.send(None)
            self.proc.join(10)
        finally:
            if self.proc.is_alive():
                self.proc.kill()


class Pair:
    """A sender and a receiver process for one library ("pyzmq", "zmqipc" or "raw")."""

    def __init__(self, lib, mp):
        self.lib = lib
        self.tx, self.rx = Process(lib, mp), Process(lib, mp)

    def close(self):
        self.tx.close()
        self.rx.close()


# --- one measurement ---------------------------------------------------------------------


@dataclass
class Variant:
    section: str  # "throughput" | "multipart"
    transport: str  # "ipc" | "tcp" | "inproc" | "raw"
    size: int
    lib: str  # "pyzmq" | "zmqipc" | "raw"
    mode: str  # workers.make_sender modes
    bufsize: int = 0  # raw only: SO_SNDBUF/SO_RCVBUF (0: default)
    label: str = ""
    n: int = 0
    samples: list = field(default_factory=list)  # seconds for n messages
    buffers: list = None
    other_load: float = None  # CPU share used by other processes meanwhile (cpuload.py)
    faults: list = field(default_factory=list)  # (receiver, sender) minor page faults per message

    @property
    def rates(self):
        return [self.n / s for s in self.samples]


class Runner:
    """Fresh worker pairs for one row of the tables (one transport and size, or one
    latency size), closed when the row is done: a row never inherits the heaps,
    malloc thresholds or libzmq caches that earlier rows left in long-lived workers
    (the tcp 1 MiB row read 0.86 / 0.98 after the ipc rows in shared workers, and
    1.04-1.06 / 1.18-1.32 in fresh ones). Both libraries get the same treatment."""

    def __init__(self, mp, ipc_dir, libs, load_log):
        self.ipc_dir, self.load_log = ipc_dir, load_log
        self.pairs = {}
        try:
            for lib in libs:
                self.pairs[lib] = Pair(lib, mp)
        except BaseException:
            self.close()
            raise
        self.meter = cpuload.Meter(
            p.proc.pid for pair in self.pairs.values() for p in (pair.tx, pair.rx)
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for pair in self.pairs.values():
            pair.close()

    def other_load(self):
        """The foreign CPU share since meter.start(), also logged for the whole run."""
        share, wall = self.meter.share_and_wall()
        self.load_log.append((share, wall))
        return share

    def run(self, v, n):
        """End-to-end seconds for n messages (after a warm-up message), and the receiver's
        and sender's minor page faults per message."""
        pair = self.pairs[v.lib]
        spec = dict(size=v.size, mode=v.mode, n=n)
        if v.transport == "inproc":
            pair.tx.command("inproc", **spec)
            result = pair.tx.expect("ok")
            return result["t1"] - result["t0"], (result["faults"], result["tx_faults"])
        if v.transport == "raw":
            a, b = socket.socketpair()
            with a, b:
                for proc, end in ((pair.rx, a), (pair.tx, b)):
                    proc.command(
                        "recv" if proc is pair.rx else "send",
                        transport="raw",
                        bufsize=v.bufsize,
                        **spec,
                    )
                    send_handle(proc.conn, end.fileno(), proc.proc.pid)
                pair.rx.expect("bound")
        else:
            pair.rx.command("recv", transport=v.transport, ipc_dir=self.ipc_dir, **spec)
            endpoint = pair.rx.expect("bound")
            pair.tx.command("send", transport=v.transport, endpoint=endpoint, **spec)
        pair.rx.expect("warm")
        pair.tx.conn.send("go")  # start sending
        sent = pair.tx.expect("sent")
        received = pair.rx.expect("ok")
        pair.tx.conn.send("go")  # the receiver is done: close
        pair.tx.expect("ok")
        v.buffers = sent["buffers"]
        return received["t1"] - sent["t0"], (received["faults"], sent["faults"])

    def calibrate(self, v, target_s):
        """Pick n so that one repeat takes about target_s. The rate is the best of two
        probes of >= 20 ms (the probes also warm up)."""
        n = max(2, min(N_MAX, int(0.03 / (3e-6 + v.size / 2e9))))
        rates = []
        for _ in range(6):
            elapsed, _ = self.run(v, n)
            if elapsed >= 0.02 or n >= N_MAX:
                rates.append(n / elapsed)
                if len(rates) == 2:
                    break
            else:
                n = min(N_MAX, n * max(2, int(0.05 / max(elapsed, 1e-4))))
        n = int(max(rates) * target_s)
        if v.mode == "copy":
            n = min(n, COPY_BYTES_MAX // v.size)
        return max(N_MIN, min(64, MIN_BYTES // v.size), min(N_MAX, n))

    def measure(self, variants, repeats, target_s, progress):
        """Calibrate every variant, then run the repeats round-robin, flipping the order."""
        self.meter.start()
        for v in variants:
            v.n = self.calibrate(v, target_s)
        for rep in range(repeats):
            for v in variants if rep % 2 == 0 else variants[::-1]:
                elapsed, faults = self.run(v, v.n)
                v.samples.append(elapsed)
                v.faults.append(faults)
        share = self.other_load()
        for v in variants:
            v.other_load = share
        progress(variants)
        return variants

    def latency(self, lib, size, n, repeats_out):
        pair = self.pairs[lib]
        warmup = max(100, n // 10)
        pair.rx.command("lat_server", transport="ipc", count=warmup + n, ipc_dir=self.ipc_dir)
        endpoint = pair.rx.expect("bound")
        pair.tx.command("lat_client", endpoint=endpoint, size=size, n=n, warmup=warmup)
        result = pair.tx.expect("ok")
        pair.rx.expect("ok")
        repeats_out.append(result)


def memory_case(mp, lib, mode, ipc_dir):
    """Peak RSS of a fresh sender and receiver moving one 1 GiB array over ipc."""
    pair = Pair(lib, mp)
    try:
        pair.rx.command("mem_recv", transport="ipc", size=MEMORY_SIZE, mode=mode, ipc_dir=ipc_dir)
        endpoint = pair.rx.expect("bound")
        pair.tx.command("mem_send", size=MEMORY_SIZE, mode=mode, endpoint=endpoint)
        received = pair.rx.expect("ok")
        pair.tx.conn.send("go")
        sent = pair.tx.expect("ok")
    finally:
        pair.close()
    return {
        "lib": lib,
        "mode": mode,
        "sender_peak_mib": sent["peak_mib"],
        "sender_base_mib": sent["base_mib"],
        "receiver_peak_mib": received["peak_mib"],
        "receiver_base_mib": received["base_mib"],
        "seconds": received["t1"] - sent["t0"],
    }


# --- the whole run -------------------------------------------------------------------------


def environment():
    import numpy
    import zmq

    import zmqipc

    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor()

    def sysctl(name):
        try:
            return int(open("/proc/sys/net/core/" + name).read())
        except OSError:
            return None

    return {
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "pyzmq": zmq.__version__,
        "pyzmq_libzmq": zmq.zmq_version(),
        "zmqipc": zmqipc.__version__,
        "zmqipc_libzmq": zmqipc.zmq_version(),
        "zmqipc_ipc_buffers": zmqipc.build_info().get("ipc_buffer_default"),
        "pyzmq_copy_threshold": zmq.COPY_THRESHOLD,
        "zmqipc_copy_threshold": zmqipc.COPY_THRESHOLD,
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "wmem_max": sysctl("wmem_max"),
        "rmem_max": sysctl("rmem_max"),
        "zmqipc_extension": extension_id(zmqipc),
        "loadavg_start": os.getloadavg(),
    }


def extension_id(package):
    """sha256 prefix and mtime of the compiled extension that was measured (the tree may be
    rebuilt between runs)."""
    paths = glob.glob(os.path.join(os.path.dirname(package.__file__), "_zmq*.so")) + glob.glob(
        os.path.join(os.path.dirname(package.__file__), "_zmq*.pyd")
    )
    if not paths:
        return None
    with open(paths[0], "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    return {
        "file": os.path.basename(paths[0]),
        "sha256": digest,
        "mtime": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(paths[0]))),
    }


def throughput_variants(transport, size, cfg):
    variants = [
        Variant(
            "throughput", transport, size, lib, mode, label="%s %s" % (lib, report.MODE_NAMES[mode])
        )
        for lib in LIBS
        for mode in MODES
    ]
    if transport == "ipc" and size in cfg["raw_sizes"]:
        variants += [
            Variant("throughput", "raw", size, "raw", "raw", bufsize=b, label="raw " + name)
            for name, b in cfg["raw_buffers"].items()
        ]
    return variants


def raw_buffers(env):
    """The raw AF_UNIX ceiling with the buffers each library's ipc sockets get: the
    system's default (pyzmq, libzmq 4.3.4) and zmqipc's ipc default (SO_SNDBUF and
    SO_RCVBUF requested on both ends; 0 = untouched)."""
    return {"default": 0, "zmqipc": env["zmqipc_ipc_buffers"] or 0}


def multipart_variants(size):
    return [
        Variant("multipart", "ipc", size, "pyzmq", "multipart", label="pyzmq multipart"),
        Variant("multipart", "ipc", size, "zmqipc", "multipart", label="zmqipc multipart"),
        Variant("multipart", "ipc", size, "zmqipc", "send_array", label="zmqipc send_array"),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (~1-2 min), no memory test")
    parser.add_argument("--no-shm", action="store_true", help="skip the shared-memory section")
    parser.add_argument("--no-asyncio", action="store_true", help="skip the asyncio section")
    parser.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"),
        help="directory for results.json, results.md and throughput.png",
    )
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    os.makedirs(args.out, exist_ok=True)
    # No BLAS is used; this just keeps numpy's idle OpenBLAS thread pool out of the workers
    # (it showed up in profiles on this 2-CPU VM). Both libraries get the same environment.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    ipc_dir = tempfile.mkdtemp(prefix="zb-")
    try:
        results = run(cfg, args.quick, ipc_dir)
    finally:
        shutil.rmtree(ipc_dir, ignore_errors=True)
    text = report.markdown(results)
    if not args.no_shm:  # a separate section: zmqipc.shm vs pyzmq (bench/shm_bench.py)
        results["shm"] = shm_bench.run(
            quick=args.quick, progress=lambda line: print(line, flush=True)
        )
        text += "\n" + shm_bench.markdown(results["shm"])
    if not args.no_asyncio:  # a separate section: zmqipc.asyncio vs zmq.asyncio
        results["asyncio"] = asyncio_bench.run(
            quick=args.quick, progress=lambda line: print(line, flush=True)
        )
        text += "\n" + asyncio_bench.markdown(results["asyncio"])
    print()
    print(text)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text)
    plot = report.plot(results, os.path.join(args.out, "throughput.png"))
    print("wrote %s/results.json, results.md%s" % (args.out, ", throughput.png" if plot else ""))


def run(cfg, quick, ipc_dir):
    """Every measurement of one run; returns the summary (report.summarise)."""
    mp = multiprocessing.get_context("spawn")
    started = time.monotonic()
    env = environment()
    cfg = dict(cfg, raw_buffers=raw_buffers(env))
    print(report.header(env, cfg, quick), flush=True)
    variants, latency, memory, load_log = [], [], [], []

    def progress(vs):
        print(report.progress_line(vs, time.monotonic() - started), flush=True)

    def measure(row):
        libs = LIBS + ("raw",) if any(v.lib == "raw" for v in row) else LIBS
        with Runner(mp, ipc_dir, libs, load_log) as runner:
            return runner.measure(row, cfg["repeats"], cfg["target_s"], progress)

    for transport in ("ipc", "tcp", "inproc"):
        for size in cfg["sizes"][transport]:
            variants += measure(throughput_variants(transport, size, cfg))
    for size in cfg["multipart_sizes"]:
        variants += measure(multipart_variants(size))
    for size in cfg["latency_sizes"]:
        runs = {lib: [] for lib in LIBS}
        with Runner(mp, ipc_dir, LIBS, load_log) as runner:
            runner.meter.start()
            for rep in range(cfg["repeats"]):
                for lib in LIBS if rep % 2 == 0 else LIBS[::-1]:
                    runner.latency(lib, size, cfg["latency_n"], runs[lib])
            share = runner.other_load()
        latency += [
            {"size": size, "lib": lib, "repeats": runs[lib], "other_load": share} for lib in LIBS
        ]
        print(
            "  [%4.0f s] latency %d B done%s"
            % (time.monotonic() - started, size, report.load_note(share)),
            flush=True,
        )
    env["other_load"] = cpuload.weighted_share(load_log)
    if cfg["memory"]:
        for mode in MODES[::-1]:
            for lib in LIBS:
                memory.append(memory_case(mp, lib, mode, ipc_dir))
        print("  [%4.0f s] memory done" % (time.monotonic() - started), flush=True)
    env["loadavg_end"] = os.getloadavg()
    return report.summarise(
        env, cfg, variants, latency, memory, elapsed_s=time.monotonic() - started, quick=quick
    )


if __name__ == "__main__":
    main()
