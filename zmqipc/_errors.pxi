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


cdef int retry_or_raise(object detail=None, list pending=None) except -1:
    """After a call that can block failed: return 0 if a signal interrupted it
    and its Python handlers returned (the caller retries the call), raise
    otherwise. Only blocking calls retry (PEP 475); the others use check_rc.
    ``pending``: see check_signals."""
    cdef int err = zmq_errno()
    if err != EINTR:
        return raise_errno(err, detail)
    return check_signals(pending)


cdef int check_signals(list pending) except -1:
    """Run the Python signal handlers; one that raises (Ctrl-C) propagates.
    ``pending`` is given inside a multipart message once a part has been taken
    or sent: stopping there would split the message, so the handler's exception
    is appended to ``pending`` instead, and the caller raises it (raise_pending)
    when the message is whole."""
    if pending is None:
        PyErr_CheckSignals()
        return 0
    try:
        PyErr_CheckSignals()
    except BaseException as e:
        pending.append(e)
    return 0


cdef int raise_pending(list pending) except -1:
    """Raise the first exception kept by check_signals, if any."""
    if pending:
        raise pending[0]
    return 0


def libzmq_errnos():
    """The errno values compiled into libzmq (a dict), for zmqipc.constants.Errno."""
    return dict(
        EAGAIN=EAGAIN, EFAULT=EFAULT, EINVAL=EINVAL, EINTR=EINTR, ENOMEM=ENOMEM,
        EACCES=EACCES, ENOENT=ENOENT, ENAMETOOLONG=ENAMETOOLONG, EMFILE=EMFILE,
        ENOTSUP=ENOTSUP, EPROTONOSUPPORT=EPROTONOSUPPORT, ENOBUFS=ENOBUFS, ENETDOWN=ENETDOWN,
        EADDRINUSE=EADDRINUSE, EADDRNOTAVAIL=EADDRNOTAVAIL, ECONNREFUSED=ECONNREFUSED,
        EINPROGRESS=EINPROGRESS, ENOTSOCK=ENOTSOCK, EMSGSIZE=EMSGSIZE, EAFNOSUPPORT=EAFNOSUPPORT,
        ENETUNREACH=ENETUNREACH, ECONNABORTED=ECONNABORTED, ECONNRESET=ECONNRESET,
        ENOTCONN=ENOTCONN, ETIMEDOUT=ETIMEDOUT, EHOSTUNREACH=EHOSTUNREACH, ENETRESET=ENETRESET,
        EFSM=EFSM, ENOCOMPATPROTO=ENOCOMPATPROTO, ETERM=ETERM, EMTHREAD=EMTHREAD)


# Test hook: a signal to deliver, and EINTR to report, on the next endpoint call
# (bind/connect/unbind/disconnect), as if the signal had interrupted libzmq.
cdef int _simulated_interrupt = 0


# Test hook: a signal to deliver, and EINTR to report, on a message-part call
# (send or receive of one part) once _simulated_part_countdown more part calls
# have gone to libzmq, as if the signal had interrupted libzmq there.
cdef int _simulated_part_signal = 0
cdef int _simulated_part_countdown = 0


def _simulate_part_interrupt(int signum, int after_parts=0):
    """For tests only: after ``after_parts`` message-part calls, the next one
    raises ``signum`` and fails with EINTR instead of calling libzmq (then it is
    retried as usual). libzmq reports EINTR on a later part of a multipart message
    about once in a million messages under a signal storm."""
    global _simulated_part_signal, _simulated_part_countdown
    _simulated_part_signal = signum
    _simulated_part_countdown = after_parts


cdef extern from *:
    """
    #include <errno.h>
    static void zmqipc_set_errno(int err) { errno = err; }
    """
    void zmqipc_set_errno(int err)


cdef bint _take_simulated_part_interrupt() noexcept:
    """True (with the signal raised and errno EINTR) when the hook is due."""
    global _simulated_part_signal, _simulated_part_countdown
    if _simulated_part_countdown > 0:
        _simulated_part_countdown -= 1
        return False
    c_raise(_simulated_part_signal)
    _simulated_part_signal = 0
    zmqipc_set_errno(EINTR)
    return True


def _simulate_interrupt(int signum):
    """For tests only: the next endpoint call raises ``signum`` and fails with EINTR
    instead of calling libzmq. On Linux such calls are only interrupted by a signal
    in a window too short to hit on purpose."""
    global _simulated_interrupt
    _simulated_interrupt = signum
