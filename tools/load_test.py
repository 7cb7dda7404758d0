"""Load test: nothing lost, duplicated, corrupted or split, under load (issue 10).

    python tools/load_test.py [--messages 1000000] [--senders 4] [--time-limit 900]

Three checks, each against the installed zmqipc, with a summary line per check:

1. fan-in: SENDERS processes PUSH MESSAGES checksummed messages in total over
   ipc:// to one PULL. Every message carries (sender, sequence, CRC-32 of its
   payload); the receiver verifies every checksum and that each sender's
   sequence arrives complete, in order, without duplicates.
2. multipart: the same over ipc:// with messages of 1-20 parts; each part names
   its message and position, so a split or merged message is detected.
   signal storm: the same with messages of 1-300 parts (libzmq polls its mailbox
   every 100 parts, where a signal can interrupt a later part) while SIGUSR1 hits
   the receiver thousands of times a second and its handler raises, as Ctrl-C:
   no message is ever split; one is skipped only where the exception was raised
   after it was taken (skips <= interrupts). POSIX only.
3. PUB/SUB drops only where the high-water mark allows:
   a. SNDHWM = RCVHWM = 0 (no limit), subscriber reading: nothing is dropped;
   b. HWM = H, subscriber not reading while N >> H messages go out. PUB never
      blocks: it drops a message for a subscriber whose queue is full. Between
      the two sockets sit the publisher's queue (SNDHWM), the kernel's socket
      buffers and the subscriber's queue (RCVHWM), all of which fill while the
      subscriber idles, then drain as far as the next full stage allows. So what
      arrives is intact and strictly increasing (runs with gaps), K messages with
      H / 10 <= K <= SNDHWM + RCVHWM + (kernel buffer bytes / wire size of a
      message), and the rest, N - K, is dropped. (libzmq documents that a queue
      may hold up to 90% fewer than its HWM, hence H / 10.);
   c. HWM = H, subscriber reading concurrently: what arrives is strictly
      increasing and intact; the drops (if any) are reported.

Exit status 0 only if every check holds. The run is bounded by --time-limit (a
receiver that waits longer than --idle-timeout for the next message fails).
"""

import argparse
import multiprocessing
import random
import signal
import struct
import sys
import tempfile
import threading
import time
import zlib

PART = struct.Struct("<BQHHI")  # sender, message number, part index, part count, crc32(payload)


def _zmq():
    import zmqipc

    return zmqipc


def _message(rng, sender, number, max_parts):
    """One message of 1..max_parts parts, each naming its message, position and checksum."""
    count = rng.randrange(1, max_parts + 1)
    parts = []
    for index in range(count):
        payload = rng.randbytes(rng.randrange(256 if max_parts == 1 else 64))
        parts.append(PART.pack(sender, number, index, count, zlib.crc32(payload)) + payload)
    return parts


def _whole(parts, sender, number):
    """True if ``parts`` is message ``number`` of ``sender``, complete and intact."""
    heads = [PART.unpack_from(p) for p in parts]
    return all(
        h[:2] == (sender, number)
        and h[2] == i
        and h[3] == len(parts)
        and zlib.crc32(p[PART.size :]) == h[4]
        for i, (h, p) in enumerate(zip(heads, parts))
    )


def sender_process(endpoint, sender, count, max_parts):
    zmq = _zmq()
    rng = random.Random(sender * 1000 + max_parts)
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.connect(endpoint)
    for number in range(count):
        parts = _message(rng, sender, number, max_parts)
        if len(parts) == 1:
            push.send(parts[0])
        else:
            push.send_multipart(parts)
    push.close(linger=-1)  # everything sent before close must arrive
    ctx.term()


class _SignalStorm:
    """SIGUSR1 sent to the main thread thousands of times a second; its handler
    raises InterruptedError while ``in_call`` is set (around the receive call),
    as Ctrl-C would, and returns otherwise."""

    def __init__(self, enabled):
        self.enabled, self.in_call, self.running = enabled, False, True

    def _handler(self, signum, frame):
        if self.in_call:
            self.in_call = False
            raise InterruptedError("storm")

    def _storm(self):
        while self.running:
            signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
            time.sleep(0.0002)

    def __enter__(self):
        if self.enabled:
            self.old = signal.signal(signal.SIGUSR1, self._handler)
            self.thread = threading.Thread(target=self._storm, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.in_call = self.running = False
        if self.enabled:
            self.thread.join()
            signal.signal(signal.SIGUSR1, self.old)


def check_fan_in(args, endpoint, total, max_parts, name, storm=False):
    """SENDERS processes PUSH ``total`` messages over ``endpoint`` to one PULL: each
    sender's messages must all arrive, whole, intact, in order, once. Under a signal
    storm a message may be skipped (taken, then the handler's exception raised
    instead of returning it), never split: skips <= interrupts."""
    zmq = _zmq()
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.bind(endpoint)
    shares = [total // args.senders + (i < total % args.senders) for i in range(args.senders)]
    procs = [
        multiprocessing.Process(target=sender_process, args=(endpoint, i, n, max_parts))
        for i, n in enumerate(shares)
    ]
    start = time.perf_counter()
    for p in procs:
        p.start()
    expected = [0] * args.senders
    bad = received = skipped = interrupts = parts_total = 0
    last_message = time.perf_counter()
    with _SignalStorm(storm) as signals:
        while received + skipped < total and time.perf_counter() - start < args.time_limit:
            if not pull.poll(100):  # (the storm's handler returns here: poll retries)
                senders_done = not any(p.is_alive() for p in procs)
                if (
                    senders_done and not pull.poll(0)
                ) or time.perf_counter() - last_message > args.idle_timeout:
                    break
                continue
            try:
                signals.in_call = True
                parts = [pull.recv()] if max_parts == 1 else pull.recv_multipart()
                signals.in_call = False
            except InterruptedError:
                interrupts += 1
                continue
            last_message = time.perf_counter()
            sender, number = PART.unpack_from(parts[0])[:2]
            if (
                number < expected[sender]
                or not _whole(parts, sender, number)
                or (number > expected[sender] and not storm)
            ):
                bad += 1
            skipped += max(0, number - expected[sender])
            expected[sender] = number + 1
            received += 1
            parts_total += len(parts)
    elapsed = time.perf_counter() - start
    if storm:  # a sender's last messages may also have been taken, then interrupted
        skipped += sum(n - e for n, e in zip(shares, expected))
    for p in procs:
        p.join()
    extra = 0
    while pull.poll(200):
        pull.recv()
        extra += 1
    ctx.destroy(linger=0)
    exitcodes = [p.exitcode for p in procs]
    ok = (
        received + skipped == total
        and skipped <= interrupts
        and not (bad or extra)
        and exitcodes == [0] * len(procs)
    )
    print(
        "%s: %d senders -> 1 receiver over ipc: %d/%d messages (%d parts) in %.1f s "
        "(%.0f msg/s); lost %d; split, duplicated, reordered or corrupted %d; extra %d; "
        "sender exit codes %s%s -> %s"
        % (
            name,
            args.senders,
            received,
            total,
            parts_total,
            elapsed,
            received / elapsed,
            total - received - skipped,
            bad,
            extra,
            exitcodes,
            "; %d signal interrupts, %d messages taken then interrupted" % (interrupts, skipped)
            if storm
            else "",
            "OK" if ok else "FAIL",
        ),
        flush=True,
    )
    return ok


# --- 3. PUB/SUB --------------------------------------------------------------------------


def _pubsub(endpoint, hwm):
    zmq = _zmq()
    ctx = zmq.Context()
    pub, sub = ctx.socket(zmq.PUB), ctx.socket(zmq.SUB)
    for s in (pub, sub):
        s.sndhwm = s.rcvhwm = hwm
        s.linger = 0
    sub.rcvtimeo = 5000
    pub.bind(endpoint)
    sub.subscribe(b"")
    sub.connect(endpoint)
    while not sub.poll(10):  # slow joiner: wait until the subscription is in
        pub.send(b"hello")
    while sub.poll(100):
        sub.recv()
    return ctx, pub, sub


WIRE_SIZE = 36 + 2  # a published message (payload + crc) and its ZMTP frame header


def _kernel_buffer_bytes(sock):
    """An upper bound of what the kernel holds between the two sockets: the ipc
    connection's send and receive buffers. zmqipc sets them (SNDBUF/RCVBUF, else its
    512 KiB default, patch 0030); Linux doubles a size that is set, and its own
    defaults apply where larger."""
    sizes = [sock.sndbuf, sock.rcvbuf, 512 * 1024]
    for name in ("wmem", "rmem"):
        try:
            sizes.append(int(open("/proc/sys/net/core/%s_default" % name).read()))
        except OSError:
            pass
    return 2 * 2 * max(sizes)


def _increasing(seqs):
    return all(a < b for a, b in zip(seqs, seqs[1:]))


def _publish(pub, n):
    for seq in range(n):
        payload = struct.pack("<Q", seq) * 4
        pub.send(payload + struct.pack("<I", zlib.crc32(payload)))


def _read(sub, until_quiet_ms=1000):
    """Everything the subscriber gets until nothing arrives for a while."""
    got, corrupt = [], 0
    while sub.poll(until_quiet_ms):
        msg = sub.recv()
        if msg == b"hello":
            continue
        if zlib.crc32(msg[:-4]) != struct.unpack("<I", msg[-4:])[0]:
            corrupt += 1
        got.append(struct.unpack_from("<Q", msg)[0])
    return got, corrupt


def check_pubsub(args, make_endpoint):
    ok = True
    n, hwm = args.pubsub_messages, args.hwm
    # a. no limit, reading concurrently: nothing dropped
    ctx, pub, sub = _pubsub(make_endpoint(), 0)
    publisher = threading.Thread(target=_publish, args=(pub, n))
    publisher.start()
    got, corrupt = _read(sub, 3000)
    publisher.join()
    ctx.destroy(linger=0)
    good = got == list(range(n)) and not corrupt
    ok &= good
    print(
        "pubsub a (HWM unlimited, subscriber reading): %d/%d received, dropped %d, corrupted %d;"
        " expected: none dropped -> %s"
        % (len(got), n, n - len(got), corrupt, "OK" if good else "FAIL"),
        flush=True,
    )
    # b. HWM H, subscriber not reading: K arrive, H <= K <= the queues' capacity
    ctx, pub, sub = _pubsub(make_endpoint(), hwm)
    _publish(pub, n)  # never blocks: PUB drops for a full subscriber
    got, corrupt = _read(sub)
    capacity = 2 * hwm + _kernel_buffer_bytes(pub) // WIRE_SIZE
    ctx.destroy(linger=0)
    k = len(got)
    good = _increasing(got) and hwm // 10 <= k <= min(capacity, n - 1) and not corrupt
    ok &= good
    print(
        "pubsub b (HWM %d, subscriber idle while %d sent): received %d, in order, dropped %d, "
        "corrupted %d; expected: HWM/10 <= received <= 2 HWM + kernel buffers = %d, in order "
        "-> %s" % (hwm, n, k, n - k, corrupt, capacity, "OK" if good else "FAIL"),
        flush=True,
    )
    # c. HWM H, subscriber reading concurrently: increasing, intact; drops reported
    ctx, pub, sub = _pubsub(make_endpoint(), hwm)
    publisher = threading.Thread(target=_publish, args=(pub, n))
    publisher.start()
    got, corrupt = _read(sub, 3000)
    publisher.join()
    ctx.destroy(linger=0)
    good = _increasing(got) and not corrupt and got
    ok &= bool(good)
    print(
        "pubsub c (HWM %d, subscriber reading): %d/%d received, dropped %d, corrupted %d; "
        "expected: strictly increasing, drops only when the queue was full -> %s"
        % (hwm, len(got), n, n - len(got), corrupt, "OK" if good else "FAIL"),
        flush=True,
    )
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--multipart-messages", type=int, default=100_000)
    parser.add_argument(
        "--storm-messages",
        type=int,
        default=20_000,
        help="multipart messages of 1-300 parts received under a SIGUSR1 storm",
    )
    parser.add_argument("--pubsub-messages", type=int, default=200_000)
    parser.add_argument("--hwm", type=int, default=1000)
    parser.add_argument("--time-limit", type=float, default=900, help="seconds per check")
    parser.add_argument(
        "--idle-timeout",
        type=int,
        default=60,
        help="seconds a receiver waits for the next message before failing",
    )
    args = parser.parse_args()
    zmq = _zmq()
    print(
        "zmqipc %s, libzmq %s, %s" % (zmq.__version__, zmq.zmq_version(), sys.platform), flush=True
    )
    directory = tempfile.mkdtemp(prefix="zqload")
    counter = iter(range(10**6))

    def make_endpoint():
        return "ipc://%s/e%d" % (directory, next(counter))

    results = [
        check_fan_in(args, make_endpoint(), args.messages, 1, "fan-in"),
        check_fan_in(args, make_endpoint(), args.multipart_messages, 20, "multipart"),
        check_fan_in(args, make_endpoint(), args.storm_messages, 300, "signal storm", storm=True)
        if hasattr(signal, "pthread_kill")
        else True,
        check_pubsub(args, make_endpoint),
    ]
    print("load test: %s" % ("PASS" if all(results) else "FAIL"), flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    multiprocessing.set_start_method("spawn")
    sys.exit(main())
