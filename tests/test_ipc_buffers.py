"""Socket buffers on ipc (libzmq patch 0030) and the reuse of large message blocks
(patch 0031). Linux only where the test reads the kernel's view of libzmq's
sockets (/proc/self/fd) or the process's memory (/proc/self/statm)."""

import gc
import os
import resource
import socket
import sys
import threading
import time

import numpy as np
import pytest

import zmqipc as zmq
from conftest import run_python

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc/self (Linux only)"
)
MiB = 1 << 20


def socket_fds():
    """The socket file descriptors this process has open now."""
    fds = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink("/proc/self/fd/" + name).startswith("socket:"):
                fds.add(int(name))
        except OSError:  # closed meanwhile (the listing's own fd)
            pass
    return fds


def connection_buffers(fds, family):
    """{fd: (SO_SNDBUF, SO_RCVBUF)} of the connected stream sockets among fds."""
    found = {}
    for fd in fds:
        s = socket.socket(fileno=os.dup(fd))
        try:
            if (
                s.family == family
                and s.type == socket.SOCK_STREAM
                and not s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
            ):
                found[fd] = (
                    s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF),
                    s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF),
                )
        finally:
            s.close()
    return found


def effective(sndbuf, rcvbuf, family=socket.AF_UNIX):
    """What the kernel makes of these requests on a socket of `family` (-1: untouched)."""
    if family == socket.AF_UNIX:
        a, b = socket.socketpair()
    else:
        listener = socket.create_server(("127.0.0.1", 0))
        a = socket.create_connection(listener.getsockname())
        b, _ = listener.accept()
        listener.close()
    with a, b:
        for option, value in ((socket.SO_SNDBUF, sndbuf), (socket.SO_RCVBUF, rcvbuf)):
            if value >= 0:
                a.setsockopt(socket.SOL_SOCKET, option, value)
        return (
            a.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF),
            a.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF),
        )


def connected_pair(ctx, endpoint, bound_options=(), connected_options=()):
    """A PULL bound and a PUSH connected (options set before bind/connect), with one
    message through; returns (pull, push, buffers of the connection's two sockets)."""
    before = socket_fds()
    pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
    for sock, options in ((pull, bound_options), (push, connected_options)):
        sock.linger = 0
        sock.rcvtimeo = sock.sndtimeo = 10000
        for option, value in options:
            sock.setsockopt(option, value)
    pull.bind(endpoint)
    push.connect(pull.last_endpoint)
    push.send(b"x")
    assert pull.recv() == b"x"
    family = socket.AF_UNIX if endpoint.startswith("ipc") else socket.AF_INET
    return pull, push, connection_buffers(socket_fds() - before, family)


@linux_only
def test_ipc_default_buffers_on_both_ends(ctx):
    default = zmq.build_info()["ipc_buffer_default"]
    assert default > 0
    pull, push, buffers = connected_pair(ctx, "ipc://*")
    assert len(buffers) == 2  # the accepted end and the connected end
    assert set(buffers.values()) == {effective(default, default)}
    assert effective(default, default) != effective(-1, -1)  # it does change something
    assert push.getsockopt(zmq.SNDBUF) == -1  # the option still reads "not set"


@linux_only
def test_ipc_user_buffers_apply_to_each_end(ctx):
    # Small sizes, below any net.core.wmem_max/rmem_max, so the kernel keeps them apart.
    pull, push, buffers = connected_pair(
        ctx,
        "ipc://*",
        bound_options=[(zmq.SNDBUF, 50000), (zmq.RCVBUF, 60000)],
        connected_options=[(zmq.SNDBUF, 70000), (zmq.RCVBUF, 80000)],
    )
    assert sorted(buffers.values()) == sorted([effective(50000, 60000), effective(70000, 80000)])


@linux_only
def test_tcp_buffers_unchanged_by_default(ctx):
    pull, push, buffers = connected_pair(ctx, "tcp://127.0.0.1:*")
    assert len(buffers) == 2
    plain = effective(-1, -1, socket.AF_INET)
    assert set(buffers.values()) == {plain}


@linux_only
def test_tcp_user_buffers_still_apply(ctx):
    pull, push, buffers = connected_pair(
        ctx,
        "tcp://127.0.0.1:*",
        bound_options=[(zmq.SNDBUF, 50000), (zmq.RCVBUF, 60000)],
        connected_options=[(zmq.SNDBUF, 50000), (zmq.RCVBUF, 60000)],
    )
    assert set(buffers.values()) == {effective(50000, 60000, socket.AF_INET)}


# --- reuse of large message blocks ---------------------------------------------------------


def minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def resident_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MiB


@pytest.fixture
def big_pair(ctx):
    pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
    for sock in (pull, push):
        sock.linger = 0
        sock.rcvtimeo = sock.sndtimeo = 20000
    pull.bind("ipc://*")
    push.connect(pull.last_endpoint)
    yield pull, push
    pull.close()
    push.close()


# 64 MiB: above glibc's largest mmap threshold, so without the cache every such
# message is a fresh mapping and faults in all its 16,384 pages.
BIG = 64 * MiB


def test_repeated_large_messages_reuse_memory(big_pair):
    pull, push = big_pair
    arr = np.arange(BIG // 8, dtype=np.float64)
    faults = []
    for i in range(4):
        arr[0] = i
        push.send(arr, copy=False)
        before = minor_faults()
        frame = pull.recv(copy=False)
        faults.append(minor_faults() - before)
        got = np.frombuffer(frame, np.float64)
        assert got[0] == i and got[-1] == arr[-1]
        del got, frame
    assert max(faults[1:]) < BIG // 4096 // 16, faults


# 1 MiB: glibc serves it from a heap, but trims that heap whenever a burst of
# frees leaves more than about two such blocks free at its top, and the next
# messages fault their pages in again (12-35 faults per message were measured).
MEDIUM = 1 * MiB


def test_bursts_of_medium_messages_reuse_memory(big_pair):
    pull, push = big_pair
    burst = 8
    # Zero-copy sends of arrays made up front: only the receiving side allocates.
    arrays = [np.full(MEDIUM // 8, i, dtype=np.float64) for i in range(burst)]
    faults = []
    for _ in range(6):
        before = minor_faults()
        for arr in arrays:
            push.send(arr, copy=False)
        frames = [pull.recv(copy=False) for _ in range(burst)]
        for i, frame in enumerate(frames):
            got = np.frombuffer(frame, np.float64)
            assert got[0] == i and got[-1] == i
        del frames, frame, got
        faults.append(minor_faults() - before)
    pages_per_round = burst * MEDIUM // 4096
    assert max(faults[2:]) < pages_per_round // 16, faults


@linux_only
def test_cached_block_released_when_idle(big_pair):
    pull, push = big_pair
    push.send(np.ones(BIG // 8), copy=False)
    frame = pull.recv(copy=False)
    gc.collect()
    holding = resident_mib()
    del frame  # now cached, still resident
    deadline = time.monotonic() + 30
    while resident_mib() > holding - 48 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert resident_mib() <= holding - 48, "the idle block was never freed"


CONTEXT_END = (
    """
import os, sys
import numpy as np
import zmqipc as zmq

def resident_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

ctx = zmq.Context()
pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
pull.bind("ipc://*")
push.connect(pull.last_endpoint)
push.send(np.ones(%d // 8), copy=False)
frame = pull.recv(copy=False)
pull.close(linger=0)
push.close(linger=0)
holding = resident_mib()
if sys.argv[1] == "free, then term":
    del frame
    ctx.term()
else:
    ctx.term()
    del frame
assert resident_mib() <= holding - 48, (holding, resident_mib())
"""
    % BIG
)


@linux_only
@pytest.mark.parametrize("order", ["free, then term", "term, then free"])
def test_context_end_releases_blocks(order):
    # A fresh process: the cache lives while any context exists, and the test
    # session's other contexts would keep it.
    result = run_python("-c", CONTEXT_END, order)
    assert result.returncode == 0, result.stderr


def test_blocks_shared_between_threads_stay_intact(ctx):
    """Blocks allocated on I/O threads and freed by several user threads, of mixed
    sizes around the cache's smallest block (256 KiB) and up to blocks larger than
    glibc ever reuses (32 MiB): every message arrives intact."""
    errors = []

    def worker(seed):
        try:
            rng = np.random.default_rng(seed)
            pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
            for sock in (pull, push):
                sock.linger = 0
                sock.rcvtimeo = sock.sndtimeo = 20000
            pull.bind("ipc://*")
            push.connect(pull.last_endpoint)
            held = []
            for i in range(12):
                low, high = (200 * 1024, 2 * MiB) if i % 2 else (28 * MiB, 44 * MiB)
                size = int(rng.integers(low, high))
                arr = np.full(size, i % 251, np.uint8)
                push.send(arr, copy=False)
                frame = pull.recv(copy=False)
                got = np.frombuffer(frame, np.uint8)
                if got.size != size or got[0] != i % 251 or got[-1] != i % 251:
                    raise AssertionError("message %d corrupted" % i)
                held.append(frame)
                if len(held) > 2:  # free out of order
                    held.pop(int(rng.integers(0, len(held))))
            pull.close()
            push.close()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
