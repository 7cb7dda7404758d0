# Included by _zmq.pyx: Context, the libzmq context and its sockets' registry.

cdef bint _interpreter_exiting = False


def _mark_exiting():
    global _interpreter_exiting
    _interpreter_exiting = True


atexit.register(_mark_exiting)


# Shadows (Context.shadow, Socket.shadow, copy.copy) stand for an object of this
# process by its address. Only addresses of live zmqipc objects are accepted: a
# shadow never drives a libzmq object zmqipc did not create (pyzmq links its own
# libzmq; handing its pointers to ours would corrupt both).
_live_contexts = weakref.WeakValueDictionary()   # address -> the owning Context


cdef object _shadowed(object registry, object address, str kind):
    """The live zmqipc object (the owner, never a shadow) at ``address``."""
    if not isinstance(address, int):
        address = getattr(address, "underlying", address)
    owner = registry.get(address) if isinstance(address, int) else None
    if owner is None:
        raise ValueError("%r is not the address of a live zmqipc %s: zmqipc shadows only its "
                         "own objects, never another library's (such as pyzmq's)" % (address, kind))
    return owner


cdef class Context:
    """A libzmq context: owns the I/O threads. Thread-safe: sockets of one context
    may be used from different threads (each socket from one thread at a time)."""

    def __cinit__(self, *args, shadow=0, **kwargs):
        cdef Context owner
        if args and isinstance(args[0], Context) and not shadow:   # pyzmq: Context(other)
            shadow = args[0]
        if shadow:   # stand for a live Context; the owner keeps the handle
            owner = _shadowed(_live_contexts, shadow, "Context")
            self.handle = owner.handle
            self._owner = owner
            self._fork_gen = owner._fork_gen
            self._sockets = owner._sockets
            return
        self.handle = zmq_ctx_new()
        if self.handle == NULL:
            raise_errno(zmq_errno())
        self._fork_gen = _fork_generation
        self._sockets = weakref.WeakSet()
        _live_contexts[<size_t>self.handle] = self

    def __init__(self, io_threads=1, shadow=0, **kwargs):
        if isinstance(io_threads, Context) or shadow:
            return   # a shadow (see __cinit__): the owner's options stand
        if io_threads != 1:
            self.set(ZMQ_IO_THREADS, io_threads)

    def __dealloc__(self):
        # Sockets hold their context, so none is left open here unless the process
        # forked (libzmq state is not ours to touch) or the interpreter is exiting
        # (term could wait forever on lingering messages).
        if self.handle != NULL and not self._term_called and self._fork_gen == _fork_generation \
                and not _interpreter_exiting and self._owner is None:
            with nogil:
                zmq_ctx_term(self.handle)
        self.handle = NULL

    cdef Context _root(self):
        return self if self._owner is None else <Context>self._owner

    cdef int _check_open(self) except -1:
        if self._owner is not None:
            return (<Context>self._owner)._check_open()
        if self._fork_gen != _fork_generation:
            raise _error.ZMQError(ENOTSUP, _FORK_MESSAGE % "Context")
        if self._term_called:
            raise_errno(ETERM)
        return 0

    @property
    def closed(self):
        """True after term() or destroy()."""
        return self._term_called or (self._owner is not None and self._owner.closed)

    @property
    def _shadow(self):
        return self._owner is not None

    @property
    def _has_open_sockets(self):
        return self._root()._open_count > 0

    @property
    def underlying(self):
        """The address of the libzmq context (an int)."""
        return <size_t>self.handle

    def set(self, int option, int value):
        """Set a context option (zmq.IO_THREADS, zmq.MAX_SOCKETS, ...)."""
        self._check_open()
        check_rc(zmq_ctx_set(self.handle, option, value))

    def get(self, int option):
        """Get a context option."""
        self._check_open()
        cdef int value = zmq_ctx_get(self.handle, option)
        check_rc(value)
        return value

    def term(self):
        """Terminate the context. Blocks until every socket is closed and its
        lingering messages are sent or dropped (see LINGER)."""
        if self._term_called or self.handle == NULL:
            return
        if self._owner is not None:   # a shadow terminates the Context it stands for
            self._owner.term()
            self._term_called = True
            return
        if self._fork_gen != _fork_generation:
            self._term_called = True   # as Socket.close: the parent owns it; just forget it
            return
        cdef int rc = -1
        while rc < 0:   # blocks until the sockets are closed: retried after a signal
            with nogil:
                rc = zmq_ctx_term(self.handle)
            if rc < 0:
                retry_or_raise()
        self._term_called = True
        if _live_contexts.get(<size_t>self.handle) is self:
            del _live_contexts[<size_t>self.handle]
        drain_releases()

    def destroy(self, linger=None):
        """Close every socket of this context (with ``linger`` ms if given), then term().

        Safe while other threads are blocked in calls on these sockets (recv, send,
        poll, proxy): the context is shut down first, so those calls fail with
        ContextTerminated, and each such socket is closed by its own thread as the
        call returns (closing it from here while libzmq is inside the call aborts
        the process). A socket another thread uses between calls is closed here;
        its next call raises ENOTSOCK."""
        cdef Socket sock
        cdef int c_linger
        if self._term_called or self.handle == NULL:
            return
        if self._fork_gen != _fork_generation:
            self._term_called = True   # as term(): the parent owns it; just forget it
            return
        sockets = self.open_sockets
        if linger is not None:
            # Before the shutdown, which makes setsockopt fail with ETERM. LINGER
            # is an atomic in libzmq, so setting it while a call is blocked is safe.
            c_linger = linger
            for sock in sockets:
                check_rc(zmq_setsockopt(sock.handle, ZMQ_LINGER, &c_linger, sizeof(int)))
        check_rc(zmq_ctx_shutdown(self.handle))
        for sock in sockets:
            if sock._blocking:
                sock._close_requested = ETERM
            else:
                sock.close()
        self.term()

    @property
    def open_sockets(self):
        """The sockets of this context that are not closed yet (a new list)."""
        return [s for s in list(self._sockets) if not s.closed]
