"""Z85 encoding (ZeroMQ RFC 32), via the built-in libzmq."""

from zmqipc._zmq import z85_decode as decode
from zmqipc._zmq import z85_encode as encode

__all__ = ["encode", "decode"]
