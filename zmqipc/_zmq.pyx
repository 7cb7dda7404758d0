# cython: freethreading_compatible = False
"""The compiled core of zmqipc: libzmq contexts, sockets and messages.

Rules kept here (see design.md):
- the GIL is released only around the libzmq call, results are checked with it held;
- every failed return code goes through _check_rc, the one error-mapping function;
- zero-copy buffers go back to Python through the lock-free release queue
  (csrc/release_queue.c): libzmq's threads never take the GIL.
Pure-Python conveniences (string/json/pickle, attribute options, monitor, Poller,
arrays) live in the Python modules that subclass these types.
"""

from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release, PyBUF_ANY_CONTIGUOUS,
                             PyBUF_WRITABLE, PyBUF_FORMAT, PyBUF_SIMPLE)
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING
from cpython.exc cimport PyErr_CheckSignals
from cpython.ref cimport Py_INCREF, Py_DECREF
from libc.errno cimport EINTR, EINVAL, EAGAIN, ENOMEM
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, strlen

from zmqipc._libzmq cimport *

import os
import time
import weakref

from zmqipc import error as _error

cdef extern from "Python.h":
    int Py_AddPendingCall(int (*func)(void *) noexcept, void *arg) nogil

cdef extern from "release_queue.h" nogil:
    void zmqipc_release_cb(void *data, void *hint)
    zmqipc_release_node *zmqipc_release_take_all()
    ctypedef void (*zmqipc_wakeup_fn)() noexcept nogil
    void zmqipc_release_set_wakeup(zmqipc_wakeup_fn fn)


# ---------------------------------------------------------------------------
# Errors: the one place a failed libzmq return code becomes an exception.
# ---------------------------------------------------------------------------

def strerror(int errnum):
    """Return libzmq's message for an errno value."""
    return zmq_strerror(errnum).decode("utf-8", "replace")


def _errno():
    """Return libzmq's errno for the calling thread (zmqipc.zmq_errno)."""
    return zmq_errno()


cdef int _check_rc(int rc, object detail=None) except -1:
    """Return 0 if ``rc`` is a success, 1 if a signal interrupted the call and its
    Python handler returned (the caller retries), and raise the matching ZMQError
    subclass otherwise. A handler that raises (Ctrl-C) propagates from here."""
    cdef int err
    if rc >= 0:
        return 0
    err = zmq_errno()
    if err == EINTR:
        PyErr_CheckSignals()
        return 1
    raise _error.error_for(err, strerror(err), detail)


cdef int _raise_errno(int err, object detail=None) except -1:
    raise _error.error_for(err, strerror(err), detail)


# errno values compiled into libzmq, for zmqipc.constants.
ERRNO_VALUES = dict(
    EAGAIN=EAGAIN, EINVAL=EINVAL, EINTR=EINTR, ENOMEM=ENOMEM,
    ENOTSUP=ENOTSUP, EPROTONOSUPPORT=EPROTONOSUPPORT, ENOBUFS=ENOBUFS, ENETDOWN=ENETDOWN,
    EADDRINUSE=EADDRINUSE, EADDRNOTAVAIL=EADDRNOTAVAIL, ECONNREFUSED=ECONNREFUSED,
    EINPROGRESS=EINPROGRESS, ENOTSOCK=ENOTSOCK, EMSGSIZE=EMSGSIZE, EAFNOSUPPORT=EAFNOSUPPORT,
    ENETUNREACH=ENETUNREACH, ECONNABORTED=ECONNABORTED, ECONNRESET=ECONNRESET,
    ENOTCONN=ENOTCONN, ETIMEDOUT=ETIMEDOUT, EHOSTUNREACH=EHOSTUNREACH, ENETRESET=ENETRESET,
    EFSM=EFSM, ENOCOMPATPROTO=ENOCOMPATPROTO, ETERM=ETERM, EMTHREAD=EMTHREAD)


# ---------------------------------------------------------------------------
# Versions and capabilities
# ---------------------------------------------------------------------------

def zmq_version_info():
    """libzmq's version as a (major, minor, patch) tuple."""
    cdef int major, minor, patch
    zmq_version(&major, &minor, &patch)
    return (major, minor, patch)


def has(capability):
    """True if the built-in libzmq supports ``capability`` (e.g. "ipc", "curve")."""
    if isinstance(capability, str):
        capability = capability.encode("utf-8")
    if not isinstance(capability, bytes):
        raise TypeError("capability must be str, not %s" % type(capability).__name__)
    return bool(zmq_has(capability))


# ---------------------------------------------------------------------------
# Fork safety: libzmq state does not survive fork(); objects remember the
# generation they were made in and refuse to work in a child.
# ---------------------------------------------------------------------------

cdef int _fork_generation = 0

def _after_fork_in_child():
    global _fork_generation
    _fork_generation += 1

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

_FORK_MESSAGE = ("%s was created before fork() in the parent process; libzmq objects "
                 "cannot be used in a forked child. Create a new Context in the child.")


include "_release.pxi"
include "_frame.pxi"
include "_context.pxi"
include "_socket.pxi"
include "_poll.pxi"
