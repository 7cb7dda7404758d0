"""Context: creation, instance(), socket(), term/destroy, options, context manager."""

import threading

import pytest

import zmqipc as zmq
from conftest import guard


def test_context_creates_usable_sockets(ctx, inproc_endpoint):
    a = ctx.socket(zmq.PAIR)
    b = ctx.socket(zmq.PAIR)
    guard(a, b)
    a.bind(inproc_endpoint)
    b.connect(inproc_endpoint)
    a.send(b"ping")
    assert b.recv() == b"ping"
    assert isinstance(a, zmq.Socket)
    assert a.context is ctx
    assert a.socket_type == zmq.PAIR


def test_socket_class_argument(ctx):
    class MySocket(zmq.Socket):
        pass

    s = ctx.socket(zmq.PUSH, socket_class=MySocket)
    assert type(s) is MySocket
    s.close()


def test_context_subclass_socket_class():
    class MySocket(zmq.Socket):
        pass

    class MyContext(zmq.Context):
        _socket_class = MySocket

    with MyContext() as c:
        s = c.socket(zmq.PUSH)
        assert isinstance(s, MySocket)
    assert s.closed


def test_subclasses_with_annotated_attributes():
    """pyzmq treats names annotated on a subclass as plain attributes, not options."""

    class NamedSocket(zmq.Socket):
        name: str

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.name = "worker"

    class LabelledContext(zmq.Context):
        label: str

    with LabelledContext() as c:
        c.label = "main"
        assert c.label == "main"
        c.linger = 0  # still an option (a default for new sockets)
        s = c.socket(zmq.PUSH, socket_class=NamedSocket)
        assert s.name == "worker" and s.linger == 0
        with pytest.raises(AttributeError, match="no such option"):
            s.nmae = "typo"


def test_instance_is_a_singleton():
    a = zmq.Context.instance()
    b = zmq.Context.instance()
    try:
        assert a is b
        assert isinstance(a, zmq.Context)
        assert not a.closed
    finally:
        a.term()


def test_instance_after_term_is_new():
    a = zmq.Context.instance()
    a.term()
    assert a.closed
    b = zmq.Context.instance()
    try:
        assert b is not a
        assert not b.closed
        s = b.socket(zmq.PUSH)
        s.close()
    finally:
        b.term()


def test_instance_threadsafe_creation():
    zmq.Context.instance().term()  # start from a fresh (not yet created) instance
    results = []
    barrier = threading.Barrier(8)

    def grab():
        barrier.wait()
        results.append(zmq.Context.instance())

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert len({id(c) for c in results}) == 1
    finally:
        results[0].term()


def test_term_sets_closed_and_is_idempotent():
    c = zmq.Context()
    assert not c.closed
    c.term()
    assert c.closed
    c.term()  # second term is a no-op
    assert c.closed


def test_term_waits_for_sockets_then_returns(inproc_endpoint):
    """term() blocks until the last socket is closed (here: by another thread)."""
    c = zmq.Context()
    s = c.socket(zmq.PULL)
    s.bind(inproc_endpoint)
    closed_by_thread = threading.Event()

    def worker():
        # The blocking recv is woken by term() with ETERM, then the socket is closed.
        try:
            s.recv()
        except zmq.ContextTerminated:
            closed_by_thread.set()
        s.close()

    t = threading.Thread(target=worker)
    t.start()
    c.term()
    t.join()
    assert closed_by_thread.is_set()
    assert c.closed
    assert s.closed


def test_destroy_closes_all_sockets():
    c = zmq.Context()
    socks = [c.socket(t) for t in (zmq.PUSH, zmq.PULL, zmq.REQ, zmq.ROUTER)]
    c.destroy()
    assert c.closed
    assert all(s.closed for s in socks)


@pytest.mark.timeout(30)
def test_destroy_linger_zero_drops_pending_messages():
    """A PUSH with queued messages and no peer would block term() forever with the
    default LINGER=-1; destroy(linger=0) must drop them and return."""
    c = zmq.Context()
    s = c.socket(zmq.PUSH)
    assert s.linger == -1
    s.connect("tcp://127.0.0.1:1")  # nobody listens there
    s.send(b"queued", zmq.NOBLOCK)
    c.destroy(linger=0)
    assert c.closed and s.closed


def test_destroy_idempotent_and_after_term():
    c = zmq.Context()
    c.destroy()
    c.destroy()
    c.term()
    assert c.closed


def test_context_manager_destroys():
    with zmq.Context() as c:
        s = c.socket(zmq.PUB)
        assert not c.closed
    assert c.closed
    assert s.closed


def test_context_manager_on_exception():
    with pytest.raises(RuntimeError):
        with zmq.Context() as c:
            s = c.socket(zmq.PUB)
            raise RuntimeError("boom")
    assert c.closed and s.closed


def test_io_threads_constructor_and_attribute():
    c = zmq.Context(io_threads=2)
    try:
        assert c.io_threads == 2
        assert c.get(zmq.IO_THREADS) == 2
        c.io_threads = 3
        assert c.get(zmq.IO_THREADS) == 3
        c.set(zmq.IO_THREADS, 1)
        assert c.io_threads == 1
    finally:
        c.term()


def test_context_options_defaults(ctx):
    assert ctx.get(zmq.MAX_SOCKETS) == 1023
    assert ctx.max_sockets == 1023
    ctx.max_sockets = 100
    assert ctx.get(zmq.MAX_SOCKETS) == 100
    assert ctx.get(zmq.IPV6) == 0
    assert ctx.get(zmq.BLOCKY) == 1


def test_context_option_enum_and_int_accepted(ctx):
    ctx.set(zmq.ContextOption.MAX_SOCKETS, 50)
    assert ctx.get(int(zmq.ContextOption.MAX_SOCKETS)) == 50


def test_unknown_context_option_is_einval(ctx):
    with pytest.raises(zmq.ZMQError) as info:
        ctx.set(9999, 1)
    assert info.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as info:
        ctx.get(9999)
    assert info.value.errno == zmq.EINVAL


def test_unknown_context_attribute(ctx):
    with pytest.raises(AttributeError):
        ctx.not_an_option = 1
    with pytest.raises(AttributeError):
        ctx.not_an_option


def test_linger_default_sockopt_applies_to_new_sockets(ctx):
    before = ctx.socket(zmq.PUSH)
    ctx.linger = 0
    assert ctx.linger == 0
    after = ctx.socket(zmq.PUSH)
    assert after.linger == 0
    assert after.getsockopt(zmq.LINGER) == 0
    assert before.linger == -1  # only sockets created afterwards


def test_setsockopt_default_sockopts(ctx):
    ctx.setsockopt(zmq.SNDHWM, 7)
    assert ctx.getsockopt(zmq.SNDHWM) == 7
    s = ctx.socket(zmq.PUSH)
    assert s.sndhwm == 7
    ctx.sndhwm = 9
    assert ctx.socket(zmq.PUSH).get(zmq.SNDHWM) == 9


def test_inapplicable_default_sockopt_is_skipped(ctx):
    """ctx.subscribe = b"" is a default for SUB sockets; other types ignore it."""
    ctx.setsockopt(zmq.SUBSCRIBE, b"")
    push = ctx.socket(zmq.PUSH)  # must not raise
    sub = ctx.socket(zmq.SUB)
    assert not push.closed and not sub.closed


@pytest.mark.timeout(30)
def test_default_linger_lets_term_return_with_queued_messages():
    c = zmq.Context()
    c.linger = 0
    s = c.socket(zmq.PUSH)
    s.connect("tcp://127.0.0.1:1")
    s.send(b"queued", zmq.NOBLOCK)
    s.close()
    c.term()  # would hang with LINGER=-1
    assert c.closed


def test_socket_on_terminated_context_raises_eterm():
    c = zmq.Context()
    c.term()
    with pytest.raises(zmq.ZMQError) as info:
        c.socket(zmq.PUSH)
    assert info.value.errno == zmq.ETERM
    assert isinstance(info.value, zmq.ContextTerminated)
    # the Socket constructor directly, too
    with pytest.raises(zmq.ContextTerminated):
        zmq.Socket(c, zmq.PUSH)


def test_options_on_terminated_context_raise_eterm():
    c = zmq.Context()
    c.term()
    with pytest.raises(zmq.ContextTerminated):
        c.get(zmq.IO_THREADS)
    with pytest.raises(zmq.ContextTerminated):
        c.set(zmq.IO_THREADS, 2)


def test_blocking_recv_woken_by_term_with_context_terminated(inproc_endpoint):
    c = zmq.Context()
    s = c.socket(zmq.PULL)
    s.bind(inproc_endpoint)
    errors = []
    ready = threading.Event()

    def worker():
        ready.set()
        try:
            s.recv()
        except zmq.ZMQError as e:
            errors.append(e)
        finally:
            s.close(linger=0)

    t = threading.Thread(target=worker)
    t.start()
    ready.wait()
    c.term()
    t.join()
    assert len(errors) == 1
    assert isinstance(errors[0], zmq.ContextTerminated)
    assert errors[0].errno == zmq.ETERM


def test_close_with_linger_after_term_does_not_raise(inproc_endpoint):
    """The usual worker clean-up after ContextTerminated: sock.close(linger=0)."""
    c = zmq.Context()
    s = c.socket(zmq.PULL)
    s.bind(inproc_endpoint)
    done = threading.Event()

    def worker():
        with pytest.raises(zmq.ContextTerminated):
            s.recv()
        s.close(linger=0)  # setsockopt would fail with ETERM: must still close
        done.set()

    t = threading.Thread(target=worker)
    t.start()
    c.term()
    t.join()
    assert done.is_set()
    assert s.closed


def test_context_repr_and_underlying(ctx):
    assert "Context" in repr(ctx)
    assert isinstance(ctx.underlying, int) and ctx.underlying != 0


def test_context_shared_between_threads(ctx, inproc_endpoint):
    """A Context may be shared: a socket made in another thread talks to ours."""
    pull = ctx.socket(zmq.PULL)
    guard(pull)
    pull.bind(inproc_endpoint)

    def worker():
        push = ctx.socket(zmq.PUSH)
        push.connect(inproc_endpoint)
        push.send(b"from thread")
        push.close(linger=-1)

    t = threading.Thread(target=worker)
    t.start()
    assert pull.recv() == b"from thread"
    t.join()
