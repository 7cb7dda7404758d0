# Included by _zmq.pyx (one extension, split for reading): Polling, proxies and security helpers.

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
    proxy_steerable(frontend, backend, capture)   # libzmq: same proxy, no control socket


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
