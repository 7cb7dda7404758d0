"""zmqipc.Socket: the compiled socket plus pyzmq's Python conveniences."""

import itertools
import json
import pickle
import random
import sys
import warnings

from zmqipc import _zmq
from zmqipc.constants import (
    EACCES,
    EADDRINUSE,
    EINVAL,
    EVENT_ALL,
    HWM,
    PAIR,
    POLLIN,
    RCVHWM,
    SNDHWM,
    SUBSCRIBE,
    UNSUBSCRIBE,
    SocketOption,
    SocketType,
)
from zmqipc.error import ZMQBindError, ZMQError

__all__ = ["Socket"]


class _EndpointContext:
    """Returned by bind()/connect(): ``with sock.bind(url):`` unbinds on exit."""

    def __init__(self, socket, kind, addr):
        self.socket, self.kind, self.addr = socket, kind, addr

    def __enter__(self):
        return self.socket

    def __exit__(self, *exc):
        if self.socket.closed:
            return
        if self.kind == "bind":
            self.socket.unbind(self.addr)
        else:
            self.socket.disconnect(self.addr)

    def __repr__(self):
        return "<SocketContext(%s=%r)>" % (self.kind, self.addr)


class Socket(_zmq.Socket):
    """A ZeroMQ socket (pyzmq-compatible).

    Options are available as methods (``setsockopt``/``getsockopt``, ``set``/``get``)
    and as attributes (``sock.linger = 0``, ``sock.rcvtimeo``). Not thread-safe:
    use a socket from one thread at a time.
    """

    _monitor_socket = None
    # Kept on the owning Socket, for it and every shadow (see _set_endpoints):
    _endpoint_list = ()  # the endpoints bound or connected, not unbound/disconnected since
    _first_remote = None  # the first of them other than ipc:// and inproc://
    _any_inproc = False  # whether one of them is inproc://

    @property
    def _endpoints(self):
        """Every endpoint bound or connected through this socket or any shadow of it."""
        return getattr(self._root_socket, "_endpoint_list", ())

    @property
    def _remote_endpoint(self):
        """An endpoint other than ipc:// and inproc://, whose peers may be on another
        machine, or None: send_array sends shared memory only without one."""
        return getattr(self._root_socket, "_first_remote", None)

    @property
    def _inproc_endpoint(self):
        """Whether an endpoint is inproc:// (zmqipc.asyncio copies sends then)."""
        return getattr(self._root_socket, "_any_inproc", False)

    def __init__(self, context=None, socket_type=-1, copy_threshold=None, **kwargs):
        if copy_threshold is not None:
            self.copy_threshold = copy_threshold

    # --- lifetime --------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if not self.closed and not self._shadow and not sys.is_finalizing():
            warnings.warn("Unclosed socket %r" % self, ResourceWarning, stacklevel=2, source=self)
            self.close()

    @classmethod
    def shadow(cls, address):
        """A ``cls`` standing for the live zmqipc socket at ``address`` (its
        ``underlying``, or the socket itself): same libzmq socket, same state;
        closing either closes it. Addresses of other libraries' sockets (pyzmq's)
        raise ValueError: zmqipc drives only sockets it created."""
        return cls(shadow=address)

    def __copy__(self):
        return self.__class__.shadow(self)

    def __deepcopy__(self, memo):
        return self.__class__.shadow(self)

    def __dir__(self):
        # pyzmq lists the option names too (sock.LINGER, sock.linger work alike)
        return sorted(set(super().__dir__()) | set(SocketOption.__members__))

    def __repr__(self):
        try:
            type_name = SocketType(self.socket_type).name
        except ValueError:
            type_name = str(self.socket_type)
        return "<zmqipc.Socket(zmq.%s) at %s%s>" % (
            type_name,
            hex(id(self)),
            " closed" if self.closed else "",
        )

    @property
    def type(self):
        """The socket type (a SocketType)."""
        return SocketType(self.socket_type)

    def fileno(self):
        """The socket's FD (edge-triggered readiness, as ZMQ_FD)."""
        return self.getsockopt(SocketOption.FD)

    # --- attribute-style options ------------------------------------------------

    def __setattr__(self, name, value):
        if name.lower() in ("subscribe", "unsubscribe"):  # pyzmq: sock.subscribe = b"topic"
            getattr(self, name.lower())(value)
            return
        if name.startswith("_") or name in self.__dict__ or class_attribute(type(self), name):
            object.__setattr__(self, name, value)
            return
        option = _option_for(name)
        if option is None:
            raise AttributeError("%s has no such option: %s" % (type(self).__name__, name.upper()))
        self.set(option, value)

    def __getattr__(self, name):
        option = _option_for(name)
        if option is None:
            raise AttributeError("%s has no such option: %s" % (type(self).__name__, name.upper()))
        try:
            return self.get(option)
        except ZMQError as e:
            if e.errno == EINVAL:
                raise AttributeError("%s option is write-only" % name) from None
            raise

    def set(self, option, value):
        """Set an option; HWM sets SNDHWM and RCVHWM together."""
        if option == HWM:
            self.set_hwm(value)
        else:
            _zmq.Socket.setsockopt(self, option, value)

    def get(self, option):
        """Get an option; HWM reads SNDHWM (pyzmq's rule)."""
        if option == HWM:
            return self.get_hwm()
        return _zmq.Socket.getsockopt(self, option)

    setsockopt = set
    getsockopt = get

    def setsockopt_string(self, option, optval, encoding="utf-8"):
        """Set a bytes option from str."""
        if not isinstance(optval, str):
            raise TypeError("expected str, got %s" % type(optval).__name__)
        self.set(option, optval.encode(encoding))

    def getsockopt_string(self, option, encoding="utf-8"):
        """Get a bytes option as str."""
        value = self.get(option)
        if not isinstance(value, bytes):  # TypeError as pyzmq, not AttributeError
            raise TypeError("option %d is not a string option" % option)
        return value.decode(encoding)

    set_string = setsockopt_unicode = setsockopt_string
    get_string = getsockopt_unicode = getsockopt_string

    def set_hwm(self, value):
        """Set SNDHWM and RCVHWM."""
        self.set(SNDHWM, value)
        self.set(RCVHWM, value)

    def get_hwm(self):
        """SNDHWM (the two are set together by set_hwm)."""
        return self.get(SNDHWM)

    hwm = property(get_hwm, set_hwm)

    # --- endpoints ------------------------------------------------------------

    def bind(self, addr):
        """Bind to ``addr``; usable as ``with sock.bind(addr): ...`` to unbind on exit."""
        super().bind(addr)
        try:  # as pyzmq: unbind the resolved endpoint, so "tcp://host:*" works too
            addr = self.get(SocketOption.LAST_ENDPOINT).decode("utf-8")
        except (ZMQError, UnicodeDecodeError):
            pass
        self._set_endpoints(self._endpoints + (_endpoint_text(addr),))
        return _EndpointContext(self, "bind", addr)

    def connect(self, addr):
        """Connect to ``addr``; usable as a context manager to disconnect on exit."""
        super().connect(addr)
        self._set_endpoints(self._endpoints + (_endpoint_text(addr),))
        return _EndpointContext(self, "connect", addr)

    def unbind(self, addr):
        """Stop listening on an endpoint given to bind() (or its last_endpoint)."""
        super().unbind(addr)
        self._forget_endpoint(addr)

    def disconnect(self, addr):
        """Disconnect from an endpoint given to connect()."""
        super().disconnect(addr)
        self._forget_endpoint(addr)

    def _forget_endpoint(self, addr):
        # libzmq ends every bind/connect of that text. One it matched under another
        # spelling (a tcp host name it resolved) stays listed: the safe side.
        addr = _endpoint_text(addr)
        self._set_endpoints(tuple(e for e in self._endpoints if e != addr))

    def _set_endpoints(self, endpoints):
        root = self._root_socket
        root._endpoint_list = endpoints
        root._first_remote = next(
            (e for e in endpoints if not e.startswith(("ipc://", "inproc://"))), None
        )
        root._any_inproc = any(e.startswith("inproc://") for e in endpoints)

    def bind_to_random_port(self, addr, min_port=49152, max_port=65536, max_tries=100):
        """Bind to a random port of ``addr`` (e.g. "tcp://127.0.0.1") and return it."""
        if (min_port, max_port) == (49152, 65536):
            self.bind("%s:*" % addr)
            return int(self.get(SocketOption.LAST_ENDPOINT).decode().rsplit(":", 1)[1])
        for _ in range(max_tries):
            port = random.randrange(min_port, max_port)
            try:
                self.bind("%s:%d" % (addr, port))
            except ZMQError as e:
                if e.errno in (EADDRINUSE, EACCES):
                    continue
                raise
            return port
        raise ZMQBindError("Could not bind socket to random port.")

    def subscribe(self, topic):
        """SUB: subscribe to a topic prefix (str is UTF-8 encoded)."""
        self.set(SUBSCRIBE, topic.encode("utf-8") if isinstance(topic, str) else topic)

    def unsubscribe(self, topic):
        """SUB: remove a subscription."""
        self.set(UNSUBSCRIBE, topic.encode("utf-8") if isinstance(topic, str) else topic)

    # --- serialisation helpers ---------------------------------------------------

    def send_string(self, u, flags=0, copy=True, encoding="utf-8", **kwargs):
        """Send a str, encoded."""
        if not isinstance(u, str):
            raise TypeError("send_string requires str, not %s" % type(u).__name__)
        return self.send(u.encode(encoding), flags=flags, copy=copy, **kwargs)

    def recv_string(self, flags=0, encoding="utf-8"):
        """Receive a message and decode it to str."""
        return self.recv(flags=flags).decode(encoding)

    send_unicode = send_string
    recv_unicode = recv_string

    def send_json(self, obj, flags=0, **kwargs):
        """Send an object as JSON (kwargs go to json.dumps)."""
        return self.send(json.dumps(obj, **kwargs).encode("utf-8"), flags=flags)

    def recv_json(self, flags=0, **kwargs):
        """Receive JSON and decode it (kwargs go to json.loads)."""
        return json.loads(self.recv(flags=flags), **kwargs)

    def send_pyobj(self, obj, flags=0, protocol=pickle.DEFAULT_PROTOCOL, **kwargs):
        """Send a pickled object. Only unpickle data from peers you trust."""
        return self.send(pickle.dumps(obj, protocol), flags=flags, **kwargs)

    def recv_pyobj(self, flags=0):
        """Receive and unpickle an object. Only unpickle data from peers you trust."""
        return pickle.loads(self.recv(flags=flags))

    def send_serialized(self, msg, serialize, flags=0, copy=True, **kwargs):
        """Send ``serialize(msg)`` (a list of frames) as one multipart message."""
        return self.send_multipart(serialize(msg), flags=flags, copy=copy, **kwargs)

    def recv_serialized(self, deserialize, flags=0, copy=True):
        """Receive a multipart message and return ``deserialize(frames)``."""
        return deserialize(self.recv_multipart(flags=flags, copy=copy))

    # --- arrays (see zmqipc.arrays for the wire format) ---------------------------

    def send_array(self, array, flags=0, copy=True, track=False, shm=None):
        """Send a NumPy array as [header, data]; ``copy=False`` sends without copying.
        Arrays in zmqipc.shm memory travel as a descriptor over ipc/inproc;
        ``shm=True`` puts any array there first (see zmqipc.arrays.send_array)."""
        return _arrays().send_array(self, array, flags=flags, copy=copy, track=track, shm=shm)

    def recv_array(self, flags=0, copy=False):
        """Receive an array sent by send_array; by default it views the message memory."""
        return _arrays().recv_array(self, flags=flags, copy=copy)

    def recv_array_into(self, out, flags=0):
        """Receive an array into ``out``; dtype and shape must match exactly."""
        return _arrays().recv_array_into(self, out, flags=flags)

    # --- polling and monitoring ----------------------------------------------------

    def poll(self, timeout=None, flags=POLLIN):
        """Wait up to ``timeout`` ms (None: forever) for ``flags``; return the events."""
        ready = _zmq.poll([(self, flags)], timeout)
        return ready[0][1] if ready else 0

    def get_monitor_socket(self, events=None, addr=None):
        """Start monitoring and return a connected PAIR socket delivering events
        (decode them with zmqipc.utils.monitor.recv_monitor_message)."""
        if self._monitor_socket is not None and not self._monitor_socket.closed:
            return self._monitor_socket
        if addr is None:
            # a fresh name each time: libzmq unbinds an old monitor's inproc name
            # asynchronously, so reusing it after close/disable can hit EADDRINUSE
            addr = "inproc://monitor.s-%x-%d" % (self.underlying, next(_monitor_ids))
        self.monitor(addr, EVENT_ALL if events is None else events)
        self._monitor_socket = self.context.socket(PAIR)
        self._monitor_socket.connect(addr)
        return self._monitor_socket

    def disable_monitor(self):
        """Stop monitoring (the monitor socket receives MONITOR_STOPPED)."""
        self._monitor_socket = None
        self.monitor(None, 0)


_monitor_ids = itertools.count()


_arrays_module = None


def _arrays():
    """zmqipc.arrays, imported on first use: it imports numpy, which ``import zmqipc``
    must not (numpy is most of its import time). Kept in a global: ``from zmqipc import
    arrays`` runs importlib's Python code on every call, a share of an shm hand-off."""
    global _arrays_module
    if _arrays_module is None:
        from zmqipc import arrays

        _arrays_module = arrays
    return _arrays_module


def _endpoint_text(addr):
    return addr if isinstance(addr, str) else addr.decode("utf-8", "replace")


def class_attribute(cls, name):
    """True if ``name`` is an ordinary attribute of ``cls``'s instances, not an option:
    defined on the class, or declared with an annotation in a class of its MRO
    (``class MySocket(zmq.Socket): name: str``), as pyzmq decides."""
    return hasattr(cls, name) or any(name in getattr(c, "__annotations__", {}) for c in cls.__mro__)


def _option_for(name):
    try:
        return SocketOption[name.upper()]
    except KeyError:
        return None
