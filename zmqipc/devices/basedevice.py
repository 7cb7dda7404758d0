"""Device: two sockets joined by zmqipc.proxy, configured ahead and built where it runs."""

import multiprocessing
import threading
import time
from typing import Any

from zmqipc.constants import ENOTSOCK, ETERM, PUSH, QUEUE
from zmqipc.context import Context
from zmqipc.error import ZMQBindError, ZMQError

__all__ = ["Device", "BackgroundDevice", "ThreadDevice", "ProcessDevice"]


class _SocketPlan:
    """What to do with one of a device's sockets once it exists."""

    def __init__(self):
        self.options, self.binds, self.connects = [], [], []

    def apply(self, sock):
        for option, value in self.options:
            sock.setsockopt(option, value)
        for addr in self.binds:
            sock.bind(addr)
        for addr in self.connects:
            sock.connect(addr)


class Device:
    """A device between an ``in`` and an ``out`` socket of the given types
    (``out_type < 0``: one socket serves both sides). Configure it with bind_in,
    connect_in, setsockopt_in, bind_in_to_random_port (and _out), then start() it; run() runs it in
    the calling thread. It runs until its Context is terminated.

    ``context_factory`` makes the Context where the device runs: Context.instance
    for threads, a new Context for processes.
    """

    context_factory = Context.instance
    _sides: tuple[str, ...] = ("in", "out")

    def __init__(self, device_type=QUEUE, in_type=None, out_type=None):
        if in_type is None or out_type is None:
            raise TypeError("in_type and out_type must be given")
        self.device_type, self.in_type, self.out_type = device_type, in_type, out_type
        self._plans = {side: _SocketPlan() for side in self._sides}
        self._reserved = set()
        self._sockets = []
        self.daemon = True
        self.done = False

    # Each socket ("side") is configured ahead; the device applies it when it runs.

    def _bind(self, side, addr):
        self._plans[side].binds.append(addr)

    def _connect(self, side, addr):
        self._plans[side].connects.append(addr)

    def _setsockopt(self, side, option, value):
        self._plans[side].options.append((option, value))

    def bind_in(self, addr):
        self._bind("in", addr)

    def bind_out(self, addr):
        self._bind("out", addr)

    def connect_in(self, addr):
        self._connect("in", addr)

    def connect_out(self, addr):
        self._connect("out", addr)

    def setsockopt_in(self, option, value):
        self._setsockopt("in", option, value)

    def setsockopt_out(self, option, value):
        self._setsockopt("out", option, value)

    def bind_in_to_random_port(self, addr, *args, **kwargs):
        return self._bind_random("in", addr, *args, **kwargs)

    def bind_out_to_random_port(self, addr, *args, **kwargs):
        return self._bind_random("out", addr, *args, **kwargs)

    def _bind_random(self, side, addr, *args, **kwargs):
        """Pick a free port on ``addr`` now (by binding and releasing it); the device
        binds it when it runs. Returns the port."""
        with Context() as ctx, ctx.socket(PUSH) as probe:
            for _ in range(10):
                port = probe.bind_to_random_port(addr, *args, **kwargs)
                probe.unbind("%s:%d" % (addr, port))
                if (addr, port) not in self._reserved:
                    break
            else:
                raise ZMQBindError("Could not reserve random port.")
        self._reserved.add((addr, port))
        self._bind(side, "%s:%d" % (addr, port))
        return port

    def _make_socket(self, side, socket_type):
        sock = self._context.socket(socket_type)
        self._sockets.append(sock)
        self._plans[side].apply(sock)
        return sock

    def _setup_sockets(self):
        self._context = self.context_factory()
        ins = self._make_socket("in", self.in_type)
        if self.out_type < 0:
            self._plans["out"].apply(ins)
            return ins, ins
        return ins, self._make_socket("out", self.out_type)

    def run_device(self):
        """Build the sockets and proxy between them (in the calling thread)."""
        from zmqipc import proxy

        ins, outs = self._setup_sockets()
        proxy(ins, outs)

    def run(self):
        """Run the device until its Context is terminated, then close its sockets."""
        try:
            self.run_device()
        except ZMQError as e:
            if e.errno not in (ETERM, ENOTSOCK):
                raise
        finally:
            self.done = True
            for sock in self._sockets:
                sock.close()

    def start(self):
        """Run the device (in the calling thread; the subclasses run it elsewhere)."""
        return self.run()

    def join(self, timeout=None):
        """Wait until the device has stopped (or ``timeout`` seconds pass)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.001)


class BackgroundDevice(Device):
    """A Device run by a launcher (a Thread or a Process)."""

    launcher: Any = None
    _launch_class: Any = None

    def start(self):
        self.launcher = self._launch_class(target=self.run, daemon=self.daemon)
        self.launcher.start()

    def join(self, timeout=None):
        self.launcher.join(timeout=timeout)

    def __getstate__(self):
        # A spawned process gets the configuration, not the launcher.
        state = self.__dict__.copy()
        state.pop("launcher", None)
        return state


class ThreadDevice(BackgroundDevice):
    """A Device in a background thread, on Context.instance() by default."""

    _launch_class = threading.Thread


class ProcessDevice(BackgroundDevice):
    """A Device in a child process, on a new Context made there."""

    _launch_class = multiprocessing.Process
    context_factory = Context
