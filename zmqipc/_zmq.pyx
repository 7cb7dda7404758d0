# cython: freethreading_compatible = False
"""The compiled core of zmqipc: libzmq contexts, sockets and messages.

Rules kept here:
- the GIL is released only around the libzmq call, results are checked with it held;
- a failed libzmq call raises through raise_errno (_errors.pxi), the one place an
  errno becomes an exception; only calls that can block retry after EINTR;
- zero-copy buffers go back to Python through the lock-free release queue
  (csrc/release_queue.c): libzmq's threads never take the GIL.
The C-level API other compiled code may cimport is declared in _zmq.pxd; the raw C
declarations are in includes/. Pure-Python conveniences (string/json/pickle,
attribute options, monitor, Poller, arrays) live in the Python modules that
subclass these types and use only the names in __all__ below.
"""

cimport cython
from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release, PyBUF_ANY_CONTIGUOUS,
                             PyBUF_WRITABLE, PyBUF_FORMAT)
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.exc cimport PyErr_CheckSignals
from cpython.ref cimport Py_INCREF, Py_DECREF
from libc.errno cimport (EACCES, EAGAIN, EFAULT, EINTR, EINVAL, EMFILE, ENAMETOOLONG, ENOENT,
                         ENOMEM)
from libc.signal cimport raise_ as c_raise
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

from zmqipc.includes.libzmq cimport *
from zmqipc.includes.python cimport Py_AddPendingCall
from zmqipc.includes.release_queue cimport *
from zmqipc.includes.shm cimport *

import atexit
import os
import select
import socket
import time
import weakref

from zmqipc import error as _error

# The public names of the core: the Python modules use only these.
__all__ = [
    "Context", "Socket", "Frame", "MessageTracker",
    "strerror", "last_errno", "libzmq_errnos", "zmq_version_info", "has",
    "poll", "proxy", "proxy_steerable",
    "curve_keypair", "curve_public", "z85_encode", "z85_decode",
    "COPY_THRESHOLD", "release_pending", "ReleaseWatcher", "release_watcher",
    "WAIT_SLICE_MS", "sliced_wait",
    "ShmSegment", "ShmBuffer", "shm_self_key", "shm_key_alive", "shm_pid_namespace",
    "shm_buffer_of",
    "SHM_HEADER_SIZE", "SHM_EFOREIGN", "SHM_EFORMAT", "SHM_EFULL", "SHM_ESTALE",
]


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
    # A drain the parent had scheduled may never run here: let releases schedule again.
    zmqipc_release_drain_started()
    _forget_release_watchers()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

_FORK_MESSAGE = ("%s was created before fork() in the parent process; libzmq objects "
                 "cannot be used in a forked child. Create a new Context in the child.")


include "_errors.pxi"
include "_option_types.pxi"
include "_release.pxi"
include "_frame.pxi"
include "_blocking.pxi"
include "_context.pxi"
include "_socket.pxi"
include "_poll.pxi"
include "_proxy.pxi"
include "_security.pxi"
include "_shm.pxi"
