# Raw declarations from csrc/release_queue.h (the zero-copy release queue).

cdef extern from "release_queue.h" nogil:
    ctypedef struct zmqipc_release_node:
        zmqipc_release_node *next
        void *owner

    void zmqipc_release_cb(void *data, void *hint)
    zmqipc_release_node *zmqipc_release_take_all()
    ctypedef void (*zmqipc_wakeup_fn)() noexcept nogil
    void zmqipc_release_set_wakeup(zmqipc_wakeup_fn fn)
