"""Smaller pyzmq compatibility points: shadows and copies, dir(), Frame[...], versions,
endpoint context reprs, the unclosed-Context warning, Poller results for raw fds, and
``import zmqipc`` without numpy."""

import asyncio
import copy
import os
import warnings

import pytest

import zmqipc as zmq
import zmqipc.asyncio as zaio
from conftest import connected_pair, guard, run_python

pytestmark = pytest.mark.timeout(60)


# --- shadows and copies ----------------------------------------------------------------


def test_socket_shadow_round_trip(ctx, ipc_endpoint):
    a, b = connected_pair(ctx, ipc_endpoint)
    for shadow in (
        zmq.Socket.shadow(a.underlying),
        zmq.Socket.shadow(a),
        copy.copy(a),
        copy.deepcopy(a),
    ):
        assert shadow is not a and shadow.underlying == a.underlying
        assert shadow.context is a.context and shadow.socket_type == a.socket_type
        shadow.send(b"via shadow")
        assert b.recv() == b"via shadow"
        assert zmq.Socket.shadow(shadow.underlying).underlying == a.underlying
        del shadow  # a shadow going away leaves the socket open
    assert not a.closed
    shadow = zmq.Socket.shadow(a.underlying)
    shadow.close()  # closing a shadow closes the socket (as pyzmq)
    assert a.closed and shadow.closed
    with pytest.raises(zmq.ZMQError):
        shadow.send(b"x")


def test_owner_close_closes_its_shadows(ctx, ipc_endpoint):
    a, b = connected_pair(ctx, ipc_endpoint)
    shadow = copy.copy(a)
    a.close()
    assert shadow.closed
    with pytest.raises(zmq.ZMQError):
        shadow.send(b"x")
    with pytest.raises(ValueError):  # the address is no longer a live zmqipc socket
        zmq.Socket.shadow(a.underlying)


def test_context_shadow_round_trip():
    ctx = zmq.Context()
    shadow = zmq.Context.shadow(ctx.underlying)
    assert shadow.underlying == ctx.underlying and copy.copy(ctx).underlying == ctx.underlying
    sock = shadow.socket(zmq.PUSH)  # a socket of the shadow is one of the Context
    assert sock in ctx.open_sockets
    sock.close()
    del shadow  # does not terminate
    assert not ctx.closed
    shadow = zmq.Context.shadow(ctx)
    shadow.term()  # terminates the Context it stands for
    assert ctx.closed and shadow.closed


def test_shadows_refuse_foreign_addresses():
    """A shadow drives only libzmq objects zmqipc created: pyzmq's addresses (its own
    libzmq), stale or made-up ones raise ValueError instead of crashing."""
    pz = pytest.importorskip("zmq")
    pz_ctx = pz.Context()
    pz_sock = pz_ctx.socket(pz.PUSH)
    try:
        with pytest.raises(ValueError, match="pyzmq"):
            zmq.Socket.shadow(pz_sock.underlying)
        with pytest.raises(ValueError):
            zmq.Context.shadow(pz_ctx.underlying)
        with pytest.raises(ValueError):
            zmq.Socket.shadow(pz_sock)
    finally:
        pz_sock.close()
        pz_ctx.term()
    for bad in (0x1234, "text", None):
        with pytest.raises((ValueError, TypeError)):
            zmq.Socket.shadow(bad)


def test_asyncio_socket_from_a_sync_socket(ctx, ipc_endpoint):
    a, b = connected_pair(ctx, ipc_endpoint)

    async def main():
        for async_b in (zaio.Socket.from_socket(b), zaio.Socket(b), zaio.Socket.shadow(b)):
            assert isinstance(async_b, zaio.Socket) and async_b.underlying == b.underlying
            receiving = async_b.recv()
            a.send(b"to the async shadow")
            assert await asyncio.wait_for(receiving, 10) == b"to the async shadow"
            del async_b, receiving  # stops watching the FD; the socket stays open
        assert not b.closed

    asyncio.run(main())
    a.send(b"still works")
    assert b.recv() == b"still works"


# --- small API points -------------------------------------------------------------------


def test_dir_lists_option_names(ctx):
    sock = ctx.socket(zmq.PUSH)
    names = dir(sock)
    assert {"LINGER", "SNDHWM", "ROUTING_ID", "send", "close"} <= set(names)
    assert sock.LINGER == sock.linger


def test_frame_properties_by_subscript(ctx, ipc_endpoint):
    a, b = connected_pair(ctx, ipc_endpoint)
    a.send(b"x")
    frame = b.recv(copy=False)
    assert frame["Socket-Type"] == "PAIR" == frame.get("Socket-Type")
    assert frame[b"Socket-Type"] == "PAIR"
    with pytest.raises(TypeError):
        frame[0]
    with pytest.raises(zmq.ZMQError):
        frame["No-Such-Property"]


def test_pyzmq_version_is_zmqipcs():
    assert zmq.pyzmq_version() == zmq.__version__
    assert zmq.pyzmq_version_info() == tuple(int(p) for p in zmq.__version__.split("."))


def test_endpoint_context_repr(ctx):
    sock = ctx.socket(zmq.PUSH)
    assert repr(sock.connect("inproc://a")) == "<SocketContext(connect='inproc://a')>"
    assert repr(sock.bind("inproc://b")) == "<SocketContext(bind='inproc://b')>"


def test_unterminated_context_with_open_sockets_warns():
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    with pytest.warns(ResourceWarning, match="Unclosed context"):
        ctx.__del__()  # what the garbage collector would run
    assert sock.closed and ctx.closed
    quiet = zmq.Context()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet.__del__()  # no open sockets: nothing to say
        zmq.Context.shadow(quiet).__del__()  # nor for a shadow
    quiet.term()


def test_poller_returns_sockets_and_integer_fds(ctx):
    """As pyzmq: a Socket comes back as itself, anything else polled through a file
    descriptor (an int, an object with fileno()) as that integer fd."""
    r, w = os.pipe()
    reader = os.fdopen(r, "rb", buffering=0)
    a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    guard(a, b)
    a.bind("inproc://poll-kinds")
    b.connect("inproc://poll-kinds")
    a.send(b"x")
    try:
        os.write(w, b"!")

        class HasFileno:
            def fileno(self):
                return r

        poller = zmq.Poller()
        for item in (r, reader, HasFileno()):
            poller.register(item, zmq.POLLIN)
            assert poller.poll(0) == [(r, zmq.POLLIN)]
            poller.unregister(item)
        poller.register(b, zmq.POLLIN)
        ready = poller.poll(1000)
        assert ready == [(b, zmq.POLLIN)] and ready[0][0] is b
        assert zmq.select([reader, b], [], [], 0) == ([r, b], [], [])
    finally:
        reader.close()
        os.close(w)


def test_import_does_not_import_numpy():
    code = (
        "import sys, zmqipc, zmqipc.asyncio, zmqipc.auth, zmqipc.devices; "
        "assert 'numpy' not in sys.modules, 'numpy imported'; "
        "zmqipc.arrays; assert 'numpy' in sys.modules"
    )
    result = run_python("-c", code)
    assert result.returncode == 0, result.stderr


def test_context_given_a_context_shadows_it():
    """pyzmq: Context(other) and zmq.asyncio.Context(sync_context) are shadows."""
    base = zmq.Context()
    try:
        for shadow in (zmq.Context(base), zaio.Context(base)):
            assert shadow.underlying == base.underlying
            sock = shadow.socket(zmq.PAIR)
            sock.close()
        assert isinstance(zaio.Context(base).socket(zmq.PAIR), zaio.Socket)
        with pytest.raises(TypeError):
            zmq.Context("two")
    finally:
        base.destroy(linger=0)
