# Included by _zmq.pyx: the one code path for send/recv calls that may block.
#
# Plain mode (the default on POSIX): the call blocks inside libzmq without the GIL;
# a signal interrupts it with EINTR, retry_or_raise runs the handlers (Ctrl-C
# raises KeyboardInterrupt) or retries.
# Sliced mode (always on Windows, which has no EINTR; ZMQIPC_SLICED_WAIT=1 forces
# it elsewhere): the call is tried without blocking first, the common case, at
# the same cost as in plain mode. Only if it would block, zmq_poll waits in slices
# of WAIT_SLICE_MS, signal handlers run between slices, and the call is retried
# without blocking once the socket is ready. A message is either fully sent or
# received or untouched when KeyboardInterrupt is raised. RCVTIMEO/SNDTIMEO keep
# their meaning: the wait ends with Again when they expire.

# Longest wait between two checks for signals (Ctrl-C), in sliced mode.
WAIT_SLICE_MS = 50

cdef bint _sliced_wait = os.name == "nt" or os.environ.get("ZMQIPC_SLICED_WAIT") == "1"


def _set_sliced_wait(bint sliced):
    """For tests only: switch between plain and sliced waits (see _blocking.pxi)."""
    global _sliced_wait
    _sliced_wait = sliced


def sliced_wait():
    """True if blocking calls wait in slices, checking for signals between them
    (Windows, or ZMQIPC_SLICED_WAIT=1 in the environment at import)."""
    return _sliced_wait


cdef enum _OpKind:
    OP_SEND            # zmq_send: copy from buf
    OP_MSG_SEND        # zmq_msg_send: hand over msg
    OP_MSG_RECV        # zmq_msg_recv: into msg


ctypedef struct _BlockingOp:
    _OpKind kind
    void *handle       # set by run_blocking, from its socket
    zmq_msg_t *msg
    void *buf
    size_t size
    int flags


cdef inline int _op_once(_BlockingOp *op, int extra_flags) noexcept nogil:
    cdef int flags = op.flags | extra_flags
    if op.kind == OP_SEND:
        return zmq_send(op.handle, op.buf, op.size, flags)
    if op.kind == OP_MSG_SEND:
        return zmq_msg_send(op.msg, op.handle, flags)
    return zmq_msg_recv(op.msg, op.handle, flags)


cdef int run_blocking(Socket sock, _BlockingOp *op, list pending) except -1:
    """Run a send/recv on ``sock`` that may block; return libzmq's result (>= 0) or
    raise. ``pending`` is given once an earlier part of the message was taken or
    sent: then a signal handler's exception is kept there (check_signals), so
    the message is finished before it is raised."""
    cdef int rc = -1
    cdef bint sliced = _sliced_wait and not (op.flags & ZMQ_DONTWAIT)
    op.handle = sock.handle
    while rc < 0:
        rc = _op_marked(sock, op, ZMQ_DONTWAIT if sliced else 0)
        if rc >= 0:
            return rc
        if sliced and zmq_errno() == EAGAIN:
            return _wait_in_slices(sock, op, pending)
        retry_or_raise(None, pending)
    return rc


cdef int _op_marked(Socket sock, _BlockingOp *op, int extra_flags) except? -2:
    """One libzmq call with ``sock`` marked busy for destroy() in another thread,
    which then leaves the closing to us (_enter_blocking_one in _socket.pxi)."""
    cdef int rc, closed_errno
    _enter_blocking_one(sock)
    if _simulated_part_signal and _take_simulated_part_interrupt():   # test hook
        rc = -1   # (errno is EINTR)
    else:
        with nogil:
            rc = _op_once(op, extra_flags)
    closed_errno = _leave_blocking_one(sock)
    if closed_errno and rc < 0:
        raise_errno(closed_errno)   # closed by close() or destroy() during the call
    return rc


cdef int _wait_in_slices(Socket sock, _BlockingOp *op, list pending) except -1:
    cdef bint sending = op.kind == OP_SEND or op.kind == OP_MSG_SEND
    cdef int timeout_ms
    cdef size_t size = sizeof(int)
    cdef zmq_pollitem_t item
    cdef long slice_ms
    cdef int rc, closed_errno
    check_rc(zmq_getsockopt(op.handle, ZMQ_SNDTIMEO if sending else ZMQ_RCVTIMEO,
                            &timeout_ms, &size))
    deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000.0
    item.socket = op.handle
    item.fd = 0
    item.events = ZMQ_POLLOUT if sending else ZMQ_POLLIN
    item.revents = 0
    while True:
        slice_ms = WAIT_SLICE_MS
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return raise_errno(EAGAIN)   # RCVTIMEO/SNDTIMEO expired
            slice_ms = min(slice_ms, <long>(remaining * 1000) + 1)
        _enter_blocking_one(sock)
        with nogil:
            rc = zmq_poll(&item, 1, slice_ms)
        closed_errno = _leave_blocking_one(sock)
        if closed_errno:
            raise_errno(closed_errno)   # closed by close() or destroy() meanwhile
        if rc < 0:
            retry_or_raise(None, pending)
            continue
        check_signals(pending)   # Ctrl-C raises KeyboardInterrupt here
        if rc == 0:
            continue
        rc = _op_marked(sock, op, ZMQ_DONTWAIT)
        if rc >= 0:
            return rc
        if zmq_errno() != EAGAIN:
            retry_or_raise(None, pending)
