"""zmqipc's exceptions, with pyzmq's names and hierarchy."""

from __future__ import annotations

import errno as _errno_module

__all__ = [
    "ZMQBaseError",
    "ZMQError",
    "ZMQBindError",
    "Again",
    "ContextTerminated",
    "InterruptedSystemCall",
    "NotDone",
    "ZMQVersionError",
]


class ZMQBaseError(Exception):
    """Base class of every zmqipc exception."""


class ZMQError(ZMQBaseError):
    """A libzmq call failed. ``errno`` is the error number, ``strerror`` its message."""

    errno: int | None = None
    strerror: str | None = None

    def __init__(self, errno=None, msg=None):
        if errno is None or msg is None:  # (the core raises with both given: no import)
            from zmqipc._zmq import last_errno, strerror

            if errno is None:
                errno = last_errno()
            if msg is None:
                msg = strerror(errno)
        self.errno = errno
        self.strerror = msg
        super().__init__(errno, msg)

    def __str__(self):
        return self.strerror

    def __repr__(self):
        return "%s('%s')" % (type(self).__name__, self.strerror)


class ZMQBindError(ZMQBaseError):
    """bind_to_random_port found no free port."""


class Again(ZMQError):
    """EAGAIN: a non-blocking call would block, or a send/recv timeout expired."""

    def __init__(self, errno=None, msg=None):  # Again() means EAGAIN (as pyzmq)
        super().__init__(_errno_module.EAGAIN if errno is None else errno, msg)


class ContextTerminated(ZMQError):
    """ETERM: the socket's context was terminated."""

    def __init__(self, errno=None, msg=None):  # ContextTerminated() means ETERM
        if errno is None:
            from zmqipc.constants import ETERM as errno
        super().__init__(errno, msg)


class InterruptedSystemCall(ZMQError, InterruptedError):
    """EINTR: a call was interrupted by a signal."""

    def __init__(self, errno="ignored", msg="ignored"):
        super().__init__(_errno_module.EINTR, "Interrupted system call")


class NotDone(ZMQBaseError):
    """MessageTracker.wait timed out before libzmq released the buffer."""


class ZMQVersionError(NotImplementedError):
    """The feature needs a newer libzmq than the one built in."""

    def __init__(self, min_version, msg="Feature"):
        self.min_version = min_version
        super().__init__("%s requires libzmq >= %s" % (msg, min_version))


def error_for(errnum, message, detail=None):
    """The exception instance for a libzmq errno: the one error-mapping table.
    ``detail`` (e.g. the endpoint) is appended to the message. EAGAIN is the
    common case (every non-blocking miss), so it is decided first, without an import."""
    if detail is not None:
        message = "%s (%s)" % (message, detail)
    if errnum == _errno_module.EAGAIN:
        return Again(errnum, message)
    if errnum == _errno_module.EINTR:
        return InterruptedSystemCall()
    from zmqipc.constants import ETERM

    if errnum == ETERM:
        return ContextTerminated(errnum, message)
    return ZMQError(errnum, message)
