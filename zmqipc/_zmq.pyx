# cython: freethreading_compatible = False
"""The compiled core of zmqipc: libzmq contexts, sockets and messages.

Rules kept here (see design.md):
- the GIL is released only around the libzmq call, results are checked with it held;
- every failed return code goes through _check_rc, the one error-mapping function;
- zero-copy buffers go back to Python through the lock-free release queue
  (csrc/release_queue.c): libzmq's threads never take the GIL.
Pure-Python conveniences (string/json/pickle, attribute options, monitor, Poller,
arrays) live in the Python modules that subclass these types.
"""

from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release, PyBUF_ANY_CONTIGUOUS,
                             PyBUF_WRITABLE, PyBUF_FORMAT, PyBUF_SIMPLE)
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING
from cpython.exc cimport PyErr_CheckSignals
from cpython.ref cimport Py_INCREF, Py_DECREF
from libc.errno cimport EINTR, EINVAL, EAGAIN, ENOMEM
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, strlen

from zmqipc._libzmq cimport *

import os
import time
import weakref

from zmqipc import error as _error

cdef extern from "Python.h":
    int Py_AddPendingCall(int (*func)(void *) noexcept, void *arg) nogil

cdef extern from "release_queue.h" nogil:
    void zmqipc_release_cb(void *data, void *hint)
    zmqipc_release_node *zmqipc_release_take_all()
    int zmqipc_release_pending()
    ctypedef void (*zmqipc_wakeup_fn)() noexcept nogil
    void zmqipc_release_set_wakeup(zmqipc_wakeup_fn fn)


# ---------------------------------------------------------------------------
# Errors: the one place a failed libzmq return code becomes an exception.
# ---------------------------------------------------------------------------

def strerror(int errnum):
    """Return libzmq's message for an errno value."""
    return zmq_strerror(errnum).decode("utf-8", "replace")


def _errno():
    """Return libzmq's errno for the calling thread (zmqipc.zmq_errno)."""
    return zmq_errno()


cdef int _check_rc(int rc, object detail=None) except -1:
    """Return 0 if ``rc`` is a success, 1 if a signal interrupted the call and its
    Python handler returned (the caller retries), and raise the matching ZMQError
    subclass otherwise. A handler that raises (Ctrl-C) propagates from here."""
    cdef int err
    if rc >= 0:
        return 0
    err = zmq_errno()
    if err == EINTR:
        PyErr_CheckSignals()
        return 1
    raise _error.error_for(err, strerror(err), detail)


cdef int _raise_errno(int err, object detail=None) except -1:
    raise _error.error_for(err, strerror(err), detail)


# errno values compiled into libzmq, for zmqipc.constants.
ERRNO_VALUES = dict(
    EAGAIN=EAGAIN, EINVAL=EINVAL, EINTR=EINTR, ENOMEM=ENOMEM,
    ENOTSUP=ENOTSUP, EPROTONOSUPPORT=EPROTONOSUPPORT, ENOBUFS=ENOBUFS, ENETDOWN=ENETDOWN,
    EADDRINUSE=EADDRINUSE, EADDRNOTAVAIL=EADDRNOTAVAIL, ECONNREFUSED=ECONNREFUSED,
    EINPROGRESS=EINPROGRESS, ENOTSOCK=ENOTSOCK, EMSGSIZE=EMSGSIZE, EAFNOSUPPORT=EAFNOSUPPORT,
    ENETUNREACH=ENETUNREACH, ECONNABORTED=ECONNABORTED, ECONNRESET=ECONNRESET,
    ENOTCONN=ENOTCONN, ETIMEDOUT=ETIMEDOUT, EHOSTUNREACH=EHOSTUNREACH, ENETRESET=ENETRESET,
    EFSM=EFSM, ENOCOMPATPROTO=ENOCOMPATPROTO, ETERM=ETERM, EMTHREAD=EMTHREAD)


# ---------------------------------------------------------------------------
# Versions and capabilities
# ---------------------------------------------------------------------------

def zmq_version_info():
    """libzmq's version as a (major, minor, patch) tuple."""
    cdef int major, minor, patch
    zmq_version(&major, &minor, &patch)
    return (major, minor, patch)


def has(capability):
    """True if the built-in libzmq supports ``capability`` (e.g. "ipc", "curve")."""
    if isinstance(capability, str):
        capability = capability.encode("utf-8")
    if not isinstance(capability, bytes):
        raise TypeError("capability must be str, not %s" % type(capability).__name__)
    return bool(zmq_has(capability))


# ---------------------------------------------------------------------------
# Fork safety: libzmq state does not survive fork(); objects remember the
# generation they were made in and refuse to work in a child.
# ---------------------------------------------------------------------------

cdef int _fork_generation = 0

def _after_fork_in_child():
    global _fork_generation
    _fork_generation += 1

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

_FORK_MESSAGE = ("%s was created before fork() in the parent process; libzmq objects "
                 "cannot be used in a forked child. Create a new Context in the child.")


# ---------------------------------------------------------------------------
# Zero-copy release queue
# ---------------------------------------------------------------------------

cdef class MessageTracker:
    """Tells when libzmq has released the buffers of zero-copy sends.

    ``done`` is True (and the buffers may be modified or freed) once every
    tracked message has been sent or discarded by libzmq.
    """

    def __init__(self, *towatch):
        self.pending = 0
        self._peers = [t for t in towatch if isinstance(t, MessageTracker)]
        for t in towatch:
            if not isinstance(t, (MessageTracker, Frame)):
                raise TypeError("MessageTracker can watch trackers and frames, not %r" % (t,))
            if isinstance(t, Frame) and (<Frame>t).tracker is not None:
                self._peers.append((<Frame>t).tracker)

    @property
    def done(self):
        """True once libzmq no longer holds any of the tracked buffers."""
        _drain_releases()
        if self.pending > 0:
            return False
        return all(peer.done for peer in self._peers)

    def wait(self, timeout=-1):
        """Block until ``done``; raise NotDone if ``timeout`` seconds (float) pass first.
        A negative timeout waits forever."""
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        pause = 5e-5
        while not self.done:
            if deadline is not None and time.monotonic() >= deadline:
                raise _error.NotDone()
            time.sleep(pause)   # releases the GIL; libzmq's threads keep releasing
            pause = min(pause * 2, 0.01)

    def __repr__(self):
        return "<MessageTracker pending=%d>" % self.pending


# Addresses of read-only buffers (bytes, read-only arrays) libzmq currently holds,
# with counts. Over inproc a zero-copy message arrives as the sender's own memory;
# a Frame received at such an address must not be writable.
cdef dict _readonly_leased = {}


cdef class _BufferLease:
    """One zero-copy message's hold on its exporter (see _zmq.pxd)."""

    def __dealloc__(self):
        cdef size_t address
        if self.guards_readonly and _readonly_leased is not None:
            address = <size_t>self.view.buf
            if _readonly_leased[address] == 1:
                del _readonly_leased[address]
            else:
                _readonly_leased[address] -= 1
        if self.has_view:
            PyBuffer_Release(&self.view)


cdef void _drain_releases() noexcept:
    """Drop the references libzmq has given back. Must hold the GIL."""
    cdef zmqipc_release_node *node = zmqipc_release_take_all()
    cdef zmqipc_release_node *following
    cdef _BufferLease lease
    while node != NULL:
        following = node.next
        lease = <_BufferLease>node.owner
        if lease.tracker is not None:
            lease.tracker.pending -= 1
            lease.tracker = None
        Py_DECREF(lease)    # the reference handed to libzmq
        lease = None        # may free the lease (and the node inside it)
        node = following


cdef int _pending_drain(void *arg) noexcept:
    _drain_releases()
    return 0


cdef void _schedule_drain() noexcept nogil:
    # Runs on libzmq's thread: no GIL. The interpreter runs the drain soon on the
    # main thread, so memory comes back even if the program stops calling us.
    Py_AddPendingCall(_pending_drain, NULL)


zmqipc_release_set_wakeup(_schedule_drain)


def _stop_wakeups():
    # At interpreter exit, stop scheduling pending calls from libzmq threads.
    zmqipc_release_set_wakeup(NULL)

import atexit
atexit.register(_stop_wakeups)


def _release_pending():
    """Number of released-but-not-yet-dropped zero-copy buffers is not tracked;
    this just drains the queue now (for tests and explicit clean-up)."""
    _drain_releases()


cdef int _init_zero_copy(zmq_msg_t *msg, object data, MessageTracker tracker) except -1:
    """Point ``msg`` at ``data``'s buffer; the exporter is held until libzmq releases it."""
    cdef _BufferLease lease = _BufferLease.__new__(_BufferLease)
    _get_buffer(data, &lease.view, PyBUF_ANY_CONTIGUOUS)
    lease.has_view = True
    lease.node.owner = <void *>lease
    rc = zmq_msg_init_data(msg, lease.view.buf, <size_t>lease.view.len,
                           zmqipc_release_cb, &lease.node)
    _check_rc(rc)
    Py_INCREF(lease)        # owned by libzmq until zmqipc_release_cb queues the node
    if lease.view.readonly:
        address = <size_t>lease.view.buf
        _readonly_leased[address] = _readonly_leased.get(address, 0) + 1
        lease.guards_readonly = True
    if tracker is not None:
        lease.tracker = tracker
        tracker.pending += 1
    return 0


cdef int _get_buffer(object data, Py_buffer *view, int flags) except -1:
    """Export ``data``'s buffer, turning failures into clear TypeErrors."""
    if isinstance(data, str):
        raise TypeError("unicode/str not allowed, use send_string (or encode to bytes)")
    try:
        PyObject_GetBuffer(data, view, flags)
    except BufferError as e:
        raise ValueError("cannot send %s: %s (make it contiguous first)" % (type(data).__name__, e))
    except TypeError:
        raise TypeError("expected bytes or a buffer-protocol object (bytes, bytearray, "
                        "memoryview, numpy array, Frame), not %s" % type(data).__name__) from None
    return 0


# ---------------------------------------------------------------------------
# Frame: one libzmq message
# ---------------------------------------------------------------------------

cdef class Frame:
    """A ZeroMQ message. Received frames expose the message memory (writable)
    through the buffer protocol, so ``memoryview(frame)`` and
    ``numpy.frombuffer(frame, ...)`` read it without a copy and keep it alive."""

    def __cinit__(self, data=None, track=False, copy=None, copy_threshold=None, **kwargs):
        self.more = False
        self.tracker = None
        if data is None:
            _check_rc(zmq_msg_init(&self.msg))
            self.msg_open = True
            return
        if isinstance(data, Frame):
            _check_rc(zmq_msg_init(&self.msg))
            self.msg_open = True
            _check_rc(zmq_msg_copy(&self.msg, &(<Frame>data).msg))
            return
        cdef Py_buffer view
        threshold = COPY_THRESHOLD if copy_threshold is None else copy_threshold
        if track:
            self.tracker = MessageTracker()
        if copy is None:
            _get_buffer(data, &view, PyBUF_ANY_CONTIGUOUS)
            copy = view.len < threshold
            PyBuffer_Release(&view)
        if copy:
            _get_buffer(data, &view, PyBUF_ANY_CONTIGUOUS)
            try:
                _check_rc(zmq_msg_init_size(&self.msg, <size_t>view.len))
                self.msg_open = True
                with nogil:
                    memcpy(zmq_msg_data(&self.msg), view.buf, <size_t>view.len)
            finally:
                PyBuffer_Release(&view)
            if isinstance(data, bytes):
                self._bytes = data
        else:
            _init_zero_copy(&self.msg, data, self.tracker)
            self.msg_open = True

    def __dealloc__(self):
        if self.msg_open:
            zmq_msg_close(&self.msg)

    def __getbuffer__(self, Py_buffer *buffer, int flags):
        if (flags & PyBUF_WRITABLE) and not self.writable:
            raise BufferError("this Frame wraps a buffer being sent and is read-only")
        buffer.buf = zmq_msg_data(&self.msg)
        buffer.len = <Py_ssize_t>zmq_msg_size(&self.msg)
        buffer.obj = self
        buffer.readonly = 0 if self.writable else 1
        buffer.itemsize = 1
        buffer.format = NULL
        if flags & PyBUF_FORMAT:
            buffer.format = b"B"
        buffer.ndim = 1
        buffer.shape = &buffer.len
        buffer.strides = &buffer.itemsize
        buffer.suboffsets = NULL
        buffer.internal = NULL
        self._exports += 1

    def __releasebuffer__(self, Py_buffer *buffer):
        self._exports -= 1

    def __len__(self):
        return zmq_msg_size(&self.msg)

    @property
    def bytes(self):
        """The message content as bytes (copied once, then cached)."""
        if self._bytes is None:
            self._bytes = PyBytes_FromStringAndSize(<char *>zmq_msg_data(&self.msg),
                                                    <Py_ssize_t>zmq_msg_size(&self.msg))
        return self._bytes

    def __bytes__(self):
        return self.bytes

    @property
    def buffer(self):
        """A memoryview of the message memory (no copy)."""
        return memoryview(self)

    def get(self, option):
        """A message property: an int option (zmq.MORE, zmq.SRCFD, zmq.SHARED) or a
        metadata name such as "Socket-Type", "Peer-Address", "Routing-Id", "User-Id"."""
        cdef const char *value
        if isinstance(option, (str, bytes)):   # pyzmq accepts both
            name = option.encode("utf-8") if isinstance(option, str) else option
            value = zmq_msg_gets(&self.msg, name)
            if value == NULL:
                _check_rc(-1, option)
            return value.decode("utf-8", "replace")
        rc = zmq_msg_get(&self.msg, option)
        _check_rc(rc)
        return rc

    def __copy__(self):
        return Frame(self)

    def __repr__(self):
        n = zmq_msg_size(&self.msg)
        return "<zmqipc.Frame(%d bytes%s)>" % (n, ", more" if self.more else "")


# Below this many bytes copy=False copies anyway. Zero-copy costs a lease object
# and a release per message; measured over ipc (README) it matches copying at
# about 3 KiB and wins from 4 KiB up (pyzmq uses 64 KiB: its release path costs
# a helper-thread round trip).
COPY_THRESHOLD = 4096


# ---------------------------------------------------------------------------
# Context
# ---------------------------------------------------------------------------

cdef bint _interpreter_exiting = False

def _mark_exiting():
    global _interpreter_exiting
    _interpreter_exiting = True

atexit.register(_mark_exiting)


cdef class Context:
    """A libzmq context: owns the I/O threads. Thread-safe: sockets of one context
    may be used from different threads (each socket from one thread at a time)."""

    def __cinit__(self, *args, **kwargs):
        self.handle = zmq_ctx_new()
        if self.handle == NULL:
            _check_rc(-1)
        self._fork_gen = _fork_generation
        self._sockets = weakref.WeakSet()

    def __init__(self, int io_threads=1, **kwargs):
        if io_threads != 1:
            self.set(ZMQ_IO_THREADS, io_threads)

    def __dealloc__(self):
        # Sockets hold their context, so none is left open here unless the process
        # forked (libzmq state is not ours to touch) or the interpreter is exiting
        # (term could wait forever on lingering messages).
        if self.handle != NULL and not self._term_called and self._fork_gen == _fork_generation \
                and not _interpreter_exiting:
            with nogil:
                zmq_ctx_term(self.handle)
        self.handle = NULL

    cdef int _check_open(self) except -1:
        if self._fork_gen != _fork_generation:
            raise _error.ZMQError(ENOTSUP, _FORK_MESSAGE % "Context")
        if self._term_called:
            _raise_errno(ETERM)
        return 0

    @property
    def closed(self):
        """True after term() or destroy()."""
        return self._term_called

    @property
    def underlying(self):
        """The address of the libzmq context (an int)."""
        return <size_t>self.handle

    def set(self, int option, int value):
        """Set a context option (zmq.IO_THREADS, zmq.MAX_SOCKETS, ...)."""
        self._check_open()
        _check_rc(zmq_ctx_set(self.handle, option, value))

    def get(self, int option):
        """Get a context option."""
        self._check_open()
        rc = zmq_ctx_get(self.handle, option)
        _check_rc(rc)
        return rc

    def term(self):
        """Terminate the context. Blocks until every socket is closed and its
        lingering messages are sent or dropped (see LINGER)."""
        if self._term_called or self.handle == NULL:
            return
        if self._fork_gen != _fork_generation:
            self._term_called = True   # as Socket.close: the parent owns it; just forget it
            return
        cdef int rc
        while True:
            with nogil:
                rc = zmq_ctx_term(self.handle)
            if _check_rc(rc) == 0:
                break
        self._term_called = True
        _drain_releases()

    def _register_socket(self, sock):
        self._sockets.add(sock)

    def _open_sockets(self):
        return [s for s in list(self._sockets) if not s.closed]


# ---------------------------------------------------------------------------
# Socket
# ---------------------------------------------------------------------------

# Option value types (libzmq 4.3.4, including draft numbers). Everything else is int.
_INT64_OPTIONS = frozenset([4, 22, 85, 86, 87])         # AFFINITY, MAXMSGSIZE, VMCI_*
_BYTES_OPTIONS = frozenset([5, 6, 7, 32, 38, 45, 46, 48, 49, 50, 55, 61, 63, 64, 68, 72,
                            92, 95, 99, 100, 103, 104, 105, 106, 110, 111])
_BINARY_OPTIONS = frozenset([5, 6, 7, 38, 61, 72, 110, 111])  # returned as-is (no NUL)
_FD_OPTION = ZMQ_FD

cdef extern from *:
    """
    #ifdef _WIN32
    typedef unsigned __int64 zmqipc_fd_t;   /* SOCKET */
    #else
    typedef int zmqipc_fd_t;
    #endif
    """
    ctypedef long long zmqipc_fd_t


cdef class Socket:
    """A libzmq socket. Not thread-safe: use each socket from one thread at a time
    (hand it over with a memory barrier, e.g. a lock or queue)."""

    def __cinit__(self, Context context=None, int socket_type=-1, *args, **kwargs):
        self._closed = True
        if context is None:
            raise TypeError("Socket(context, socket_type): a Context is required")
        context._check_open()
        if socket_type > 11:   # SERVER..CHANNEL: draft types, unusable without the draft API
            _raise_errno(EINVAL, "socket_type=%d is a draft socket type; this libzmq is "
                                 "built without the draft API" % socket_type)
        self.handle = zmq_socket(context.handle, socket_type)
        if self.handle == NULL:
            _check_rc(-1, "socket_type=%d" % socket_type)
        self._closed = False
        self.context = context
        self.socket_type = socket_type
        self._fork_gen = _fork_generation
        self.copy_threshold = COPY_THRESHOLD
        context._register_socket(self)

    def __dealloc__(self):
        if self.handle != NULL and not self._closed and self._fork_gen == _fork_generation:
            zmq_close(self.handle)
        self.handle = NULL

    cdef int _check_usable(self) except -1:
        if self._closed:
            _raise_errno(ENOTSOCK)
        if self._fork_gen != _fork_generation:
            raise _error.ZMQError(ENOTSUP, _FORK_MESSAGE % "Socket")
        return 0

    @property
    def closed(self):
        """True once close() was called."""
        # handle is NULL if __cinit__ failed before setting _closed (bad arguments):
        # __del__ then sees a closed socket instead of calling zmq_close(NULL).
        return self._closed or self.handle == NULL

    @property
    def underlying(self):
        """The address of the libzmq socket (an int)."""
        return <size_t>self.handle

    def close(self, linger=None):
        """Close the socket. ``linger`` (ms) overrides LINGER for pending messages."""
        if self._closed:
            return
        if self._fork_gen != _fork_generation:
            self._closed = True   # the parent owns it; just forget it here
            return
        cdef int c_linger
        if linger is not None:
            # As pyzmq: best effort, so close(linger=0) still closes a socket
            # whose context was already terminated (ETERM from setsockopt).
            c_linger = linger
            zmq_setsockopt(self.handle, ZMQ_LINGER, &c_linger, sizeof(int))
        _check_rc(zmq_close(self.handle))
        self._closed = True
        _drain_releases()

    # --- endpoints -----------------------------------------------------------

    def bind(self, addr):
        """Bind to an endpoint such as "ipc:///tmp/x", "tcp://*:5555", "inproc://x"."""
        _check_rc(zmq_bind(self._usable_handle(), _endpoint(addr)), "addr=%r" % (addr,))

    def connect(self, addr):
        """Connect to an endpoint."""
        _check_rc(zmq_connect(self._usable_handle(), _endpoint(addr)), "addr=%r" % (addr,))

    def unbind(self, addr):
        """Stop listening on an endpoint given to bind() (or its last_endpoint)."""
        _check_rc(zmq_unbind(self._usable_handle(), _endpoint(addr)), "addr=%r" % (addr,))

    def disconnect(self, addr):
        """Disconnect from an endpoint given to connect()."""
        _check_rc(zmq_disconnect(self._usable_handle(), _endpoint(addr)), "addr=%r" % (addr,))

    cdef void *_usable_handle(self) except NULL:
        self._check_usable()
        return self.handle

    # --- options -------------------------------------------------------------

    def setsockopt(self, int option, optval):
        """Set a socket option; bytes options take bytes, the others int."""
        cdef int int_value
        cdef int64_t int64_value
        cdef const char *data
        self._check_usable()
        if option in _BYTES_OPTIONS:
            if isinstance(optval, str):
                raise TypeError("option %d takes bytes; use setsockopt_string for str" % option)
            if not isinstance(optval, bytes):
                raise TypeError("option %d takes bytes, not %s" % (option, type(optval).__name__))
            data = optval
            _check_rc(zmq_setsockopt(self.handle, option, data, len(optval)))
        elif option in _INT64_OPTIONS:
            int64_value = _as_int(option, optval)
            _check_rc(zmq_setsockopt(self.handle, option, &int64_value, sizeof(int64_t)))
        else:
            int64_value = _as_int(option, optval)
            if not -2147483648 <= int64_value <= 2147483647:   # never truncate silently
                raise OverflowError("option %d takes a C int, %d is out of range"
                                    % (option, int64_value))
            int_value = <int>int64_value
            _check_rc(zmq_setsockopt(self.handle, option, &int_value, sizeof(int)))

    def getsockopt(self, int option):
        """Get a socket option: int, or bytes for bytes options."""
        cdef int int_value
        cdef int64_t int64_value
        cdef zmqipc_fd_t fd_value
        cdef char buf[1024]
        cdef size_t size
        self._check_usable()
        if option in _BYTES_OPTIONS:
            size = sizeof(buf)
            _check_rc(zmq_getsockopt(self.handle, option, buf, &size))
            if option not in _BINARY_OPTIONS and size > 0 and buf[size - 1] == 0:
                size -= 1   # string options come NUL-terminated
            return buf[:size]
        if option in _INT64_OPTIONS:
            size = sizeof(int64_t)
            _check_rc(zmq_getsockopt(self.handle, option, &int64_value, &size))
            return int64_value
        if option == _FD_OPTION:
            size = sizeof(zmqipc_fd_t)
            _check_rc(zmq_getsockopt(self.handle, option, &fd_value, &size))
            return fd_value
        size = sizeof(int)
        _check_rc(zmq_getsockopt(self.handle, option, &int_value, &size))
        return int_value

    set = setsockopt
    get = getsockopt

    # --- sending -------------------------------------------------------------

    def send(self, data, int flags=0, bint copy=True, bint track=False, routing_id=None,
             group=None):
        """Send one message part. ``data`` is bytes, a Frame or any contiguous buffer
        (numpy arrays included). ``copy=False`` sends without copying (buffers below
        ``copy_threshold`` are still copied); ``track=True`` with ``copy=False``
        returns a MessageTracker telling when the buffer may be reused."""
        if routing_id is not None or group is not None:
            _raise_errno(ENOTSUP, "routing_id/group need libzmq's draft API, not built")
        self._check_usable()
        if zmqipc_release_pending():
            _drain_releases()
        if isinstance(data, Frame):
            self._send_frame(<Frame>data, flags)
            return (<Frame>data).tracker if (track or not copy) else None
        if copy:
            self._send_copy(data, flags)
            return None
        tracker = MessageTracker() if track else None
        return self._send_zero_copy(data, flags, tracker)

    cdef int _send_copy(self, object data, int flags) except -1:
        cdef Py_buffer view
        cdef int rc
        _get_buffer(data, &view, PyBUF_ANY_CONTIGUOUS)
        try:
            while True:
                with nogil:
                    rc = zmq_send(self.handle, view.buf, <size_t>view.len, flags)
                if _check_rc(rc) == 0:
                    return 0
        finally:
            PyBuffer_Release(&view)

    cdef MessageTracker _send_zero_copy(self, object data, int flags, MessageTracker tracker):
        cdef Py_buffer view
        cdef zmq_msg_t msg
        cdef int rc
        _get_buffer(data, &view, PyBUF_ANY_CONTIGUOUS)
        small = view.len < self.copy_threshold
        PyBuffer_Release(&view)
        if small:   # copying beats the bookkeeping below the measured crossover
            self._send_copy(data, flags)
            return tracker
        cdef bint sent = False
        _init_zero_copy(&msg, data, tracker)
        try:
            while True:
                with nogil:
                    rc = zmq_msg_send(&msg, self.handle, flags)
                if _check_rc(rc) == 0:
                    sent = True
                    return tracker
        finally:
            zmq_msg_close(&msg)   # after a successful send msg is empty: no-op
            if not sent:          # the close released the buffer: drop our hold now, so
                _drain_releases() # the caller of a failed send may reuse/resize it at once

    cdef int _send_frame(self, Frame frame, int flags) except -1:
        cdef zmq_msg_t msg
        cdef int rc
        _check_rc(zmq_msg_init(&msg))
        try:
            _check_rc(zmq_msg_copy(&msg, &frame.msg))   # the frame stays usable
            while True:
                with nogil:
                    rc = zmq_msg_send(&msg, self.handle, flags)
                if _check_rc(rc) == 0:
                    return 0
        finally:
            zmq_msg_close(&msg)

    def send_multipart(self, msg_parts, int flags=0, bint copy=True, bint track=False):
        """Send a sequence of parts as one multipart message. Every part is checked
        before the first is sent, so a bad part never leaves a message half-sent."""
        cdef Py_buffer view
        self._check_usable()
        parts = list(msg_parts)
        if not parts:
            raise ValueError("send_multipart needs at least one part")
        for i, part in enumerate(parts):
            if not isinstance(part, Frame):
                if isinstance(part, str):
                    raise TypeError("part %d is str; encode it or use send_string" % i)
                try:
                    memoryview(part)
                except TypeError:
                    raise TypeError("part %d: expected bytes or a buffer-protocol object, not %s"
                                    % (i, type(part).__name__)) from None
                _get_buffer(part, &view, PyBUF_ANY_CONTIGUOUS)   # not contiguous: ValueError now
                PyBuffer_Release(&view)
        tracker = MessageTracker() if (track and not copy) else None
        last = len(parts) - 1
        for i, part in enumerate(parts):
            part_flags = flags | ZMQ_SNDMORE if i < last else flags
            if isinstance(part, Frame):
                self._send_frame(<Frame>part, part_flags)
            elif copy:
                self._send_copy(part, part_flags)
            else:
                self._send_zero_copy(part, part_flags, tracker)
        return tracker

    # --- receiving -----------------------------------------------------------

    def recv(self, int flags=0, bint copy=True, bint track=False):
        """Receive one message part: bytes, or a Frame (no copy) if ``copy=False``."""
        self._check_usable()
        if zmqipc_release_pending():
            _drain_releases()
        if copy:
            return self._recv_bytes(flags)
        return self._recv_frame(flags)

    cdef object _recv_bytes(self, int flags):
        cdef zmq_msg_t msg
        cdef int rc
        cdef size_t size
        cdef char *dest
        _check_rc(zmq_msg_init(&msg))
        try:
            while True:
                with nogil:
                    rc = zmq_msg_recv(&msg, self.handle, flags)
                if _check_rc(rc) == 0:
                    break
            size = zmq_msg_size(&msg)
            result = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>size)
            dest = PyBytes_AS_STRING(result)
            if size >= 65536:
                with nogil:
                    memcpy(dest, zmq_msg_data(&msg), size)
            else:
                memcpy(dest, zmq_msg_data(&msg), size)
            return result
        finally:
            zmq_msg_close(&msg)

    cdef Frame _recv_frame(self, int flags):
        cdef Frame frame = Frame.__new__(Frame)
        cdef int rc
        while True:
            with nogil:
                rc = zmq_msg_recv(&frame.msg, self.handle, flags)
            if _check_rc(rc) == 0:
                break
        frame.more = zmq_msg_more(&frame.msg)
        # Writable unless it is a read-only buffer sent zero-copy over inproc.
        frame.writable = not (_readonly_leased and
                              <size_t>zmq_msg_data(&frame.msg) in _readonly_leased)
        return frame

    def recv_multipart(self, int flags=0, bint copy=True, bint track=False):
        """Receive every part of a multipart message as a list."""
        self._check_usable()
        if zmqipc_release_pending():
            _drain_releases()
        cdef Frame frame
        parts = []
        while True:
            frame = self._recv_frame(flags)
            parts.append(frame if not copy else frame.bytes)
            if not frame.more:
                return parts

    def recv_into(self, buffer, Py_ssize_t nbytes=0, int flags=0):
        """Receive one part into a writable buffer; return the message's full size.
        Like zmq_recv, a longer message is truncated to the buffer: compare the
        result with the buffer length (recv_array_into raises instead)."""
        cdef Py_buffer view
        cdef int rc
        self._check_usable()
        if nbytes < 0:
            raise ValueError("nbytes must be >= 0, not %d" % nbytes)
        try:
            PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE | PyBUF_ANY_CONTIGUOUS)
        except TypeError as e:   # not a buffer at all
            raise TypeError("recv_into needs a writable contiguous buffer: %s" % e) from None
        except (BufferError, ValueError) as e:   # read-only or not contiguous (as pyzmq)
            raise BufferError("recv_into needs a writable contiguous buffer: %s" % e) from None
        try:
            if nbytes > view.len:   # as pyzmq: refuse before consuming the message
                raise ValueError("nbytes=%d too big for a buffer of %d bytes" % (nbytes, view.len))
            if nbytes == 0:
                nbytes = view.len
            while True:
                with nogil:
                    rc = zmq_recv(self.handle, view.buf, <size_t>nbytes, flags)
                if _check_rc(rc) == 0:
                    return rc
        finally:
            PyBuffer_Release(&view)

    # --- monitoring ------------------------------------------------------------

    def monitor(self, addr, int events=ZMQ_EVENT_ALL):
        """Publish socket events on a PAIR endpoint ``addr`` (None stops monitoring)."""
        cdef const char *c_addr = NULL
        self._check_usable()
        if addr is not None:
            addr = _endpoint(addr)
            c_addr = addr
        _check_rc(zmq_socket_monitor(self.handle, c_addr, events))


cdef bytes _endpoint(addr):
    if isinstance(addr, str):
        addr = addr.encode("utf-8")
    if not isinstance(addr, bytes):
        raise TypeError("endpoint must be str, not %s" % type(addr).__name__)
    if b"\0" in addr:
        raise ValueError("endpoint must not contain NUL characters")
    return addr


cdef int64_t _as_int(int option, value) except? -1:
    if isinstance(value, (bytes, str)) or not hasattr(value, "__index__"):
        raise TypeError("option %d takes an int, not %s" % (option, type(value).__name__))
    return value


# ---------------------------------------------------------------------------
# Polling and proxies
# ---------------------------------------------------------------------------

def _poll(sockets, timeout=-1):
    """Poll a list of (socket or fd or object with fileno(), events) pairs for up
    to ``timeout`` ms (-1 or None: forever). Return [(item, revents), ...] for the
    ready ones."""
    cdef int n = len(sockets)
    cdef zmq_pollitem_t *items
    cdef long remaining
    cdef int rc
    if timeout is None or timeout < 0:
        remaining = -1
    else:
        remaining = <long>timeout
    deadline = None if remaining < 0 else time.monotonic() + remaining / 1000.0
    items = <zmq_pollitem_t *>malloc(max(n, 1) * sizeof(zmq_pollitem_t))
    if items == NULL:
        raise MemoryError()
    try:
        for i, (obj, events) in enumerate(sockets):
            items[i].socket = NULL
            items[i].fd = 0
            items[i].events = events
            items[i].revents = 0
            if isinstance(obj, Socket):
                (<Socket>obj)._check_usable()
                items[i].socket = (<Socket>obj).handle
            else:
                fd = obj if isinstance(obj, int) else getattr(obj, "fileno", None)
                if fd is None:
                    raise TypeError("cannot poll %r: not a Socket, fd or object with fileno()" % (obj,))
                (<zmqipc_fd_t *>&items[i].fd)[0] = fd if isinstance(fd, int) else fd()
        while True:
            with nogil:
                rc = zmq_poll(items, n, remaining)
            if _check_rc(rc) == 0:
                break
            if deadline is not None:   # interrupted: poll again for the time left
                remaining = max(0, <long>((deadline - time.monotonic()) * 1000))
        return [(sockets[i][0], items[i].revents) for i in range(n) if items[i].revents]
    finally:
        free(items)


def proxy(Socket frontend, Socket backend, Socket capture=None):
    """Run libzmq's built-in proxy until the context is terminated."""
    cdef void *capture_handle = NULL
    cdef int rc
    frontend._check_usable()
    backend._check_usable()
    if capture is not None:
        capture._check_usable()
        capture_handle = capture.handle
    while True:
        with nogil:
            rc = zmq_proxy(frontend.handle, backend.handle, capture_handle)
        if _check_rc(rc) == 0:
            return


def proxy_steerable(Socket frontend, Socket backend, Socket capture=None, Socket control=None):
    """Like proxy(), controllable with PAUSE/RESUME/TERMINATE/STATISTICS on ``control``."""
    cdef void *capture_handle = NULL
    cdef void *control_handle = NULL
    cdef int rc
    frontend._check_usable()
    backend._check_usable()
    if capture is not None:
        capture._check_usable()
        capture_handle = capture.handle
    if control is not None:
        control._check_usable()
        control_handle = control.handle
    while True:
        with nogil:
            rc = zmq_proxy_steerable(frontend.handle, backend.handle, capture_handle, control_handle)
        if _check_rc(rc) == 0:
            return


# ---------------------------------------------------------------------------
# Security helpers
# ---------------------------------------------------------------------------

def curve_keypair():
    """A new CURVE key pair as (public, secret), each 40 bytes of Z85."""
    cdef char public_key[41]
    cdef char secret_key[41]
    _check_rc(zmq_curve_keypair(public_key, secret_key))
    return public_key[:40], secret_key[:40]


def curve_public(secret_key):
    """The Z85 public key belonging to a Z85 secret key."""
    cdef char public_key[41]
    if isinstance(secret_key, str):
        secret_key = secret_key.encode("ascii")
    if not isinstance(secret_key, bytes) or len(secret_key) != 40:
        raise ValueError("secret_key must be 40 bytes of Z85")
    _check_rc(zmq_curve_public(public_key, secret_key))
    return public_key[:40]


def z85_encode(data):
    """Encode bytes (length a multiple of 4) as Z85."""
    cdef bytes raw = bytes(data)
    if len(raw) % 4:
        raise ValueError("Z85 encodes a multiple of 4 bytes, got %d" % len(raw))
    out = PyBytes_FromStringAndSize(NULL, len(raw) * 5 // 4 + 1)
    if zmq_z85_encode(PyBytes_AS_STRING(out), <const uint8_t *><char *>raw, len(raw)) == NULL:
        _check_rc(-1)
    return out[:-1]


def z85_decode(z85bytes):
    """Decode Z85 (length a multiple of 5) to bytes."""
    if isinstance(z85bytes, str):
        z85bytes = z85bytes.encode("ascii")
    cdef bytes text = bytes(z85bytes)
    if len(text) % 5 or b"\0" in text:
        raise ValueError("Z85 input must be a multiple of 5 characters, got %d" % len(text))
    if not text:
        return b""   # libzmq rejects empty input; encode(b"") is b"" (as pyzmq)
    out = PyBytes_FromStringAndSize(NULL, len(text) * 4 // 5)
    if zmq_z85_decode(<uint8_t *>PyBytes_AS_STRING(out), text) == NULL:
        raise ValueError("invalid Z85 data")
    return out
