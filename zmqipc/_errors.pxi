# Included by _zmq.pyx: errors. The one place a libzmq errno becomes an exception
# (raise_errno), and libzmq's errno values for zmqipc.constants.

def strerror(int errnum):
    """Return libzmq's message for an errno value."""
    return zmq_strerror(errnum).decode("utf-8", "replace")


def last_errno():
    """Return libzmq's errno for the calling thread (zmqipc.zmq_errno)."""
    return zmq_errno()


cdef int raise_errno(int err, object detail=None) except -1:
    """Raise the exception for libzmq errno ``err`` (error.error_for maps it).
    EINTR first runs the Python signal handlers: one that raises (Ctrl-C)
    propagates; otherwise InterruptedSystemCall is raised."""
    if err == EINTR:
        PyErr_CheckSignals()
    raise _error.error_for(err, strerror(err), detail)


cdef int retry_or_raise(object detail=None) except -1:
    """After a call that can block failed: return 0 if a signal interrupted it
    and its Python handlers returned (the caller retries the call), raise
    otherwise. Only blocking calls retry (PEP 475); the others use check_rc."""
    cdef int err = zmq_errno()
    if err != EINTR:
        return raise_errno(err, detail)
    PyErr_CheckSignals()   # a handler that raises propagates from here
    return 0


def libzmq_errnos():
    """The errno values compiled into libzmq (a dict), for zmqipc.constants.Errno."""
    return dict(
        EAGAIN=EAGAIN, EFAULT=EFAULT, EINVAL=EINVAL, EINTR=EINTR, ENOMEM=ENOMEM,
        EACCES=EACCES, ENOENT=ENOENT, ENAMETOOLONG=ENAMETOOLONG,
        ENOTSUP=ENOTSUP, EPROTONOSUPPORT=EPROTONOSUPPORT, ENOBUFS=ENOBUFS, ENETDOWN=ENETDOWN,
        EADDRINUSE=EADDRINUSE, EADDRNOTAVAIL=EADDRNOTAVAIL, ECONNREFUSED=ECONNREFUSED,
        EINPROGRESS=EINPROGRESS, ENOTSOCK=ENOTSOCK, EMSGSIZE=EMSGSIZE, EAFNOSUPPORT=EAFNOSUPPORT,
        ENETUNREACH=ENETUNREACH, ECONNABORTED=ECONNABORTED, ECONNRESET=ECONNRESET,
        ENOTCONN=ENOTCONN, ETIMEDOUT=ETIMEDOUT, EHOSTUNREACH=EHOSTUNREACH, ENETRESET=ENETRESET,
        EFSM=EFSM, ENOCOMPATPROTO=ENOCOMPATPROTO, ETERM=ETERM, EMTHREAD=EMTHREAD)


# Test hook: a signal to deliver, and EINTR to report, on the next endpoint call
# (bind/connect/unbind/disconnect), as if the signal had interrupted libzmq.
cdef int _simulated_interrupt = 0


def _simulate_interrupt(int signum):
    """For tests only: the next endpoint call raises ``signum`` and fails with EINTR
    instead of calling libzmq. On Linux such calls are only interrupted by a signal
    in a window too short to hit on purpose."""
    global _simulated_interrupt
    _simulated_interrupt = signum
