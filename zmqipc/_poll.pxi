# Included by _zmq.pyx: zmq_poll over sockets and file descriptors.

def poll(sockets, timeout=-1):
    """Poll a list of (socket or fd or object with fileno(), events) pairs for up
    to ``timeout`` ms (-1 or None: forever). Return [(item, revents), ...] for the
    ready ones, item being the Socket or, for anything else, its integer fd (as
    pyzmq). An empty list returns [] at once (as pyzmq)."""
    cdef int n
    cdef zmq_pollitem_t *items
    cdef long remaining, wait_ms
    cdef int rc
    sockets = list(sockets)   # a snapshot: fileno() or another thread may change the list
    n = len(sockets)
    if n == 0:
        return []   # libzmq would sleep the whole timeout, or forever, where term() can't wake it
    if timeout is None or timeout < 0:
        remaining = -1
    else:
        remaining = <long>timeout
    deadline = None if remaining < 0 else time.monotonic() + remaining / 1000.0
    items = <zmq_pollitem_t *>malloc(n * sizeof(zmq_pollitem_t))
    if items == NULL:
        raise MemoryError()
    busy = []   # the Socket objects polled, marked for destroy() in another thread
    try:
        for i, (obj, events) in enumerate(sockets):
            items[i].socket = NULL
            items[i].fd = 0
            items[i].events = events
            items[i].revents = 0
            if isinstance(obj, Socket):
                items[i].socket = (<Socket>obj)._usable_handle()
                busy.append(obj)
            else:
                fd = obj if isinstance(obj, int) else getattr(obj, "fileno", None)
                if fd is None:
                    raise TypeError("cannot poll %r: not a Socket, fd or object with fileno()"
                                    % (obj,))
                items[i].fd = fd if isinstance(fd, int) else fd()
        while True:
            wait_ms = remaining   # in sliced mode at most WAIT_SLICE_MS (_blocking.pxi)
            if _sliced_wait and (remaining < 0 or remaining > WAIT_SLICE_MS):
                wait_ms = WAIT_SLICE_MS
            _enter_blocking(busy)
            with nogil:
                rc = zmq_poll(items, n, wait_ms)
            closed_errno = _leave_blocking_all(busy)
            if closed_errno:
                raise_errno(closed_errno)   # closed by close() or destroy() meanwhile
            if rc < 0:
                retry_or_raise()   # interrupted: poll again for the time left
            elif rc > 0 or wait_ms == remaining:
                break
            else:
                PyErr_CheckSignals()   # between slices: Ctrl-C raises here
            if deadline is not None:
                remaining = max(0, <long>((deadline - time.monotonic()) * 1000))
        return [(sockets[i][0] if items[i].socket != NULL else items[i].fd, items[i].revents)
                for i in range(n) if items[i].revents]
    finally:
        free(items)
