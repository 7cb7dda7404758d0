# Raw declarations from the vendored libzmq 4.3.4 zmq.h: spelled as in the header,
# all nogil, no logic. Only what the core calls or reads is declared.
from libc.stdint cimport uint8_t

cdef extern from "zmq.h" nogil:
    enum:
        ZMQ_DONTWAIT
        ZMQ_SNDMORE
        ZMQ_POLLIN
        ZMQ_POLLOUT
        ZMQ_EVENT_ALL
        ZMQ_LINGER
        ZMQ_RCVTIMEO
        ZMQ_SNDTIMEO
        ZMQ_IO_THREADS
        ZMQ_MAX_SOCKETS
        ZMQ_SHARED
        # errno values as libzmq sees them (its own numbers where the C library
        # lacks one, e.g. on Windows)
        ENOTSUP
        EPROTONOSUPPORT
        ENOBUFS
        ENETDOWN
        EADDRINUSE
        EADDRNOTAVAIL
        ECONNREFUSED
        EINPROGRESS
        ENOTSOCK
        EMSGSIZE
        EAFNOSUPPORT
        ENETUNREACH
        ECONNABORTED
        ECONNRESET
        ENOTCONN
        ETIMEDOUT
        EHOSTUNREACH
        ENETRESET
        EFSM
        ENOCOMPATPROTO
        ETERM
        EMTHREAD

    ctypedef struct zmq_msg_t:
        pass
    # int on POSIX, SOCKET-sized on Windows: Cython converts through the C type.
    ctypedef int zmq_fd_t
    ctypedef struct zmq_pollitem_t:
        void *socket
        zmq_fd_t fd
        short events
        short revents
    ctypedef void zmq_free_fn(void *data_, void *hint_)

    int zmq_errno()
    const char *zmq_strerror(int errnum_)
    void zmq_version(int *major_, int *minor_, int *patch_)
    int zmq_has(const char *capability_)

    void *zmq_ctx_new()
    int zmq_ctx_term(void *context_)
    int zmq_ctx_shutdown(void *context_)
    int zmq_ctx_set(void *context_, int option_, int optval_)
    int zmq_ctx_get(void *context_, int option_)

    int zmq_msg_init(zmq_msg_t *msg_)
    int zmq_msg_init_size(zmq_msg_t *msg_, size_t size_)
    int zmq_msg_init_data(zmq_msg_t *msg_, void *data_, size_t size_,
                          zmq_free_fn *ffn_, void *hint_)
    int zmq_msg_send(zmq_msg_t *msg_, void *s_, int flags_)
    int zmq_msg_recv(zmq_msg_t *msg_, void *s_, int flags_)
    int zmq_msg_close(zmq_msg_t *msg_)
    int zmq_msg_copy(zmq_msg_t *dest_, zmq_msg_t *src_)
    void *zmq_msg_data(zmq_msg_t *msg_)
    size_t zmq_msg_size(const zmq_msg_t *msg_)
    int zmq_msg_more(const zmq_msg_t *msg_)
    int zmq_msg_get(const zmq_msg_t *msg_, int property_)
    const char *zmq_msg_gets(const zmq_msg_t *msg_, const char *property_)

    void *zmq_socket(void *, int type_)
    int zmq_close(void *s_)
    int zmq_setsockopt(void *s_, int option_, const void *optval_, size_t optvallen_)
    int zmq_getsockopt(void *s_, int option_, void *optval_, size_t *optvallen_)
    int zmq_bind(void *s_, const char *addr_)
    int zmq_connect(void *s_, const char *addr_)
    int zmq_unbind(void *s_, const char *addr_)
    int zmq_disconnect(void *s_, const char *addr_)
    int zmq_send(void *s_, const void *buf_, size_t len_, int flags_)
    int zmq_recv(void *s_, void *buf_, size_t len_, int flags_)
    int zmq_socket_monitor(void *s_, const char *addr_, int events_)

    int zmq_poll(zmq_pollitem_t *items_, int nitems_, long timeout_)
    int zmq_proxy_steerable(void *frontend_, void *backend_, void *capture_, void *control_)

    char *zmq_z85_encode(char *dest_, const uint8_t *data_, size_t size_)
    uint8_t *zmq_z85_decode(uint8_t *dest_, const char *string_)
    int zmq_curve_keypair(char *z85_public_key_, char *z85_secret_key_)
    int zmq_curve_public(char *z85_public_key_, const char *z85_secret_key_)
