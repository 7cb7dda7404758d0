"""zmqipc.Context: the compiled context plus pyzmq's Python conveniences."""

import os
import sys
import threading
import warnings

from zmqipc import _zmq
from zmqipc.constants import ContextOption, SocketOption
from zmqipc.error import ContextTerminated, ZMQError
from zmqipc.socket import Socket, class_attribute

__all__ = ["Context"]


class Context(_zmq.Context):
    """A ZeroMQ context (pyzmq-compatible). Thread-safe.

    ``Context(io_threads=1)``; ``Context.instance()`` for a process-wide one (a
    forked child gets its own). Attribute style works for context options
    (``ctx.io_threads``) and sets default socket options for new sockets
    (``ctx.linger = 0``). As a context manager it destroy()s on exit.
    """

    _instance = None
    _instance_pid = None
    _instance_lock = threading.Lock()
    _socket_class = Socket

    def __init__(self, io_threads=1, **kwargs):
        super().__init__(io_threads)
        object.__setattr__(self, "sockopts", {})

    @classmethod
    def instance(cls, io_threads=1):
        """The process-wide Context (created on first use, again after fork or term)."""
        if cls._instance is None or cls._instance_pid != os.getpid() or cls._instance.closed:
            with cls._instance_lock:
                if (
                    cls._instance is None
                    or cls._instance_pid != os.getpid()
                    or cls._instance.closed
                ):
                    cls._instance = cls(io_threads=io_threads)
                    cls._instance_pid = os.getpid()
        return cls._instance

    def socket(self, socket_type, socket_class=None, **kwargs):
        """Create a socket of ``socket_type`` with this context's default options."""
        if self.closed:
            raise ContextTerminated()
        sock = (socket_class or self._socket_class)(self, socket_type, **kwargs)
        for option, value in self.sockopts.items():
            try:
                sock.setsockopt(option, value)
            except ZMQError:
                pass  # e.g. SUBSCRIBE on a non-SUB socket: not applicable
        return sock

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.destroy()

    def __del__(self):
        if self._shadow or self.closed or sys.is_finalizing() or not self._has_open_sockets:
            return
        warnings.warn("Unclosed context %r" % self, ResourceWarning, stacklevel=2, source=self)
        if self.open_sockets:  # (in a garbage cycle they are gone already: their own
            self.destroy()  # __del__ closes them, and term follows in dealloc)

    @classmethod
    def shadow(cls, address):
        """A ``cls`` standing for the live zmqipc Context at ``address`` (its
        ``underlying``, or the Context itself); term() on either terminates it.
        Addresses of other libraries' contexts (pyzmq's) raise ValueError."""
        return cls(shadow=address)

    def __copy__(self):
        return self.__class__.shadow(self)

    def __deepcopy__(self, memo):
        return self.__class__.shadow(self)

    def __repr__(self):
        n = len(self.open_sockets)
        return "<zmqipc.Context(%d socket%s) at %s%s>" % (
            n,
            "" if n == 1 else "s",
            hex(id(self)),
            " closed" if self.closed else "",
        )

    # --- attribute-style options ------------------------------------------------

    def __setattr__(self, name, value):
        if name.startswith("_") or name in self.__dict__ or class_attribute(type(self), name):
            object.__setattr__(self, name, value)
        elif name.upper() in ContextOption.__members__:
            self.set(ContextOption[name.upper()], value)
        elif name.upper() in SocketOption.__members__:
            self.sockopts[SocketOption[name.upper()]] = value
        else:
            raise AttributeError("%s has no such option: %s" % (type(self).__name__, name.upper()))

    def __getattr__(self, name):
        if name.upper() in ContextOption.__members__:
            return self.get(ContextOption[name.upper()])
        if name.upper() in SocketOption.__members__:
            try:
                return self.sockopts[SocketOption[name.upper()]]
            except KeyError:
                raise AttributeError("no default socket option %s set" % name.upper()) from None
        raise AttributeError("%s has no attribute %s" % (type(self).__name__, name))

    def setsockopt(self, option, value):
        """Set a default option for sockets created later."""
        self.sockopts[option] = value

    def getsockopt(self, option):
        """A default socket option set with setsockopt."""
        return self.sockopts[option]
