"""zmqipc.shm: arrays in shared memory, sent as descriptors (design: docs/shm.md)."""

import asyncio
import copy
import json
import os
import struct
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import zmqipc as zmq
from conftest import CHILD_CWD, GUARD_MS, connected_pair, guard, run_python
from zmqipc import _zmq, shm

posix_only = pytest.mark.skipif(
    sys.platform == "win32", reason="needs POSIX shm names, fork and signals (SIGKILL)"
)
linux_only = pytest.mark.skipif(
    not os.path.isdir("/dev/shm"), reason="inspects /dev/shm, where Linux keeps POSIX shm segments"
)
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def address(array):
    return array.__array_interface__["data"][0]


def stems_of_pid(pid):
    """Segments in /dev/shm created by process ``pid``."""
    return [
        n
        for n in os.listdir("/dev/shm")
        if shm._STEM.match(n) and shm._owner_key(n) & 0xFFFFFFFF == pid
    ]


def as_if_made_long_ago(pids):
    """Backdate the listings of these processes' segments past HALF_MADE_GRACE_S: a
    process killed while creating one leaves it without a header, and cleanup()
    leaves such young segments alone (see shm.HALF_MADE_GRACE_S)."""
    old = time.time() - shm.HALF_MADE_GRACE_S - 5
    for pid in pids:
        for stem in stems_of_pid(pid):
            try:
                os.utime("/dev/shm/" + stem, (old, old))
            except OSError:
                pass  # removed meanwhile


@pytest.fixture
def ipair(ctx, inproc_endpoint):
    return connected_pair(ctx, inproc_endpoint)


@pytest.fixture(scope="module", autouse=True)
def collect_at_exit():
    """Descriptors these tests leave unclaimed (pyzmq peers, expiry tests) would keep
    their segments for lease_s after this process exits: let exit collect them."""
    yield
    shm.configure(lease_s=0)


@pytest.fixture
def restore_settings():
    saved = shm.configure()
    yield
    shm.configure(**saved)


def child(script, *args):
    """Run a Python child (the installed zmqipc) with its stdout piped."""
    code = "import sys, os, numpy as np, zmqipc as zmq\nfrom zmqipc import shm\n" + textwrap.dedent(
        script
    )
    return subprocess.Popen(
        [sys.executable, "-c", code] + [str(a) for a in args],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
        cwd=CHILD_CWD,
    )


# --- API and wire format -----------------------------------------------------------


def test_empty_zeros_empty_like():
    a = shm.empty((3, 4), dtype="f4")
    assert a.shape == (3, 4) and a.dtype == np.float32 and shm.is_shm(a)
    z = shm.zeros((5,), dtype=[("x", "i4"), ("y", "f8", (2,))])
    assert shm.is_shm(z) and not z.tobytes().strip(b"\0")
    f = shm.empty_like(np.zeros((4, 6), order="F"))
    assert f.flags.f_contiguous and not f.flags.c_contiguous and shm.is_shm(f)
    assert shm.is_shm(a[1:, ::2]) and not shm.is_shm(np.zeros(3))
    with pytest.raises(TypeError):
        shm.empty(3, dtype=object)


def test_descriptor_only_same_memory_inproc(ipair):
    server, client = ipair
    a = shm.empty((256, 1024), dtype="f8")
    a[...] = np.arange(a.size).reshape(a.shape)
    client.send_array(a)
    b = server.recv_array()
    assert address(b) == address(a) and np.array_equal(a, b) and b.flags.writeable
    header, data = _raw(client, server, lambda: client.send_array(a))
    meta = json.loads(header)
    assert len(data) == 0 and meta["shm"]["v"] == 1 and meta["nbytes"] == a.nbytes


def _raw(client, server, send):
    send()
    return server.recv_multipart()


@pytest.mark.parametrize(
    "array",
    [
        np.arange(100_000, dtype=np.int64),
        np.asfortranarray(np.arange(60_000, dtype="f4").reshape(200, 300)),
        np.arange(200_000, dtype="u2")[::3],  # not contiguous
        np.zeros(40_000, dtype=[("a", "<i2"), ("b", ">f8", (3,))]),
    ],
    ids=["int64", "fortran", "strided", "structured"],
)
def test_shm_true_copies_ordinary_arrays(ipair, array):
    server, client = ipair
    client.send_array(array, shm=True)
    got = server.recv_array()
    assert shm.is_shm(got) and got.dtype == array.dtype and got.shape == array.shape
    assert np.array_equal(got, array)
    if array.ndim > 1:
        assert got.flags.f_contiguous


def test_copy_and_recv_into(ipair):
    server, client = ipair
    a = shm.empty(1000, dtype="i4")
    a[:] = 7
    client.send_array(a)
    private = server.recv_array(copy=True)
    assert not shm.is_shm(private) and np.array_equal(private, a)
    client.send_array(a)
    out = np.empty(1000, dtype="i4")
    server.recv_array_into(out)
    assert np.array_equal(out, a)


@pytest.mark.parametrize(
    "make",
    [
        lambda: shm.zeros((200, 300), dtype="f4", order="F"),  # a Fortran-ordered shm array
        lambda: np.zeros((200, 300), dtype="f4", order="F"),  # copied with shm=True
        lambda: shm.zeros((), dtype="f8"),  # 0-d: len() of it raises
    ],
    ids=["fortran", "fortran-copied", "0-d"],
)
def test_recv_array_into_any_shm_layout(ipair, make):
    server, client = ipair
    a = make()
    a[...] = 3
    client.send_array(a, shm=True)
    out = np.empty_like(a)
    assert server.recv_array_into(out) is out
    assert np.array_equal(out, a) and out.flags.f_contiguous == a.flags.f_contiguous
    with pytest.raises(zmq.Again):  # nothing left behind
        server.recv(zmq.NOBLOCK)


@pytest.mark.parametrize("bad", [1, 0, "true", "", np.bool_(True)])
def test_send_array_refuses_unknown_shm_values(ipair, bad):
    server, client = ipair
    with pytest.raises(ValueError, match="shm must be"):
        client.send_array(np.arange(4), shm=bad)
    with pytest.raises(zmq.Again):  # nothing was sent
        server.recv(zmq.NOBLOCK)


def test_inline_messages_unchanged(ipair):
    server, client = ipair
    client.send_array(np.arange(10))
    meta = json.loads(server.recv_multipart()[0])
    assert "shm" not in meta
    client.send_array(np.arange(10))
    got = server.recv_array()
    assert not shm.is_shm(got) and list(got) == list(range(10))


@pytest.mark.parametrize(
    "dtype", ["S4", "U3", "V4", [("name", "S8"), ("v", "<f4")], "?", "c16", "M8[s]"]
)
def test_zeros_are_numpys_zeros_for_every_dtype(dtype):
    """Reused memory holds old bytes; zeros() must give numpy's zeros, including
    string fields (assigning 0 stored b"0") and void (it raised TypeError)."""
    junk = shm.empty(64, "u1")
    junk[:] = 0xAB
    del junk  # its memory may come back below
    a = shm.zeros(3, dtype)
    expected = np.zeros(3, dtype)
    assert a.dtype == expected.dtype and a.tobytes() == expected.tobytes()


def test_empty_takes_numpys_shapes():
    assert shm.empty(np.int64(4)).shape == (4,)
    assert shm.empty((np.int32(2), 3)).shape == (2, 3)
    with pytest.raises(ValueError, match="negative"):
        shm.empty(-1)
    with pytest.raises(ValueError, match="too large"):
        shm.empty((1 << 40, 1 << 40))
    with pytest.raises(TypeError):
        shm.empty(2.5)
    x = np.zeros((2, 3), order="F")
    like = shm.empty_like(x, None, "K", True)  # numpy's positional order: subok 4th
    assert like.shape == (2, 3) and like.flags.f_contiguous


def test_configure_checks_everything_before_changing_anything():
    before = shm.configure()
    try:
        for bad in (
            dict(lease_s=float("inf")),
            dict(lease_s=float("nan")),
            dict(lease_s=5, pool_bytes=-1),
            dict(idle_maps=1.5),
            dict(pool_bytes=True),
        ):
            with pytest.raises((ValueError, TypeError)):
                shm.configure(**bad)
            assert shm.configure() == before  # nothing applied
        shm.empty(3)  # still allocates
    finally:
        shm.configure(**before)


def test_empty_shm_array_goes_inline(ipair):
    server, client = ipair
    client.send_array(shm.empty((0, 3)))
    assert server.recv_array().shape == (0, 3)


def test_tcp_refuses_shm_true_and_sends_shm_arrays_inline(ctx):
    server, client = connected_pair(ctx, "tcp://127.0.0.1:*")
    a = shm.empty(50_000)
    a[:] = 1.5
    with pytest.raises(ValueError, match="another machine"):
        client.send_array(np.zeros(10), shm=True)
    client.send_array(a)  # default: inline over tcp
    got = server.recv_array()
    assert not shm.is_shm(got) and np.array_equal(got, a)
    client.send_array(a, shm="force")  # the override: same host here
    assert shm.is_shm(server.recv_array())
    client.send_array(np.ones(5), shm=False)
    assert not shm.is_shm(server.recv_array())


def _views_of(sock):
    """Every other Python object standing for ``sock``'s libzmq socket."""
    import zmqipc.asyncio as zaio

    return [zmq.Socket.shadow(sock), copy.copy(sock), zaio.Socket.from_socket(sock)]


@pytest.mark.parametrize("view", range(3), ids=["shadow", "copy", "asyncio.from_socket"])
def test_shadows_of_a_tcp_socket_send_shm_arrays_inline(ctx, view):
    """Shadows share their owner's endpoints: over tcp, shm=True is refused and shm
    arrays go inline, whichever object sends."""
    server, client = connected_pair(ctx, "tcp://127.0.0.1:*")
    a = shm.empty(50_000)
    a[:] = 2.5
    other = _views_of(client)[view]
    assert other._endpoints == client._endpoints != ()
    with pytest.raises(ValueError, match="another machine"):
        other.send_array(a, shm=True)

    async def send():
        await asyncio.wait_for(asyncio.ensure_future(other.send_array(a)), 10)

    if view == 2:
        asyncio.run(send())
    else:
        other.send_array(a)
    header, data = server.recv_multipart()
    assert "shm" not in json.loads(header) and len(data) == a.nbytes


def test_asyncio_shm_send_is_awaitable_and_undone_when_cancelled(ipc_endpoint):
    import zmqipc.asyncio as zaio

    async def main(actx):
        push = actx.socket(zmq.PUSH)
        push.immediate = True  # no peer yet: the send waits
        push.connect(ipc_endpoint)
        a = shm.empty(50_000)
        a[:] = 4
        seg = shm._buffer_of(a).segment
        before = seg.pending
        waiting = push.send_array(a)
        assert not waiting.done() and seg.pending == before + 1
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        assert seg.pending == before  # never sent: not pending for a lease
        pull = actx.socket(zmq.PULL)
        pull.bind(ipc_endpoint)
        await asyncio.wait_for(push.send_array(a), GUARD_MS / 1000)
        got = await asyncio.wait_for(pull.recv_array(), GUARD_MS / 1000)
        assert shm.is_shm(got) and (got == 4).all()

    actx = zaio.Context()
    try:
        asyncio.run(main(actx))
    finally:
        actx.destroy(linger=0)


def test_endpoints_recorded_through_a_shadow_reach_the_owner(ctx):
    owner = guard(ctx.socket(zmq.PAIR))[0]
    zmq.Socket.shadow(owner).bind("tcp://127.0.0.1:*")
    assert owner._endpoints and all(v._endpoints == owner._endpoints for v in _views_of(owner))
    with pytest.raises(ValueError, match="another machine"):
        owner.send_array(np.zeros(10), shm=True)


@pytest.mark.parametrize("through", ["owner", "shadow"])
@pytest.mark.parametrize("remove", ["unbind", "disconnect"])
def test_shm_arrays_go_as_descriptors_again_once_remote_endpoints_are_gone(
    ctx, ipc_endpoint, remove, through
):
    """The remote-endpoint check follows unbind/disconnect, by the owner or a shadow:
    refused while one tcp endpoint is left, descriptors once none is."""
    pull, push = guard(ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH))
    pull.bind(ipc_endpoint)
    push.connect(ipc_endpoint)
    if remove == "unbind":
        push.bind("tcp://127.0.0.1:*")
        push.bind("tcp://127.0.0.1:*")
        remote = list(push._endpoints[1:])
    else:
        listener = guard(ctx.socket(zmq.PULL))[0]
        listener.bind("tcp://127.0.0.1:*")
        listener.bind("tcp://127.0.0.1:*")
        remote = list(listener._endpoints)
        for endpoint in remote + remote[:1]:  # the first twice: disconnect ends both
            push.connect(endpoint)
    view = push if through == "owner" else zmq.Socket.shadow(push)
    a = shm.empty(1000)
    a[:] = 3
    getattr(view, remove)(remote[0])
    assert push._remote_endpoint == view._remote_endpoint == remote[1]
    with pytest.raises(ValueError, match="another machine"):
        push.send_array(a, shm=True)
    getattr(view, remove)(remote[1])
    assert push._remote_endpoint is None and view._remote_endpoint is None
    assert push._endpoints == (ipc_endpoint,)
    view.send_array(a)
    got = pull.recv_array()
    assert shm.is_shm(got) and (got == 3).all()


def test_pyzmq_peer_sees_descriptor_frames(ipc_endpoint):
    """A peer that cannot map (pyzmq) receives a header and an empty frame: not data."""
    pyzmq = pytest.importorskip("zmq")
    pctx = pyzmq.Context()
    receiver = pctx.socket(pyzmq.PULL)
    receiver.rcvtimeo = 10_000
    receiver.bind(ipc_endpoint)
    ctx = zmq.Context()
    sender = ctx.socket(zmq.PUSH)
    sender.linger = 0
    sender.connect(ipc_endpoint)
    try:
        sender.send_array(np.arange(1000.0), shm=True)
        header, data = receiver.recv_multipart()
        assert data == b"" and "shm" in json.loads(header)
    finally:
        sender.close()
        ctx.term()
        receiver.close(linger=0)
        pctx.term()


# --- lifetime --------------------------------------------------------------------


def test_slot_not_reused_while_a_view_lives(ipair):
    server, client = ipair
    a = shm.empty(100_000, dtype="i8")
    a[:] = 42
    client.send_array(a)
    view = server.recv_array()[10:20]  # only a derived view survives
    held = address(view) - 80
    seg = shm._buffer_of(view).segment
    del a
    others = []
    for value in range(8):  # same size class, many allocations
        b = shm.empty(100_000, dtype="i8")
        b[:] = value
        assert address(b) != held
        others.append(b)
    assert (view == 42).all()
    del others, b
    assert not seg.recycle(0)  # held: not reusable, whatever the lease
    del view  # last holder gone: memory reusable
    assert seg.live_holders() == 0 and seg.pending == 0 and seg.recycle(0)


def test_unclaimed_descriptor_keeps_memory_until_received(ipair):
    server, client = ipair
    client.send_array(np.full(100_000, 3.0), shm=True)  # the sender keeps no view
    for _ in range(5):  # same size class, still queued
        client.send_array(np.full(100_000, 9.0), shm=True)
    assert (server.recv_array() == 3.0).all()
    for _ in range(5):
        assert (server.recv_array() == 9.0).all()


def test_expired_descriptor_is_refused_not_rewritten(ipair, restore_settings):
    server, client = ipair
    shm.configure(lease_s=0)  # unclaimed descriptors expire at once
    client.send_array(np.full(100_000, 1.0), shm=True)
    client.send_array(np.full(100_000, 2.0), shm=True)  # reuses the same segment
    with pytest.raises(ValueError, match="expired"):
        server.recv_array()
    assert (server.recv_array() == 2.0).all()


def test_pool_reuses_segments(ipair):
    server, client = ipair
    data = np.arange(1 << 18, dtype="f8")
    for _ in range(3):
        client.send_array(data, shm=True)
        del _
        server.recv_array()
    before = set(shm.segments())
    for _ in range(20):
        client.send_array(data, shm=True)
        got = server.recv_array()
        assert np.array_equal(got, data)
        del got
    assert set(shm.segments()) == before


def test_threads(ctx):
    errors = []

    def worker(n):
        server, client = connected_pair(ctx, "inproc://shm-thread-%d" % n)
        try:
            for i in range(50):
                a = shm.empty(20_000 + n, dtype="i4")
                a[:] = n * 1000 + i
                client.send_array(a)
                del a
                b = server.recv_array()
                if not (b == n * 1000 + i).all():
                    errors.append((n, i))
                client.send_array(np.full(30_000, i, dtype="i2"), shm=True)
                if not (server.recv_array() == i).all():
                    errors.append((n, i, "copy"))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# --- other processes --------------------------------------------------------------

SENDER = """
    url, n = sys.argv[1], int(sys.argv[2])
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.connect(url)
    for i in range(n):
        a = shm.empty(300_000, dtype="i8")
        a[:] = i
        s.send_array(a)
        del a
        s.send_array(np.full(200_000, -i, dtype="i4"), shm=True)
    print("sent", flush=True)
    sys.stdin.readline()
    s.close()
    ctx.term()
"""


@posix_only
@linux_only
def test_receiver_reads_after_sender_exits(ctx, ipc_endpoint):
    pull = guard(ctx.socket(zmq.PULL))[0]
    pull.bind(ipc_endpoint)
    p = child(SENDER, ipc_endpoint, 3)
    assert p.stdout.readline().strip() == "sent"
    p.communicate("go\n", timeout=60)
    assert p.returncode == 0
    got = [pull.recv_array() for _ in range(6)]
    for i in range(3):
        assert (got[2 * i] == i).all() and (got[2 * i + 1] == -i).all()
    assert stems_of_pid(p.pid)  # kept for us while we hold them
    del got
    shm.cleanup(pids=[p.pid])
    assert stems_of_pid(p.pid) == []


@posix_only
@linux_only
def test_cleanup_spares_unclaimed_arrays_of_an_exited_sender(ctx, ipc_endpoint):
    """The lease rule: an array sent but not yet received survives its sender's
    normal exit, cleanup() with the default grace and the automatic cleanup of a
    new process importing zmqipc."""
    pull = guard(ctx.socket(zmq.PULL))[0]
    pull.bind(ipc_endpoint)
    p = child(SENDER, ipc_endpoint, 2)
    assert p.stdout.readline().strip() == "sent"
    p.communicate("go\n", timeout=60)
    assert p.returncode == 0
    left = sorted(stems_of_pid(p.pid))
    assert len(left) == 4  # one segment per unclaimed array
    assert shm.cleanup(pids=[p.pid]) == []
    assert not set(shm.cleanup()) & set(left)
    new_process = child("print(' '.join(shm.cleanup()), flush=True)")  # its import cleans too
    assert not set(new_process.communicate(timeout=60)[0].split()) & set(left)
    assert new_process.returncode == 0 and sorted(stems_of_pid(p.pid)) == left
    got = [pull.recv_array() for _ in range(4)]
    for i in range(2):
        assert (got[2 * i] == i).all() and (got[2 * i + 1] == -i).all()
    del got
    assert sorted(shm.cleanup(pids=[p.pid])) == left  # claimed and dropped: collected


@posix_only
@linux_only
def test_cleanup_grace_zero_drops_unclaimed_arrays(ctx, ipc_endpoint):
    pull = guard(ctx.socket(zmq.PULL))[0]
    pull.bind(ipc_endpoint)
    p = child(SENDER, ipc_endpoint, 1)
    assert p.stdout.readline().strip() == "sent"
    p.communicate("go\n", timeout=60)
    left = stems_of_pid(p.pid)
    assert len(left) == 2  # both unclaimed: kept by the lease
    assert sorted(shm.cleanup(grace_s=0, pids=[p.pid])) == sorted(left)
    with pytest.raises(ValueError, match="does not exist"):
        pull.recv_array()


OWNER_REUSES = """
    url = sys.argv[1]
    ctx = zmq.Context()
    s = ctx.socket(zmq.PAIR)
    s.connect(url)
    a = shm.empty(100_000, dtype="i8")
    a[:] = 1
    s.send_array(a)
    sys.stdin.readline()  # received and dropped
    del a
    b = shm.empty(100_000, dtype="i8")  # the same segment, next generation
    b[:] = 2
    s.send_array(b)
    sys.stdin.readline()
    s.close()
    ctx.term()
"""


def _owner_reusing_one_segment(ctx, ipc_endpoint):
    """A child owner sends A, then B in the same segment (reused: next generation). We
    receive both through one cached mapping and keep their raw headers to replay.
    Returns (replay, headers, stem, owner): the owner waits for a line to exit, which
    removes the segment (claimed and dropped: nothing pending)."""
    pair = guard(ctx.socket(zmq.PAIR))[0]
    pair.bind(ipc_endpoint)
    relay_in, relay_out = connected_pair(ctx, "inproc://shm-replay-%d" % os.getpid())

    def replay(header):
        relay_out.send_multipart([header, b""])
        return relay_in.recv_array()

    owner = child(OWNER_REUSES, ipc_endpoint)
    headers = []
    for value in (1, 2):
        header, data = pair.recv_multipart()
        headers.append(header)
        got = replay(header)
        assert (got == value).all()
        if value == 1:
            first = address(got)
            del got  # dropped: the owner may reuse the segment
            owner.stdin.write("\n")
            owner.stdin.flush()
        else:
            assert address(got) == first  # one segment, mapped once
    stem = json.loads(headers[0])["shm"]["name"]
    return replay, headers, stem, owner


def _exit(owner, stem):
    owner.communicate("\n", timeout=60)
    assert owner.returncode == 0
    assert stem in shm.segments() and not os.path.exists("/dev/shm/" + stem)


@posix_only
@linux_only
def test_cached_mapping_refuses_stale_and_removed_segments(ctx, ipc_endpoint):
    replay, headers, stem, owner = _owner_reusing_one_segment(ctx, ipc_endpoint)
    with pytest.raises(ValueError, match="expired"):
        replay(headers[0])  # the segment was reused for B
    _exit(owner, stem)
    with pytest.raises(ValueError, match="was removed"):
        replay(headers[1])  # current generation, but its owner gave the segment up
    assert stem not in shm.segments()  # and the idle mapping is gone
    with pytest.raises(ValueError, match="does not exist"):
        replay(headers[1])


@posix_only
@linux_only
def test_cleanup_drops_cached_mappings_of_removed_segments(ctx, ipc_endpoint):
    replay, headers, stem, owner = _owner_reusing_one_segment(ctx, ipc_endpoint)
    _exit(owner, stem)
    shm.cleanup(pids=[os.getpid()])  # nothing of ours to remove; the mapping goes
    assert stem not in shm.segments()


RECEIVER_HOLDS = """
    url = sys.argv[1]
    ctx = zmq.Context()
    s = ctx.socket(zmq.PULL)
    s.connect(url)
    held = [s.recv_array() for _ in range(4)]
    assert all((h == i).all() for i, h in enumerate(held))
    print("holding", flush=True)
    sys.stdin.readline()
"""


@posix_only
@linux_only
def test_sigkill_receiver_frees_its_references(ctx, ipc_endpoint):
    push = guard(ctx.socket(zmq.PUSH))[0]
    push.bind(ipc_endpoint)
    p = child(RECEIVER_HOLDS, ipc_endpoint)
    sent = []
    for i in range(4):
        a = shm.empty(150_000, dtype="i2")
        a[:] = i
        push.send_array(a)
        sent.append(shm._buffer_of(a).segment)
        del a
    assert p.stdout.readline().strip() == "holding"
    assert all(seg.live_holders() == 1 for seg in sent)  # the receiver's slots
    p.kill()
    p.wait()
    assert all(seg.live_holders() == 0 for seg in sent)  # reclaimed: it is dead
    assert all(seg.recycle(0) for seg in sent)


SENDER_LOOP = """
    url = sys.argv[1]
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.sndhwm = 4
    s.connect(url)
    print("started", flush=True)
    i = 0
    while True:
        s.send_array(np.full(100_000 + 5_000 * (i % 7), i, dtype="i8"), shm=True)
        i += 1
"""

RECEIVER_LOOP = """
    url = sys.argv[1]
    ctx = zmq.Context()
    s = ctx.socket(zmq.PULL)
    s.rcvhwm = 4
    s.bind(url)
    print("started", flush=True)
    held = []
    for i in range(1 << 62):
        held.append(s.recv_array())
        held = held[-3:]
        if i == 20:
            print("exchanging", flush=True)
"""


@posix_only
@linux_only
def test_sigkill_sender_then_cleanup(ctx, ipc_endpoint):
    pull = guard(ctx.socket(zmq.PULL))[0]
    pull.rcvhwm = 4
    pull.bind(ipc_endpoint)
    p = child(SENDER_LOOP, ipc_endpoint)
    assert p.stdout.readline().strip() == "started"
    kept = [pull.recv_array() for _ in range(30)]
    p.kill()
    p.wait()
    assert (kept[-1] == kept[-1][0]).all()  # still readable after the kill
    while True:  # drain what was in flight
        try:
            kept.append(pull.recv_array(flags=zmq.NOBLOCK))
        except zmq.Again:
            break
        except ValueError:
            pass
    shm.cleanup(grace_s=0, pids=[p.pid])  # what it had sent is received or lost with it
    assert stems_of_pid(p.pid)  # we still hold some: kept
    del kept
    as_if_made_long_ago([p.pid])
    shm.cleanup(grace_s=0, pids=[p.pid])
    assert stems_of_pid(p.pid) == []


@posix_only
@linux_only
def test_sigkill_both_then_cleanup(ipc_dir):
    url = "ipc://%s/both" % ipc_dir
    receiver = child(RECEIVER_LOOP, url)
    assert receiver.stdout.readline().strip() == "started"
    sender = child(SENDER_LOOP, url)
    assert sender.stdout.readline().strip() == "started"
    assert receiver.stdout.readline().strip() == "exchanging"  # mid-stream: kill both
    sender.kill()
    receiver.kill()
    sender.wait()
    receiver.wait()
    assert stems_of_pid(sender.pid)  # left behind by the crash...
    as_if_made_long_ago([sender.pid, receiver.pid])
    shm.cleanup(grace_s=0, pids=[sender.pid, receiver.pid])
    assert stems_of_pid(sender.pid) == [] and stems_of_pid(receiver.pid) == []


@posix_only
@linux_only
def test_cleanup_leaves_live_owners_and_removes_half_made(tmp_path):
    a = shm.empty(1000)
    mine = shm._stem_of(shm._buffer_of(a).segment)
    # A segment killed during creation: our name scheme, a dead pid, no header.
    dead = run_python("-c", "import os; print(os.getpid())").stdout.strip()
    key = int(dead)
    stem = "zq" + shm._b32(key, 7) + shm._b32(0, 7) + shm._b32(12345, 14)
    path = "/dev/shm/" + stem
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    os.close(fd)
    try:
        # Just made: maybe being created right now by a process we cannot see.
        assert stem not in shm.cleanup(grace_s=0, pids=[key]) and os.path.exists(path)
        old = time.time() - shm.HALF_MADE_GRACE_S - 5
        os.utime(path, (old, old))
        removed = shm.cleanup(grace_s=0, pids=[key, os.getpid()])
        assert stem in removed and not os.path.exists(path)
        assert mine not in removed and os.path.exists("/dev/shm/" + mine)
    finally:
        if os.path.exists(path):
            os.unlink(path)


PID_NS_OFFSET = 56  # zmqipc_shm_header.pid_ns (csrc/shm.h); checked through ShmSegment below


def _set_pid_ns(stem, value):
    with open("/dev/shm/" + stem, "r+b") as f:
        f.seek(PID_NS_OFFSET)
        f.write(struct.pack("=Q", value))
    seg, err = _zmq.ShmSegment.open(shm._OS_PREFIX + stem)
    try:
        assert seg.pid_ns == value, "the test writes the wrong header field"
    finally:
        seg.close()


@posix_only
@linux_only
def test_cleanup_never_removes_segments_of_another_pid_namespace():
    """Containers that share /dev/shm but not their PIDs (docker --ipc=host): the
    other namespace's owners look dead from here. Before the fix, importing zmqipc
    in one container removed the other's live segments."""
    script = (
        "import os, sys, zmqipc.shm as shm\n"
        "a = shm.empty(1000)\n"
        "print(shm._stem_of(shm._buffer_of(a).segment), flush=True)\n"
        "os.kill(os.getpid(), 9)\n"  # no atexit: the segment stays, owner dead
    )
    proc = run_python("-c", script)
    stem = proc.stdout.strip()
    assert stem and os.path.exists("/dev/shm/" + stem), proc.stderr
    pid = shm._owner_key(stem) & 0xFFFFFFFF
    ours = _zmq.shm_pid_namespace()
    assert ours != 0  # Linux with /proc
    try:
        _set_pid_ns(stem, ours + 1)  # as if made in another PID namespace
        assert stem not in shm.cleanup(grace_s=0, pids=[pid])
        assert os.path.exists("/dev/shm/" + stem)
        _set_pid_ns(stem, ours)  # ours: its owner is really dead, so it goes
        assert stem in shm.cleanup(grace_s=0, pids=[pid])
        assert not os.path.exists("/dev/shm/" + stem)
    finally:
        if os.path.exists("/dev/shm/" + stem):
            os.unlink("/dev/shm/" + stem)


# --- fork and spawn ----------------------------------------------------------------


@posix_only
@needs_fork
def test_fork_child_keeps_inherited_array_alive():
    a = shm.empty(200_000, dtype="i4")
    a[:] = 5
    where = address(a)
    seg = shm._buffer_of(a).segment
    r, w = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: wait until the parent dropped its array, then read ours
        try:
            os.read(r, 1)
            ok = (a == 5).all()
            os.write(w2, b"1" if ok else b"0")
        finally:
            os._exit(0)
    del a
    crowd = [shm.empty(200_000, dtype="i4") for _ in range(6)]
    for c in crowd:
        c[:] = -1
    assert where not in [address(c) for c in crowd]  # the child still holds it
    assert seg.live_holders() == 1 and not seg.holding  # the child's slot, not ours
    os.write(w, b"x")
    assert os.read(r2, 1) == b"1"
    os.waitpid(pid, 0)  # the child left with os._exit: its slot is reclaimed
    assert seg.live_holders() == 0 and seg.recycle(0)


SPAWNED = """
    import multiprocessing as mp

    def serve(url):
        import numpy as np, zmqipc as zmq
        ctx = zmq.Context()
        s = ctx.socket(zmq.REP)
        s.bind(url)
        got = s.recv_array()
        got *= 2                                  # writes the shared memory in place
        s.send_array(got)
        s.close()
        ctx.term()

    if __name__ == "__main__":
        url = sys.argv[1]
        p = mp.get_context("spawn").Process(target=serve, args=(url,))
        p.start()
        ctx = zmq.Context()
        s = ctx.socket(zmq.REQ)
        s.rcvtimeo = 30000
        s.connect(url)
        a = shm.empty(100_000, dtype="f8")
        a[:] = 1.5
        s.send_array(a)
        back = s.recv_array()
        p.join(30)
        print("ok" if back.__array_interface__["data"][0] == a.__array_interface__["data"][0]
              and (a == 3.0).all() else "bad", flush=True)
        s.close()
        ctx.term()
"""


@posix_only
def test_spawn_round_trip(ipc_dir, tmp_path):
    script = tmp_path / "spawned.py"
    script.write_text(
        "import sys, os, numpy as np, zmqipc as zmq\nfrom zmqipc import shm\n"
        + textwrap.dedent(SPAWNED)
    )
    out = run_python(str(script), "ipc://%s/sp" % ipc_dir)
    assert out.stdout.strip() == "ok", out.stderr
