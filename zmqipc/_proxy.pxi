# Included by _zmq.pyx: libzmq's built-in proxy between two sockets.

def proxy(Socket frontend, Socket backend, Socket capture=None):
    """Run libzmq's built-in proxy until the context is terminated."""
    proxy_steerable(frontend, backend, capture)   # libzmq: same proxy, no control socket


def proxy_steerable(Socket frontend, Socket backend, Socket capture=None, Socket control=None):
    """Like proxy(), controllable with PAUSE/RESUME/TERMINATE/STATISTICS on ``control``."""
    cdef void *capture_handle = NULL
    cdef void *control_handle = NULL
    cdef int rc = -1
    frontend._check_usable()
    backend._check_usable()
    busy = [frontend, backend]   # marked for destroy() in another thread
    if capture is not None:
        capture_handle = capture._usable_handle()
        busy.append(capture)
    if control is not None:
        control_handle = control._usable_handle()
        busy.append(control)
    while rc < 0:
        _enter_blocking(busy)
        with nogil:
            rc = zmq_proxy_steerable(frontend.handle, backend.handle, capture_handle,
                                     control_handle)
        closed_errno = _leave_blocking_all(busy)
        if closed_errno:
            raise_errno(closed_errno)   # closed by close() or destroy() meanwhile
        if rc < 0:
            retry_or_raise()
