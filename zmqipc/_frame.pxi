# Included by _zmq.pyx: buffers and messages. Exporting a sendable buffer, copying
# a message out, and Frame: one libzmq message, exported through the buffer protocol.

cdef int get_buffer(object data, Py_buffer *view, int flags) except -1:
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


cdef bytes msg_to_bytes(zmq_msg_t *msg):
    """A bytes copy of a message; large copies run without the GIL."""
    cdef size_t size = zmq_msg_size(msg)
    cdef bytes result = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>size)
    cdef char *dest = PyBytes_AS_STRING(result)
    if size >= 65536:
        with nogil:
            memcpy(dest, zmq_msg_data(msg), size)
    else:
        memcpy(dest, zmq_msg_data(msg), size)
    return result


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
            check_rc(zmq_msg_init(&self.msg))
            self.msg_open = True
            return
        if isinstance(data, Frame):
            check_rc(zmq_msg_init(&self.msg))
            self.msg_open = True
            (<Frame>data).share_into(&self.msg)
            return
        cdef Py_buffer view
        threshold = COPY_THRESHOLD if copy_threshold is None else copy_threshold
        if track:
            self.tracker = MessageTracker()
        get_buffer(data, &view, PyBUF_ANY_CONTIGUOUS)
        if copy is None:
            copy = view.len < threshold
        if not copy:
            lease_buffer(&self.msg, &view, self.tracker)   # takes the view
            self.msg_open = True
            return
        try:
            check_rc(zmq_msg_init_size(&self.msg, <size_t>view.len))
            self.msg_open = True
            with nogil:
                memcpy(zmq_msg_data(&self.msg), view.buf, <size_t>view.len)
        finally:
            PyBuffer_Release(&view)
        if isinstance(data, bytes):
            self._bytes = data

    def __dealloc__(self):
        if self.msg_open:
            zmq_msg_close(&self.msg)

    cdef int share_into(self, zmq_msg_t *msg) except -1:
        """Make the open, empty ``msg`` carry this frame's content (sending it, or
        Frame(frame)). libzmq shares the memory rather than copying it, which is
        only safe while nobody can write to it: a writable frame becomes read-only
        from here on, and one whose writable buffers are already out (an array
        over it) is copied instead, so later writes cannot reach the other
        message."""
        cdef size_t size
        if self.writable and self.exports > 0:
            size = zmq_msg_size(&self.msg)
            check_rc(zmq_msg_close(msg))
            check_rc(zmq_msg_init_size(msg, size))
            with nogil:
                memcpy(zmq_msg_data(msg), zmq_msg_data(&self.msg), size)
            return 0
        self.writable = False
        check_rc(zmq_msg_copy(msg, &self.msg))
        return 0

    def __getbuffer__(self, Py_buffer *buffer, int flags):
        if (flags & PyBUF_WRITABLE) and not self.writable:
            raise BufferError("this Frame is read-only: it wraps a buffer being sent, "
                              "or its content was sent or copied into another Frame")
        self.exports += 1
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

    def __releasebuffer__(self, Py_buffer *buffer):
        self.exports -= 1

    def __len__(self):
        return zmq_msg_size(&self.msg)

    @property
    def bytes(self):
        """The message content as bytes (copied once, then cached)."""
        if self._bytes is None:
            self._bytes = msg_to_bytes(&self.msg)
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
                raise_errno(zmq_errno(), option)
            return value.decode("utf-8", "replace")
        cdef int value_int = zmq_msg_get(&self.msg, option)
        check_rc(value_int)
        return value_int

    def __getitem__(self, key):
        """``frame["User-Id"]``: a metadata property, as get() (names only: a Frame is a
        buffer, not a sequence of bytes)."""
        if not isinstance(key, (str, bytes)):
            raise TypeError("Frame[...] takes a property name such as 'User-Id'; "
                            "index bytes(frame) or frame.buffer for the content")
        return self.get(key)

    def __copy__(self):
        return Frame(self)

    def __repr__(self):
        n = zmq_msg_size(&self.msg)
        return "<zmqipc.Frame(%d bytes%s)>" % (n, ", more" if self.more else "")
