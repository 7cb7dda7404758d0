"""asyncio sockets with pyzmq's ``zmq.asyncio`` API.

``send``/``recv`` and friends return asyncio Futures. A call first tries the
operation without blocking; only when libzmq says EAGAIN does the Future wait.

How waiting works (libzmq's rules for ZMQ_FD): the socket's FD becomes readable
when the socket's state *may* have changed, and only then -- it is edge-triggered,
and every operation on the socket (send, recv, reading EVENTS) may consume the
edge. So the socket registers its FD with the loop once, and whenever the FD fires
or an operation was made while others wait, it reads EVENTS and serves the waiters
in order until EVENTS says no more can be done.

Guarantees:
- Cancellation is safe. A waiting recv is attempted only while its Future is not
  done, and a successful attempt sets the result at once, so a cancelled (or timed
  out) recv never consumes a message. A send is made in one non-blocking call, so
  a cancelled send_multipart never sends part of a message.
- RCVTIMEO / SNDTIMEO are honoured: the Future fails with zmq.Again.
- close() cancels every waiting Future; a terminated context fails them with
  ContextTerminated.
- Loops without add_reader (Windows' ProactorEventLoop) get a selector thread that
  watches the FDs and runs the callbacks on the loop.
"""

from __future__ import annotations

import asyncio
import functools
import json
import pickle
import selectors
import socket as _stdsocket
import threading
import types
import warnings
import weakref
from collections import deque
from typing import Any

from zmqipc import _zmq
from zmqipc import context as _context
from zmqipc import poll as _poll
from zmqipc import socket as _socket
from zmqipc.constants import (
    DONTWAIT,
    ENOTSUP,
    EVENTS,
    FD,
    POLLERR,
    POLLIN,
    POLLOUT,
    RCVTIMEO,
    SNDTIMEO,
)
from zmqipc.error import Again, ZMQError

# The flat constants are enum members, whose | and & run in Python: the hot paths
# below use plain ints.
DONTWAIT, EVENTS, FD, POLLERR, POLLIN, POLLOUT, RCVTIMEO, SNDTIMEO = map(
    int, (DONTWAIT, EVENTS, FD, POLLERR, POLLIN, POLLOUT, RCVTIMEO, SNDTIMEO)
)

__all__ = ["Context", "Socket", "Poller"]

# The blocking (well: flag-driven) operations of the compiled socket.
_sync_send = _zmq.Socket.send
_sync_send_multipart = _zmq.Socket.send_multipart
_sync_recv = _zmq.Socket.recv
_sync_recv_multipart = _zmq.Socket.recv_multipart
_sync_recv_into = _zmq.Socket.recv_into
_getsockopt = _zmq.Socket.getsockopt


def _running_loop():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    warnings.warn(
        "zmqipc.asyncio sockets should be used from a coroutine in a running event loop",
        RuntimeWarning,
        stacklevel=4,
    )
    return asyncio.get_event_loop_policy().get_event_loop()


# A received result at least this large, handed to a coroutine that waited for it,
# holds back the next receive until that coroutine has run (see Socket._hand_over).
LARGE_RESULT = 128 * 1024


# A copy=True send of bytes at least this large is made without a copy (see
# Socket._copy_needed).
SEND_IN_PLACE = 128 * 1024


def _heap_size(result):
    """The bytes a received result holds in the heap: its length for bytes and str
    (recv, recv_string), the sum for a list of them (recv_multipart); 0 otherwise
    (a Frame or an array received without a copy points into libzmq's message)."""
    if type(result) is bytes or type(result) is str:
        return len(result)
    size = 0
    if type(result) is list:  # a plain loop: this runs for every served receive
        for part in result:
            if type(part) is bytes:
                size += len(part)
    return size


def _set_again(future):
    if not future.done():
        future.set_exception(Again())


def _set_result(future, value):
    if not future.done():
        future.set_result(value)


# ---------------------------------------------------------------------------
# Readiness callbacks: the loop's own add_reader, or a selector thread
# ---------------------------------------------------------------------------


class _SelectorThread:
    """add_reader/add_writer for a loop that has none (Windows' ProactorEventLoop).

    A daemon thread waits in select() on the registered FDs. When some are ready it
    hands them to the loop (call_soon_threadsafe) and waits until the loop has run
    their callbacks before selecting again: the FDs are level-triggered, so
    selecting earlier would report the same readiness over and over. Registrations
    are changed on the loop's thread and applied by the selector thread between two
    select() calls, so the selector is only ever touched by one thread.
    """

    _by_loop: weakref.WeakKeyDictionary[Any, _SelectorThread] = weakref.WeakKeyDictionary()
    _POLL_S = 1.0  # how often an idle thread checks whether its loop was closed

    @classmethod
    def for_loop(cls, loop):
        thread = cls._by_loop.get(loop)
        if thread is None or thread._stopping:
            thread = cls._by_loop[loop] = cls(loop)
        return thread

    def __init__(self, loop):
        self._loop = loop
        self._callbacks = {}  # (fd, EVENT_READ | EVENT_WRITE) -> callback
        self._lock = threading.Lock()
        self._changed = True
        self._stopping = False
        self._dispatched = threading.Event()
        self._wake_r, self._wake_w = _stdsocket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(
            target=self._run, daemon=True, name="zmqipc.asyncio selector"
        )
        self._thread.start()

    # --- the loop's side --------------------------------------------------------

    def add_reader(self, fd, callback, *args):
        self._set(fd, selectors.EVENT_READ, functools.partial(callback, *args))

    def add_writer(self, fd, callback, *args):
        self._set(fd, selectors.EVENT_WRITE, functools.partial(callback, *args))

    def remove_reader(self, fd):
        return self._set(fd, selectors.EVENT_READ, None)

    def remove_writer(self, fd):
        return self._set(fd, selectors.EVENT_WRITE, None)

    def _set(self, fd, event, callback):
        fd = fd if isinstance(fd, int) else fd.fileno()
        with self._lock:
            had = self._callbacks.pop((fd, event), None) is not None
            if callback is not None:
                self._callbacks[(fd, event)] = callback
            self._changed = True
            if not self._callbacks:  # nothing left to watch: let the thread end
                self._stopping = True
        self._wake()
        return had

    def _wake(self):
        try:
            self._wake_w.send(b"\0")
        except OSError:  # the buffer is full (a wake-up is pending anyway) or closed
            pass

    def _dispatch(self, ready):
        try:
            for key in ready:
                callback = self._callbacks.get(key)
                if callback is not None:
                    callback()
        finally:
            self._dispatched.set()

    # --- the selector thread -----------------------------------------------------

    def _new_selector(self):
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ)
        return selector

    def _run(self):
        selector = self._new_selector()
        try:
            while True:
                with self._lock:
                    if self._stopping:
                        return
                    if self._changed:
                        self._apply(selector)
                try:
                    selected = selector.select(self._POLL_S)
                except OSError:  # an FD was closed while registered (select() on Windows)
                    selector.close()
                    selector = self._new_selector()
                    with self._lock:
                        self._changed = True
                    continue
                ready = [
                    (key.fd, event)
                    for key, mask in selected
                    if key.fileobj is not self._wake_r
                    for event in (selectors.EVENT_READ, selectors.EVENT_WRITE)
                    if mask & event
                ]
                self._drain_wake()
                if self._loop.is_closed():
                    return
                if not ready:
                    continue
                self._dispatched.clear()
                try:
                    self._loop.call_soon_threadsafe(self._dispatch, ready)
                except RuntimeError:  # the loop was closed
                    return
                while not self._dispatched.wait(self._POLL_S):
                    if self._loop.is_closed():
                        return
        finally:
            selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def _apply(self, selector):
        wanted = {}
        for fd, event in self._callbacks:
            wanted[fd] = wanted.get(fd, 0) | event
        for key in list(selector.get_map().values()):
            if key.fileobj is not self._wake_r and key.fd not in wanted:
                selector.unregister(key.fd)
        for fd, events in wanted.items():
            try:
                try:
                    selector.modify(fd, events)
                except KeyError:
                    selector.register(fd, events)
            except (OSError, ValueError):
                pass  # closed before its owner (of a closed loop) could unregister it
        self._changed = False

    def _drain_wake(self):
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:  # nothing left (BlockingIOError)
            pass


def _add_reader(loop, fd, callback):
    """Register ``callback`` for ``fd`` readable; return the object it was registered
    with (the loop itself or its selector thread)."""
    try:
        loop.add_reader(fd, callback)
        return loop
    except NotImplementedError:  # ProactorEventLoop
        reactor = _SelectorThread.for_loop(loop)
        reactor.add_reader(fd, callback)
        return reactor


def _add_writer(loop, fd, callback):
    try:
        loop.add_writer(fd, callback)
        return loop
    except NotImplementedError:
        reactor = _SelectorThread.for_loop(loop)
        reactor.add_writer(fd, callback)
        return reactor


# ---------------------------------------------------------------------------
# Zero-copy releases: wake the loop when libzmq gives buffers back
# ---------------------------------------------------------------------------

# loop -> [ReleaseWatcher, reactor, WeakSet of sockets that sent zero-copy on it]
_release_wakes: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()


def _on_release(watcher):
    watcher.arm()  # wake again on the next release
    _zmq.release_pending()  # drop the buffers given back so far


def _watch_releases(loop, socket):
    """Buffers of zero-copy sends come back on libzmq's threads; the interpreter
    drops them at its next chance, which is late if the loop sleeps. A release
    watcher wakes the loop instead, for as long as a socket of the loop uses it."""
    entry = _release_wakes.get(loop)
    if entry is None:
        watcher = _zmq.release_watcher()
        watcher.arm()
        reactor = _add_reader(loop, watcher.fileno(), functools.partial(_on_release, watcher))
        entry = _release_wakes[loop] = [watcher, reactor, weakref.WeakSet()]
    entry[2].add(socket)


def _unwatch_releases(loop, socket):
    entry = _release_wakes.get(loop)
    if entry is None:
        return
    entry[2].discard(socket)
    if not entry[2]:
        del _release_wakes[loop]
        watcher, reactor, _ = entry
        if not loop.is_closed():
            reactor.remove_reader(watcher.fileno())
        watcher.close()


# ---------------------------------------------------------------------------
# Socket
# ---------------------------------------------------------------------------


class _Waiter:
    """One waiting send or recv: its Future, the non-blocking attempt, its timeout."""

    __slots__ = ("future", "attempt", "timer")

    def __init__(self, future, attempt, timer):
        self.future, self.attempt, self.timer = future, attempt, timer


def _on_readable(socket_ref):
    socket = socket_ref()
    if socket is not None:
        socket._serve()


class Socket(_socket.Socket):
    """A socket whose send/recv/poll return asyncio Futures (pyzmq's zmq.asyncio.Socket).

    Use it from coroutines of one event loop at a time. Options and the other
    synchronous methods work as on zmqipc.Socket.
    """

    _loop = None  # the loop the FD is registered with
    _reactor = None  # that loop, or its selector thread
    _fd = None
    _serve_scheduled = False
    _releases_watched = False

    def __init__(self, context=None, socket_type=-1, io_loop=None, **kwargs):
        super().__init__(context, socket_type, **kwargs)
        if io_loop is not None:
            warnings.warn(
                "Socket(io_loop=...) is ignored: the running loop is used",
                DeprecationWarning,
                stacklevel=2,
            )
        self._recv_waiters = deque()
        self._send_waiters = deque()
        self._poll_waiters = {}  # {future: event mask}: resolved, nothing consumed
        self._ready_guess = {POLLIN: True, POLLOUT: True}  # did the last attempt succeed?
        self._large_in_hand = False  # see _hand_over

    # --- sending ---------------------------------------------------------------

    def send(self, data, flags=0, copy=True, track=False, **kwargs):
        """Send one part; the Future's result is None or a MessageTracker."""
        if copy and type(data) is bytes and len(data) >= SEND_IN_PLACE:  # (cheap test first)
            copy = self._copy_needed((data,), track)
        if not copy:
            self._zero_copy_used()
        return self._start(
            self._send_waiters,
            POLLOUT,
            flags,
            lambda: _sync_send(self, data, flags | DONTWAIT, copy, track, **kwargs),
        )

    def send_multipart(self, msg_parts, flags=0, copy=True, track=False, **kwargs):
        """Send a multipart message, all parts at once (never part of it)."""
        parts = list(msg_parts)
        copy = copy and self._copy_needed(parts, track)
        if not copy:
            self._zero_copy_used()
        return self._start(
            self._send_waiters,
            POLLOUT,
            flags,
            lambda: _sync_send_multipart(self, parts, flags | DONTWAIT, copy, track),
        )

    # --- receiving ---------------------------------------------------------------

    def recv(self, flags=0, copy=True, track=False):
        """Receive one part: a Future for bytes (or a Frame with copy=False)."""
        return self._start(
            self._recv_waiters,
            POLLIN,
            flags,
            lambda: _sync_recv(self, flags | DONTWAIT, copy, track),
        )

    def recv_multipart(self, flags=0, copy=True, track=False):
        """Receive all parts of a message: a Future for a list."""
        return self._start(
            self._recv_waiters,
            POLLIN,
            flags,
            lambda: _sync_recv_multipart(self, flags | DONTWAIT, copy, track),
        )

    def recv_into(self, buffer, nbytes=0, flags=0):
        """Receive one part into ``buffer``: a Future for the message size."""
        return self._start(
            self._recv_waiters,
            POLLIN,
            flags,
            lambda: _sync_recv_into(self, buffer, nbytes, flags | DONTWAIT),
        )

    def _recv_then(self, flags, convert, copy=True):
        """Receive one part and return ``convert(part)``; the conversion runs as part of
        the receive, so nothing can come between the message and the Future."""
        return self._start(
            self._recv_waiters,
            POLLIN,
            flags,
            lambda: convert(_sync_recv(self, flags | DONTWAIT, copy, False)),
        )

    def recv_string(self, flags=0, encoding="utf-8"):
        return self._recv_then(flags, lambda data: data.decode(encoding))

    recv_unicode = recv_string

    def recv_json(self, flags=0, **kwargs):
        return self._recv_then(flags, lambda data: json.loads(data, **kwargs))

    def recv_pyobj(self, flags=0):
        """Receive and unpickle an object. Only unpickle data from peers you trust."""
        return self._recv_then(flags, pickle.loads)

    def recv_serialized(self, deserialize, flags=0, copy=True):
        return self._start(
            self._recv_waiters,
            POLLIN,
            flags,
            lambda: deserialize(_sync_recv_multipart(self, flags | DONTWAIT, copy, False)),
        )

    def recv_array(self, flags=0, copy=False):
        """A Future for the next array sent with send_array."""
        from zmqipc import arrays

        return self._start(
            self._recv_waiters,
            POLLIN,
            flags,
            lambda: arrays.recv_array(self._blocking, flags | DONTWAIT, copy),
        )

    def recv_array_into(self, out, flags=0):
        """A Future for ``out`` once the next array was received into it."""
        from zmqipc import arrays

        return self._start(
            self._recv_waiters,
            POLLIN,
            flags,
            lambda: arrays.recv_array_into(self._blocking, out, flags | DONTWAIT),
        )

    @property
    def _blocking(self):
        # The synchronous receive for helpers written against the synchronous API.
        return types.SimpleNamespace(recv_multipart=functools.partial(_sync_recv_multipart, self))

    # --- polling -----------------------------------------------------------------

    def poll(self, timeout=None, flags=POLLIN):
        """A Future for the events in ``flags`` that are ready, waiting up to
        ``timeout`` ms (None: forever); 0 on timeout."""
        if self.closed:
            raise ZMQError(ENOTSUP)
        loop = _running_loop()
        future = loop.create_future()
        events = _getsockopt(self, EVENTS) & flags
        if loop is not self._loop:
            self._attach(loop)
        if events or timeout == 0:
            future.set_result(events)
            self._after_operation()
            return future
        polls = self._poll_waiters
        polls[future] = flags
        future.add_done_callback(lambda f: polls.pop(f, None))
        # Reading EVENTS above may have consumed the FD's edge for the other direction.
        self._after_operation()
        if timeout is not None and timeout >= 0:
            timer = loop.call_later(timeout / 1000, _set_result, future, 0)
            future.add_done_callback(lambda f: timer.cancel())
        return future

    def get(self, option):
        """As zmqipc.Socket.get; reading EVENTS may consume the FD's edge, so waiters
        are served afterwards."""
        value = super().get(option)
        if option == EVENTS:
            self._after_operation()
        return value

    getsockopt = get

    @classmethod
    def from_socket(cls, socket, io_loop=None):
        """An asyncio Socket standing for ``socket`` (a zmqipc Socket), as pyzmq's."""
        return cls.shadow(socket)

    # --- lifetime ----------------------------------------------------------------

    def __del__(self):
        if self._shadow:  # the socket stays open (its owner has it): just stop watching
            self._detach()
        else:
            super().__del__()

    def close(self, linger=None):
        """Cancel every waiting Future, stop watching the FD, close the socket."""
        if not self.closed:
            self._cancel_waiters()
            self._detach()
        super().close(linger)

    # --- the waiting machinery ---------------------------------------------------

    def _copy_needed(self, parts, track):
        """False if a copy=True send of ``parts`` may skip the copy: bytes cannot
        change, so libzmq can read large ones in place until it has sent them (no
        heap block to allocate and fault in, no copy; the buffer release wakes the
        loop). What the peer receives is the same. Not with ``track`` (the result
        stays None) and not over inproc, where the peer would get a read-only Frame
        of our bytes instead of a writable one of its own."""
        size = 0
        for part in parts:
            if type(part) is not bytes:
                return True
            size += len(part)
        if track or size < SEND_IN_PLACE:
            return True
        return self._inproc_endpoint

    def _zero_copy_used(self):
        loop = _running_loop()
        if loop is not self._loop:
            self._attach(loop)
        if not self._releases_watched:
            self._releases_watched = True
            _watch_releases(loop, self)

    def _start(self, waiters, event, flags, attempt):
        """Try ``attempt`` at once unless earlier calls of the same direction
        (``event``: POLLIN or POLLOUT) are waiting, as order is kept; otherwise, or
        on EAGAIN, queue it.

        A failed attempt costs an exception, far more than reading EVENTS; so after
        one, the next call of that direction reads EVENTS first and attempts only if
        the socket is ready (a streaming socket keeps attempting directly).

        A receive made while a large received message is on its way to the coroutine
        that waited for it is queued too (see _hand_over), unless it is DONTWAIT."""
        loop = _running_loop()
        if loop is not self._loop:
            self._attach(loop)
        future = loop.create_future()
        while waiters and waiters[0].future.done():  # cancelled or timed out
            waiters.popleft()
        if flags & DONTWAIT or (
            not waiters
            and not (event == POLLIN and self._large_in_hand)
            and (self._ready_guess[event] or _getsockopt(self, EVENTS) & event)
        ):
            try:
                result = attempt()
            except Again as e:
                self._ready_guess[event] = False
                if flags & DONTWAIT:
                    future.set_exception(e)
                    self._after_operation()
                    return future
            except Exception as e:
                future.set_exception(e)
                self._after_operation()
                return future
            else:
                self._ready_guess[event] = True
                future.set_result(result)
                self._after_operation()
                return future
        timeout = _getsockopt(self, RCVTIMEO if event == POLLIN else SNDTIMEO)
        timer = None
        if timeout >= 0:
            timer = loop.call_later(timeout / 1000, _set_again, future)
        waiters.append(_Waiter(future, attempt, timer))
        self._serve()  # the attempt or EVENTS above may have taken the FD's edge
        return future

    def _hand_over(self, future, result):
        """Complete a waiting receive's Future.

        The loop keeps that Future, and so the message, referenced until the step of
        the coroutine that awaited it has run. If that step received the next large
        message at once, both would be held; freeing them together makes glibc give
        the heap back to the kernel and fault it in again on the next message (about
        half of the pages of a 1 MiB message). So until then no receive is made:
        they are queued, and _handed_over (which runs right after the coroutine's
        step) serves them."""
        future.set_result(result)  # schedules the coroutine's wake-up
        if _heap_size(result) >= LARGE_RESULT:
            self._large_in_hand = True
            # Scheduled after the wake-up; not a done callback of the Future, as the
            # loop would keep the Future referenced while running it.
            self._loop.call_soon(self._handed_over)

    def _handed_over(self):
        self._large_in_hand = False
        if self._recv_waiters:
            self._serve()

    def _after_operation(self):
        """An operation may have consumed the FD's edge: let anyone waiting look again."""
        if (
            (self._recv_waiters or self._send_waiters or self._poll_waiters)
            and not self._serve_scheduled
            and not self._loop.is_closed()
        ):
            self._serve_scheduled = True
            self._loop.call_soon(self._serve)

    def _serve(self):
        """Read EVENTS and serve waiters until nothing more can be done."""
        if self._serve_scheduled:
            self._serve_scheduled = False
        if self.closed:
            return
        while True:
            try:
                events = _getsockopt(self, EVENTS)
            except ZMQError as e:  # e.g. the context was terminated
                self._fail_waiters(e)
                return
            if self._poll_waiters:
                self._serve_polls(events)
            served = False
            if events & POLLIN and not self._large_in_hand and self._serve_one(self._recv_waiters):
                served = True
            if events & POLLOUT and self._serve_one(self._send_waiters):
                served = True
            if not served:
                return

    def _serve_one(self, waiters):
        """Run the first live waiter's attempt; False if none ran or it would block."""
        while waiters:
            waiter = waiters[0]
            if waiter.future.done():
                waiters.popleft()
                continue
            try:
                result = waiter.attempt()
            except Again:
                return False
            except Exception as e:
                waiters.popleft()
                waiter.future.set_exception(e)
            else:
                waiters.popleft()
                if waiters is self._recv_waiters:
                    self._hand_over(waiter.future, result)
                else:
                    waiter.future.set_result(result)
            if waiter.timer is not None:
                waiter.timer.cancel()
            return True
        return False

    def _serve_polls(self, events):
        for future, flags in list(self._poll_waiters.items()):
            if events & flags and not future.done():
                future.set_result(events & flags)  # its done callback unregisters it

    def _attach(self, loop):
        """Watch the FD on ``loop`` (once per loop)."""
        if loop is self._loop:
            return
        fd = _getsockopt(self, FD)  # (raises ENOTSOCK once closed)
        self._detach()
        for waiters in (self._recv_waiters, self._send_waiters):
            waiters.clear()  # Futures of a previous loop: nobody can await them any more
        self._poll_waiters.clear()
        self._large_in_hand = False  # (its _handed_over may never run on a closed loop)
        self._fd = fd
        self._reactor = _add_reader(
            loop, self._fd, functools.partial(_on_readable, weakref.ref(self))
        )
        self._loop = loop

    def _detach(self):
        loop, reactor = self._loop, self._reactor
        self._loop = self._reactor = None
        if loop is None:
            return
        if not loop.is_closed():
            reactor.remove_reader(self._fd)
        if self._releases_watched:
            self._releases_watched = False
            _unwatch_releases(loop, self)

    def _cancel_waiters(self):
        futures = [w.future for w in self._recv_waiters] + [w.future for w in self._send_waiters]
        futures += list(self._poll_waiters)
        self._recv_waiters.clear()
        self._send_waiters.clear()
        self._poll_waiters.clear()
        for future in futures:
            if not future.done():
                try:
                    future.cancel()
                except RuntimeError:  # its loop is already closed
                    pass

    def _fail_waiters(self, error):
        waiting = list(self._recv_waiters) + list(self._send_waiters)
        polls = list(self._poll_waiters)
        self._recv_waiters.clear()
        self._send_waiters.clear()
        self._poll_waiters.clear()
        self._detach()  # the FD would keep firing
        for waiter in waiting:
            if not waiter.future.done():
                waiter.future.set_exception(type(error)(error.errno, error.strerror))
        for future in polls:
            if not future.done():
                future.set_exception(type(error)(error.errno, error.strerror))


# ---------------------------------------------------------------------------
# Poller and Context
# ---------------------------------------------------------------------------


class Poller(_poll.Poller):
    """A Poller whose poll() returns a Future for the [(socket, events)] list."""

    def poll(self, timeout=None):
        """Wait up to ``timeout`` ms (None or negative: forever) for any registered
        event; the Future's result lists the ready (socket, events) pairs ([] on
        timeout)."""
        return asyncio.ensure_future(self._poll(timeout))

    async def _poll(self, timeout):
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None or timeout < 0 else loop.time() + timeout / 1000
        while True:
            ready = super().poll(0)
            for item, _ in self.sockets:  # zmq_poll read their EVENTS: edges may be consumed
                if isinstance(item, Socket):
                    item._after_operation()
            if ready or (deadline is not None and loop.time() >= deadline):
                return ready
            await self._wait_any(loop, deadline)

    async def _wait_any(self, loop, deadline):
        """Return when any registered item may have become ready (or at the deadline)."""
        wake = loop.create_future()
        raw = []  # (reactor, fd, remove method name)
        polls = []
        try:
            for item, flags in self.sockets:
                if isinstance(item, Socket):
                    polls.append(
                        item.poll(
                            None if deadline is None else max(0, (deadline - loop.time()) * 1000),
                            flags & (POLLIN | POLLOUT),
                        )
                    )
                    polls[-1].add_done_callback(lambda f: _set_result(wake, None))
                    continue
                # Raw fds, file objects and synchronous zmqipc sockets (whose FD is
                # edge-triggered: the poll(0) above already consumed the last edge).
                fd = (
                    item.getsockopt(FD)
                    if isinstance(item, _zmq.Socket)
                    else item
                    if isinstance(item, int)
                    else item.fileno()
                )
                wake_up = functools.partial(_set_result, wake, None)
                if flags & (POLLIN | POLLERR) or isinstance(item, _zmq.Socket):
                    raw.append((_add_reader(loop, fd, wake_up), fd, "remove_reader"))
                if flags & POLLOUT and not isinstance(item, _zmq.Socket):
                    raw.append((_add_writer(loop, fd, wake_up), fd, "remove_writer"))
            timer = None
            if deadline is not None:
                timer = loop.call_at(deadline, _set_result, wake, None)
            try:
                await wake
            finally:
                if timer is not None:
                    timer.cancel()
        finally:
            for reactor, fd, remove in raw:
                if not loop.is_closed():
                    getattr(reactor, remove)(fd)
            for future in polls:
                future.cancel()


class Context(_context.Context):
    """A Context whose sockets are zmqipc.asyncio.Socket (pyzmq's zmq.asyncio.Context)."""

    _socket_class = Socket  # type: ignore[assignment]
    _instance = None
    _instance_pid = None
