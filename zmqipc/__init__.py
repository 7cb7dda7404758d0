"""zmqipc: ZeroMQ for Python with a vendored libzmq, ipc:// on every OS and
zero-copy NumPy arrays. ``import zmqipc as zmq`` runs ordinary pyzmq code.

Thread safety (as libzmq): a Context may be shared between threads; a Socket may
not be used from two threads at once.
"""

import json as _json
import os as _os
import sys as _sys

try:
    from zmqipc import _zmq
except ImportError as e:  # a source checkout without the compiled extension
    raise ImportError(
        "zmqipc's compiled extension is missing in %s (%s). Install zmqipc "
        "with pip and import it from outside the source tree, or build it in "
        "place with `pip install -e .`." % (_os.path.dirname(__file__), e)
    ) from None
from zmqipc import shm, utils  # noqa: F401
from zmqipc._version import __version__
from zmqipc._zmq import (
    COPY_THRESHOLD,
    Frame,
    MessageTracker,
    curve_keypair,
    curve_public,
    has,
    proxy,
    proxy_steerable,
    strerror,
    zmq_version_info,
)
from zmqipc._zmq import last_errno as zmq_errno
from zmqipc.constants import *  # noqa: F401,F403  (pyzmq's flat names: PUSH, LINGER, ...)
from zmqipc.constants import (
    ContextOption,
    DeviceType,
    Errno,
    Event,
    Flag,
    MessageOption,
    OptionType,
    PollEvent,
    ReconnectStop,
    RouterNotify,
    SecurityMechanism,
    SocketOption,
    SocketType,
)
from zmqipc.context import Context
from zmqipc.error import (
    Again,
    ContextTerminated,
    InterruptedSystemCall,
    NotDone,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    ZMQVersionError,
)
from zmqipc.poll import Poller, select, zmq_poll
from zmqipc.socket import Socket
from zmqipc.utils import jsonapi, monitor, z85  # noqa: F401

Message = Frame

# The longest ipc:// path (bytes) the platform's AF_UNIX sockets take, as pyzmq has it.
IPC_PATH_MAX_LEN = 103 if _sys.platform == "darwin" or "bsd" in _sys.platform else 107


def __getattr__(name):
    if name == "arrays":  # imported on first use: it imports numpy
        import importlib

        return importlib.import_module("zmqipc.arrays")
    raise AttributeError("module 'zmqipc' has no attribute %r" % name)


def zmq_version():
    """libzmq's version as a string, e.g. "4.3.4"."""
    return "%d.%d.%d" % zmq_version_info()


def pyzmq_version():
    """zmqipc's version (the name pyzmq code asks for)."""
    return __version__


def pyzmq_version_info():
    """zmqipc's version as a tuple."""
    return tuple(int(x) for x in __version__.split("."))


def device(device_type, frontend, backend):
    """The legacy zmq_device: a proxy between ``frontend`` and ``backend``."""
    return proxy(frontend, backend)


def build_info():
    """How this copy of zmqipc was built: the libzmq version and source archive
    (with its sha256), the patches applied, the platform configuration and the
    transports and capabilities the library reports."""
    path = _os.path.join(_os.path.dirname(__file__), "_build_info.json")
    try:
        with open(path) as f:
            info = _json.load(f)
    except OSError:
        info = {}
    names = ["ipc", "pgm", "tipc", "norm", "curve", "gssapi", "draft", "ws", "wss", "vmci"]
    info.update(
        libzmq_version=zmq_version(),
        zmqipc_version=__version__,
        capabilities={name: has(name) for name in names},
        transports=["tcp", "inproc"]
        + [t for t in ("ipc", "pgm", "tipc", "norm", "ws", "vmci") if has(t)],
        copy_threshold=COPY_THRESHOLD,
    )
    return info
