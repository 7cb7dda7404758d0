"""Proxy devices: a device with a third, monitor socket that sees every message."""

from zmqipc.constants import PUB
from zmqipc.devices.basedevice import Device, ProcessDevice, ThreadDevice

__all__ = ["Proxy", "ThreadProxy", "ProcessProxy"]


class ProxyBase:
    """Adds the ``mon`` socket (bind_mon, connect_mon, setsockopt_mon, ...): every
    message going through is also sent on it (a PUB socket by default)."""

    _sides: tuple[str, ...] = ("in", "out", "mon")

    def __init__(self, in_type, out_type, mon_type=PUB):
        Device.__init__(self, in_type=in_type, out_type=out_type)
        self.mon_type = mon_type

    def bind_mon(self, addr):
        self._bind("mon", addr)

    def connect_mon(self, addr):
        self._connect("mon", addr)

    def setsockopt_mon(self, option, value):
        self._setsockopt("mon", option, value)

    def bind_mon_to_random_port(self, addr, *args, **kwargs):
        return self._bind_random("mon", addr, *args, **kwargs)

    def _setup_sockets(self):
        ins, outs = Device._setup_sockets(self)
        return ins, outs, self._make_socket("mon", self.mon_type)

    def run_device(self):
        from zmqipc import proxy

        proxy(*self._setup_sockets())


class Proxy(ProxyBase, Device):
    """A proxy run in the calling thread (see Device)."""


class ThreadProxy(ProxyBase, ThreadDevice):
    """A proxy in a background thread."""


class ProcessProxy(ProxyBase, ProcessDevice):
    """A proxy in a child process."""
