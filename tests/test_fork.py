"""fork(): libzmq state does not survive into a child. Parent objects used in a
forked child raise a clear ZMQError (instead of hanging or corrupting the
parent's sockets); the child makes its own Context (Context.instance() gives a
new one). Child logic runs after os.fork and reports through its exit code."""

import os
import signal
import sys
import traceback

import pytest

import zmqipc as zmq
from conftest import guard, run_python

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
    pytest.mark.timeout(60),
    # forking a process with libzmq I/O threads is exactly what is tested here
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

CHILD_DEADLINE_S = 30  # a hung child kills itself (SIGALRM) instead of leaking


def run_in_child(fn, *args):
    """Run ``fn(*args)`` in a forked child; return its exit code (0 = passed)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 3
        try:
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(CHILD_DEADLINE_S)
            fn(*args)
            code = 0
        except AssertionError:
            traceback.print_exc()
            code = 1
        except BaseException:
            traceback.print_exc()
            code = 2
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def assert_fork_error(call):
    try:
        call()
    except zmq.ZMQError as e:
        assert e.errno == zmq.ENOTSUP, e.errno
        assert "fork" in str(e), str(e)
        return
    raise AssertionError("no ZMQError from a parent object in the child")


def test_parent_socket_in_child_raises(ctx, ipc_endpoint):
    s = ctx.socket(zmq.PAIR)
    s.bind(ipc_endpoint)

    def child():
        for call in (
            lambda: s.send(b"x"),
            lambda: s.send(b"x", zmq.NOBLOCK),
            lambda: s.recv(),
            lambda: s.recv(zmq.NOBLOCK),
            lambda: s.send_multipart([b"a"]),
            lambda: s.recv_multipart(),
            lambda: s.getsockopt(zmq.LINGER),
            lambda: s.setsockopt(zmq.LINGER, 0),
            lambda: s.connect("inproc://x"),
            lambda: s.bind("inproc://y"),
            lambda: s.poll(0),
            lambda: zmq.select([s], [], [], 0),
            lambda: s.monitor("inproc://m"),
        ):
            assert_fork_error(call)

    assert run_in_child(child) == 0
    assert not s.closed


def test_parent_context_in_child_raises(ctx):
    def child():
        assert_fork_error(lambda: ctx.socket(zmq.PUSH))
        assert_fork_error(lambda: ctx.get(zmq.IO_THREADS))
        assert_fork_error(lambda: ctx.set(zmq.IO_THREADS, 2))

    assert run_in_child(child) == 0


def test_blocking_recv_in_child_does_not_hang(ctx, ipc_endpoint):
    """The point of the check: a blocking recv on a parent socket would hang forever
    in the child (libzmq's I/O threads are gone); it must fail at once instead."""
    s = ctx.socket(zmq.PULL)
    s.bind(ipc_endpoint)

    def child():
        assert_fork_error(s.recv)

    assert run_in_child(child) == 0


def test_instance_in_child_is_new_and_usable():
    parent = zmq.Context.instance()
    try:

        def child():
            c = zmq.Context.instance()
            assert c is not parent
            assert zmq.Context.instance() is c
            a = c.socket(zmq.PAIR)
            b = c.socket(zmq.PAIR)
            a.bind("inproc://child")
            b.connect("inproc://child")
            a.send(b"hello from child")
            assert b.recv() == b"hello from child"
            a.close()
            b.close()
            c.term()

        assert run_in_child(child) == 0
        assert zmq.Context.instance() is parent  # the parent keeps its own
    finally:
        parent.term()


def test_child_talks_to_parent_over_ipc(ctx, ipc_endpoint):
    pull = ctx.socket(zmq.PULL)
    guard(pull)
    pull.bind(ipc_endpoint)

    def child():
        with zmq.Context() as c:
            push = c.socket(zmq.PUSH)
            push.linger = 10_000  # deliver before exiting
            push.connect(ipc_endpoint)
            push.send_multipart([b"from", b"child", str(os.getpid()).encode()])
            push.close()

    assert run_in_child(child) == 0
    frm, who, pid = pull.recv_multipart()
    assert (frm, who) == (b"from", b"child")
    assert int(pid) != os.getpid()


def test_child_cleanup_of_parent_objects_is_harmless(ctx, inproc_endpoint):
    """Closing/terming inherited objects in the child must not hang nor touch the
    parent's libzmq state; the parent's sockets keep working."""
    a = ctx.socket(zmq.PAIR)
    b = ctx.socket(zmq.PAIR)
    guard(a, b)
    a.bind(inproc_endpoint)
    b.connect(inproc_endpoint)

    def child():
        a.close()
        assert a.closed
        b.close(linger=0)
        ctx.term()
        assert ctx.closed
        ctx.destroy(linger=0)
        with zmq.Context() as c:  # and a fresh context still works
            c.socket(zmq.PUSH).close()

    assert run_in_child(child) == 0
    assert not a.closed and not ctx.closed
    a.send(b"parent still fine")
    assert b.recv() == b"parent still fine"


def test_child_exits_cleanly_with_inherited_objects(ctx, ipc_endpoint):
    """Garbage-collecting inherited sockets/contexts in the child (e.g. at
    interpreter exit) does nothing to the parent and does not hang."""
    s = ctx.socket(zmq.PUSH)
    s.bind(ipc_endpoint)

    def child():
        import gc

        local_s, local_ctx = s, ctx
        del local_s, local_ctx
        gc.collect()

    assert run_in_child(child) == 0
    assert s.getsockopt(zmq.TYPE) == zmq.PUSH


CHILD_EXIT_SCRIPT = r"""
import os, sys
import zmqipc as zmq
ctx = zmq.Context.instance()
s = ctx.socket(zmq.PUSH)
s.connect(sys.argv[1])
s.send(b"queued", zmq.NOBLOCK)   # pending message, LINGER=-1: term would wait
pid = os.fork()
if pid == 0:
    # the child just ends: normal interpreter shutdown with the parent's objects
    # alive (GC, atexit, Context.__del__) must neither hang nor raise
    sys.exit(0)
_, status = os.waitpid(pid, 0)
s.close(linger=0)
ctx.term()
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_child_interpreter_shutdown_does_not_hang(ipc_endpoint):
    result = run_python("-c", CHILD_EXIT_SCRIPT, ipc_endpoint, timeout=CHILD_DEADLINE_S)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


def test_frame_data_readable_in_child(pair):
    a, b = pair
    a.send(b"payload")
    frame = b.recv(copy=False)

    def child():
        # plain memory, no libzmq call: still readable
        assert frame.bytes == b"payload"
        assert bytes(memoryview(frame)) == b"payload"

    assert run_in_child(child) == 0


def _release_one_zero_copy_buffer():
    """In this process: a fresh Context, one zero-copy inproc message received and
    dropped, so libzmq releases its buffer (and wakes armed watchers)."""
    c = zmq.Context()
    try:
        a, b = c.socket(zmq.PAIR), c.socket(zmq.PAIR)
        a.bind("inproc://release-in-child")
        b.connect("inproc://release-in-child")
        a.send(bytearray(65536), copy=False)
        b.recv(copy=False)
        zmq._zmq.release_pending()  # drain: the release has run
        a.close(linger=0)
        b.close(linger=0)
    finally:
        c.term()


def test_child_release_never_writes_to_inherited_descriptors(tmp_path):
    """The parent's armed release watcher must not be woken by the child's releases:
    its descriptors are the parent's, and a child that closed them (daemonising) may
    have reused the numbers for its own files, which a release then overwrote."""
    from zmqipc import _zmq

    watcher = _zmq.release_watcher()
    watcher.arm()  # as an asyncio loop keeps its watcher armed
    try:

        def child():
            os.closerange(3, 1024)
            fds = [
                os.open(str(tmp_path / ("f%d" % i)), os.O_RDWR | os.O_CREAT, 0o600)
                for i in range(64)
            ]
            _release_one_zero_copy_buffer()
            written = [i for i, fd in enumerate(fds) if os.fstat(fd).st_size]
            assert written == [], "a release wrote into the child's files %s" % written

        assert run_in_child(child) == 0
    finally:
        watcher.close()


def test_child_gets_its_own_release_watchers():
    """A watcher pooled in the parent shares its socket pair with the parent: in the
    child each side would drain the other's wake-ups. The child makes new ones."""
    from zmqipc import _zmq

    parent_watcher = _zmq.release_watcher()
    parent_fd = parent_watcher.fileno()
    parent_watcher.close()  # back in the parent's pool

    def child():
        import select

        watcher = _zmq.release_watcher()
        assert watcher.fileno() != parent_fd
        watcher.arm()
        _release_one_zero_copy_buffer()
        assert select.select([watcher], [], [], 10)[0] == [watcher]  # woken
        watcher.close()

    assert run_in_child(child) == 0


def test_run_in_child_reports_failures():
    def failing():
        assert False, "expected failure"

    assert run_in_child(failing) == 1
