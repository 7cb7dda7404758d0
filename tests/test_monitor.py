"""Socket monitoring: get_monitor_socket + utils.monitor.recv_monitor_message.

Note (libzmq 4.3.4, same with pyzmq): never close a monitor socket while
monitoring is active -- libzmq then blocks sending the next event. Call
disable_monitor() first.
"""

import struct

import pytest

import zmqipc as zmq
from conftest import guard
from zmqipc.utils.monitor import parse_monitor_message, recv_monitor_message


def events_until(monitor, wanted):
    """Receive monitor events until ``wanted`` arrives; return all of them (the
    socket's RCVTIMEO turns a missing event into zmq.Again)."""
    seen = []
    while True:
        msg = recv_monitor_message(monitor)
        seen.append(msg)
        if msg["event"] == wanted:
            return seen


@pytest.fixture(params=["tcp", "ipc"])
def endpoint(request, ipc_endpoint):
    return "tcp://127.0.0.1:*" if request.param == "tcp" else ipc_endpoint


def test_listening_accepted_connected_handshake(ctx, endpoint):
    server = ctx.socket(zmq.REP)
    client = ctx.socket(zmq.REQ)
    guard(server, client)
    server_mon = server.get_monitor_socket()
    client_mon = client.get_monitor_socket()
    guard(server_mon, client_mon)
    assert server_mon.socket_type == zmq.PAIR

    server.bind(endpoint)
    url = server.last_endpoint
    listening = recv_monitor_message(server_mon)
    assert listening["event"] == zmq.EVENT_LISTENING
    assert listening["endpoint"] == url
    assert isinstance(listening["value"], int)

    client.connect(url.decode())
    seen = events_until(client_mon, zmq.EVENT_CONNECTED)
    assert all(e["endpoint"] == url for e in seen)
    assert events_until(client_mon, zmq.EVENT_HANDSHAKE_SUCCEEDED)[-1]["endpoint"] == url
    server_events = [e["event"] for e in events_until(server_mon, zmq.EVENT_HANDSHAKE_SUCCEEDED)]
    assert zmq.EVENT_ACCEPTED in server_events
    assert server_events.index(zmq.EVENT_ACCEPTED) < server_events.index(
        zmq.EVENT_HANDSHAKE_SUCCEEDED
    )

    # and the monitored sockets still work
    client.send(b"ping")
    assert server.recv() == b"ping"


def test_event_values_are_event_enum(ctx):
    s = ctx.socket(zmq.PULL)
    mon = s.get_monitor_socket()
    guard(mon)
    s.bind("tcp://127.0.0.1:*")
    ev = recv_monitor_message(mon)
    assert ev["event"] is zmq.Event.LISTENING
    assert ev["event"] == zmq.EVENT_LISTENING == 8
    assert set(ev) == {"event", "value", "endpoint"}


def test_event_mask_filters(ctx):
    server = ctx.socket(zmq.PULL)
    client = ctx.socket(zmq.PUSH)
    guard(server, client)
    mon = server.get_monitor_socket(zmq.EVENT_ACCEPTED)
    guard(mon)
    server.bind("tcp://127.0.0.1:*")  # LISTENING is masked out
    client.connect(server.last_endpoint.decode())
    assert recv_monitor_message(mon)["event"] == zmq.EVENT_ACCEPTED
    client.send(b"x")
    assert server.recv() == b"x"
    with pytest.raises(zmq.Again):  # nothing else was reported
        recv_monitor_message(mon, zmq.NOBLOCK)


def test_get_monitor_socket_returns_same_socket(ctx):
    s = ctx.socket(zmq.PULL)
    m1 = s.get_monitor_socket()
    assert s.get_monitor_socket() is m1


def test_disable_monitor_sends_monitor_stopped(ctx):
    s = ctx.socket(zmq.PULL)
    mon = s.get_monitor_socket()
    guard(mon)
    s.bind("tcp://127.0.0.1:*")
    assert recv_monitor_message(mon)["event"] == zmq.EVENT_LISTENING
    s.disable_monitor()
    assert events_until(mon, zmq.EVENT_MONITOR_STOPPED)[-1]["event"] == zmq.EVENT_MONITOR_STOPPED


def test_disconnected_event(ctx, ipc_endpoint):
    server = ctx.socket(zmq.PULL)
    client = ctx.socket(zmq.PUSH)
    guard(server, client)
    mon = server.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED)
    guard(mon)
    server.bind(ipc_endpoint)
    client.connect(ipc_endpoint)
    assert recv_monitor_message(mon)["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED
    client.close()
    assert recv_monitor_message(mon)["event"] == zmq.EVENT_DISCONNECTED


def test_monitor_again_after_disable_and_close(ctx):
    """The safe order (as libzmq/pyzmq require): disable_monitor() before closing
    the monitor socket -- libzmq blocks sending events to a PAIR with no peer.
    Monitoring can then start again (fresh inproc name: no EADDRINUSE)."""
    s = ctx.socket(zmq.PULL)
    first = s.get_monitor_socket()
    s.disable_monitor()
    first.close()
    second = s.get_monitor_socket()
    assert second is not first and not second.closed
    guard(second)
    s.bind("tcp://127.0.0.1:*")
    assert recv_monitor_message(second)["event"] == zmq.EVENT_LISTENING


def test_socket_monitor_with_own_pair(ctx, inproc_endpoint):
    s = ctx.socket(zmq.PULL)
    s.monitor(inproc_endpoint, zmq.EVENT_LISTENING | zmq.EVENT_MONITOR_STOPPED)
    mon = ctx.socket(zmq.PAIR)
    guard(mon)
    mon.connect(inproc_endpoint)
    s.bind("tcp://127.0.0.1:*")
    frames = mon.recv_multipart()
    assert len(frames) == 2 and len(frames[0]) == 6
    event, value = struct.unpack("=hi", frames[0])
    assert event == zmq.EVENT_LISTENING
    assert frames[1] == s.last_endpoint
    s.monitor(None)  # stop
    assert parse_monitor_message(mon.recv_multipart())["event"] == zmq.EVENT_MONITOR_STOPPED


def test_monitor_requires_inproc(ctx):
    s = ctx.socket(zmq.PULL)
    with pytest.raises(zmq.ZMQError) as info:
        s.monitor("tcp://127.0.0.1:5556")
    assert info.value.errno == zmq.EPROTONOSUPPORT


def test_parse_monitor_message_rejects_garbage():
    with pytest.raises(RuntimeError):
        parse_monitor_message([b"short"])
    with pytest.raises(RuntimeError):
        parse_monitor_message([b"123456", b"ep", b"extra"])
    ev = parse_monitor_message([struct.pack("=hi", 8, 42), b"tcp://x:1"])
    assert ev == {"event": zmq.EVENT_LISTENING, "value": 42, "endpoint": b"tcp://x:1"}


def test_bind_failed_event_not_needed_for_exception(ctx):
    """A failing bind raises directly (the monitor also reports it, async)."""
    a = ctx.socket(zmq.PULL)
    port = a.bind_to_random_port("tcp://127.0.0.1")
    b = ctx.socket(zmq.PULL)
    mon = b.get_monitor_socket(zmq.EVENT_BIND_FAILED)
    guard(mon)
    with pytest.raises(zmq.ZMQError):
        b.bind("tcp://127.0.0.1:%d" % port)
    assert recv_monitor_message(mon)["event"] == zmq.EVENT_BIND_FAILED


def test_monitor_again_after_disable(ctx):
    s = ctx.socket(zmq.PULL)
    first = s.get_monitor_socket()  # kept open until disabled (see above)
    s.disable_monitor()
    mon = s.get_monitor_socket()
    assert mon is not first
    guard(mon)
    s.bind("tcp://127.0.0.1:*")
    assert events_until(mon, zmq.EVENT_LISTENING)[-1]["endpoint"] == s.last_endpoint
