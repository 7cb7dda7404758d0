"""What an ipc bind may do to the file system (patches 0014, 0015, 0016).

libzmq 4.3.4 unlinked whatever was at the path before binding (a user's file
included), silently took over an endpoint another socket was still serving,
and left every named socket file behind at close.
"""

import os
import socket
import stat
import sys

import pytest

import zmqipc as zmq
from conftest import guard, run_python
from zmqipc.utils.monitor import recv_monitor_message

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "AF_UNIX"), reason="the tests make AF_UNIX sockets with the socket module"
)


def run_child(script, *args):
    """Run a Python child on the installed zmqipc; its errors go into the failure."""
    child = run_python("-c", script, *args)
    assert child.returncode == 0, child.stderr


def path_of(endpoint):
    return endpoint[len("ipc://") :]


def bind_fails_in_use(ctx, endpoint):
    s = ctx.socket(zmq.PULL)
    try:
        with pytest.raises(zmq.ZMQError) as info:
            s.bind(endpoint)
    finally:
        s.close(linger=0)
    return info.value.errno == zmq.EADDRINUSE


def round_trip(ctx, endpoint, server):
    """A message sent to ``endpoint`` arrives at ``server``."""
    client = ctx.socket(zmq.PUSH)
    guard(client, server)
    client.connect(endpoint)
    client.send(b"still here")
    assert server.recv() == b"still here"
    client.close(linger=0)


# --- 0014: only a socket file may be replaced ---------------------------------


def test_bind_keeps_a_regular_file_with_content(ctx, ipc_endpoint):
    path = path_of(ipc_endpoint)
    with open(path, "wb") as f:
        f.write(b"user data")
    assert bind_fails_in_use(ctx, ipc_endpoint)
    with open(path, "rb") as f:
        assert f.read() == b"user data"


def test_bind_keeps_an_empty_file(ctx, ipc_endpoint):
    path = path_of(ipc_endpoint)
    open(path, "wb").close()
    assert bind_fails_in_use(ctx, ipc_endpoint)
    assert stat.S_ISREG(os.lstat(path).st_mode)


def test_bind_keeps_an_empty_directory(ctx, ipc_endpoint):
    path = path_of(ipc_endpoint)
    os.mkdir(path)
    assert bind_fails_in_use(ctx, ipc_endpoint)
    assert os.path.isdir(path)


def test_bind_keeps_a_symlink_and_its_target(ctx, ipc_endpoint, ipc_dir):
    path = path_of(ipc_endpoint)
    target = os.path.join(ipc_dir, "target")
    with open(target, "wb") as f:
        f.write(b"target data")
    os.symlink(target, path)
    assert bind_fails_in_use(ctx, ipc_endpoint)
    assert os.readlink(path) == target
    with open(target, "rb") as f:
        assert f.read() == b"target data"


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="abstract ipc addresses are Linux-only"
)
def test_abstract_bind_leaves_a_same_named_file_alone(ctx, ipc_dir, monkeypatch):
    # "ipc://@name" names no file; 4.3.4 unlinked "@name" in the working directory.
    monkeypatch.chdir(ipc_dir)
    name = "@zmqipc-abstract-%d" % os.getpid()
    with open(name, "wb") as f:
        f.write(b"user data")
    s = ctx.socket(zmq.PULL)
    s.bind("ipc://" + name)
    round_trip(ctx, "ipc://" + name, s)
    s.close()
    ctx.term()
    with open(name, "rb") as f:
        assert f.read() == b"user data"


# --- 0015: a live endpoint is not taken over; a stale one is replaced ----------


def test_second_bind_does_not_steal_a_live_endpoint(ctx, ipc_endpoint):
    first = ctx.socket(zmq.PULL)
    first.bind(ipc_endpoint)
    assert bind_fails_in_use(ctx, ipc_endpoint)
    round_trip(ctx, ipc_endpoint, first)


def test_bind_in_another_context_does_not_steal(ctx, ipc_endpoint):
    first = ctx.socket(zmq.PULL)
    first.bind(ipc_endpoint)
    other = zmq.Context()
    try:
        assert bind_fails_in_use(other, ipc_endpoint)
    finally:
        other.term()
    round_trip(ctx, ipc_endpoint, first)


def test_bind_does_not_steal_from_a_non_zmq_listener(ctx, ipc_endpoint):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path_of(ipc_endpoint))
    listener.listen(1)
    try:
        assert bind_fails_in_use(ctx, ipc_endpoint)
        assert stat.S_ISSOCK(os.lstat(path_of(ipc_endpoint)).st_mode)
    finally:
        listener.close()


def test_bind_replaces_a_stale_socket_file(ctx, ipc_endpoint):
    # A socket file nobody accepts on, as a crashed binder leaves it.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path_of(ipc_endpoint))
    stale.close()
    assert stat.S_ISSOCK(os.lstat(path_of(ipc_endpoint)).st_mode)
    server = ctx.socket(zmq.PULL)
    server.bind(ipc_endpoint)
    round_trip(ctx, ipc_endpoint, server)


def test_rebind_right_after_close_takes_the_path(ctx, ipc_endpoint):
    # (0017) zmq_close returns before an I/O thread closes the listener; the
    # closed socket must not count as a live binder.
    for _ in range(20):
        s = ctx.socket(zmq.PULL)
        s.bind(ipc_endpoint)
        s.close()
    server = ctx.socket(zmq.PULL)
    server.bind(ipc_endpoint)
    round_trip(ctx, ipc_endpoint, server)


def test_rebind_right_after_unbind_takes_the_path(ctx, ipc_endpoint):
    # (0018) zmq_unbind returns before an I/O thread closes the listener; the
    # unbound endpoint must not count as a live binder, on the same socket or
    # on another one. (Before 0018: 300-700 EADDRINUSE in 2000 rounds.)
    s = ctx.socket(zmq.PULL)
    for _ in range(200):
        s.bind(ipc_endpoint)
        s.unbind(ipc_endpoint)
    s.bind(ipc_endpoint)
    round_trip(ctx, ipc_endpoint, s)
    for _ in range(50):
        s.unbind(ipc_endpoint)
        other = ctx.socket(zmq.PULL)
        other.bind(ipc_endpoint)
        s.close()
        s = other
    round_trip(ctx, ipc_endpoint, s)


def test_unbind_of_another_path_keeps_the_endpoint_live(ctx, ipc_endpoint, ipc_dir):
    # Only the file the unbinding socket bound is released.
    server = ctx.socket(zmq.PULL)
    server.bind(ipc_endpoint)
    elsewhere = "ipc://" + os.path.join(ipc_dir, "elsewhere")
    server.bind(elsewhere)
    server.unbind(elsewhere)
    intruder = ctx.socket(zmq.PULL)
    with pytest.raises(zmq.ZMQError) as e:
        intruder.bind(ipc_endpoint)
    assert e.value.errno == zmq.EADDRINUSE
    intruder.close()
    round_trip(ctx, ipc_endpoint, server)


CRASHED_BINDER = r"""
import os, sys
import zmqipc as zmq
s = zmq.Context().socket(zmq.PULL)
s.bind(sys.argv[1])
os._exit(0)  # no close, no term: the socket file stays behind
"""


def test_bind_replaces_the_file_of_a_binder_that_died(ctx, ipc_endpoint):
    run_child(CRASHED_BINDER, ipc_endpoint)
    assert stat.S_ISSOCK(os.lstat(path_of(ipc_endpoint)).st_mode)
    server = ctx.socket(zmq.PULL)
    server.bind(ipc_endpoint)
    round_trip(ctx, ipc_endpoint, server)


# --- 0016: a socket file is removed on unbind/close while it is still ours -----


def test_close_removes_the_socket_file(ctx, ipc_endpoint):
    s = ctx.socket(zmq.PULL)
    s.bind(ipc_endpoint)
    assert os.path.exists(path_of(ipc_endpoint))
    s.close()
    ctx.term()
    assert not os.path.lexists(path_of(ipc_endpoint))


def test_unbind_removes_the_socket_file(ctx, ipc_endpoint):
    s = ctx.socket(zmq.PULL)
    monitor = s.get_monitor_socket(zmq.EVENT_CLOSED)
    guard(monitor)
    s.bind(ipc_endpoint)
    s.unbind(ipc_endpoint)
    # The I/O thread closes the listener (and removes the file) before it
    # reports EVENT_CLOSED; the socket itself stays open.
    assert recv_monitor_message(monitor)["event"] == zmq.EVENT_CLOSED
    assert not os.path.lexists(path_of(ipc_endpoint))


def test_close_leaves_a_socket_file_that_is_no_longer_ours(ctx, ipc_endpoint):
    s = ctx.socket(zmq.PULL)
    s.bind(ipc_endpoint)
    # Someone else removes ours and binds the path (as a second process would).
    os.unlink(path_of(ipc_endpoint))
    newcomer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    newcomer.bind(path_of(ipc_endpoint))
    newcomer.listen(1)
    try:
        s.close()
        ctx.term()
        assert stat.S_ISSOCK(os.lstat(path_of(ipc_endpoint)).st_mode)
    finally:
        newcomer.close()


MANY_BINDS = r"""
import sys
import zmqipc as zmq
ctx = zmq.Context()
for i in range(int(sys.argv[2])):
    s = ctx.socket(zmq.PULL)
    s.bind("ipc://%s/e%d" % (sys.argv[1], i))
    s.close()
ctx.term()
"""


def test_no_socket_files_left_after_close_term_and_exit(ipc_dir):
    before = set(os.listdir(ipc_dir))
    run_child(MANY_BINDS, ipc_dir, "200")
    assert set(os.listdir(ipc_dir)) == before


def test_wildcard_socket_file_and_directory_removed_on_close(ctx):
    """ipc://* still gets a private directory that close removes."""
    s = ctx.socket(zmq.PULL)
    s.bind("ipc://*")
    path = path_of(s.last_endpoint.decode())
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    s.close()
    ctx.term()
    assert not os.path.lexists(path)
    assert not os.path.lexists(os.path.dirname(path))
