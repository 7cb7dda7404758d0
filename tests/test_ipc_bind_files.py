"""What an ipc bind may do to the file system (patches 0014-0018).

libzmq 4.3.4 unlinked whatever was at the path before binding (a user's file
included), silently took over an endpoint another socket was still serving,
and left every named socket file behind at close.
"""

import os
import shutil
import socket
import stat
import subprocess
import sys
import sysconfig

import pytest

import zmqipc as zmq
from conftest import guard, run_python
from zmqipc.utils.monitor import recv_monitor_message

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "AF_UNIX"), reason="the tests make AF_UNIX sockets with the socket module"
)


def run_child(script, *args, **kwargs):
    """Run a Python child on the installed zmqipc; its output goes into the failure."""
    child = run_python("-c", script, *args, **kwargs)
    assert child.returncode == 0, child.stdout + child.stderr


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


def test_unbind_and_bind_again_leaves_the_newcomer_its_file(ctx, ipc_endpoint):
    # The old listener's close checks and removes its file while a new socket
    # replaces it; in this process the two never interleave (0017's lock).
    # Before: in 20,000 rounds on ext4, 225 closes failed (the file vanished
    # between their check and their unlink) and 28 removed the newcomer's file.
    path = path_of(ipc_endpoint)
    server = ctx.socket(zmq.PULL)
    server.bind(ipc_endpoint)
    for _ in range(3000):
        monitor = server.get_monitor_socket(zmq.EVENT_CLOSED | zmq.EVENT_CLOSE_FAILED)
        guard(monitor)
        server.unbind(ipc_endpoint)
        newcomer = ctx.socket(zmq.PULL)
        newcomer.bind(ipc_endpoint)
        assert recv_monitor_message(monitor)["event"] == zmq.EVENT_CLOSED
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
        server.disable_monitor()
        monitor.close()
        server.close()
        server = newcomer
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


# --- the registry of bound files while an old listener closes (0016-0018) ------
#
# A bound file is known by its device and inode number, and a file system may
# give a freed inode number to the next new file at once (ext4 does; tmpfs
# counts up). The identity check of a closing listener and the registry of
# released files are only exact while the listener's socket is open (it keeps
# its inode allocated). These tests hold libzmq's I/O thread right after it
# closed an old listener's socket (tests/ipc_close_gate.c, an LD_PRELOAD shim)
# and bind the path again at that point. Before the fix the old listener did
# its file work after that close: then (on ext4) it unlinked the newcomer's
# file, which had the old inode number, and a third bind replaced the
# newcomer's live file, taking it for the released one.

GATE_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ipc_close_gate.c")


def c_compiler():
    """The C compiler command (CC may carry a wrapper or flags), or None."""
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()
    return cc if shutil.which(cc[0]) else None


@pytest.fixture(scope="module")
def close_gate(tmp_path_factory):
    """The shim built as a shared object."""
    cc = c_compiler()
    if not sys.platform.startswith("linux") or cc is None:
        pytest.skip("needs Linux (LD_PRELOAD) and a C compiler to build the close() gate shim")
    shim = str(tmp_path_factory.mktemp("gate") / "ipc_close_gate.so")
    subprocess.run([*cc, "-shared", "-fPIC", "-O1", "-o", shim, GATE_SOURCE, "-ldl"], check=True)
    return shim


GATED_REBIND = r"""
import os, select, sys
import zmqipc as zmq
from zmqipc.utils.monitor import recv_monitor_message

endpoint, let_go, then = sys.argv[1:4]
path = endpoint[len("ipc://"):]
reached_r, reached_w = os.pipe()
open_r, open_w = os.pipe()
os.environ.update(ZMQIPC_GATE_PATH=path, ZMQIPC_GATE_REACHED_FD=str(reached_w),
                  ZMQIPC_GATE_OPEN_FD=str(open_r))

def guarded(s):
    s.linger, s.rcvtimeo, s.sndtimeo = 0, 10000, 10000
    return s

ctx = zmq.Context()
old = guarded(ctx.socket(zmq.PULL))
monitor = guarded(old.get_monitor_socket(zmq.EVENT_CLOSED))
old.bind(endpoint)
old_inode = os.lstat(path).st_ino
old.unbind(endpoint) if let_go == "unbind" else old.close()
# Wait until the I/O thread has closed the old listener's socket (it is held there).
if not select.select([reached_r], [], [], 60)[0]:
    sys.exit("the gate shim never saw the old listener's socket closed")
os.read(reached_r, 1)
newcomer = guarded(ctx.socket(zmq.PULL))
newcomer.bind(endpoint)
print("inode reused:", os.lstat(path).st_ino == old_inode)
if then == "third bind":
    intruder = ctx.socket(zmq.PULL)
    try:
        intruder.bind(endpoint)
        sys.exit("a third bind took the newcomer's live endpoint over")
    except zmq.ZMQError as e:
        assert e.errno == zmq.EADDRINUSE, e
    intruder.close(linger=0)
os.write(open_w, b"x")  # let the old listener finish closing
assert recv_monitor_message(monitor)["event"] == zmq.EVENT_CLOSED
if not os.path.lexists(path):
    sys.exit("the old listener's close removed the newcomer's socket file")
client = guarded(ctx.socket(zmq.PUSH))
client.connect(endpoint)
client.send(b"still here")
assert newcomer.recv() == b"still here"
"""


@pytest.mark.parametrize("let_go", ["unbind", "close"])
@pytest.mark.parametrize("then", ["old listener closes", "third bind"])
def test_rebind_while_the_old_listener_closes(close_gate, ipc_endpoint, let_go, then):
    env = dict(os.environ)
    env["LD_PRELOAD"] = (env.get("LD_PRELOAD", "") + " " + close_gate).strip()
    run_child(GATED_REBIND, ipc_endpoint, let_go, then, env=env)


GATED_FORK = r"""
import os, select, signal, sys
import zmqipc as zmq

endpoint, elsewhere = sys.argv[1:3]
reached_r, reached_w = os.pipe()
open_r, open_w = os.pipe()
os.environ.update(ZMQIPC_GATE_PATH=endpoint[len("ipc://"):], ZMQIPC_GATE_CALL="unlink",
                  ZMQIPC_GATE_REACHED_FD=str(reached_w), ZMQIPC_GATE_OPEN_FD=str(open_r))
ctx = zmq.Context()
s = ctx.socket(zmq.PULL)
s.bind(endpoint)
s.unbind(endpoint)
# The I/O thread is now inside the old listener's close, holding the lock of
# the bound-file registry (it removes the file under it).
if not select.select([reached_r], [], [], 60)[0]:
    sys.exit("the gate shim never saw the old listener's file removed")
bound_r, bound_w = os.pipe()
pid = os.fork()
if pid == 0:
    try:
        child_ctx = zmq.Context()
        t = child_ctx.socket(zmq.PULL)
        t.bind(elsewhere)
        t.close(linger=0)
        child_ctx.term()
        os.write(bound_w, b"x")
    finally:
        os._exit(0)
bound = select.select([bound_r], [], [], 60)[0]  # a hang guard: the bind returns at once
if not bound:
    os.kill(pid, signal.SIGKILL)
os.waitpid(pid, 0)
os.write(open_w, b"x")
s.close(linger=0)
ctx.term()
if not bound:
    sys.exit("the forked child's ipc bind hung on the registry's lock")
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_binds_while_the_parent_holds_the_registry(
    close_gate, ipc_endpoint, make_ipc_endpoint
):
    # (0019) fork() copied the registry's lock as the parent's I/O thread held it.
    env = dict(os.environ)
    env["LD_PRELOAD"] = (env.get("LD_PRELOAD", "") + " " + close_gate).strip()
    run_child(GATED_FORK, ipc_endpoint, make_ipc_endpoint(), env=env)
