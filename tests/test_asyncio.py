"""zmqipc.asyncio: the pyzmq zmq.asyncio API on the socket's FD and EVENTS.

Every test runs on the default loop, on uvloop (if installed) and on a loop without
add_reader (as Windows' ProactorEventLoop), which makes zmqipc use its selector
thread. Sockets get linger=0; asyncio.wait_for guards turn a lost wake-up into a
failure instead of a hang (a hang guard, never a performance threshold).
"""

import asyncio
import gc
import os
import sys
import threading
import tracemalloc
import weakref

import pytest

import zmqipc as zmq
import zmqipc.asyncio as zaio
from conftest import GUARD_MS
from zmqipc.utils.monitor import recv_monitor_message

pytestmark = pytest.mark.timeout(120)
GUARD_S = GUARD_MS / 1000

try:
    import uvloop
except ImportError:
    uvloop = None


class NoReaderLoop(asyncio.SelectorEventLoop):
    """A loop without add_reader/add_writer, as Windows' ProactorEventLoop."""

    def add_reader(self, *args):
        raise NotImplementedError

    remove_reader = add_writer = remove_writer = add_reader


LOOPS = {
    "default": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop if uvloop else None,
    "selector-thread": NoReaderLoop,
}
if sys.platform == "win32":
    LOOPS["proactor"] = asyncio.ProactorEventLoop


@pytest.fixture(params=list(LOOPS))
def run(request):
    """run(coroutine_function): run it to completion on a fresh loop of each kind."""
    make_loop = LOOPS[request.param]
    if make_loop is None:
        pytest.skip("uvloop is not installed (it is not available for this platform/Python)")

    def runner(coroutine_function, *args):
        loop = make_loop()
        try:
            return loop.run_until_complete(asyncio.wait_for(coroutine_function(*args), 4 * GUARD_S))
        finally:
            loop.close()

    runner.kind = request.param
    return runner


@pytest.fixture
def actx():
    context = zaio.Context()
    yield context
    context.destroy(linger=0)


def pair(ctx, endpoint, types=(zmq.PAIR, zmq.PAIR)):
    a, b = ctx.socket(types[0]), ctx.socket(types[1])
    for s in (a, b):
        s.linger = 0
    a.bind(endpoint)
    b.connect(a.last_endpoint.decode())
    return a, b


async def guarded(awaitable):
    return await asyncio.wait_for(awaitable, GUARD_S)


# --- the API ----------------------------------------------------------------------------


def test_every_send_and_recv_variant(run, actx, transport_endpoint):
    np = pytest.importorskip("numpy")

    async def main():
        a, b = pair(actx, transport_endpoint)
        await a.send(b"one")
        assert await guarded(b.recv()) == b"one"
        await a.send_multipart([b"x", b"y", b""])
        assert await guarded(b.recv_multipart()) == [b"x", b"y", b""]
        await a.send_string("h\u00e9llo")
        assert await guarded(b.recv_string()) == "h\u00e9llo"
        await a.send_json({"k": [1, 2]})
        assert await guarded(b.recv_json()) == {"k": [1, 2]}
        await a.send_pyobj({1, 2})
        assert await guarded(b.recv_pyobj()) == {1, 2}
        await a.send_serialized("abc", lambda s: [p.encode() for p in s])
        assert await guarded(b.recv_serialized(lambda parts: b"".join(parts))) == b"abc"
        array = np.arange(12.0).reshape(3, 4)
        await a.send_array(array)
        np.testing.assert_array_equal(await guarded(b.recv_array()), array)
        out = np.empty_like(array)
        await a.send_array(array * 2, copy=False)
        assert await guarded(b.recv_array_into(out)) is out
        np.testing.assert_array_equal(out, array * 2)
        buf = bytearray(8)
        await a.send(b"12345")
        assert await guarded(b.recv_into(buf)) == 5 and buf[:5] == b"12345"
        frame = await guarded(_send_then(a, b"frame", b.recv(copy=False)))
        assert isinstance(frame, zmq.Frame) and frame.bytes == b"frame"

    run(main)


async def _send_then(sock, data, receiving):
    await sock.send(data)
    return await receiving


def test_recv_waits_until_a_message_arrives(run, actx, ipc_endpoint):
    async def main():
        a, b = pair(actx, ipc_endpoint)
        receiving = b.recv()  # waits first, before anything was ever sent
        await asyncio.sleep(0.01)
        assert not receiving.done()
        await a.send(b"late")
        assert await guarded(receiving) == b"late"

    run(main)


def test_dontwait_fails_at_once(run, actx, ipc_endpoint):
    async def main():
        a, b = pair(actx, ipc_endpoint)
        with pytest.raises(zmq.Again):
            await b.recv(zmq.DONTWAIT)
        push = actx.socket(zmq.PUSH)  # no peer: a send would block
        push.linger = 0
        with pytest.raises(zmq.Again):
            await push.send(b"x", zmq.DONTWAIT)

    run(main)


def test_errors_arrive_through_the_future(run, actx, ipc_endpoint):
    async def main():
        a, b = pair(actx, ipc_endpoint)
        with pytest.raises(TypeError):
            await a.send("not bytes")
        await a.send(b"\xff not json")
        with pytest.raises(ValueError):
            await guarded(b.recv_json())
        await a.send(b"next")  # the bad message was consumed, nothing else
        assert await guarded(b.recv()) == b"next"
        req = actx.socket(zmq.REQ)
        req.linger = 0
        with pytest.raises(zmq.ZMQError):  # EFSM: a REQ must send first
            await req.recv()

    run(main)


# --- ordering ---------------------------------------------------------------------------


def test_concurrent_receivers_are_served_in_call_order(run, actx, ipc_endpoint):
    async def main():
        a, b = pair(actx, ipc_endpoint)
        receivers = [b.recv() for _ in range(50)]
        for i in range(50):
            await a.send(b"%d" % i)
        assert [await guarded(r) for r in receivers] == [b"%d" % i for i in range(50)]

    run(main)


def test_blocked_sends_complete_in_order(run, actx, ipc_endpoint):
    async def main():
        push, pull = actx.socket(zmq.PUSH), actx.socket(zmq.PULL)
        for s in (push, pull):
            s.linger = 0
            s.hwm = 1
        push.immediate = True  # no peer yet: every send waits
        push.connect(ipc_endpoint)
        sends = [push.send_multipart([b"%d" % i, b"tail"]) for i in range(200)]
        assert not any(s.done() for s in sends)
        pull.bind(ipc_endpoint)
        got = [await guarded(pull.recv_multipart()) for _ in range(200)]
        assert got == [[b"%d" % i, b"tail"] for i in range(200)]
        await guarded(asyncio.gather(*sends))

    run(main)


def test_stream_between_tasks_keeps_every_message(run, actx, transport_endpoint):
    async def main():
        push, pull = pair(actx, transport_endpoint, (zmq.PULL, zmq.PUSH))[::-1]
        n = 3000

        async def produce():
            for i in range(n):
                await push.send(i.to_bytes(4, "little"))

        async def consume():
            return [int.from_bytes(await pull.recv(), "little") for _ in range(n)]

        _, got = await guarded(asyncio.gather(produce(), consume()))
        assert got == list(range(n))

    run(main)


# --- large messages -----------------------------------------------------------------------
# A result handed to a coroutine that waited for it stays referenced by the loop until
# that coroutine's step ends. A receive made in the same step would hold a second large
# message at the same time, and freeing both makes glibc give the heap back to the
# kernel and fault it in again (docs/asyncio.md). So that receive waits one loop pass.


# variant: how many copies of a message receiving it makes (recv_string: bytes, then str)
@pytest.mark.parametrize(
    "variant, copies", [("recv", 1), ("recv_multipart", 1), ("recv_string", 2)]
)
def test_large_messages_are_received_one_at_a_time(run, actx, inproc_endpoint, variant, copies):
    size = 4 * zaio.LARGE_RESULT
    messages = [bytes([65 + i]) * size for i in range(6)]

    async def main():
        push, pull = pair(actx, inproc_endpoint, (zmq.PULL, zmq.PUSH))[::-1]
        receive = getattr(pull, variant)

        def head(result):  # keep only the first byte: the message itself is dropped
            return (result[0] if variant == "recv_multipart" else result)[:1]

        first = receive()  # waits: nothing is sent yet
        for m in messages:  # inproc: all queued before the loop serves `first`
            await push.send(m)
        tracemalloc.start()
        try:
            # Plain awaits (no wait_for, which would hold the Future differently); the
            # runner's guard still turns a lost wake-up into a failure.
            heads = [head(await first)]
            del first  # (it holds the first message)
            heads += [head(await receive()) for _ in messages[1:]]
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert heads == [m[:1] if variant != "recv_string" else m[:1].decode() for m in messages]
        assert peak < (copies + 0.5) * size, "%.2f messages held at once" % (peak / size)

    run(main)


def test_receive_after_a_large_message_keeps_order_and_cancellation_safety(
    run, actx, inproc_endpoint
):
    large = zaio.LARGE_RESULT

    async def main():
        push, pull = pair(actx, inproc_endpoint, (zmq.PULL, zmq.PUSH))[::-1]
        first = pull.recv()  # waits
        for m in (b"a" * large, b"b" * large, b"c", b"d", b"e" * large, b"f"):
            await push.send(m)
        assert (await first)[:1] == b"a"
        # The next receive waits one loop pass although a message is queued...
        cancelled, kept = pull.recv(), pull.recv_multipart()
        assert not cancelled.done() and not kept.done()
        cancelled.cancel()  # ...and a cancelled one takes no message
        assert [p[:1] for p in await kept] == [b"b"]
        # A non-blocking receive is still made at once.
        assert pull.recv(zmq.DONTWAIT).result() == b"c"
        assert await pull.recv() == b"d"
        assert (await pull.recv())[:1] == b"e"
        assert await guarded(pull.recv()) == b"f"

    run(main)


# A copy=True send of large bytes is made in place: bytes cannot change.


def test_large_bytes_are_sent_in_place(run, actx, ipc_endpoint):
    async def main():
        push = actx.socket(zmq.PUSH)
        push.linger = 0
        push.connect(ipc_endpoint)  # nobody there yet: the message waits in its pipe
        data = bytes(range(256)) * (zaio.SEND_IN_PLACE // 256)
        unsent = sys.getrefcount(data)
        assert await guarded(push.send(data)) is None  # copy=True: no tracker
        assert sys.getrefcount(data) > unsent  # libzmq reads our bytes, not a copy
        pull = actx.socket(zmq.PULL)
        pull.linger = 0
        pull.bind(ipc_endpoint)
        assert await guarded(pull.recv()) == data
        while sys.getrefcount(data) > unsent:  # the release wakes the loop
            await asyncio.sleep(0.01)  # (the runner's guard ends a lost wake-up)

    run(main)


def test_copy_true_still_copies_where_it_would_show(run, actx, ipc_endpoint, inproc_endpoint):
    size = zaio.SEND_IN_PLACE

    async def main():
        # A mutable buffer: the peer gets it as it was when sent.
        push = actx.socket(zmq.PUSH)
        push.linger = 0
        push.connect(ipc_endpoint)  # the message waits in its pipe...
        buffer = bytearray(b"a" * size)
        await guarded(push.send(buffer))
        await guarded(push.send_multipart([bytes(size), buffer]))
        buffer[:] = b"b" * size  # ...while the buffer changes
        pull = actx.socket(zmq.PULL)
        pull.linger = 0
        pull.bind(ipc_endpoint)
        assert await guarded(pull.recv()) == b"a" * size
        assert await guarded(pull.recv_multipart()) == [bytes(size), b"a" * size]
        # track=True: the result is None, as for any copy=True send.
        assert await guarded(push.send(b"t" * size, track=True)) is None
        assert await guarded(pull.recv()) == b"t" * size
        # inproc: the peer gets a writable Frame of its own, not our read-only bytes.
        a, b = pair(actx, inproc_endpoint)
        await guarded(a.send(b"c" * size))
        frame = await guarded(b.recv(copy=False))
        memoryview(frame)[0] = ord("d")
        assert frame.bytes[:2] == b"dc"

    run(main)


def test_large_bytes_in_place_again_once_the_inproc_endpoint_is_gone(
    run, actx, ipc_endpoint, inproc_endpoint
):
    """The inproc check follows unbind (here through a shadow)."""

    async def main():
        push = actx.socket(zmq.PUSH)
        push.linger = 0
        push.bind(inproc_endpoint)
        push.connect(ipc_endpoint)  # nobody there yet: messages wait in its pipe
        data = bytes(range(256)) * (zaio.SEND_IN_PLACE // 256)
        unsent = sys.getrefcount(data)
        await guarded(push.send(data))
        assert sys.getrefcount(data) == unsent  # an inproc endpoint: copied
        zmq.Socket.shadow(push).unbind(inproc_endpoint)
        await guarded(push.send(data))
        assert sys.getrefcount(data) > unsent  # in place
        pull = actx.socket(zmq.PULL)
        pull.linger = 0
        pull.bind(ipc_endpoint)
        assert await guarded(pull.recv()) == data
        assert await guarded(pull.recv()) == data
        while sys.getrefcount(data) > unsent:  # the release wakes the loop
            await asyncio.sleep(0.01)

    run(main)


# --- cancellation ---------------------------------------------------------------------------


def test_cancelled_recv_loses_no_message(run, actx, ipc_endpoint):
    async def main():
        a, b = pair(actx, ipc_endpoint)
        first, second, third = b.recv(), b.recv_string(), b.recv_multipart()
        second.cancel()
        for i in range(3):
            await a.send(b"m%d" % i)
        assert await guarded(first) == b"m0"
        assert await guarded(third) == [b"m1"]
        assert await guarded(b.recv()) == b"m2"

    run(main)


def test_recv_cancelled_by_wait_for_timeouts_loses_nothing(run, actx, ipc_endpoint):
    async def main():
        a, b = pair(actx, ipc_endpoint)
        n, got = 200, []

        async def trickle():
            for i in range(n):
                await a.send(b"%d" % i)
                if i % 10 == 0:
                    await asyncio.sleep(0.002)

        sender = asyncio.ensure_future(trickle())
        while len(got) < n:
            try:
                got.append(await asyncio.wait_for(b.recv(), 0.001))
            except asyncio.TimeoutError:
                pass
        await sender
        assert got == [b"%d" % i for i in range(n)]
        assert not b._recv_waiters or all(w.future.done() for w in b._recv_waiters)

    run(main)


def test_cancelled_send_never_sends_part_of_a_message(run, actx, ipc_endpoint):
    async def main():
        push = actx.socket(zmq.PUSH)  # no peer yet: every send waits
        push.linger = 0
        push.immediate = True  # (no queue before the connection is up)
        push.connect(ipc_endpoint)
        sends = [push.send_multipart([b"%d" % i, b"a", b"b"]) for i in range(6)]
        await asyncio.sleep(0.01)
        assert not any(s.done() for s in sends)
        for i in (1, 2, 4):
            sends[i].cancel()
        pull = actx.socket(zmq.PULL)
        pull.linger = 0
        pull.bind(ipc_endpoint)
        got = [await guarded(pull.recv_multipart()) for _ in range(3)]
        assert got == [[b"%d" % i, b"a", b"b"] for i in (0, 3, 5)]
        await push.send_multipart([b"end"])  # nothing came between: the cancelled ones are gone
        assert await guarded(pull.recv_multipart()) == [b"end"]

    run(main)


# --- timeouts ---------------------------------------------------------------------------


def test_rcvtimeo_and_sndtimeo_raise_again_and_lose_nothing(run, actx, ipc_endpoint):
    async def main():
        a, b = pair(actx, ipc_endpoint)
        b.rcvtimeo = 20
        with pytest.raises(zmq.Again):
            await guarded(b.recv())
        await a.send(b"after")
        assert await guarded(b.recv()) == b"after"
        push = actx.socket(zmq.PUSH)
        push.linger = 0
        push.sndtimeo = 20
        with pytest.raises(zmq.Again):
            await guarded(push.send(b"nobody"))

    run(main)


def test_poll_timeouts_and_readiness(run, actx, ipc_endpoint):
    async def main():
        a, b = pair(actx, ipc_endpoint)
        assert await guarded(b.poll(20)) == 0
        assert await guarded(b.poll(0)) == 0
        # POLLOUT needs the connection's handshake: wait for it rather than poll(0).
        assert await guarded(a.poll(None, zmq.POLLOUT)) == zmq.POLLOUT
        waiting = b.poll()
        await a.send(b"x")
        assert await guarded(waiting) == zmq.POLLIN
        assert await b.recv() == b"x"  # poll consumed nothing

    run(main)


# --- closing and terminating while awaiting -------------------------------------------------------


def test_close_while_awaiting_cancels(run, actx, ipc_endpoint):
    async def main():
        a, b = pair(actx, ipc_endpoint)
        receiving, polling = b.recv(), b.poll()
        await asyncio.sleep(0)
        b.close()
        assert receiving.cancelled() and polling.cancelled()
        assert b.closed
        with pytest.raises(zmq.ZMQError):
            await b.recv()

    run(main)


def test_context_terminated_while_awaiting(run, ipc_endpoint):
    async def main():
        ctx = zaio.Context()
        sock = ctx.socket(zmq.PULL)
        sock.linger = 0
        sock.bind(ipc_endpoint)
        receiving = sock.recv()
        terminator = threading.Thread(target=ctx.term)
        terminator.start()
        with pytest.raises(zmq.ContextTerminated):
            await guarded(receiving)
        sock.close()
        await asyncio.get_running_loop().run_in_executor(None, terminator.join)
        assert ctx.closed

    run(main)


def test_unclosed_socket_is_collected(run, actx, ipc_endpoint):
    async def main():
        sock = actx.socket(zmq.PULL)
        sock.linger = 0
        sock.bind(ipc_endpoint)
        waiting = sock.poll(5)  # registers the FD with the loop
        await waiting
        ref = weakref.ref(sock)
        with pytest.warns(ResourceWarning):
            del sock, waiting
            gc.collect()
        assert ref() is None  # the loop's reader does not keep it alive

    run(main)


# --- many sockets, Poller, Context ----------------------------------------------------------


def test_many_concurrent_sockets(run, actx, inproc_endpoint):
    async def main():
        pairs = [pair(actx, "%s-%d" % (inproc_endpoint, i)) for i in range(60)]

        async def talk(a, b, i):
            for j in range(20):
                await a.send(b"%d/%d" % (i, j))
                assert await b.recv() == b"%d/%d" % (i, j)
                await b.send(b"ack")
                assert await a.recv() == b"ack"
            return i

        results = await guarded(asyncio.gather(*(talk(a, b, i) for i, (a, b) in enumerate(pairs))))
        assert results == list(range(60))

    run(main)


def test_poller_with_async_sync_and_raw_fds(run, actx, ipc_endpoint, make_ipc_endpoint):
    async def main():
        a, b = pair(actx, ipc_endpoint)
        sync_ctx = zmq.Context()
        try:
            sa, sb = pair(sync_ctx, make_ipc_endpoint())
            r, w = os.pipe()
            poller = zaio.Poller()
            poller.register(b, zmq.POLLIN)
            poller.register(sb, zmq.POLLIN)
            poller.register(r, zmq.POLLIN)
            assert await guarded(poller.poll(20)) == []
            waiting = poller.poll()
            await a.send(b"async")
            assert await guarded(waiting) == [(b, zmq.POLLIN)]
            await b.recv()
            waiting = poller.poll()
            sa.send(b"sync")
            assert await guarded(waiting) == [(sb, zmq.POLLIN)]
            sb.recv()
            waiting = poller.poll(None)
            os.write(w, b"!")
            assert await guarded(waiting) == [(r, zmq.POLLIN)]
            os.close(r)
            os.close(w)
        finally:
            sync_ctx.destroy(linger=0)

    run(main)


def test_context_instance_is_separate_from_the_sync_one():
    instance = zaio.Context.instance()
    assert isinstance(instance, zaio.Context)
    assert zaio.Context.instance() is instance
    assert zmq.Context.instance() is not instance
    sock = instance.socket(zmq.PUSH)
    assert isinstance(sock, zaio.Socket)
    sock.close()


def test_selector_thread_is_used_without_add_reader(actx, ipc_endpoint):
    loop = NoReaderLoop()

    async def main():
        a, b = pair(actx, ipc_endpoint)
        receiving = b.recv()
        await a.send(b"via thread")
        assert await guarded(receiving) == b"via thread"
        assert zaio._SelectorThread._by_loop.get(loop) is not None
        a.close()
        b.close()

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_zero_copy_buffer_is_released_while_the_loop_sleeps(run, actx, ipc_endpoint):
    """libzmq's I/O thread gives the buffer back while the loop sleeps in its selector
    with nothing else to do: the release watcher must wake it to drop the buffer."""
    np = pytest.importorskip("numpy")

    async def main():
        push = actx.socket(zmq.PUSH)
        push.linger = 0
        push.bind(ipc_endpoint)
        pull = zmq.Context.instance().socket(zmq.PULL)  # a synchronous peer, in a thread
        pull.linger = 0
        pull.rcvtimeo = GUARD_MS
        pull.connect(ipc_endpoint)
        received = []
        receiver = threading.Thread(target=lambda: received.append(pull.recv()))
        receiver.start()
        released = asyncio.Event()
        loop = asyncio.get_running_loop()
        data = np.ones(1 << 22, dtype=np.uint8)
        weakref.finalize(data, loop.call_soon, released.set)
        tracker = await push.send(data, copy=False, track=True)
        del data
        await guarded(released.wait())  # no zmq call runs meanwhile
        assert tracker.done
        await loop.run_in_executor(None, receiver.join)
        pull.close()
        assert len(received[0]) == 1 << 22

    run(main)


def test_poll_does_not_swallow_the_other_directions_wakeup(run, actx):
    """poll() reads EVENTS, which consumes the FD's edge: a send waiting for POLLOUT must
    still be served when room appears just before a poll for POLLIN."""

    async def main():
        push = actx.socket(zmq.PUSH)
        pull = zmq.Socket(actx, zmq.PULL)
        for s in (push, pull):
            s.linger = 0
            s.hwm = 1
        pull.bind("inproc://poll-edge")
        push.connect("inproc://poll-edge")
        filled = 0
        while True:
            try:
                await push.send(b"x", zmq.DONTWAIT)
                filled += 1
            except zmq.Again:
                break
        waiting = push.send(b"waiting")
        assert not waiting.done()
        for _ in range(filled):  # make room without letting the loop run
            pull.recv()
        polled = push.poll(None, zmq.POLLIN)
        await guarded(waiting)
        assert pull.recv() == b"waiting"
        polled.cancel()
        pull.close()

    run(main)


def test_recv_monitor_message_on_an_asyncio_socket(run, actx):
    """As pyzmq: on an asyncio monitor socket it returns an awaitable of the event
    (it called len() on the Future and lost the event)."""

    async def main():
        sock = actx.socket(zmq.PULL)
        sock.linger = 0
        monitor = sock.get_monitor_socket()
        monitor.linger = 0
        try:
            sock.bind("tcp://127.0.0.1:*")
            event = await recv_monitor_message(monitor)
            assert event["event"] == zmq.EVENT_LISTENING
            assert event["endpoint"] == sock.last_endpoint
        finally:
            sock.disable_monitor()
            monitor.close()
            sock.close()

    run(main)
