"""zmqipc and pyzmq in one process, each with its own libzmq, talking over ipc."""

import numpy as np
import pytest

import zmqipc

pyzmq = pytest.importorskip("zmq")


@pytest.fixture
def contexts():
    ours, theirs = zmqipc.Context(), pyzmq.Context()
    yield ours, theirs
    ours.destroy(linger=0)
    theirs.destroy(linger=0)


@pytest.mark.parametrize("direction", ["zmqipc->pyzmq", "pyzmq->zmqipc"])
def test_push_pull_over_ipc_both_ways(contexts, tmp_path, direction):
    ours, theirs = contexts
    url = "ipc://%s" % (tmp_path / "interop")
    if direction == "zmqipc->pyzmq":
        sender, receiver = ours.socket(zmqipc.PUSH), theirs.socket(pyzmq.PULL)
    else:
        sender, receiver = theirs.socket(pyzmq.PUSH), ours.socket(zmqipc.PULL)
    receiver.bind(url)
    sender.connect(url)
    payload = np.arange(300_000, dtype=np.float64)  # above both copy thresholds
    sender.send_multipart([b"header", payload], copy=False)
    sender.send(b"small")
    header, data = receiver.recv_multipart()
    assert header == b"header"
    assert np.array_equal(np.frombuffer(data, dtype=np.float64), payload)
    assert receiver.recv() == b"small"


def test_req_rep_across_libraries(contexts, tmp_path):
    ours, theirs = contexts
    url = "ipc://%s" % (tmp_path / "reqrep")
    rep = theirs.socket(pyzmq.REP)
    rep.bind(url)
    req = ours.socket(zmqipc.REQ)
    req.connect(url)
    for i in range(20):
        req.send_json({"i": i})
        assert rep.recv_json() == {"i": i}
        rep.send_string("ok %d" % i)
        assert req.recv_string() == "ok %d" % i


def test_send_array_is_readable_by_plain_pyzmq(contexts, tmp_path):
    """The array wire format is two ordinary frames a pyzmq peer can decode."""
    ours, theirs = contexts
    url = "ipc://%s" % (tmp_path / "arrays")
    pull = theirs.socket(pyzmq.PULL)
    pull.bind(url)
    push = ours.socket(zmqipc.PUSH)
    push.connect(url)
    array = np.arange(12, dtype=">i4").reshape(3, 4)
    push.send_array(array, copy=False)
    header, data = pull.recv_multipart()
    dtype, shape, order, nbytes = zmqipc.arrays.parse_array_header(header)
    received = np.ndarray(shape, dtype=dtype, buffer=data, order=order)
    assert np.array_equal(received, array) and received.dtype == array.dtype


def test_libraries_are_independent():
    assert zmqipc.zmq_version() == "4.3.4"
    assert zmqipc.Context is not pyzmq.Context
    # each library runs its own libzmq: terminating one context leaves the other working
    a, b = zmqipc.Context(), pyzmq.Context()
    a.term()
    s = b.socket(pyzmq.PAIR)
    s.close()
    b.term()
