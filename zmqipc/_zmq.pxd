# Class layouts of the compiled core. Logic lives in _zmq.pyx.
from cpython.buffer cimport Py_buffer
from zmqipc._libzmq cimport zmq_msg_t

cdef extern from "release_queue.h":
    ctypedef struct zmqipc_release_node:
        zmqipc_release_node *next
        void *owner


cdef class MessageTracker:
    cdef public int pending          # zero-copy messages libzmq still holds
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
    cdef object _bytes
    cdef public bint more
    cdef public MessageTracker tracker


cdef class Context:
    cdef void *handle
    cdef bint _term_called
    cdef int _fork_gen
    cdef object _sockets             # weakref.WeakSet of sockets for destroy()
    cdef object __weakref__
    cdef int _check_open(self) except -1


cdef class Socket:
    cdef void *handle
    cdef public object context
    cdef public int socket_type
    cdef bint _closed
    cdef int _fork_gen
    cdef public Py_ssize_t copy_threshold
    cdef object __weakref__
    cdef int _check_usable(self) except -1
    cdef void *_usable_handle(self) except NULL
    cdef int _begin_io(self) except -1
    cdef int _send_buffer(self, object data, int flags, bint copy, MessageTracker tracker) except -1
    cdef int _send_frame(self, Frame frame, int flags) except -1
    cdef object _recv_bytes(self, int flags)
    cdef Frame _recv_frame(self, int flags)
