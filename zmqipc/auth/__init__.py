"""ZAP authentication (ZeroMQ RFC 27) and CURVE certificates, as pyzmq's zmq.auth.

Run a handler with zmqipc.auth.thread.ThreadAuthenticator (a background thread) or
zmqipc.auth.asyncio.AsyncioAuthenticator (a task on the running loop). Start it
before binding the server sockets it should guard, on the same Context.
"""

# ruff: noqa: F401  (re-exported names; __all__ is built from the submodules)

from zmqipc.auth import base, certs
from zmqipc.auth.base import CURVE_ALLOW_ANY, Authenticator
from zmqipc.auth.certs import create_certificates, load_certificate, load_certificates

__all__ = base.__all__ + certs.__all__
