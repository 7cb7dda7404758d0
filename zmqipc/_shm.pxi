# Included by _zmq.pyx (one extension, split for reading): shared-memory segments
# for zmqipc.shm and the buffer exporter that ties every view to its segment
# (design: docs/shm.md; the C side is csrc/shm.c). Policy (pools, names, cleanup,
# the wire descriptor) lives in zmqipc/shm.py.

SHM_HEADER_SIZE = ZMQIPC_SHM_HEADER_SIZE
SHM_ESTALE = ZMQIPC_SHM_ESTALE
SHM_EFOREIGN = ZMQIPC_SHM_EFOREIGN
SHM_EFORMAT = ZMQIPC_SHM_EFORMAT
SHM_EFULL = ZMQIPC_SHM_EFULL


def shm_self_key():
    """This process's key (pid | start time << 32), as recorded in holder slots."""
    return zmqipc_shm_self_key()


def shm_buffer_of(obj, ndarray):
    """The ShmBuffer under ``obj``, following the bases of ``ndarray`` instances
    (numpy's array type, passed in: this extension does not import numpy) and
    memoryviews, or None. In C: the send path asks this for every array."""
    cdef int depth
    for depth in range(64):
        if isinstance(obj, ShmBuffer):
            return obj
        if isinstance(obj, ndarray):
            obj = obj.base
        elif isinstance(obj, memoryview):
            obj = obj.obj
        else:
            return None
    return None


def shm_key_alive(uint64_t key):
    """True if the process a key names is still running (pid and start time match)."""
    return bool(zmqipc_shm_key_alive(key))


def shm_pid_namespace():
    """This process's PID namespace (Linux), 0 where there are none or it is unknown."""
    return zmqipc_shm_pid_namespace()


cdef class ShmSegment:
    """One mapped shared-memory segment. ``exports`` counts the live ShmBuffers
    (every ndarray on this memory leads to one); while it is non-zero this process
    holds a slot in the segment's header, which keeps every other process from
    reusing the memory. The mapping is never removed while exports remain."""

    def __cinit__(self):
        self.slot = -1
        self.fork_slot = -1

    @staticmethod
    def create(str name, uint64_t size):
        """Create and map a new owner-only segment (OSError on failure)."""
        cdef ShmSegment seg = ShmSegment.__new__(ShmSegment)
        cdef bytes b_name = name.encode("ascii")
        cdef const char *c_name = b_name
        cdef int err
        with nogil:   # posix_fallocate of a large segment takes a while
            err = zmqipc_shm_create(c_name, size, &seg.map)
        if err != 0:
            raise OSError(err, "cannot create shared-memory segment %s: %s"
                          % (name, os.strerror(err) if err < 10000 else "error %d" % err))
        seg.name = name
        seg.owned = True
        return seg

    @staticmethod
    def open(str name):
        """Map an existing segment; returns (segment, 0) or (None, error code)."""
        cdef ShmSegment seg = ShmSegment.__new__(ShmSegment)
        cdef bytes c_name = name.encode("ascii")
        cdef int err = zmqipc_shm_open(c_name, &seg.map)
        if err != 0:
            return None, err
        seg.name = name
        seg.owned = False
        return seg, 0

    @staticmethod
    def unlink(str name):
        """Remove a segment's name; returns 0 or an errno value."""
        return zmqipc_shm_unlink(name.encode("ascii"))

    def __dealloc__(self):
        if self.map.header != NULL and self.exports == 0:
            if self.slot >= 0:
                zmqipc_shm_release_slot(self.map.header, self.slot, self.slot_key)
            zmqipc_shm_unmap(&self.map)

    cdef zmqipc_shm_header *_header(self) except NULL:
        if self.map.header == NULL:
            raise ValueError("shared-memory segment %s is closed" % self.name)
        return self.map.header

    @property
    def size(self):
        """Bytes mapped, header included."""
        return self.map.size

    @property
    def address(self):
        return <size_t>self.map.header

    @property
    def holding(self):
        return self.slot >= 0

    @property
    def owner(self):
        return self._header().owner

    @property
    def pending(self):
        return zmqipc_shm_load(&self._header().state) & ZMQIPC_SHM_PENDING_MAX

    @property
    def generation(self):
        return zmqipc_shm_load(&self._header().state) >> ZMQIPC_SHM_PENDING_BITS

    @property
    def last_send_ns(self):
        return zmqipc_shm_load(&self._header().last_send_ns)

    @property
    def pid_ns(self):
        """The creator's PID namespace (0: unknown, or a platform without them)."""
        return self._header().pid_ns

    @property
    def retired(self):
        return zmqipc_shm_load(&self._header().retired) != 0

    def retire(self):
        """Tell other mappers the owner gave the segment up (they drop idle maps)."""
        zmqipc_shm_store(&self._header().retired, 1)

    def hold(self):
        """Take this process's holder slot (once per process); ValueError if full."""
        cdef zmqipc_shm_header *h = self._header()
        if self.slot >= 0:
            return
        self.slot_key = zmqipc_shm_self_key()
        self.slot = zmqipc_shm_claim_slot(h, self.slot_key)
        if self.slot < 0:
            raise ValueError("shared-memory segment %s: all %d holder slots are taken"
                             % (self.name, 500))

    def drop_hold(self):
        """Give the holder slot back if no view remains."""
        if self.exports == 0 and self.slot >= 0 and self.map.header != NULL:
            zmqipc_shm_release_slot(self.map.header, self.slot, self.slot_key)
            self.slot = -1

    def claim(self, uint64_t offset, uint64_t nbytes, uint64_t gen):
        """The receiving side in one call (lifetime rule 2 of docs/shm.md): check that
        [offset, offset + nbytes) lies in the mapping, take this process's slot, then
        consume one pending descriptor of generation ``gen`` and export the range.
        Returns the ShmBuffer (None when nbytes is 0: nothing to view, nothing held),
        or raises ValueError: range outside the segment, every slot taken, or the
        generation moved on (the memory was reused: the descriptor is stale)."""
        cdef zmqipc_shm_header *h = self._header()
        self._check_range(offset, nbytes)   # before anything is taken or consumed
        self.hold()
        try:
            if zmqipc_shm_accept(h, gen) != 0:
                raise ValueError("shared-memory array in %s expired before it was received "
                                 "(generation %d, now %d): its memory was reused"
                                 % (self._stem(), gen, self.generation))
            return self.export(offset, nbytes) if nbytes else None
        finally:
            self.drop_hold()   # keeps the slot while the buffer lives

    cdef int _check_range(self, uint64_t offset, uint64_t nbytes) except -1:
        """ValueError unless [offset, offset + nbytes) lies in the mapping, after
        its header."""
        if (offset < ZMQIPC_SHM_HEADER_SIZE or offset > self.map.size
                or nbytes > self.map.size - offset):
            raise ValueError("shared-memory range [%d, +%d) lies outside segment %s (%d bytes)"
                             % (offset, nbytes, self._stem(), self.map.size))
        return 0

    def _stem(self):
        return self.name.replace("Local\\", "").lstrip("/")

    def accept(self, uint64_t gen):
        """Consume one pending descriptor of generation ``gen``; False if the
        generation moved on (the memory was reused: the descriptor is stale)."""
        return zmqipc_shm_accept(self._header(), gen) == 0

    def mark_sent(self):
        """Count one descriptor in flight; return the generation it must name."""
        return zmqipc_shm_mark_sent(self._header(), time.time_ns())

    def live_holders(self):
        """Processes holding views (dead holders' slots are freed on the way)."""
        return zmqipc_shm_live_holders(self._header())

    def recycle(self, uint64_t lease_ns, bint reap=True):
        """True if this process may rewrite the memory now (see shm.h); reap=False
        skips the process lookups that free dead holders' slots."""
        if self.exports != 0 or self.slot >= 0:
            return False
        return bool(zmqipc_shm_recycle(self._header(), time.time_ns(), lease_ns, reap))

    def export(self, uint64_t offset, uint64_t nbytes):
        """A ShmBuffer over [offset, offset + nbytes), bounds-checked against the
        mapping. The caller holds a slot (hold())."""
        cdef ShmBuffer buf
        self._header()
        if self.slot < 0:
            raise ValueError("export without a holder slot")
        self._check_range(offset, nbytes)
        buf = ShmBuffer.__new__(ShmBuffer)
        buf.segment = self
        buf.ptr = <char *>self.map.header + offset
        buf.nbytes = <Py_ssize_t>nbytes
        self.exports += 1
        return buf

    def close(self):
        """Unmap if no view remains (returns True when unmapped)."""
        if self.exports != 0 or self.map.header == NULL:
            return self.map.header == NULL
        self.drop_hold()
        zmqipc_shm_unmap(&self.map)
        return True

    # fork(): a child inherits our views, so before fork we take a second slot
    # for it, and the child moves that slot to its own key.
    def fork_prepare(self):
        cdef uint64_t key
        self.fork_slot = -1
        if self.exports > 0 and self.map.header != NULL:
            key = zmqipc_shm_self_key()
            self.fork_slot = zmqipc_shm_claim_slot(self.map.header, key)

    def fork_parent(self):
        self.fork_slot = -1   # the child owns it now

    def fork_child(self, uint64_t parent_key):
        """In the child: adopt the slot taken before fork; never reuse the memory."""
        self.owned = False
        self.slot = -1
        if self.fork_slot >= 0:
            self.slot_key = zmqipc_shm_self_key()
            if zmqipc_shm_move_slot(self.map.header, self.fork_slot, parent_key,
                                    self.slot_key) == 0:
                self.slot = self.fork_slot
        self.fork_slot = -1


@cython.auto_pickle(False)   # a pointer into this process's mapping: meaningless elsewhere
cdef class ShmBuffer:
    """The buffer exporter behind every zmqipc.shm ndarray. numpy keeps it as the
    array's base (and every derived view's), so the segment's memory stays held
    while any of them lives; the last one to go releases this process's slot."""

    def __getbuffer__(self, Py_buffer *buffer, int flags):
        buffer.buf = self.ptr
        buffer.len = self.nbytes
        buffer.obj = self
        buffer.readonly = 0
        buffer.itemsize = 1
        buffer.format = NULL
        if flags & PyBUF_FORMAT:
            buffer.format = b"B"
        buffer.ndim = 1
        buffer.shape = &buffer.len
        buffer.strides = &buffer.itemsize
        buffer.suboffsets = NULL
        buffer.internal = NULL

    def __len__(self):
        return self.nbytes

    @property
    def address(self):
        return <size_t>self.ptr

    def offset_of(self, array):
        """Where a contiguous ``array``'s bytes start in the segment, or -1 unless
        they all lie within this buffer."""
        cdef Py_buffer view
        cdef char *start
        cdef Py_ssize_t n
        PyObject_GetBuffer(array, &view, PyBUF_ANY_CONTIGUOUS)
        start = <char *>view.buf
        n = view.len
        PyBuffer_Release(&view)
        if start < self.ptr or n > self.nbytes or start - self.ptr > self.nbytes - n:
            return -1
        return start - <char *>self.segment.map.header

    def __dealloc__(self):
        cdef ShmSegment seg = self.segment
        if seg is None:
            return
        seg.exports -= 1
        if seg.exports == 0 and seg.slot >= 0 and seg.map.header != NULL:
            zmqipc_shm_release_slot(seg.map.header, seg.slot, seg.slot_key)
            seg.slot = -1
