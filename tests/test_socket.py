"""Socket: types, endpoints, send/recv flavours, Frame, trackers, lifetime."""

import pickle
import socket as pysocket

import numpy as np
import pytest

import zmqipc as zmq
from conftest import connected_pair, guard

STABLE_TYPES = [
    "PAIR",
    "PUB",
    "SUB",
    "REQ",
    "REP",
    "DEALER",
    "ROUTER",
    "PULL",
    "PUSH",
    "XPUB",
    "XSUB",
    "STREAM",
]
DRAFT_TYPES = ["SERVER", "CLIENT", "RADIO", "DISH", "GATHER", "SCATTER", "DGRAM", "PEER", "CHANNEL"]


# --- socket types ---------------------------------------------------------------------


@pytest.mark.parametrize("name", STABLE_TYPES)
def test_every_stable_socket_type(ctx, name):
    kind = getattr(zmq, name)
    s = ctx.socket(kind)
    assert s.socket_type == kind
    assert s.type == kind and s.type is zmq.SocketType[name]
    assert s.getsockopt(zmq.TYPE) == kind
    assert not s.closed
    s.close()
    assert s.closed


def test_stable_type_values_match_libzmq():
    assert [getattr(zmq, n) for n in STABLE_TYPES] == list(range(12))


@pytest.mark.parametrize("name", DRAFT_TYPES)
def test_draft_socket_types_rejected(ctx, name):
    """This libzmq has no draft API: draft socket types raise EINVAL (deliberate
    deviation: pyzmq hands out half-working draft sockets)."""
    with pytest.raises(zmq.ZMQError) as info:
        ctx.socket(getattr(zmq, name))
    assert info.value.errno == zmq.EINVAL
    assert "draft" in str(info.value)


@pytest.mark.parametrize("kind", [-1, 21, 1000])
def test_invalid_socket_type(ctx, kind):
    with pytest.raises(zmq.ZMQError) as info:
        ctx.socket(kind)
    assert info.value.errno == zmq.EINVAL


def test_socket_requires_int_type(ctx, monkeypatch):
    import gc
    import sys

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with pytest.raises(TypeError):
        ctx.socket("PUSH")
    gc.collect()
    # the half-made socket must not try to close a NULL handle in __del__
    assert unraisable == []


def test_old_type_aliases():
    assert zmq.XREQ == zmq.DEALER and zmq.XREP == zmq.ROUTER
    assert zmq.UPSTREAM == zmq.PULL and zmq.DOWNSTREAM == zmq.PUSH


# --- bind / connect / unbind / disconnect ------------------------------------------------


def test_round_trip_every_transport(ctx, transport_endpoint):
    server, client = connected_pair(ctx, transport_endpoint, (zmq.REP, zmq.REQ))
    client.send(b"request")
    assert server.recv() == b"request"
    server.send(b"reply")
    assert client.recv() == b"reply"


def test_last_endpoint_is_bytes_and_resolved(ctx, ipc_endpoint):
    s = ctx.socket(zmq.PULL)
    s.bind("tcp://127.0.0.1:*")
    ep = s.last_endpoint
    assert isinstance(ep, bytes)
    assert ep.startswith(b"tcp://127.0.0.1:") and not ep.endswith(b"*")
    assert s.getsockopt(zmq.LAST_ENDPOINT) == ep
    assert s.getsockopt_string(zmq.LAST_ENDPOINT) == ep.decode()
    s.bind(ipc_endpoint)
    assert s.last_endpoint == ipc_endpoint.encode()


def test_last_endpoint_empty_before_bind(ctx):
    assert ctx.socket(zmq.PUSH).last_endpoint == b""


def test_bind_to_random_port(ctx):
    s = ctx.socket(zmq.PULL)
    port = s.bind_to_random_port("tcp://127.0.0.1")
    assert isinstance(port, int) and 0 < port <= 65535  # the OS picks (as pyzmq)
    assert s.last_endpoint == ("tcp://127.0.0.1:%d" % port).encode()
    c = ctx.socket(zmq.PUSH)
    guard(s, c)
    c.connect("tcp://127.0.0.1:%d" % port)
    c.send(b"hi")
    assert s.recv() == b"hi"


def test_bind_to_random_port_range(ctx):
    s = ctx.socket(zmq.PULL)
    port = s.bind_to_random_port("tcp://127.0.0.1", min_port=40000, max_port=40500, max_tries=200)
    assert 40000 <= port < 40500
    assert s.last_endpoint.endswith(b":%d" % port)


def test_bind_to_random_port_gives_up_with_zmqbinderror(ctx):
    # hold one port with a plain socket, then ask for exactly that port
    holder = pysocket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        s = ctx.socket(zmq.PULL)
        with pytest.raises(zmq.ZMQBindError):
            s.bind_to_random_port("tcp://127.0.0.1", min_port=port, max_port=port + 1, max_tries=3)
    finally:
        holder.close()


def test_bind_address_in_use(ctx):
    a = ctx.socket(zmq.PULL)
    port = a.bind_to_random_port("tcp://127.0.0.1")
    b = ctx.socket(zmq.PULL)
    with pytest.raises(zmq.ZMQError) as info:
        b.bind("tcp://127.0.0.1:%d" % port)
    assert info.value.errno == zmq.EADDRINUSE
    assert str(port) in str(info.value)


def test_inproc_bind_twice_in_use(ctx, inproc_endpoint):
    first = ctx.socket(zmq.PULL)
    first.bind(inproc_endpoint)
    with pytest.raises(zmq.ZMQError) as info:
        ctx.socket(zmq.PULL).bind(inproc_endpoint)
    assert info.value.errno == zmq.EADDRINUSE


def wait_listener_closed(monitor):
    """unbind() closes the listener asynchronously (libzmq's I/O thread); the
    monitor's EVENT_CLOSED says when the address is really free."""
    from zmqipc.utils.monitor import recv_monitor_message

    while recv_monitor_message(monitor)["event"] != zmq.EVENT_CLOSED:
        pass


def closed_monitor(sock):
    mon = sock.get_monitor_socket(zmq.EVENT_CLOSED)
    guard(mon)
    return mon


def test_unbind_frees_endpoint(ctx):
    a = ctx.socket(zmq.PULL)
    mon = closed_monitor(a)
    port = a.bind_to_random_port("tcp://127.0.0.1")
    url = "tcp://127.0.0.1:%d" % port
    a.unbind(url)
    wait_listener_closed(mon)
    b = ctx.socket(zmq.PULL)
    b.bind(url)  # free again
    assert b.last_endpoint == url.encode()


def test_unbind_unknown_endpoint_raises(ctx):
    s = ctx.socket(zmq.PULL)
    with pytest.raises(zmq.ZMQError) as info:
        s.unbind("tcp://127.0.0.1:5")
    assert info.value.errno == zmq.ENOENT


def test_disconnect(ctx, ipc_endpoint):
    server, client = connected_pair(ctx, ipc_endpoint, (zmq.PULL, zmq.PUSH))
    client.send(b"one")
    assert server.recv() == b"one"
    client.disconnect(ipc_endpoint)
    with pytest.raises(zmq.Again):  # no peer left: PUSH cannot queue
        client.send(b"two", zmq.NOBLOCK)
    with pytest.raises(zmq.ZMQError) as info:
        client.disconnect(ipc_endpoint)
    assert info.value.errno == zmq.ENOENT


def test_with_bind_unbinds(ctx, ipc_endpoint):
    s = ctx.socket(zmq.PULL)
    mon = closed_monitor(s)
    with s.bind(ipc_endpoint) as bound:
        assert bound is s
    wait_listener_closed(mon)
    # unbound: the endpoint can be bound again by another socket
    other = ctx.socket(zmq.PULL)
    other.bind(ipc_endpoint)
    with pytest.raises(zmq.ZMQError):  # and s no longer has it
        s.unbind(ipc_endpoint)


def test_with_bind_wildcard_port_unbinds_resolved_endpoint(ctx):
    s = ctx.socket(zmq.PULL)
    mon = closed_monitor(s)
    with s.bind("tcp://127.0.0.1:*"):
        url = s.last_endpoint.decode()
    wait_listener_closed(mon)  # unbind("tcp://127.0.0.1:*") would fail: ENOENT
    other = ctx.socket(zmq.PULL)
    other.bind(url)  # the random port was released


def test_with_bind_on_closed_socket_exits_quietly(ctx, ipc_endpoint):
    s = ctx.socket(zmq.PULL)
    with s.bind(ipc_endpoint):
        s.close()


def test_with_connect_disconnects(ctx, ipc_endpoint):
    server, client = connected_pair(ctx, ipc_endpoint, (zmq.PULL, zmq.PUSH))
    client.disconnect(ipc_endpoint)
    with client.connect(ipc_endpoint):
        client.send(b"inside")
        assert server.recv() == b"inside"
    with pytest.raises(zmq.ZMQError):  # already disconnected by the with block
        client.disconnect(ipc_endpoint)


def test_connect_before_bind(ctx, inproc_endpoint):
    """ZeroMQ connections are asynchronous: connect may come first (inproc too)."""
    client = ctx.socket(zmq.PUSH)
    server = ctx.socket(zmq.PULL)
    guard(client, server)
    client.connect(inproc_endpoint)
    server.bind(inproc_endpoint)
    client.send(b"early")
    assert server.recv() == b"early"


def test_endpoint_bytes_accepted(ctx, ipc_endpoint):
    server = ctx.socket(zmq.PULL)
    client = ctx.socket(zmq.PUSH)
    guard(server, client)
    server.bind(ipc_endpoint.encode())
    client.connect(ipc_endpoint.encode())
    client.send(b"x")
    assert server.recv() == b"x"


# --- send / recv ------------------------------------------------------------------------


def test_send_recv_bytes(pair):
    a, b = pair
    a.send(b"hello")
    msg = b.recv()
    assert msg == b"hello" and type(msg) is bytes


def test_send_empty_message(pair):
    a, b = pair
    a.send(b"")
    assert b.recv() == b""


@pytest.mark.parametrize(
    "data",
    [bytearray(b"bytearray"), memoryview(b"memoryview"), np.arange(5, dtype=np.int32)],
    ids=["bytearray", "memoryview", "numpy"],
)
def test_send_buffer_objects(pair, data):
    a, b = pair
    a.send(data)
    assert b.recv() == bytes(memoryview(data).cast("B"))


def test_send_large_message(pair):
    a, b = pair
    payload = np.random.default_rng(0).bytes(5 * 1024 * 1024)
    a.send(payload)
    assert b.recv() == payload


def test_noblock_recv_raises_again(pair):
    a, b = pair
    with pytest.raises(zmq.Again) as info:
        b.recv(zmq.NOBLOCK)
    assert info.value.errno == zmq.EAGAIN
    assert isinstance(info.value, zmq.ZMQError)
    with pytest.raises(zmq.Again):
        b.recv(flags=zmq.DONTWAIT)
    with pytest.raises(zmq.Again):
        b.recv(zmq.NOBLOCK, copy=False)
    with pytest.raises(zmq.Again):
        b.recv_multipart(zmq.NOBLOCK)


def test_noblock_send_without_peer_raises_again(ctx):
    s = ctx.socket(zmq.PUSH)
    with pytest.raises(zmq.Again):
        s.send(b"nobody", zmq.NOBLOCK)
    with pytest.raises(zmq.Again):
        s.send_multipart([b"a", b"b"], zmq.DONTWAIT)


def test_rcvtimeo_raises_again(pair):
    a, b = pair
    b.rcvtimeo = 10
    with pytest.raises(zmq.Again):
        b.recv()


def test_sndtimeo_with_hwm_raises_again(ctx):
    s = ctx.socket(zmq.PUSH)
    s.linger = 0
    s.sndtimeo = 10
    with pytest.raises(zmq.Again):
        s.send(b"x")


def test_sndmore_and_rcvmore(pair):
    a, b = pair
    a.send(b"first", zmq.SNDMORE)
    a.send(b"second", zmq.SNDMORE)
    a.send(b"last")
    assert b.recv() == b"first"
    assert b.rcvmore == 1
    assert b.getsockopt(zmq.RCVMORE) == 1
    assert b.recv() == b"second"
    assert b.rcvmore
    assert b.recv() == b"last"
    assert b.rcvmore == 0


def test_recv_copy_false_returns_frame(pair):
    a, b = pair
    a.send(b"part1", zmq.SNDMORE)
    a.send(b"part2")
    f1 = b.recv(copy=False)
    assert isinstance(f1, zmq.Frame)
    assert isinstance(f1, zmq.Message)
    assert f1.bytes == b"part1"
    assert bytes(f1) == b"part1"
    assert len(f1) == 5
    assert f1.more is True
    assert f1.get(zmq.MORE) == 1
    f2 = b.recv(copy=False)
    assert f2.bytes == b"part2"
    assert f2.more is False
    assert f2.get(zmq.MORE) == 0


def test_frame_buffer_is_zero_copy_view(pair):
    a, b = pair
    a.send(b"abcdef")
    f = b.recv(copy=False)
    buf = f.buffer
    assert isinstance(buf, memoryview)
    assert buf.tobytes() == b"abcdef"
    assert len(buf) == 6
    arr = np.frombuffer(f, dtype=np.uint8)
    assert arr.tobytes() == b"abcdef"
    # both views see the same memory
    assert np.shares_memory(arr, np.frombuffer(buf, dtype=np.uint8))


def test_frame_metadata_socket_type(ctx, ipc_endpoint):
    server, client = connected_pair(ctx, ipc_endpoint, (zmq.PULL, zmq.PUSH))
    client.send(b"x")
    f = server.recv(copy=False)
    assert f.get("Socket-Type") == "PUSH"
    assert f.get(b"Socket-Type") == "PUSH"  # bytes names too, as pyzmq
    assert isinstance(f.get("Peer-Address"), str)


def test_frame_unknown_property(pair):
    a, b = pair
    a.send(b"x")
    f = b.recv(copy=False)
    with pytest.raises(zmq.ZMQError) as info:
        f.get("No-Such-Property")
    assert info.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError):
        f.get(12345)


def test_frame_construction_and_send(pair):
    a, b = pair
    f = zmq.Frame(b"framed")
    assert f.bytes == b"framed" and len(f) == 5 + 1 and not f.more
    a.send(f)
    a.send(f)  # a Frame can be sent again (libzmq gets a copy)
    assert b.recv() == b"framed"
    assert b.recv() == b"framed"
    assert zmq.Frame().bytes == b""
    assert zmq.Frame(bytearray(b"ba")).bytes == b"ba"


def test_frame_from_str_rejected():
    with pytest.raises(TypeError):
        zmq.Frame("text")


def test_send_copy_false(pair):
    a, b = pair
    big = np.arange(100_000, dtype=np.float64)
    small = b"small"
    assert a.send(big, copy=False) is None
    assert a.send(small, copy=False) is None
    got = b.recv(copy=False)
    assert np.array_equal(np.frombuffer(got, dtype=np.float64), big)
    assert b.recv() == small


@pytest.mark.parametrize("size", [10, 1_000_000])
def test_send_track_returns_message_tracker(pair, size):
    a, b = pair
    data = bytes(size)
    tracker = a.send(data, copy=False, track=True)
    assert isinstance(tracker, zmq.MessageTracker)
    assert b.recv() == data
    tracker.wait(timeout=GUARD_S)
    assert tracker.done


def test_send_track_with_copy_returns_none(pair):
    a, b = pair
    assert a.send(b"x" * 100_000, copy=True, track=True) is None
    b.recv()


def test_send_multipart_track(pair):
    a, b = pair
    big = bytes(500_000)
    tracker = a.send_multipart([b"head", big], copy=False, track=True)
    assert isinstance(tracker, zmq.MessageTracker)
    assert b.recv_multipart() == [b"head", big]
    tracker.wait(GUARD_S)
    assert tracker.done


def test_tracked_frame(pair):
    a, b = pair
    frame = zmq.Frame(bytes(200_000), track=True)
    assert isinstance(frame.tracker, zmq.MessageTracker)
    tracker = a.send(frame, copy=False, track=True)
    assert tracker is frame.tracker
    b.recv()
    del frame
    tracker.wait(GUARD_S)
    assert tracker.done


def test_message_tracker_wait_timeout_raises_notdone(ctx):
    s = ctx.socket(zmq.PUSH)
    s.linger = 0
    s.connect("tcp://127.0.0.1:1")  # queued, never delivered
    tracker = s.send(bytes(1_000_000), copy=False, track=True)
    assert not tracker.done
    with pytest.raises(zmq.NotDone):
        tracker.wait(0.01)
    s.close()  # dropping the queued message releases the buffer
    tracker.wait(GUARD_S)
    assert tracker.done


def test_send_string_recv_string(pair):
    a, b = pair
    a.send_string("héllo wörld ✓")
    assert b.recv_string() == "héllo wörld ✓"
    a.send_string("latin", encoding="latin-1")
    assert b.recv() == "latin".encode("latin-1")
    a.send_string("ü", encoding="utf-16")
    assert b.recv_string(encoding="utf-16") == "ü"
    assert a.send_unicode is not None and b.recv_unicode is not None


def test_send_string_requires_str(pair):
    a, _ = pair
    with pytest.raises(TypeError):
        a.send_string(b"bytes")


def test_send_json_recv_json(pair):
    a, b = pair
    obj = {"a": [1, 2.5, None, True], "b": {"c": "ü"}}
    a.send_json(obj)
    assert b.recv_json() == obj


def test_send_pyobj_recv_pyobj(pair):
    a, b = pair
    obj = {"set": {1, 2}, "tuple": (1, "x"), "bytes": b"\x00\xff"}
    a.send_pyobj(obj)
    assert b.recv_pyobj() == obj
    a.send_pyobj([1], protocol=2)
    assert b.recv_pyobj() == [1]


def test_recv_pyobj_is_pickle_of_send(pair):
    a, b = pair
    a.send_pyobj({"k": 1})
    assert pickle.loads(b.recv()) == {"k": 1}


def test_send_serialized_recv_serialized(pair):
    a, b = pair
    a.send_serialized({"x": 1}, lambda m: [b"json", repr(m).encode()])
    got = b.recv_serialized(lambda frames: [bytes(f) for f in frames])
    assert got == [b"json", b"{'x': 1}"]


def _sync(pub, sub):
    """Slow joiner: publish "sync" until the subscription has reached the PUB."""
    while not sub.poll(10):
        pub.send(b"sync")


def _collect(pub, sub, messages):
    """Publish ``messages`` then "sync-end"; return what arrives (minus syncs)."""
    for m in messages:
        pub.send(m)
    pub.send(b"sync-end")
    got = []
    while True:
        m = sub.recv()
        if m == b"sync-end":
            return got
        if m != b"sync":
            got.append(m)


def test_pub_sub_subscribe_unsubscribe(ctx, ipc_endpoint):
    pub = ctx.socket(zmq.PUB)
    sub = ctx.socket(zmq.SUB)
    guard(pub, sub)
    pub.bind(ipc_endpoint)
    sub.connect(ipc_endpoint)
    sub.subscribe(b"a")
    sub.subscribe("b")  # str topics are UTF-8 encoded
    sub.setsockopt(zmq.SUBSCRIBE, b"sync")
    _sync(pub, sub)
    assert _collect(pub, sub, [b"a1", b"b1", b"c1", b"a2", b"xa"]) == [b"a1", b"b1", b"a2"]
    sub.unsubscribe(b"a")
    sub.setsockopt_string(zmq.UNSUBSCRIBE, "b")
    # SUB filters locally too, so the change is effective immediately
    assert _collect(pub, sub, [b"a3", b"b3", b"c3"]) == []


def test_subscribe_everything(ctx, ipc_endpoint):
    pub = ctx.socket(zmq.PUB)
    sub = ctx.socket(zmq.SUB)
    guard(pub, sub)
    pub.bind(ipc_endpoint)
    sub.connect(ipc_endpoint)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    _sync(pub, sub)
    assert _collect(pub, sub, [b"any", b"thing"]) == [b"any", b"thing"]


def test_sub_without_subscription_gets_nothing(ctx, inproc_endpoint):
    pub = ctx.socket(zmq.PUB)
    sub = ctx.socket(zmq.SUB)
    guard(pub, sub)
    pub.bind(inproc_endpoint)
    sub.connect(inproc_endpoint)
    for _ in range(10):
        pub.send(b"ignored")
    assert sub.poll(50) == 0


def test_subscribe_attribute_style(ctx, inproc_endpoint):
    """pyzmq: ``sock.subscribe = b"topic"`` sets SUBSCRIBE (not an attribute)."""
    pub = ctx.socket(zmq.PUB)
    sub = ctx.socket(zmq.SUB)
    guard(pub, sub)
    pub.bind(inproc_endpoint)
    sub.subscribe = b"x"  # attribute-style option
    sub.connect(inproc_endpoint)
    assert callable(sub.subscribe)  # the method is still there
    while not sub.poll(10):
        pub.send(b"x-hello")
    assert sub.recv() == b"x-hello"
    push = ctx.socket(zmq.PUSH)
    with pytest.raises(zmq.ZMQError) as info:
        push.subscribe = b"x"  # not a SUB socket: libzmq refuses
    assert info.value.errno == zmq.EINVAL


def test_router_dealer_routing_id(ctx, ipc_endpoint):
    router = ctx.socket(zmq.ROUTER)
    dealer = ctx.socket(zmq.DEALER)
    guard(router, dealer)
    dealer.routing_id = b"worker-1"
    router.bind(ipc_endpoint)
    dealer.connect(ipc_endpoint)
    dealer.send_multipart([b"", b"job"])
    assert router.recv_multipart() == [b"worker-1", b"", b"job"]
    router.send_multipart([b"worker-1", b"", b"done"])
    assert dealer.recv_multipart() == [b"", b"done"]


def test_router_mandatory_unroutable(ctx):
    router = ctx.socket(zmq.ROUTER)
    router.router_mandatory = 1
    with pytest.raises(zmq.ZMQError) as info:
        router.send_multipart([b"nobody", b"msg"])
    assert info.value.errno == zmq.EHOSTUNREACH


def test_req_state_machine_efsm(ctx):
    req = ctx.socket(zmq.REQ)
    with pytest.raises(zmq.ZMQError) as info:
        req.recv(zmq.NOBLOCK)
    assert info.value.errno == zmq.EFSM


def test_stream_socket_raw_tcp(ctx):
    stream = ctx.socket(zmq.STREAM)
    guard(stream)
    port = stream.bind_to_random_port("tcp://127.0.0.1")
    raw = pysocket.create_connection(("127.0.0.1", port))
    try:
        ident, empty = stream.recv_multipart()  # connect notification
        assert empty == b""
        raw.sendall(b"raw bytes")
        got_ident, data = stream.recv_multipart()
        assert got_ident == ident and data == b"raw bytes"
        stream.send_multipart([ident, b"answer"])
        assert raw.recv(100) == b"answer"
    finally:
        raw.close()


# --- lifetime ---------------------------------------------------------------------------


def test_close_and_closed(ctx):
    s = ctx.socket(zmq.PUSH)
    assert s.closed is False
    s.close()
    assert s.closed is True
    s.close()  # idempotent


def test_close_linger_overrides(ctx):
    s = ctx.socket(zmq.PUSH)
    s.connect("tcp://127.0.0.1:1")
    s.send(b"pending", zmq.NOBLOCK)
    s.close(linger=0)
    assert s.closed
    ctx.term()  # returns: the pending message was dropped


def test_socket_context_manager(ctx):
    with ctx.socket(zmq.PUSH) as s:
        assert not s.closed
    assert s.closed


def test_repr(ctx):
    s = ctx.socket(zmq.ROUTER)
    assert "ROUTER" in repr(s)
    s.close()
    assert "closed" in repr(s)


def test_fileno_and_events(pair):
    a, b = pair
    assert isinstance(b.fileno(), int) and b.fileno() >= 0
    assert b.fileno() == b.fd == b.getsockopt(zmq.FD)
    assert a.poll(GUARD_MS, zmq.POLLOUT) == zmq.POLLOUT  # connected
    assert a.events & zmq.POLLOUT
    assert not (b.events & zmq.POLLIN)
    a.send(b"x")
    assert b.poll(GUARD_MS) == zmq.POLLIN
    assert b.events & zmq.POLLIN


def test_copy_threshold_attribute(ctx):
    assert zmq.COPY_THRESHOLD > 0
    s = ctx.socket(zmq.PUSH)
    assert s.copy_threshold == zmq.COPY_THRESHOLD
    s.copy_threshold = 10
    assert s.copy_threshold == 10
    s2 = ctx.socket(zmq.PUSH, copy_threshold=5)
    assert s2.copy_threshold == 5


def test_unclosed_socket_warns_resource_warning(ctx):
    import gc
    import warnings

    s = ctx.socket(zmq.PUSH)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del s
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) for w in caught)


def test_version_functions():
    assert zmq.zmq_version() == "4.3.4"
    assert zmq.zmq_version_info() == (4, 3, 4)
    assert isinstance(zmq.pyzmq_version(), str)
    assert zmq.has("ipc") and zmq.has("curve")
    assert not zmq.has("draft")


GUARD_S = 10.0
GUARD_MS = 10_000
