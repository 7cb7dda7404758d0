"""Constants and errors: names/values as pyzmq, exception hierarchy, bad input
raising clean Python exceptions (never a crash), closed sockets, terminated contexts."""

import errno
import pickle
import sys

import pytest

import zmqipc as zmq
from conftest import guard

# --- constants ---------------------------------------------------------------------------

FLAT_NAMES = {
    "PAIR": 0,
    "PUB": 1,
    "SUB": 2,
    "REQ": 3,
    "REP": 4,
    "DEALER": 5,
    "ROUTER": 6,
    "PULL": 7,
    "PUSH": 8,
    "XPUB": 9,
    "XSUB": 10,
    "STREAM": 11,
    "NOBLOCK": 1,
    "DONTWAIT": 1,
    "SNDMORE": 2,
    "MORE": 1,
    "POLLIN": 1,
    "POLLOUT": 2,
    "POLLERR": 4,
    "LINGER": 17,
    "RCVTIMEO": 27,
    "SNDTIMEO": 28,
    "SNDHWM": 23,
    "RCVHWM": 24,
    "AFFINITY": 4,
    "ROUTING_ID": 5,
    "IDENTITY": 5,
    "SUBSCRIBE": 6,
    "UNSUBSCRIBE": 7,
    "LAST_ENDPOINT": 32,
    "MAXMSGSIZE": 22,
    "IO_THREADS": 1,
    "MAX_SOCKETS": 2,
    "EVENT_CONNECTED": 1,
    "EVENT_LISTENING": 8,
    "EVENT_ACCEPTED": 32,
    "EVENT_HANDSHAKE_SUCCEEDED": 0x1000,
    "EVENT_ALL": 0xFFFF,
    "CURVE": 2,
    "PLAIN": 1,
    "NULL": 0,
    "HWM": 1,
}


@pytest.mark.parametrize("name,value", sorted(FLAT_NAMES.items()))
def test_flat_constants(name, value):
    assert getattr(zmq, name) == value
    assert isinstance(getattr(zmq, name), int)


def test_enums_are_int_enums():
    assert zmq.SocketType.PUSH == zmq.PUSH == 8
    assert zmq.SocketType(8) is zmq.SocketType.PUSH
    assert zmq.SocketOption.LINGER == zmq.LINGER
    assert zmq.SocketOption["RCVTIMEO"] == 27
    assert zmq.Event.CONNECTED == zmq.EVENT_CONNECTED
    assert zmq.Event.ACCEPTED | zmq.Event.LISTENING == 40
    assert zmq.ContextOption.IO_THREADS == zmq.IO_THREADS
    assert zmq.Flag.SNDMORE == zmq.SNDMORE
    assert zmq.PollEvent.POLLIN == zmq.POLLIN
    assert zmq.MessageOption.MORE == zmq.MORE
    assert zmq.SecurityMechanism.CURVE == zmq.CURVE
    assert zmq.Errno.EAGAIN == zmq.EAGAIN
    assert zmq.Errno.ETERM == zmq.ETERM


def test_constants_match_pyzmq():
    """Every name both libraries define has the same value (pyzmq is the reference;
    it bundles a newer libzmq, so draft-only values may differ)."""
    pyzmq = pytest.importorskip("zmq")
    allowed_differences = {"RECONNECT_STOP_AFTER_DISCONNECT"}  # draft; 4.3.4 says 3
    mismatched = []
    for name in dir(pyzmq.constants):
        value = getattr(pyzmq.constants, name)
        if name.isupper() and isinstance(value, int) and hasattr(zmq, name):
            if int(getattr(zmq, name)) != int(value) and name not in allowed_differences:
                mismatched.append((name, int(getattr(zmq, name)), int(value)))
    assert mismatched == []


@pytest.mark.skipif(
    sys.platform == "win32",
    reason="Windows: Python's errno module uses Winsock "
    "numbers for socket errors, libzmq the C runtime's (as pyzmq)",
)
def test_errno_values_are_platform_values():
    """On POSIX libzmq's errnos are the system's, so they match OSError.errno."""
    for name in (
        "EAGAIN",
        "EINVAL",
        "EINTR",
        "ENOTSOCK",
        "EADDRINUSE",
        "EPROTONOSUPPORT",
        "ENOTSUP",
        "EHOSTUNREACH",
    ):
        assert getattr(zmq, name) == getattr(errno, name)
    assert zmq.ETERM == zmq.HAUSNUMERO + 53
    assert zmq.EFSM == zmq.HAUSNUMERO + 51


# --- exception classes ---------------------------------------------------------------------


def test_exception_hierarchy():
    assert issubclass(zmq.ZMQError, zmq.ZMQBaseError)
    assert issubclass(zmq.ZMQBaseError, Exception)
    assert issubclass(zmq.Again, zmq.ZMQError)
    assert issubclass(zmq.ContextTerminated, zmq.ZMQError)
    assert issubclass(zmq.ZMQBindError, zmq.ZMQBaseError)
    assert issubclass(zmq.NotDone, zmq.ZMQBaseError)
    assert issubclass(zmq.InterruptedSystemCall, InterruptedError)
    assert zmq.error.ZMQError is zmq.ZMQError


def test_zmqerror_errno_and_strerror():
    e = zmq.ZMQError(zmq.EINVAL)
    assert e.errno == zmq.EINVAL
    assert e.strerror == zmq.strerror(zmq.EINVAL) == "Invalid argument"
    assert str(e) == "Invalid argument"
    assert "Invalid argument" in repr(e)
    custom = zmq.ZMQError(zmq.EINVAL, "custom message")
    assert custom.errno == zmq.EINVAL and str(custom) == "custom message"


def test_zmqerror_libzmq_specific_errnos():
    assert zmq.ZMQError(zmq.ETERM).strerror == "Context was terminated"
    assert zmq.ZMQError(zmq.EFSM).strerror.startswith("Operation cannot be accomplished")
    assert zmq.strerror(zmq.ENOTSOCK) == "Socket operation on non-socket"


def test_zmqerror_without_errno_uses_zmq_errno(ctx):
    s = ctx.socket(zmq.PULL)
    with pytest.raises(zmq.Again):
        s.recv(zmq.NOBLOCK)
    assert zmq.zmq_errno() == zmq.EAGAIN
    assert zmq.ZMQError().errno == zmq.EAGAIN


def test_again_and_context_terminated_default_errno():
    """``raise zmq.Again()`` / ``zmq.ContextTerminated()`` carry their errno (as
    pyzmq), whatever libzmq's last error was."""
    assert zmq.Again().errno == zmq.EAGAIN
    assert str(zmq.Again()) == "Resource temporarily unavailable"
    assert zmq.ContextTerminated().errno == zmq.ETERM
    assert str(zmq.ContextTerminated()) == "Context was terminated"


def test_each_dontwait_miss_raises_a_new_again(ctx):
    s = ctx.socket(zmq.PULL)
    s.bind("inproc://each-miss")
    caught = []
    for _ in range(2):
        with pytest.raises(zmq.Again) as info:
            s.recv(zmq.DONTWAIT)
        caught.append(info.value)
    first, second = caught
    assert first is not second  # never a shared instance (its traceback would grow)
    for e in caught:
        assert type(e) is zmq.Again and isinstance(e, zmq.ZMQError)
        assert e.errno == zmq.EAGAIN and e.args == (zmq.EAGAIN, e.strerror)
        assert e.strerror == zmq.strerror(zmq.EAGAIN) == str(e)


def test_errors_pickle():
    e = pickle.loads(pickle.dumps(zmq.ZMQError(zmq.EINVAL, "msg")))
    assert isinstance(e, zmq.ZMQError) and e.errno == zmq.EINVAL
    a = pickle.loads(pickle.dumps(zmq.Again(zmq.EAGAIN)))
    assert isinstance(a, zmq.Again)


def test_catch_again_as_zmqerror(ctx):
    s = ctx.socket(zmq.PULL)
    try:
        s.recv(zmq.NOBLOCK)
    except zmq.ZMQError as e:  # the usual pyzmq idiom
        assert e.errno == zmq.EAGAIN
    else:  # pragma: no cover
        pytest.fail("no exception")


# --- bad argument types -> TypeError ---------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["text", 5, 1.5, None, object(), [b"a"]],
    ids=["str", "int", "float", "None", "object", "list"],
)
def test_send_wrong_type(pair, value):
    a, b = pair
    with pytest.raises(TypeError):
        a.send(value)
    with pytest.raises(TypeError):
        a.send(value, copy=False)
    a.send(b"still works")
    assert b.recv() == b"still works"


def test_send_str_message_mentions_send_string(pair):
    a, _ = pair
    with pytest.raises(TypeError) as info:
        a.send("text")
    assert "send_string" in str(info.value)


def test_send_non_contiguous_buffer(pair):
    np = pytest.importorskip("numpy")
    a, b = pair
    strided = np.arange(20)[::2]
    with pytest.raises((ValueError, TypeError)):
        a.send(strided)
    a.send(b"ok")
    assert b.recv() == b"ok"


def test_recv_flags_must_be_int(pair):
    _, b = pair
    with pytest.raises(TypeError):
        b.recv("NOBLOCK")


def test_bytes_option_with_int(pair):
    a, _ = pair
    with pytest.raises(TypeError):
        a.setsockopt(zmq.ROUTING_ID, 42)
    with pytest.raises(TypeError):
        a.setsockopt(zmq.SUBSCRIBE, 0)


def test_int_option_with_bytes(pair):
    a, _ = pair
    with pytest.raises(TypeError):
        a.setsockopt(zmq.LINGER, b"0")
    with pytest.raises(TypeError):
        a.setsockopt(zmq.AFFINITY, b"1")
    with pytest.raises(TypeError):
        a.linger = "0"


def test_option_number_must_be_int(pair):
    a, _ = pair
    with pytest.raises(TypeError):
        a.setsockopt("LINGER", 0)
    with pytest.raises(TypeError):
        a.getsockopt(None)


def test_endpoint_wrong_type(ctx):
    s = ctx.socket(zmq.PUSH)
    for bad in (5, None, 1.5):
        with pytest.raises(TypeError):
            s.bind(bad)
        with pytest.raises(TypeError):
            s.connect(bad)


def test_endpoint_with_nul(ctx):
    s = ctx.socket(zmq.PUSH)
    with pytest.raises(ValueError):
        s.bind("inproc://a\0b")


# --- bad endpoints -> ZMQError with the address ---------------------------------------------------


@pytest.mark.parametrize(
    "url,err",
    [
        ("tcp://", zmq.EINVAL),
        ("garbage", zmq.EINVAL),
        ("ipc://", zmq.EINVAL),
        ("inproc://", zmq.EINVAL),
        ("tcp://127.0.0.1:notaport", zmq.EINVAL),
        ("foo://bar", zmq.EPROTONOSUPPORT),
        ("udp://127.0.0.1:5555", zmq.ENOCOMPATPROTO),
    ],
)
@pytest.mark.parametrize("method", ["bind", "connect"])
def test_malformed_endpoint(ctx, url, err, method):
    s = ctx.socket(zmq.PUSH)
    with pytest.raises(zmq.ZMQError) as info:
        getattr(s, method)(url)
    assert info.value.errno == err
    assert url in str(info.value)  # readable: says which address
    assert info.value.strerror.startswith(zmq.strerror(err))


@pytest.mark.parametrize(
    "url",
    [
        "pgm://eth0;239.192.1.1:5555",
        "norm://x",
        "tipc://{1,2}",
        "vmci://1:2",
        "ws://127.0.0.1:5555",
    ],
)
def test_unsupported_transport_eprotonosupport(ctx, url):
    s = ctx.socket(zmq.PUB)
    with pytest.raises(zmq.ZMQError) as info:
        s.connect(url)
    assert info.value.errno == zmq.EPROTONOSUPPORT
    assert url in str(info.value)


def test_bind_unresolvable_interface(ctx):
    s = ctx.socket(zmq.PULL)
    with pytest.raises(zmq.ZMQError) as info:
        s.bind("tcp://no-such-interface-xyz:5555")
    assert "no-such-interface-xyz" in str(info.value)


def test_ipc_path_too_long(ctx):
    s = ctx.socket(zmq.PULL)
    url = "ipc:///tmp/" + "x" * 200
    with pytest.raises(zmq.ZMQError) as info:
        s.bind(url)
    assert info.value.errno == zmq.ENAMETOOLONG
    assert url in str(info.value)


def test_ipc_bind_in_missing_directory(ctx):
    s = ctx.socket(zmq.PULL)
    url = "ipc:///nonexistent-dir-zq/sock"
    with pytest.raises(zmq.ZMQError) as info:
        s.bind(url)
    assert info.value.errno == zmq.ENOENT
    assert url in str(info.value)


def test_unknown_socket_option(pair):
    a, _ = pair
    with pytest.raises(zmq.ZMQError) as info:
        a.setsockopt(12345, 1)
    assert info.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as info:
        a.getsockopt(12345)
    assert info.value.errno == zmq.EINVAL


# --- closed sockets -> ENOTSOCK -------------------------------------------------------------------

CLOSED_CALLS = {
    "send": lambda s: s.send(b"x"),
    "send_nocopy": lambda s: s.send(b"x" * 100_000, copy=False),
    "send_frame": lambda s: s.send(zmq.Frame(b"x")),
    "recv": lambda s: s.recv(),
    "recv_frame": lambda s: s.recv(copy=False),
    "send_multipart": lambda s: s.send_multipart([b"a", b"b"]),
    "recv_multipart": lambda s: s.recv_multipart(),
    "send_string": lambda s: s.send_string("x"),
    "recv_string": lambda s: s.recv_string(),
    "send_json": lambda s: s.send_json({}),
    "recv_json": lambda s: s.recv_json(),
    "send_pyobj": lambda s: s.send_pyobj(1),
    "recv_pyobj": lambda s: s.recv_pyobj(),
    "recv_into": lambda s: s.recv_into(bytearray(4)),
    "bind": lambda s: s.bind("inproc://closed"),
    "connect": lambda s: s.connect("inproc://closed"),
    "unbind": lambda s: s.unbind("inproc://closed"),
    "disconnect": lambda s: s.disconnect("inproc://closed"),
    "bind_to_random_port": lambda s: s.bind_to_random_port("tcp://127.0.0.1"),
    "setsockopt": lambda s: s.setsockopt(zmq.LINGER, 0),
    "getsockopt": lambda s: s.getsockopt(zmq.LINGER),
    "attr_get": lambda s: s.linger,
    "attr_set": lambda s: setattr(s, "linger", 0),
    "setsockopt_string": lambda s: s.setsockopt_string(zmq.ROUTING_ID, "x"),
    "hwm": lambda s: s.hwm,
    "subscribe": lambda s: s.subscribe(b""),
    "poll": lambda s: s.poll(0),
    "Poller": lambda s: (lambda p: (p.register(s, zmq.POLLIN), p.poll(0)))(zmq.Poller()),
    "select": lambda s: zmq.select([s], [], [], 0),
    "monitor": lambda s: s.monitor("inproc://closed-mon"),
    "get_monitor_socket": lambda s: s.get_monitor_socket(),
    "fileno": lambda s: s.fileno(),
    "last_endpoint": lambda s: s.last_endpoint,
}


@pytest.mark.parametrize("call", sorted(CLOSED_CALLS))
def test_closed_socket_raises_enotsock(ctx, call):
    s = ctx.socket(zmq.SUB)
    s.close()
    with pytest.raises(zmq.ZMQError) as info:
        CLOSED_CALLS[call](s)
    assert info.value.errno == zmq.ENOTSOCK


def test_closed_socket_close_and_properties_fine(ctx):
    s = ctx.socket(zmq.PUSH)
    s.close()
    s.close()
    s.close(linger=0)
    assert s.closed
    assert s.socket_type == zmq.PUSH
    assert "closed" in repr(s)
    with s:  # entering/exiting a closed socket's context manager is harmless
        pass


# --- terminated context -> ETERM --------------------------------------------------------------------


def test_terminated_context_calls():
    c = zmq.Context()
    c.term()
    for call in (
        lambda: c.socket(zmq.PUSH),
        lambda: c.get(zmq.IO_THREADS),
        lambda: c.set(zmq.IO_THREADS, 1),
    ):
        with pytest.raises(zmq.ContextTerminated) as info:
            call()
        assert info.value.errno == zmq.ETERM


def test_socket_ops_after_context_shutdown_by_term_in_thread(inproc_endpoint):
    """Operations on an open socket whose context is being terminated fail with
    ETERM (never hang, never crash)."""
    import threading

    c = zmq.Context()
    s = c.socket(zmq.PULL)
    s.bind(inproc_endpoint)
    t = threading.Thread(target=c.term)
    t.start()
    with pytest.raises(zmq.ContextTerminated):
        s.recv()  # woken by term
    for call in (
        lambda: s.send(b"x"),
        lambda: s.recv(zmq.NOBLOCK),
        lambda: s.connect("inproc://x"),
        lambda: s.setsockopt(zmq.LINGER, 0),
    ):
        with pytest.raises(zmq.ZMQError) as info:
            call()
        assert info.value.errno in (zmq.ETERM, zmq.ENOTSUP)
    s.close(linger=0)
    t.join()
    assert c.closed


def test_non_socket_poll_item_type_error():
    with pytest.raises(TypeError):
        zmq.zmq_poll([("nope", zmq.POLLIN)], 0)


def test_frame_bad_data():
    for bad in ("text", 5, object()):
        with pytest.raises(TypeError):
            zmq.Frame(bad)


def test_guard_helper(pair):
    a, b = pair
    guard(a, b, ms=5)
    with pytest.raises(zmq.Again):
        b.recv()
