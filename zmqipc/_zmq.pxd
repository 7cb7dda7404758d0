# The declared C-level API of zmqipc's compiled core (zmqipc._zmq).
#
# A compiled helper may `cimport zmqipc._zmq` to use these class layouts and
# functions directly (Cython shares them through the module's C-API capsule).
# Raw C declarations live in zmqipc/includes/; the logic in the .pxi parts.
from cpython.buffer cimport Py_buffer
from zmqipc.includes.libzmq cimport zmq_errno, zmq_msg_t
from zmqipc.includes.release_queue cimport zmqipc_release_node
from zmqipc.includes.shm cimport zmqipc_shm_map, zmqipc_shm_header
from libc.stdint cimport uint64_t


cdef class MessageTracker:
    cdef readonly int pending        # zero-copy messages libzmq still holds
    cdef object _peers               # other trackers folded into this one


cdef class _BufferLease:
    # Keeps a zero-copy send's exporter alive (and its buffer locked) until
    # libzmq's release callback puts `node` on the release queue.
    cdef zmqipc_release_node node
    cdef Py_buffer view
    cdef bint has_view
    cdef bint guards_readonly        # registered in _readonly_leased
    cdef MessageTracker tracker


cdef class Frame:
    cdef zmq_msg_t msg
    cdef bint msg_open
    cdef bint writable               # received frames own their memory
    cdef Py_ssize_t exports          # buffers exported and not yet released
    cdef object _bytes
    cdef public bint more
    cdef public MessageTracker tracker
    cdef int share_into(self, zmq_msg_t *msg) except -1


cdef class Context:
    cdef void *handle
    cdef bint _term_called
    cdef int _fork_gen
    cdef object _sockets             # weakref.WeakSet of sockets for destroy()
    cdef long _sockets_closed        # sockets closed so far (libzmq reaps them later)
    cdef int _open_count             # sockets not closed yet (no weakrefs: __del__ needs it)
    cdef object _owner               # a shadow's Context (None: this one owns the handle)
    cdef object __weakref__
    cdef int _check_open(self) except -1
    cdef Context _root(self)


cdef class Socket:
    cdef void *handle
    cdef readonly object context
    cdef readonly int socket_type
    cdef bint _closed
    cdef int _fork_gen
    cdef public Py_ssize_t copy_threshold
    cdef int _blocking               # calls in libzmq now (another thread's, for destroy())
    cdef int _close_requested        # ENOTSOCK (close()) / ETERM (destroy()): blocked thread closes
    cdef object _owner               # a shadow's Socket (None: this one owns the handle)
    cdef object __weakref__
    cdef Socket _root(self)
    cdef int _check_usable(self) except -1
    cdef void *_usable_handle(self) except NULL
    cdef int _begin_io(self) except -1
    cdef int _close_handle(self) except -1
    cdef int _leave_blocking(self) except -1
    cdef int _send_buffer(self, object data, int flags, bint copy, MessageTracker tracker,
                          list pending) except -1
    cdef int _send_view(self, Py_buffer *view, int flags, bint copy, MessageTracker tracker,
                        list pending) except -1
    cdef int _send_frame(self, Frame frame, int flags, list pending) except -1
    cdef object _recv_bytes(self, int flags, list pending, bint *more)
    cdef Frame _recv_frame(self, int flags, list pending)


cdef class ShmSegment:
    # One mapped shared-memory segment (_shm.pxi, csrc/shm.h).
    cdef zmqipc_shm_map map
    cdef readonly str name           # the OS name ("/zq...", "Local\\zq...")
    cdef public bint owned           # this process made it and may reuse it
    cdef readonly Py_ssize_t exports  # live ShmBuffers on it
    cdef int slot                    # our holder slot, -1 when none
    cdef uint64_t slot_key
    cdef int fork_slot               # a slot taken for a child before fork()
    cdef object __weakref__
    cdef zmqipc_shm_header *_header(self) except NULL
    cdef int _check_range(self, uint64_t offset, uint64_t nbytes) except -1


cdef class ShmBuffer:
    # The buffer exporter behind every shared-memory ndarray.
    cdef readonly ShmSegment segment
    cdef char *ptr
    cdef Py_ssize_t nbytes


# --- errors (_errors.pxi) ----------------------------------------------------
# raise_errno is the one function that raises for a libzmq errno. A call that
# cannot block uses check_rc; a blocking call loops while retry_or_raise
# returns 0 (a signal interrupted it and its handlers returned).
cdef int raise_errno(int err, object detail=*) except -1
cdef int retry_or_raise(object detail=*, list pending=*) except -1
cdef int check_signals(list pending) except -1
cdef int raise_pending(list pending) except -1

cdef inline int check_rc(int rc, object detail=None) except -1:
    """0 if ``rc`` is a success; otherwise raise for libzmq's errno."""
    if rc >= 0:
        return 0
    return raise_errno(zmq_errno(), detail)

# --- zero-copy (_release.pxi) ------------------------------------------------
cdef void drain_releases() noexcept
cdef int lease_buffer(zmq_msg_t *msg, Py_buffer *view, MessageTracker tracker) except -1

# --- buffers and messages (_frame.pxi) -----------------------------------------
cdef int get_buffer(object data, Py_buffer *view, int flags) except -1
cdef bytes msg_to_bytes(zmq_msg_t *msg)
