# Included by _zmq.pyx: Socket: endpoints, options, send/recv (copy and zero-copy),
# monitoring.

_live_sockets = weakref.WeakValueDictionary()   # address -> the owning Socket (see _shadowed)


cdef class Socket:
    """A libzmq socket. Not thread-safe: use each socket from one thread at a time
    (hand it over with a memory barrier, e.g. a lock or queue)."""

    def __cinit__(self, context=None, int socket_type=-1, *args, shadow=0, **kwargs):
        cdef Socket owner
        cdef Context root
        self._closed = True
        if isinstance(context, Socket) and not shadow:   # pyzmq: Socket(other_socket)
            context, shadow = None, context
        if shadow:   # stand for a live Socket; the owner keeps the handle
            owner = _shadowed(_live_sockets, shadow, "Socket")
            self.handle = owner.handle
            self._owner = owner
            self.context = owner.context
            self.socket_type = owner.socket_type
            self._fork_gen = owner._fork_gen
            self.copy_threshold = owner.copy_threshold
            self._closed = False
            return
        if context is None:
            raise TypeError("Socket(context, socket_type): a Context is required")
        if not isinstance(context, Context):
            raise TypeError("Socket(context, socket_type): context must be a zmqipc Context, "
                            "not %s" % type(context).__name__)
        (<Context>context)._check_open()
        if socket_type > 11:   # SERVER..CHANNEL: draft types, unusable without the draft API
            raise_errno(EINVAL, "socket_type=%d is a draft socket type; this libzmq is "
                        "built without the draft API" % socket_type)
        self.handle = _new_socket((<Context>context)._root(), socket_type)
        self._closed = False
        self.context = context
        self.socket_type = socket_type
        self._fork_gen = _fork_generation
        self.copy_threshold = COPY_THRESHOLD
        root = (<Context>context)._root()
        root._sockets.add(self)
        root._open_count += 1
        _live_sockets[<size_t>self.handle] = self

    def __dealloc__(self):
        cdef Context root
        if self.handle != NULL and not self._closed and self._fork_gen == _fork_generation \
                and self._owner is None:
            zmq_close(self.handle)
            if self.context is not None:
                root = (<Context>self.context)._root()
                root._open_count -= 1
        self.handle = NULL

    cdef int _check_usable(self) except -1:
        if self._closed or self._root()._closed:
            raise_errno(ENOTSOCK)
        if self._fork_gen != _fork_generation:
            raise _error.ZMQError(ENOTSUP, _FORK_MESSAGE % "Socket")
        return 0

    cdef int _begin_io(self) except -1:
        """Every send/recv starts here: the socket must be usable, and buffers libzmq
        has given back since the last call are dropped (cheap when there are none)."""
        self._check_usable()
        drain_releases()
        return 0

    @property
    def closed(self):
        """True once close() was called."""
        # handle is NULL if __cinit__ failed before setting _closed (bad arguments):
        # __del__ then sees a closed socket instead of calling zmq_close(NULL).
        return self._closed or self.handle == NULL or self._root()._closed

    @property
    def _shadow(self):
        return self._owner is not None

    cdef Socket _root(self):
        """The Socket owning the libzmq handle: this one, or the one a shadow stands for
        (state every view of the socket must share lives there)."""
        return self if self._owner is None else <Socket>self._owner

    @property
    def _root_socket(self):
        """_root() for Python code (socket.py keeps the endpoints there)."""
        return self._root()

    @property
    def underlying(self):
        """The address of the libzmq socket (an int)."""
        return <size_t>self.handle

    def close(self, linger=None):
        """Close the socket. ``linger`` (ms) overrides LINGER for pending messages.
        If another thread is blocked in a call on it, that thread closes it when its
        call returns (then failing with ENOTSOCK); the socket reads as closed at once."""
        if self._closed:
            return
        if self._owner is not None:   # a shadow closes the socket it stands for
            self._closed = True
            self._owner.close(linger)
            return
        if self._fork_gen != _fork_generation:
            self._closed = True   # the parent owns it; just forget it here
            return
        cdef int c_linger
        if linger is not None:
            # As pyzmq: best effort, so close(linger=0) still closes a socket
            # whose context was already terminated (ETERM from setsockopt).
            # LINGER is an atomic in libzmq: safe while another thread is in a call.
            c_linger = linger
            if zmq_setsockopt(self.handle, ZMQ_LINGER, &c_linger, sizeof(int)) < 0 \
                    and zmq_errno() != ETERM:
                raise_errno(zmq_errno())
        if self._blocking:
            # Another thread is inside libzmq on this socket (recv, send, poll,
            # proxy): zmq_close now would abort the process. That thread closes it
            # as its call returns (_leave_blocking); term() or destroy() wakes it.
            self._close_requested = ENOTSOCK
            self._closed = True
            return
        self._close_handle()
        drain_releases()

    cdef int _close_handle(self) except -1:
        cdef Context root = (<Context>self.context)._root()
        check_rc(zmq_close(self.handle))
        self._closed = True
        root._sockets_closed += 1   # libzmq's reaper frees its slot later
        root._open_count -= 1
        if _live_sockets.get(<size_t>self.handle) is self:
            del _live_sockets[<size_t>self.handle]
        return 0

    cdef int _leave_blocking(self) except -1:
        """After a blocking libzmq call (marked by ``_blocking += 1`` before it):
        if close() or destroy() in another thread asked for this socket to be closed
        while the call was in libzmq, close it now and return the errno the call
        should fail with (ENOTSOCK or ETERM); else 0."""
        cdef int err = self._close_requested
        self._blocking -= 1
        if err and self._blocking == 0:
            self._close_requested = 0
            self._close_handle()
            return err
        return 0

    # --- endpoints -----------------------------------------------------------

    def bind(self, addr):
        """Bind to an endpoint such as "ipc:///tmp/x", "tcp://*:5555", "inproc://x"."""
        _endpoint_call(zmq_bind, self._usable_handle(), addr)

    def connect(self, addr):
        """Connect to an endpoint."""
        _endpoint_call(zmq_connect, self._usable_handle(), addr)

    def unbind(self, addr):
        """Stop listening on an endpoint given to bind() (or its last_endpoint)."""
        _endpoint_call(zmq_unbind, self._usable_handle(), addr)

    def disconnect(self, addr):
        """Disconnect from an endpoint given to connect()."""
        _endpoint_call(zmq_disconnect, self._usable_handle(), addr)

    cdef void *_usable_handle(self) except NULL:
        self._check_usable()
        return self.handle

    # --- options -------------------------------------------------------------

    def setsockopt(self, int option, optval):
        """Set a socket option: bytes for bytes, string and CURVE key options (see
        SocketOption.value_type), an int for the others."""
        cdef int int_value
        cdef int64_t int64_value
        cdef OptionKind kind = option_kind(option)
        self._check_usable()
        if kind == OPTION_BYTES or kind == OPTION_STRING or kind == OPTION_CURVE_KEY:
            if isinstance(optval, str):
                raise TypeError("option %d takes bytes; use setsockopt_string for str" % option)
            if not isinstance(optval, bytes):
                raise TypeError("option %d takes bytes, not %s" % (option, type(optval).__name__))
            check_rc(zmq_setsockopt(self.handle, option, <const char *>optval, len(optval)))
            return
        int64_value = _as_int(option, optval)
        if kind == OPTION_INT64:
            check_rc(zmq_setsockopt(self.handle, option, &int64_value, sizeof(int64_t)))
            return
        if not -2147483648 <= int64_value <= 2147483647:   # never truncate silently
            raise OverflowError("option %d takes a C int, %d is out of range"
                                % (option, int64_value))
        int_value = <int>int64_value
        check_rc(zmq_setsockopt(self.handle, option, &int_value, sizeof(int)))

    def getsockopt(self, int option):
        """Get a socket option: bytes for bytes, string and CURVE key options (CURVE
        keys as 40 characters of Z85, as they are usually set), an int otherwise."""
        cdef int int_value
        cdef int64_t int64_value
        cdef zmq_fd_t fd_value
        cdef char buf[1024]
        cdef size_t size
        cdef OptionKind kind = option_kind(option)
        self._check_usable()
        if kind == OPTION_BYTES or kind == OPTION_STRING or kind == OPTION_CURVE_KEY:
            # libzmq answers CURVE keys only for 32 (raw) or 41 (Z85 + NUL) bytes
            size = 41 if kind == OPTION_CURVE_KEY else sizeof(buf)
            check_rc(zmq_getsockopt(self.handle, option, buf, &size))
            if kind != OPTION_BYTES and size > 0 and buf[size - 1] == 0:
                size -= 1   # text comes NUL-terminated
            return buf[:size]
        if kind == OPTION_INT64:
            size = sizeof(int64_t)
            check_rc(zmq_getsockopt(self.handle, option, &int64_value, &size))
            return int64_value
        if kind == OPTION_FD:
            size = sizeof(zmq_fd_t)
            check_rc(zmq_getsockopt(self.handle, option, &fd_value, &size))
            return fd_value
        size = sizeof(int)
        check_rc(zmq_getsockopt(self.handle, option, &int_value, &size))
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
            raise_errno(ENOTSUP, "routing_id/group need libzmq's draft API, not built")
        self._begin_io()
        if isinstance(data, Frame):
            if track:
                _check_tracked(data, 0)
            self._send_frame(<Frame>data, flags, None)
            return (<Frame>data).tracker if (track or not copy) else None
        tracker = MessageTracker() if (track and not copy) else None
        self._send_buffer(data, flags, copy, tracker, None)
        return tracker

    cdef int _send_buffer(self, object data, int flags, bint copy,
                          MessageTracker tracker, list pending) except -1:
        """Send one buffer-protocol object (see _send_view)."""
        cdef Py_buffer view
        get_buffer(data, &view, PyBUF_ANY_CONTIGUOUS)
        return self._send_view(&view, flags, copy, tracker, pending)

    cdef int _send_view(self, Py_buffer *view, int flags, bint copy,
                        MessageTracker tracker, list pending) except -1:
        """Send an exported buffer: copied by libzmq, or, with copy=False and at
        least copy_threshold bytes, handed to libzmq without a copy. Takes the view
        over: it is released (or moved into a lease) whatever happens."""
        cdef zmq_msg_t msg
        cdef _BlockingOp op
        op.flags = flags
        if copy or view.len < self.copy_threshold:   # below the crossover copying wins
            op.kind = OP_SEND
            op.buf = view.buf
            op.size = <size_t>view.len
            try:
                run_blocking(self, &op, pending)
                return 0
            finally:
                PyBuffer_Release(view)
        lease_buffer(&msg, view, tracker)   # the lease owns the view from here
        op.kind = OP_MSG_SEND
        op.msg = &msg
        try:
            run_blocking(self, &op, pending)
            return 0   # libzmq owns msg now
        except BaseException:
            zmq_msg_close(&msg)   # queues the release; drain now so the caller of a
            drain_releases()      # failed send may reuse or resize the buffer at once
            raise

    cdef int _send_frame(self, Frame frame, int flags, list pending) except -1:
        cdef zmq_msg_t msg
        cdef _BlockingOp op
        op.kind = OP_MSG_SEND
        op.msg = &msg
        op.flags = flags
        check_rc(zmq_msg_init(&msg))
        try:
            frame.share_into(&msg)   # the frame stays usable
            run_blocking(self, &op, pending)
            return 0
        finally:
            zmq_msg_close(&msg)

    def send_multipart(self, msg_parts, int flags=0, bint copy=True, bint track=False):
        """Send a sequence of parts as one multipart message. Every part is checked
        before the first is sent, so a bad part never leaves a message half-sent."""
        cdef Py_buffer *views
        cdef Py_ssize_t n, i, exported = 0, sent = 0
        self._begin_io()
        parts = list(msg_parts)
        n = len(parts)
        if n == 0:
            raise ValueError("send_multipart needs at least one part")
        # Every part is exported (and so checked) once, before the first is sent.
        views = <Py_buffer *>PyMem_Malloc(n * sizeof(Py_buffer))
        if views == NULL:
            raise MemoryError()
        try:
            frames = []
            for i in range(n):
                if isinstance(parts[i], Frame):
                    if track:
                        _check_tracked(parts[i], i)
                    frames.append(parts[i])
                else:
                    try:
                        get_buffer(parts[i], &views[i], PyBUF_ANY_CONTIGUOUS)
                    except (TypeError, ValueError) as e:
                        raise type(e)("part %d: %s" % (i, e)) from None
                exported = i + 1
            # One tracker for the message: the buffers sent without a copy, and
            # the Frames' own trackers (a zero-copy Frame is done when libzmq is).
            tracker = MessageTracker(*frames) if track and (frames or not copy) else None
            pending = None   # once the first part is out, a signal must not split it
            for i in range(n):
                part_flags = flags | ZMQ_SNDMORE if i < n - 1 else flags
                sent = i + 1   # _send_view takes the view over, even if it raises
                if isinstance(parts[i], Frame):
                    self._send_frame(<Frame>parts[i], part_flags, pending)
                else:
                    self._send_view(&views[i], part_flags, copy, tracker, pending)
                pending = [] if pending is None else pending
            raise_pending(pending)
            return tracker
        finally:
            for i in range(sent, exported):
                if not isinstance(parts[i], Frame):
                    PyBuffer_Release(&views[i])
            PyMem_Free(views)

    # --- receiving -----------------------------------------------------------

    def recv(self, int flags=0, bint copy=True, bint track=False):
        """Receive one message part: bytes, or a Frame (no copy) if ``copy=False``."""
        self._begin_io()
        if copy:
            return self._recv_bytes(flags, None, NULL)
        return self._recv_frame(flags, None)

    cdef object _recv_bytes(self, int flags, list pending, bint *more):
        """Receive one part as bytes; ``more`` (if not NULL) tells if parts follow."""
        cdef zmq_msg_t msg
        cdef _BlockingOp op
        op.kind = OP_MSG_RECV
        op.msg = &msg
        op.flags = flags
        check_rc(zmq_msg_init(&msg))
        try:
            run_blocking(self, &op, pending)
            if more != NULL:
                more[0] = zmq_msg_more(&msg)
            return msg_to_bytes(&msg)
        finally:
            zmq_msg_close(&msg)

    cdef Frame _recv_frame(self, int flags, list pending):
        cdef Frame frame = Frame.__new__(Frame)
        cdef _BlockingOp op
        op.kind = OP_MSG_RECV
        op.msg = &frame.msg
        op.flags = flags
        run_blocking(self, &op, pending)
        frame.more = zmq_msg_more(&frame.msg)
        # Writable only when the memory is this frame's alone: not when libzmq shares
        # the message with other receivers (PUB to several SUBs over inproc, a Frame
        # sent over inproc), nor a read-only buffer sent zero-copy over inproc.
        frame.writable = not (zmq_msg_get(&frame.msg, ZMQ_SHARED) == 1 or
                              (_readonly_leased and
                               <size_t>zmq_msg_data(&frame.msg) in _readonly_leased))
        return frame

    def recv_multipart(self, int flags=0, bint copy=True, bint track=False):
        """Receive every part of a multipart message as a list. Once the first part
        is taken the message is always finished: an exception from a signal handler
        (Ctrl-C) meanwhile is raised after the last part."""
        cdef Frame frame
        cdef bint more
        self._begin_io()
        pending = []
        if copy:   # straight into bytes, no Frame per part
            parts = [self._recv_bytes(flags, None, &more)]
            while more:
                parts.append(self._recv_bytes(flags, pending, &more))
        else:
            frame = self._recv_frame(flags, None)
            parts = [frame]
            while frame.more:
                frame = self._recv_frame(flags, pending)
                parts.append(frame)
        raise_pending(pending)
        return parts

    def recv_into(self, buffer, Py_ssize_t nbytes=0, int flags=0):
        """Receive one part into a writable buffer; return the message's full size.
        Like zmq_recv, a longer message is truncated to the buffer: compare the
        result with the buffer length (recv_array_into raises instead). Unlike
        zmq_recv, sizes past 2 GiB are exact (zmq_recv caps them at INT_MAX)."""
        cdef Py_buffer view
        cdef zmq_msg_t msg
        cdef size_t size
        cdef _BlockingOp op
        self._begin_io()
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
            op.kind = OP_MSG_RECV
            op.msg = &msg
            op.flags = flags
            check_rc(zmq_msg_init(&msg))
            try:
                run_blocking(self, &op, None)
                size = zmq_msg_size(&msg)
                with nogil:
                    memcpy(view.buf, zmq_msg_data(&msg), min(size, <size_t>nbytes))
                return size
            finally:
                zmq_msg_close(&msg)
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
        check_rc(zmq_socket_monitor(self.handle, c_addr, events))


cdef int _check_tracked(Frame frame, Py_ssize_t part) except -1:
    """track=True needs every Frame sent to carry a tracker (as pyzmq)."""
    if frame.tracker is None:
        raise ValueError("Not a tracked message: part %d is a Frame made without "
                         "track=True, so it cannot be tracked" % part)
    return 0


# Busy marking for close() or destroy() in another thread: before every libzmq call
# that can block, the Socket owning the handle (a shadow's owner) is marked busy,
# after checking that it is still open (destroy() may have closed it while this
# thread ran a signal handler between two calls); after the call it is unmarked, and
# closed if close() or destroy() asked for that meanwhile (Socket._leave_blocking).

cdef int _enter_blocking_one(Socket sock) except -1:
    cdef Socket owner = sock._root()
    if owner._closed:
        raise_errno(ETERM)   # closed by destroy() (or a handler) between two calls
    owner._blocking += 1
    return 0


cdef int _leave_blocking_one(Socket sock) except -1:
    """Non-zero (the errno to raise) if close() or destroy() closed the socket
    during the call."""
    return sock._root()._leave_blocking()


cdef int _enter_blocking(list sockets) except -1:
    """_enter_blocking_one for every socket of a poll or proxy, or none if one is closed."""
    cdef Socket sock
    for sock in sockets:
        if sock._root()._closed:
            raise_errno(ETERM)
    for sock in sockets:
        _enter_blocking_one(sock)
    return 0


cdef int _leave_blocking_all(list sockets) except -1:
    """Undo _enter_blocking; non-zero (the errno to raise) if close() or destroy()
    closed one of them meanwhile."""
    cdef Socket sock
    cdef int err = 0
    for sock in sockets:
        err = _leave_blocking_one(sock) or err
    return err


# A closed socket keeps its slot in the context (MAX_SOCKETS) and its mailbox's
# eventfd until libzmq's reaper thread destroys it, asynchronously. A loop that
# creates and closes sockets faster than the reaper gets to run fills the slots
# with closed sockets, and zmq_socket fails with EMFILE although the program holds
# few (docs/reliability.md). Then wait for the reaper, up to this long, and retry.
REAPER_WAIT_S = 5.0


cdef void *_new_socket(Context context, int socket_type) except NULL:
    cdef void *handle = zmq_socket(context.handle, socket_type)
    cdef int err
    pause, deadline = 1e-4, None
    while handle == NULL:
        err = zmq_errno()
        if err != EMFILE or not _reaper_may_free_slot(context):
            raise_errno(err, "socket_type=%d" % socket_type)
        if deadline is None:
            deadline = time.monotonic() + REAPER_WAIT_S
        elif time.monotonic() > deadline:
            raise_errno(err, "socket_type=%d; %d sockets open, closed ones not reaped by "
                        "libzmq within %g s" % (socket_type, len(context.open_sockets),
                                                REAPER_WAIT_S))
        time.sleep(pause)   # releases the GIL; the reaper needs none, only CPU
        pause = min(pause * 2, 0.01)
        handle = zmq_socket(context.handle, socket_type)
    return handle


cdef bint _reaper_may_free_slot(Context context) except -1:
    """EMFILE with fewer open sockets than MAX_SOCKETS, after sockets were closed:
    closed sockets still hold slots (or fds) until libzmq's reaper destroys them."""
    return (context._sockets_closed > 0 and
            len(context.open_sockets) < zmq_ctx_get(context.handle, ZMQ_MAX_SOCKETS))


ctypedef int (*_endpoint_fn)(void *, const char *) noexcept nogil


cdef int _endpoint_call(_endpoint_fn call, void *handle, addr) except -1:
    """bind/connect/unbind/disconnect: none blocks, so EINTR is not retried."""
    global _simulated_interrupt
    cdef bytes c_addr = _endpoint(addr)
    cdef int rc
    if _simulated_interrupt:   # test hook (_errors.pxi)
        c_raise(_simulated_interrupt)
        _simulated_interrupt = 0
        return raise_errno(EINTR, "addr=%r" % (addr,))
    rc = call(handle, c_addr)
    return check_rc(rc, "addr=%r" % (addr,))


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
