"""Poller, zmq.select, Socket.poll, proxy and proxy_steerable."""

import os
import socket as pysocket
import threading

import pytest

import zmqipc as zmq
from conftest import GUARD_MS, connected_pair, guard

# --- Socket.poll ------------------------------------------------------------------------------


def test_socket_poll_pollin(pair):
    a, b = pair
    assert b.poll(0) == 0
    assert b.poll(timeout=1) == 0
    a.send(b"x")
    assert b.poll(GUARD_MS) == zmq.POLLIN
    assert b.poll(GUARD_MS, zmq.POLLIN) == zmq.POLLIN
    b.recv()
    assert b.poll(0) == 0


def test_socket_poll_pollout(ctx, ipc_endpoint):
    push = ctx.socket(zmq.PUSH)
    guard(push)
    assert push.poll(0, zmq.POLLOUT) == 0  # no peer: cannot send
    pull = ctx.socket(zmq.PULL)
    guard(pull)
    pull.bind(ipc_endpoint)
    push.connect(ipc_endpoint)
    assert push.poll(GUARD_MS, zmq.POLLOUT) == zmq.POLLOUT


def test_socket_poll_none_waits_for_sender(pair):
    a, b = pair
    t = threading.Thread(target=a.send, args=(b"later",))
    t.start()
    assert b.poll(None) == zmq.POLLIN  # None: no timeout
    t.join()
    assert b.recv() == b"later"


# --- Poller -----------------------------------------------------------------------------------


def test_poller_register_poll(pair):
    a, b = pair
    poller = zmq.Poller()
    poller.register(a, zmq.POLLIN)
    poller.register(b, zmq.POLLIN)
    assert a in poller and b in poller
    assert poller.poll(0) == []
    a.send(b"to b")
    events = dict(poller.poll(GUARD_MS))
    assert events == {b: zmq.POLLIN}
    b.recv()
    b.send(b"to a")
    assert dict(poller.poll(GUARD_MS)) == {a: zmq.POLLIN}


def test_poller_default_flags_pollin_pollout(pair):
    a, b = pair
    poller = zmq.Poller()
    poller.register(a)  # default POLLIN | POLLOUT
    assert dict(poller.poll(GUARD_MS)) == {a: zmq.POLLOUT}
    b.send(b"x")
    while dict(poller.poll(GUARD_MS))[a] != zmq.POLLIN | zmq.POLLOUT:
        pass  # the message is in flight; poll wakes when it lands


def test_poller_modify_and_unregister(pair):
    a, b = pair
    poller = zmq.Poller()
    poller.register(b, zmq.POLLIN)
    assert poller.poll(0) == []
    poller.modify(b, zmq.POLLOUT)
    assert poller.poll(GUARD_MS) == [(b, zmq.POLLOUT)]
    poller.register(b, zmq.POLLIN)  # registering again modifies
    assert len(poller.sockets) == 1
    assert poller.poll(0) == []
    poller.unregister(b)
    assert b not in poller
    a.send(b"x")
    assert poller.poll(0) == []
    with pytest.raises(KeyError):
        poller.unregister(b)


def test_poller_register_zero_flags_unregisters(pair):
    a, b = pair
    poller = zmq.Poller()
    poller.register(b, zmq.POLLIN)
    poller.register(b, 0)
    assert b not in poller


def test_poller_unregister_keeps_other_entries(ctx):
    socks = [ctx.socket(zmq.PAIR) for _ in range(4)]
    for i, s in enumerate(socks):
        s.bind("inproc://unreg-%d" % i)
    peers = [ctx.socket(zmq.PAIR) for _ in range(4)]
    for i, p in enumerate(peers):
        p.connect("inproc://unreg-%d" % i)
    poller = zmq.Poller()
    for s in socks:
        poller.register(s, zmq.POLLIN)
    poller.unregister(socks[1])
    poller.modify(socks[3], zmq.POLLIN)
    for p in peers:
        p.send(b"x")
    ready = set()
    while len(ready) < 3:
        ready.update(s for s, _ in poller.poll(GUARD_MS))
    assert ready == {socks[0], socks[2], socks[3]}
    for s in socks + peers:
        s.close(linger=0)


def test_poller_timeout_returns_empty(pair):
    a, b = pair
    poller = zmq.Poller()
    poller.register(b, zmq.POLLIN)
    assert poller.poll(timeout=20) == []
    assert poller.poll(timeout=0.5) == []  # float milliseconds work too


def test_poller_plain_fd_and_fileno_objects(pair):
    """Poller watches OS fds and objects with fileno() next to sockets."""
    a, b = pair
    r, w = os.pipe()
    left, right = pysocket.socketpair()
    try:
        poller = zmq.Poller()
        poller.register(r, zmq.POLLIN)
        poller.register(left, zmq.POLLIN)
        poller.register(b, zmq.POLLIN)
        assert poller.poll(0) == []
        os.write(w, b"!")
        assert dict(poller.poll(GUARD_MS)) == {r: zmq.POLLIN}
        os.read(r, 1)
        right.send(b"?")
        assert dict(poller.poll(GUARD_MS)) == {left.fileno(): zmq.POLLIN}  # an fd, as pyzmq
        left.recv(1)
        a.send(b"z")
        assert dict(poller.poll(GUARD_MS)) == {b: zmq.POLLIN}
    finally:
        os.close(r)
        os.close(w)
        left.close()
        right.close()


def test_poller_rejects_unpollable_object():
    poller = zmq.Poller()
    poller.register(object(), zmq.POLLIN)
    with pytest.raises(TypeError):
        poller.poll(0)


def test_poller_closed_socket_enotsock(ctx):
    s = ctx.socket(zmq.PULL)
    poller = zmq.Poller()
    poller.register(s, zmq.POLLIN)
    s.close()
    with pytest.raises(zmq.ZMQError) as info:
        poller.poll(0)
    assert info.value.errno == zmq.ENOTSOCK


def test_empty_poller_times_out():
    assert zmq.Poller().poll(10) == []


def test_empty_poll_returns_at_once_even_without_timeout():
    """As pyzmq. libzmq itself sleeps the whole timeout on no items: with -1 that
    was about 71 minutes, in a thread term() could not wake."""
    done = threading.Event()
    t = threading.Thread(target=lambda: (zmq.Poller().poll(), zmq.select([], [], []), done.set()))
    t.daemon = True
    t.start()
    assert done.wait(GUARD_MS / 1000)


def test_poll_list_growing_during_setup_is_safe():
    """zmq_poll sized its buffer from the list, then walked the live list: a fileno()
    that registers more items wrote past the buffer (heap corruption)."""
    r, w = os.pipe()
    extra = []
    poller = zmq.Poller()

    class Grows:
        def fileno(self):
            for _ in range(200):
                extra.append(os.dup(r))
                poller.register(extra[-1], zmq.POLLIN)
            return r

    try:
        poller.register(Grows(), zmq.POLLIN)
        os.write(w, b"!")
        assert poller.poll(0) == [(r, zmq.POLLIN)]  # the items polled are the snapshot
        assert len(poller.sockets) == 201
    finally:
        for fd in extra + [r, w]:
            os.close(fd)


def test_poller_wakes_on_message_from_thread(pair):
    a, b = pair
    poller = zmq.Poller()
    poller.register(b, zmq.POLLIN)
    t = threading.Thread(target=a.send, args=(b"wake",))
    t.start()
    assert poller.poll() == [(b, zmq.POLLIN)]  # no timeout at all
    t.join()


def test_poll_woken_by_term_raises_context_terminated(inproc_endpoint):
    c = zmq.Context()
    s = c.socket(zmq.PULL)
    s.bind(inproc_endpoint)
    errors = []
    ready = threading.Event()

    def worker():
        poller = zmq.Poller()
        poller.register(s, zmq.POLLIN)
        ready.set()
        try:
            poller.poll()
        except zmq.ZMQError as e:
            errors.append(e)
        s.close(linger=0)

    t = threading.Thread(target=worker)
    t.start()
    ready.wait()
    c.term()
    t.join()
    assert [type(e) for e in errors] == [zmq.ContextTerminated]


# --- select -----------------------------------------------------------------------------------


def test_select(pair):
    a, b = pair
    rlist, wlist, xlist = zmq.select([b], [a], [], GUARD_MS / 1000)  # until connected
    assert rlist == [] and wlist == [a] and xlist == []
    a.send(b"x")
    rlist, wlist, xlist = zmq.select([a, b], [], [], GUARD_MS / 1000)
    assert rlist == [b]
    assert zmq.select([], [], [b], 0) == ([], [], [])


def test_select_timeout_seconds(pair):
    _, b = pair
    assert zmq.select([b], [], [], 0.01) == ([], [], [])


# --- proxy ------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_proxy_in_thread_terminated_by_term(inproc_endpoint):
    c = zmq.Context()
    frontend = c.socket(zmq.ROUTER)
    backend = c.socket(zmq.DEALER)
    frontend.bind(inproc_endpoint + "-fe")
    backend.bind(inproc_endpoint + "-be")
    outcome = []

    def run():
        try:
            zmq.proxy(frontend, backend)
        except zmq.ContextTerminated as e:
            outcome.append(e)
        except Exception as e:  # pragma: no cover - reported below
            outcome.append(e)
        finally:
            frontend.close(linger=0)
            backend.close(linger=0)

    t = threading.Thread(target=run)
    t.start()
    client = c.socket(zmq.REQ)
    worker = c.socket(zmq.REP)
    guard(client, worker)
    client.connect(inproc_endpoint + "-fe")
    worker.connect(inproc_endpoint + "-be")
    for i in range(3):
        client.send(b"req %d" % i)
        assert worker.recv() == b"req %d" % i
        worker.send(b"rep %d" % i)
        assert client.recv() == b"rep %d" % i
    client.close()
    worker.close()
    c.term()  # wakes the proxy with ETERM
    t.join()
    assert len(outcome) == 1 and isinstance(outcome[0], zmq.ContextTerminated)


@pytest.mark.timeout(60)
def test_proxy_with_capture(ctx, inproc_endpoint):
    frontend = ctx.socket(zmq.PULL)
    backend = ctx.socket(zmq.PUSH)
    capture = ctx.socket(zmq.PUB)
    listener = ctx.socket(zmq.SUB)
    listener.subscribe(b"")
    frontend.bind(inproc_endpoint + "-fe")
    backend.bind(inproc_endpoint + "-be")
    capture.bind(inproc_endpoint + "-cap")
    listener.connect(inproc_endpoint + "-cap")
    control = ctx.socket(zmq.PAIR)
    control.bind(inproc_endpoint + "-ctl")
    steer = ctx.socket(zmq.PAIR)
    steer.connect(inproc_endpoint + "-ctl")
    t = threading.Thread(target=zmq.proxy_steerable, args=(frontend, backend, capture, control))
    t.start()
    producer = ctx.socket(zmq.PUSH)
    consumer = ctx.socket(zmq.PULL)
    guard(producer, consumer, listener)
    producer.connect(inproc_endpoint + "-fe")
    consumer.connect(inproc_endpoint + "-be")
    producer.send(b"payload")
    assert consumer.recv() == b"payload"
    assert listener.recv() == b"payload"  # the capture socket saw it
    steer.send(b"TERMINATE")
    t.join()


@pytest.mark.timeout(60)
def test_proxy_steerable_terminate(ctx, inproc_endpoint):
    frontend = ctx.socket(zmq.PULL)
    backend = ctx.socket(zmq.PUSH)
    control = ctx.socket(zmq.PAIR)
    steer = ctx.socket(zmq.PAIR)
    frontend.bind(inproc_endpoint + "-fe")
    backend.bind(inproc_endpoint + "-be")
    control.bind(inproc_endpoint + "-ctl")
    steer.connect(inproc_endpoint + "-ctl")
    returned = threading.Event()

    def run():
        zmq.proxy_steerable(frontend, backend, None, control)
        returned.set()

    t = threading.Thread(target=run)
    t.start()
    producer = ctx.socket(zmq.PUSH)
    consumer = ctx.socket(zmq.PULL)
    guard(producer, consumer)
    producer.connect(inproc_endpoint + "-fe")
    consumer.connect(inproc_endpoint + "-be")
    producer.send(b"through the proxy")
    assert consumer.recv() == b"through the proxy"
    steer.send(b"PAUSE")
    steer.send(b"RESUME")
    producer.send(b"after resume")
    assert consumer.recv() == b"after resume"
    steer.send(b"TERMINATE")
    t.join()
    assert returned.is_set()  # returned normally, no exception


def test_proxy_type_checks(ctx):
    with pytest.raises(TypeError):
        zmq.proxy("not a socket", ctx.socket(zmq.PUSH))


def test_proxy_closed_socket_enotsock(ctx):
    a = ctx.socket(zmq.PULL)
    b = ctx.socket(zmq.PUSH)
    a.close()
    with pytest.raises(zmq.ZMQError) as info:
        zmq.proxy(a, b)
    assert info.value.errno == zmq.ENOTSOCK


def test_zmq_poll_function(pair):
    a, b = pair
    a.send(b"x")
    assert zmq.zmq_poll([(b, zmq.POLLIN)], GUARD_MS) == [(b, zmq.POLLIN)]


def test_connected_pair_helper_tcp(ctx):
    s, c = connected_pair(ctx, "tcp://127.0.0.1:*")
    c.send(b"x")
    assert s.recv() == b"x"
