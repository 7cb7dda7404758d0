# Raw declarations from csrc/release_queue.h (the zero-copy release queue).
from libc.stdint cimport intptr_t

cdef extern from "release_queue.h" nogil:
    ctypedef struct zmqipc_release_node:
        zmqipc_release_node *next
        void *owner

    void zmqipc_release_cb(void *data, void *hint)
    zmqipc_release_node *zmqipc_release_take_all()
    void zmqipc_release_drain_started()
    ctypedef int (*zmqipc_schedule_fn)() noexcept nogil
    void zmqipc_release_set_scheduler(zmqipc_schedule_fn fn)
    int zmqipc_release_watch(intptr_t socket_fd)
    void zmqipc_release_arm(int slot)
    void zmqipc_release_forget_watchers()
