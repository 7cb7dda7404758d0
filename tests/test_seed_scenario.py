"""The seed scenario: a REQ/REP pair in two processes sends a 1 MiB float64 NumPy
array over ipc:// and the server verifies it (checksum) and replies.

Written with ``import zmqipc as zmq`` exactly as pyzmq code would be, with
multiprocessing's 'fork' and 'spawn' start methods. The worker functions are
module-level so 'spawn' can import them.
"""

import hashlib
import multiprocessing

import numpy as np
import pytest

import zmqipc as zmq

N_FLOATS = 1024 * 1024 // 8  # 1 MiB of float64
ROUNDS = 3
GUARD_MS = 30_000  # hang guard only (lost peer -> zmq.Again)

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # fork with threads (3.12+)
]


def make_array(seed):
    return np.random.default_rng(seed).standard_normal(N_FLOATS)


def checksum(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


# --- the two programs, as a pyzmq user would write them ------------------------------------------


def server(endpoint, variant, rounds=ROUNDS):
    """REP: receive arrays, verify them against the expected data, reply with a
    JSON report. Returns the number of verified arrays."""
    context = zmq.Context()
    socket = context.socket(zmq.REP)
    socket.setsockopt(zmq.RCVTIMEO, GUARD_MS)
    socket.setsockopt(zmq.LINGER, GUARD_MS)
    socket.bind(endpoint)
    verified = 0
    try:
        for seed in range(rounds):
            if variant == "raw":
                message = socket.recv()
                received = np.frombuffer(message, dtype=np.float64)
            else:
                received = socket.recv_array()
            expected = make_array(seed)
            ok = (
                received.dtype == np.float64
                and received.shape == expected.shape
                and checksum(received) == checksum(expected)
                and bool(np.array_equal(received, expected))
            )
            verified += ok
            socket.send_json(
                {
                    "ok": ok,
                    "sha256": checksum(received),
                    "nbytes": int(received.nbytes),
                    "sum": float(received.sum()),
                }
            )
    finally:
        socket.close()
        context.term()
    return verified


def client(endpoint, variant, rounds=ROUNDS):
    """REQ: send arrays and check each reply. Returns the list of failures."""
    context = zmq.Context()
    socket = context.socket(zmq.REQ)
    socket.setsockopt(zmq.RCVTIMEO, GUARD_MS)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(endpoint)
    failures = []
    try:
        for seed in range(rounds):
            array = make_array(seed)
            assert array.nbytes == 1024 * 1024
            if variant == "raw":
                socket.send(array)
            else:
                socket.send_array(array)
            reply = socket.recv_json()
            if reply != {
                "ok": True,
                "sha256": checksum(array),
                "nbytes": array.nbytes,
                "sum": float(array.sum()),
            }:
                failures.append((seed, reply))
    finally:
        socket.close()
        context.term()
    return failures


# --- module-level process entry points (spawn pickles them by name) -------------------------------


def server_process(endpoint, variant):
    raise SystemExit(0 if server(endpoint, variant) == ROUNDS else 1)


def client_process(endpoint, variant):
    raise SystemExit(0 if client(endpoint, variant) == [] else 1)


@pytest.fixture(params=["fork", "spawn"])
def mp_context(request):
    if request.param not in multiprocessing.get_all_start_methods():
        pytest.skip("start method %s not available" % request.param)
    return multiprocessing.get_context(request.param)


@pytest.mark.parametrize("variant", ["raw", "send_array"])
def test_server_in_child_process(mp_context, ipc_endpoint, variant):
    proc = mp_context.Process(target=server_process, args=(ipc_endpoint, variant))
    proc.start()
    try:
        assert client(ipc_endpoint, variant) == []
    finally:
        proc.join(GUARD_MS / 1000)
        if proc.is_alive():  # pragma: no cover - only on failure
            proc.kill()
            proc.join()
    assert proc.exitcode == 0


@pytest.mark.parametrize("variant", ["raw", "send_array"])
def test_client_in_child_process(mp_context, ipc_endpoint, variant):
    proc = mp_context.Process(target=client_process, args=(ipc_endpoint, variant))
    proc.start()
    try:
        assert server(ipc_endpoint, variant) == ROUNDS
    finally:
        proc.join(GUARD_MS / 1000)
        if proc.is_alive():  # pragma: no cover
            proc.kill()
            proc.join()
    assert proc.exitcode == 0


def test_both_in_child_processes(mp_context, ipc_endpoint):
    procs = [
        mp_context.Process(target=server_process, args=(ipc_endpoint, "raw")),
        mp_context.Process(target=client_process, args=(ipc_endpoint, "raw")),
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(GUARD_MS / 1000 * 2)
        if p.is_alive():  # pragma: no cover
            p.kill()
            p.join()
    assert [p.exitcode for p in procs] == [0, 0]


def test_corrupted_array_is_detected(ipc_endpoint):
    """The server's check can fail: a wrong array gets ok=False (same process,
    threads), so the scenario tests above are meaningful."""
    import threading

    result = {}
    t = threading.Thread(
        target=lambda: result.setdefault("verified", server(ipc_endpoint, "raw", 1))
    )
    t.start()
    context = zmq.Context()
    socket = context.socket(zmq.REQ)
    socket.rcvtimeo = GUARD_MS
    socket.linger = 0
    socket.connect(ipc_endpoint)
    wrong = make_array(0)
    wrong[12345] += 1.0
    socket.send(wrong)
    reply = socket.recv_json()
    socket.close()
    context.term()
    t.join()
    assert reply["ok"] is False
    assert result["verified"] == 0


def test_parent_context_alive_across_fork_start(mp_context, ipc_endpoint):
    """The parent holds a Context.instance() with a socket while starting the
    child (common in real programs); the child builds its own and both work."""
    parent_ctx = zmq.Context.instance()
    keepalive = parent_ctx.socket(zmq.PUB)
    keepalive.bind("inproc://seed-keepalive")
    try:
        proc = mp_context.Process(target=server_process, args=(ipc_endpoint, "raw"))
        proc.start()
        assert client(ipc_endpoint, "raw") == []
        proc.join(GUARD_MS / 1000)
        assert proc.exitcode == 0
    finally:
        keepalive.close(linger=0)
        parent_ctx.term()
