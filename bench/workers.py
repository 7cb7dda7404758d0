"""Benchmark worker processes and the measured loops.

A worker is a process (multiprocessing 'spawn') that serves commands for one row of
the tables from the coordinator (bench.py) over a Pipe. Each library gets its own pair of
workers (a sender and a receiver); the library is a module handed to shared
code -- `import zmq` for pyzmq, `import zmqipc as zmq` for zmqipc -- so every
loop below is the same code for both. The "raw" workers import neither and run
the AF_UNIX ceiling.

Timing: the sender sends one warm-up message (the connection is up once it
arrives), the receiver reports it, the coordinator says "go", the sender reads
the clock (t0) and sends n messages; the receiver reads the clock (t1) after the
n-th message has become a readable ndarray. t0 and t1 come from
time.perf_counter (CLOCK_MONOTONIC, shared by all processes on Linux), so
t1 - t0 is the end-to-end time of n messages.
"""

import importlib
import itertools
import json
import resource
import socket
import threading
import time
import traceback
from multiprocessing.reduction import recv_handle

import numpy as np

LIBRARIES = {"pyzmq": "zmq", "zmqipc": "zmqipc"}
TIMEOUT_MS = 120_000  # a stuck peer becomes an error instead of a hang
_counter = itertools.count()


# --- payloads ----------------------------------------------------------------------


def payload_dtype(size):
    return np.dtype(np.uint8 if size % 8 else np.float64)


def payload(size, shaped=False):
    """A preallocated array of `size` bytes: element i holds i (i % 251 for the uint8
    arrays used below 8 bytes); 2-D (rows of 128 values) when `shaped`, for the
    header+array cases."""
    dtype = payload_dtype(size)
    arr = np.arange(size // dtype.itemsize, dtype=dtype if size % 8 == 0 else np.int64)
    if size % 8:
        arr = (arr % 251).astype(dtype)
    if shaped and arr.size % 128 == 0:
        arr = arr.reshape(-1, 128)
    return arr


def check(received, size):
    """The receiver's result is a readable array holding what was sent (spot check,
    computed without allocating a reference copy)."""
    got = np.asarray(received).reshape(-1)
    dtype = payload_dtype(size)
    if got.dtype != dtype or got.nbytes != size:
        raise AssertionError(
            "received %s x %d, expected %d bytes of %s" % (got.dtype, got.size, size, dtype)
        )
    for i in (0, got.size // 2, got.size - 1):
        want = i if size % 8 == 0 else i % 251
        if got[i] != want:
            raise AssertionError("element %d: got %r, expected %r" % (i, got[i], want))


# --- one message: send and receive, per mode ------------------------------------------


def make_sender(sock, arr, mode):
    """A no-argument callable sending `arr` once in the given mode."""
    if mode == "copy":
        return lambda: sock.send(arr, copy=True)
    if mode == "zerocopy":
        return lambda: sock.send(arr, copy=False)
    if mode == "multipart":  # pyzmq's documented recipe: JSON header + zero-copy data

        def send():
            header = json.dumps({"dtype": arr.dtype.str, "shape": arr.shape}).encode()
            sock.send_multipart([header, arr], copy=False)

        return send
    if mode == "send_array":  # zmqipc only
        return lambda: sock.send_array(arr, copy=False)
    if mode == "raw":  # AF_UNIX stream socket
        view = memoryview(arr).cast("B")
        return lambda: sock.sendall(view)
    raise ValueError(mode)


def make_receiver(sock, size, mode):
    """A no-argument callable receiving one message and returning it as a readable array."""
    dtype = payload_dtype(size)
    if mode == "copy":
        return lambda: np.frombuffer(sock.recv(copy=True), dtype)
    if mode == "zerocopy":
        return lambda: np.frombuffer(sock.recv(copy=False), dtype)
    if mode == "multipart":

        def recv():
            header, data = sock.recv_multipart(copy=False)
            meta = json.loads(header.bytes)
            return np.frombuffer(data, meta["dtype"]).reshape(meta["shape"])

        return recv
    if mode == "send_array":
        return sock.recv_array
    if mode == "raw":  # into one preallocated buffer
        buf = np.empty(size, np.uint8)
        view = memoryview(buf)

        def recv():
            got = 0
            while got < size:
                n = sock.recv_into(view[got:])
                if n == 0:
                    raise ConnectionError("raw peer closed the socket")
                got += n
            return buf.view(dtype)

        return recv
    raise ValueError(mode)


# --- the timed phases (shared by processes and threads) ------------------------------------


def minor_faults():
    """Page faults of this process so far (fresh memory being touched)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def receive_phase(recv, n, size, on_warm):
    """Returns (t1, minor page faults per message)."""
    recv()  # warm-up message: the connection is established
    on_warm()
    faults = minor_faults()
    received = None
    for _ in range(n):
        received = recv()
    t1 = time.perf_counter()
    faults = (minor_faults() - faults) / n
    check(received, size)
    return t1, faults


def send_phase(send, n, wait_go):
    """Returns (t0, minor page faults per message)."""
    send()  # warm-up message
    wait_go()
    faults = minor_faults()
    t0 = time.perf_counter()
    for _ in range(n):
        send()
    return t0, (minor_faults() - faults) / n


def maxrss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


# --- the worker process -------------------------------------------------------------------


class Worker:
    """Serves commands: (name, kwargs) -> ("ok", result) | ("error", traceback).
    Commands may send intermediate notes (("bound", endpoint), ("warm",)) and read
    "go" from the coordinator."""

    def __init__(self, lib, conn):
        self.lib, self.conn = lib, conn
        self.zmq = importlib.import_module(LIBRARIES[lib]) if lib in LIBRARIES else None
        self.ctx = self.zmq.Context() if self.zmq else None
        self._payloads = {}

    def serve(self):
        while True:
            message = self.conn.recv()
            if message is None:
                break
            name, kwargs = message
            try:
                result = getattr(self, "cmd_" + name)(**kwargs)
            except BaseException:
                self.conn.send(
                    (
                        "error",
                        "%s worker, %s(%r):\n%s" % (self.lib, name, kwargs, traceback.format_exc()),
                    )
                )
            else:
                self.conn.send(("ok", result))
        if self.ctx is not None:
            self.ctx.destroy(linger=0)

    # helpers
    def note(self, *message):
        self.conn.send(message)

    def wait_go(self):
        """Block until the coordinator says "go"."""
        message = self.conn.recv()
        if message != "go":
            raise RuntimeError("expected 'go', got %r" % (message,))

    def payload(self, size, mode):
        key = (size, mode in ("multipart", "send_array"))
        if key not in self._payloads:
            self._payloads[key] = payload(*key)
        return self._payloads[key]

    def socket(self, kind):
        sock = self.ctx.socket(kind)
        sock.setsockopt(self.zmq.RCVTIMEO, TIMEOUT_MS)
        sock.setsockopt(self.zmq.SNDTIMEO, TIMEOUT_MS)
        return sock

    def bind(self, kind, transport, ipc_dir):
        sock = self.socket(kind)
        if transport == "ipc":
            sock.bind("ipc://%s/%s-%d" % (ipc_dir, self.lib, next(_counter)))
        elif transport == "tcp":
            sock.bind("tcp://127.0.0.1:*")
        else:
            raise ValueError(transport)
        return sock, sock.getsockopt(self.zmq.LAST_ENDPOINT).decode()

    def raw_socket(self, bufsize):
        sock = socket.socket(fileno=recv_handle(self.conn))
        sock.settimeout(TIMEOUT_MS / 1000)
        if bufsize:
            for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
                sock.setsockopt(socket.SOL_SOCKET, option, bufsize)
        return sock

    # throughput, two processes (ipc, tcp, raw AF_UNIX)
    def cmd_recv(self, transport, size, mode, n, ipc_dir=None, bufsize=0):
        if transport == "raw":
            sock = self.raw_socket(bufsize)
            self.note("bound", None)
        else:
            sock, endpoint = self.bind(self.zmq.PULL, transport, ipc_dir)
            self.note("bound", endpoint)
        try:
            t1, faults = receive_phase(
                make_receiver(sock, size, mode), n, size, lambda: self.note("warm")
            )
            return {"t1": t1, "faults": faults}
        finally:
            sock.close()

    def cmd_send(self, transport, size, mode, n, endpoint=None, bufsize=0):
        arr = self.payload(size, mode)
        if transport == "raw":
            sock = self.raw_socket(bufsize)
            buffers = [
                sock.getsockopt(socket.SOL_SOCKET, o) for o in (socket.SO_SNDBUF, socket.SO_RCVBUF)
            ]
        else:
            sock = self.socket(self.zmq.PUSH)
            sock.connect(endpoint)
            buffers = None
        try:
            t0, faults = send_phase(make_sender(sock, arr, mode), n, self.wait_go)
            self.note("sent", {"t0": t0, "faults": faults, "buffers": buffers})
            # Close only once the receiver has everything: libzmq (4.3.4 and 4.3.5) was seen
            # to drop the last few hundred small messages when a PUSH socket was closed right
            # after sending, despite LINGER=-1.
            self.wait_go()
        finally:
            sock.close()

    # throughput, two threads of this process (inproc)
    def cmd_inproc(self, size, mode, n):
        arr = self.payload(size, mode)
        endpoint = "inproc://bench-%d" % next(_counter)
        rx = self.socket(self.zmq.PULL)
        rx.bind(endpoint)
        tx = self.socket(self.zmq.PUSH)
        tx.connect(endpoint)
        warm, out = threading.Event(), {}

        def receiver():
            try:
                out["t1"], out["faults"] = receive_phase(
                    make_receiver(rx, size, mode), n, size, warm.set
                )
            except BaseException as e:
                out["error"] = e
                warm.set()

        thread = threading.Thread(target=receiver)
        thread.start()
        try:
            t0, _ = send_phase(make_sender(tx, arr, mode), n, warm.wait)
        finally:
            thread.join()
            tx.close()
            rx.close()
        if "error" in out:
            raise out["error"]
        # one process: the receiver's count covers both threads over the timed period
        return {"t0": t0, "t1": out["t1"], "faults": out["faults"], "tx_faults": None}

    # REQ/REP latency
    def cmd_lat_server(self, transport, count, ipc_dir=None):
        sock, endpoint = self.bind(self.zmq.REP, transport, ipc_dir)
        self.note("bound", endpoint)
        try:
            for _ in range(count):
                sock.send(sock.recv())
        finally:
            sock.close()

    def cmd_lat_client(self, endpoint, size, n, warmup):
        buf = np.zeros(size, np.uint8)
        sock = self.socket(self.zmq.REQ)
        sock.connect(endpoint)
        clock = time.perf_counter_ns
        rtt = np.empty(n, np.int64)
        try:
            for _ in range(warmup):
                sock.send(buf)
                sock.recv()
            for i in range(n):
                t = clock()
                sock.send(buf)
                reply = np.frombuffer(sock.recv(), np.uint8)
                rtt[i] = clock() - t
        finally:
            sock.close()
        if reply.size != size:
            raise AssertionError("reply of %d bytes, expected %d" % (reply.size, size))
        p50, p99 = np.percentile(rtt, [50, 99]) / 1000.0
        return {
            "rtt_p50_us": float(p50),
            "rtt_p99_us": float(p99),
            "rtt_mean_us": float(rtt.mean() / 1000),
        }

    # peak memory for one big message (run in fresh processes: ru_maxrss is a lifetime peak)
    def cmd_mem_recv(self, transport, size, mode, ipc_dir=None):
        base = maxrss_mib()
        sock, endpoint = self.bind(self.zmq.PULL, transport, ipc_dir)
        self.note("bound", endpoint)
        try:
            received = make_receiver(sock, size, mode)()
            t1 = time.perf_counter()
            check(received, size)
            del received
        finally:
            sock.close()
        return {"t1": t1, "base_mib": base, "peak_mib": maxrss_mib()}

    def cmd_mem_send(self, size, mode, endpoint):
        base = maxrss_mib()
        arr = payload(size)
        sock = self.socket(self.zmq.PUSH)
        sock.connect(endpoint)
        try:
            t0 = time.perf_counter()
            make_sender(sock, arr, mode)()
            self.wait_go()  # the receiver has the whole array
        finally:
            sock.close()
        return {
            "t0": t0,
            "base_mib": base,
            "peak_mib": maxrss_mib(),
            "array_mib": arr.nbytes / 2**20,
        }


def serve(lib, conn):
    """Process entry point."""
    Worker(lib, conn).serve()
