"""Steerable proxies: a proxy with a control socket taking PAUSE, RESUME,
TERMINATE (stop cleanly) and STATISTICS."""

from zmqipc.constants import PUB
from zmqipc.devices.proxydevice import ProcessProxy, Proxy, ThreadProxy

__all__ = ["ProxySteerable", "ThreadProxySteerable", "ProcessProxySteerable"]


class ProxySteerableBase:
    """Adds the ``ctrl`` socket (bind_ctrl, connect_ctrl, setsockopt_ctrl, ...)."""

    _sides: tuple[str, ...] = ("in", "out", "mon", "ctrl")

    def __init__(self, in_type, out_type, mon_type=PUB, ctrl_type=None):
        super().__init__(in_type=in_type, out_type=out_type, mon_type=mon_type)
        self.ctrl_type = ctrl_type

    def bind_ctrl(self, addr):
        self._bind("ctrl", addr)

    def connect_ctrl(self, addr):
        self._connect("ctrl", addr)

    def setsockopt_ctrl(self, option, value):
        self._setsockopt("ctrl", option, value)

    def bind_ctrl_to_random_port(self, addr, *args, **kwargs):
        return self._bind_random("ctrl", addr, *args, **kwargs)

    def _setup_sockets(self):
        ins, outs, mons = super()._setup_sockets()
        return ins, outs, mons, self._make_socket("ctrl", self.ctrl_type)

    def run_device(self):
        from zmqipc import proxy_steerable

        proxy_steerable(*self._setup_sockets())


class ProxySteerable(ProxySteerableBase, Proxy):
    """A steerable proxy run in the calling thread."""


class ThreadProxySteerable(ProxySteerableBase, ThreadProxy):
    """A steerable proxy in a background thread."""


class ProcessProxySteerable(ProxySteerableBase, ProcessProxy):
    """A steerable proxy in a child process."""
