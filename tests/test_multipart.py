"""Multipart messages: send_multipart / recv_multipart, SNDMORE, atomicity."""

import numpy as np
import pytest

import zmqipc as zmq
from conftest import connected_pair, guard


def test_round_trip_parts(pair):
    a, b = pair
    parts = [b"a", b"", b"ccc", bytes(range(256))]
    assert a.send_multipart(parts) is None
    got = b.recv_multipart()
    assert got == parts
    assert all(type(p) is bytes for p in got)


def test_single_part(pair):
    a, b = pair
    a.send_multipart([b"only"])
    assert b.recv_multipart() == [b"only"]


def test_empty_list_rejected(pair):
    a, b = pair
    with pytest.raises(ValueError):
        a.send_multipart([])


def test_any_iterable_of_parts(pair):
    a, b = pair
    a.send_multipart(p for p in (b"x", b"y"))
    assert b.recv_multipart() == [b"x", b"y"]
    a.send_multipart((b"t", bytearray(b"u"), memoryview(b"v")))
    assert b.recv_multipart() == [b"t", b"u", b"v"]


def test_recv_multipart_copy_false_frames(pair):
    a, b = pair
    a.send_multipart([b"1", b"22", b"333"])
    frames = b.recv_multipart(copy=False)
    assert [type(f) for f in frames] == [zmq.Frame] * 3
    assert [f.bytes for f in frames] == [b"1", b"22", b"333"]
    assert [f.more for f in frames] == [True, True, False]
    assert [len(f) for f in frames] == [1, 2, 3]


def test_send_multipart_frames_and_buffers_mixed(pair):
    a, b = pair
    arr = np.arange(6, dtype=np.int16)
    a.send_multipart([zmq.Frame(b"frame"), b"bytes", arr, memoryview(b"mv")])
    got = b.recv_multipart()
    assert got[:2] == [b"frame", b"bytes"]
    assert np.array_equal(np.frombuffer(got[2], dtype=np.int16), arr)
    assert got[3] == b"mv"


@pytest.mark.parametrize("copy", [True, False])
def test_large_parts(pair, copy):
    a, b = pair
    big = np.arange(200_000, dtype=np.float64)
    a.send_multipart([b"header", big], copy=copy)
    header, data = b.recv_multipart(copy=copy)
    assert bytes(header) == b"header"
    assert np.array_equal(np.frombuffer(data, dtype=np.float64), big)


def test_sndmore_builds_one_message(pair):
    a, b = pair
    a.send(b"1", zmq.SNDMORE)
    a.send_string("2", zmq.SNDMORE)
    a.send(b"3")
    assert b.recv_multipart() == [b"1", b"2", b"3"]


def test_recv_multipart_after_partial_recv(pair):
    a, b = pair
    a.send_multipart([b"1", b"2", b"3"])
    assert b.recv() == b"1"
    assert b.rcvmore
    assert b.recv_multipart() == [b"2", b"3"]


@pytest.mark.parametrize("bad", ["text", 5, None, object()])
def test_bad_part_sends_nothing(pair, bad):
    """Every part is checked first: a bad part raises TypeError and no partial
    message is left behind (the next message arrives intact)."""
    a, b = pair
    with pytest.raises(TypeError):
        a.send_multipart([b"good", bad, b"good"])
    a.send_multipart([b"next"])
    assert b.recv_multipart() == [b"next"]


def test_multipart_atomic_delivery(ctx, ipc_endpoint):
    """All parts arrive together: once the first is readable, the rest are too."""
    server, client = connected_pair(ctx, ipc_endpoint, (zmq.PULL, zmq.PUSH))
    client.send_multipart([b"x" * 100_000] * 10)
    assert server.recv() == b"x" * 100_000
    for _ in range(9):
        assert server.recv(zmq.NOBLOCK) == b"x" * 100_000


def test_multipart_noblock_again(ctx):
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    with pytest.raises(zmq.Again):
        push.send_multipart([b"a", b"b"], flags=zmq.NOBLOCK)


def test_router_envelope(ctx, ipc_endpoint):
    router, req = connected_pair(ctx, ipc_endpoint, (zmq.ROUTER, zmq.REQ))
    req.send_multipart([b"hello", b"world"])
    ident, empty, *body = router.recv_multipart()
    assert empty == b"" and body == [b"hello", b"world"]
    router.send_multipart([ident, b"", b"reply", b"parts"])
    assert req.recv_multipart() == [b"reply", b"parts"]


def test_many_messages_in_order(pair):
    a, b = pair
    for i in range(500):
        a.send_multipart([b"%d" % i, b"x" * (i % 7)])
    for i in range(500):
        assert b.recv_multipart() == [b"%d" % i, b"x" * (i % 7)]


def test_send_multipart_flags_applied_to_every_part(pair):
    """flags=SNDMORE on send_multipart continues the message afterwards."""
    a, b = pair
    a.send_multipart([b"1", b"2"], flags=zmq.SNDMORE)
    a.send(b"3")
    assert b.recv_multipart() == [b"1", b"2", b"3"]


def test_guard_sanity(pair):
    a, b = pair
    guard(a, b, ms=1)
    with pytest.raises(zmq.Again):
        b.recv_multipart()


def test_send_multipart_releases_every_export_on_failure(ctx):
    """Each part is exported once and every export is given back, whether a later
    part is bad or the send itself fails: the bytearrays can be resized after."""
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.copy_threshold = 0  # copy=False hands even small parts over as leases
    parts = [bytearray(b"a" * 10), bytearray(b"b" * 10)]
    bad = np.zeros((4, 4))[:, ::2]  # not contiguous
    with pytest.raises(ValueError, match="part 2"):
        push.send_multipart(parts + [bad])
    with pytest.raises(zmq.Again):  # no peer: the first part cannot go
        push.send_multipart(parts, zmq.DONTWAIT, copy=False)
    for p in parts:
        p.extend(b"x")  # BufferError if an export were still held
    assert [len(p) for p in parts] == [11, 11]
