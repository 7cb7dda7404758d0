"""Soak test: 10^6 zero-copy sends must not grow the sender's memory.

A PUSH socket in this process sends N freshly allocated arrays (default 10^6 x
64 KiB) with send(copy=False) over ipc:// to a PULL socket in a second process
(multiprocessing 'spawn'), which checks a stamp in every message. Each array's
only reference after send() is the zero-copy lease, so every one of them must come
back through the release queue (libzmq's free callback -> lock-free stack ->
drain under the GIL); if any were lost, RSS would grow by the array size per leak
(64 GiB in total at the defaults).

The sender prints its RSS (VmRSS from /proc/self/status, or ru_maxrss where
/proc is missing) at intervals; at the end it prints start / end / max RSS and
exits 1 if RSS grew by more than --max-growth-mb between the warm-up point (after
--warmup messages) and the end, or if the receiver saw a bad message.

    python bench/zero_copy_soak.py                    # 10^6 x 64 KiB
    python bench/zero_copy_soak.py -n 200000 --size 262144 --report-every 20000
"""

import argparse
import multiprocessing as mp
import resource
import shutil
import sys
import tempfile
import time

import numpy as np


def rss_mb():
    """Current resident set size in MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB (bytes on macOS)
    return peak / (1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0)


def receiver(url, n, items, ready, result):
    import zmqipc as zmq

    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.rcvtimeo = 60_000  # a dead sender becomes an error, not a hang
    pull.bind(url)
    ready.set()
    bad = 0
    rss_start = rss_mb()
    rss_max = rss_start
    try:
        for i in range(n):
            got = np.frombuffer(pull.recv(copy=False), dtype=np.float64)
            if got.size != items or got[0] != i or got[-1] != -i:
                bad += 1
            if i % 10_000 == 0:
                rss_max = max(rss_max, rss_mb())
        error = None
    except Exception as e:  # noqa: BLE001 - reported to the parent
        error = repr(e)
    result.put(
        {
            "bad": bad,
            "error": error,
            "rss_start": rss_start,
            "rss_end": rss_mb(),
            "rss_max": max(rss_max, rss_mb()),
        }
    )
    pull.close(linger=0)
    ctx.term()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="messages (default 10^6)")
    parser.add_argument("--size", type=int, default=65536, help="bytes per array (default 64 KiB)")
    parser.add_argument("--report-every", type=int, default=100_000)
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="messages before the baseline RSS is taken (default n/10)",
    )
    parser.add_argument("--hwm", type=int, default=1000, help="SNDHWM/RCVHWM (libzmq default 1000)")
    parser.add_argument(
        "--max-growth-mb",
        type=float,
        default=32.0,
        help="allowed RSS growth from warm-up to end (default 32 MiB)",
    )
    args = parser.parse_args(argv)
    items = args.size // 8
    warmup = args.warmup if args.warmup is not None else max(1, args.n // 10)

    import zmqipc as zmq

    tmp = tempfile.mkdtemp(prefix="zqsoak")
    url = "ipc://%s/soak" % tmp
    spawn = mp.get_context("spawn")
    ready, result = spawn.Event(), spawn.Queue()
    child = spawn.Process(target=receiver, args=(url, args.n, items, ready, result))
    child.start()
    if not ready.wait(60):
        sys.exit("receiver did not start")

    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.copy_threshold = 0  # every send zero-copy, whatever COPY_THRESHOLD is
    push.sndhwm = args.hwm
    push.sndtimeo = 60_000
    push.connect(url)

    print(
        "zero-copy soak: %d x %d-byte float64 arrays, PUSH/PULL over ipc to another process, "
        "SNDHWM %d, zmqipc %s" % (args.n, items * 8, args.hwm, zmq.__version__),
        flush=True,
    )
    print("%10s %10s %10s %12s" % ("sent", "RSS MiB", "elapsed s", "msg/s"), flush=True)
    rss_start = rss_mb()
    rss_max = rss_start
    rss_warm = None
    t0 = time.perf_counter()
    for i in range(args.n):
        a = np.empty(items, dtype=np.float64)
        a[0] = i
        a[-1] = -i
        push.send(a, copy=False)
        del a  # the lease is now the only reference
        if i + 1 == warmup:
            rss_warm = rss_mb()
        if (i + 1) % args.report_every == 0 or i == 0:
            rss = rss_mb()
            rss_max = max(rss_max, rss)
            elapsed = time.perf_counter() - t0
            print(
                "%10d %10.1f %10.1f %12.0f" % (i + 1, rss, elapsed, (i + 1) / elapsed), flush=True
            )
    outcome = result.get(timeout=600)
    child.join(60)
    elapsed = time.perf_counter() - t0
    rss_sent = rss_mb()
    push.close()
    ctx.term()  # every lease has come back by now
    rss_end = rss_mb()
    rss_max = max(rss_max, rss_sent, rss_end)
    shutil.rmtree(tmp, ignore_errors=True)

    growth = rss_end - rss_warm
    print()
    print(
        "sender RSS MiB: start %.1f  after warm-up (%d msgs) %.1f  end %.1f  max %.1f  "
        "growth after warm-up %+.1f" % (rss_start, warmup, rss_warm, rss_end, rss_max, growth)
    )
    print(
        "receiver RSS MiB: start %.1f  end %.1f  max %.1f"
        % (outcome["rss_start"], outcome["rss_end"], outcome["rss_max"])
    )
    print(
        "%d messages (%.1f GiB) in %.1f s: %.0f msg/s, %.0f MB/s"
        % (
            args.n,
            args.n * items * 8 / 2**30,
            elapsed,
            args.n / elapsed,
            args.n * items * 8 / elapsed / 1e6,
        )
    )
    failures = []
    if outcome["error"]:
        failures.append("receiver error: %s" % outcome["error"])
    if outcome["bad"]:
        failures.append("receiver saw %d bad messages" % outcome["bad"])
    if growth > args.max_growth_mb:
        failures.append(
            "RSS grew %.1f MiB after warm-up (limit %.1f)" % (growth, args.max_growth_mb)
        )
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print(
        "OK: RSS flat (growth %+.1f MiB <= %.1f MiB), all %d messages intact"
        % (growth, args.max_growth_mb, args.n)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
