"""Poller and select with pyzmq's semantics, on top of zmq_poll."""

from zmqipc._zmq import poll as zmq_poll
from zmqipc.constants import POLLERR, POLLIN, POLLOUT

__all__ = ["Poller", "select", "zmq_poll"]


class Poller:
    """Wait for events on several sockets and/or file descriptors."""

    def __init__(self):
        self.sockets = []  # [(socket_or_fd, flags)], in registration order
        self._index = {}

    def __contains__(self, socket):
        return socket in self._index

    def register(self, socket, flags=POLLIN | POLLOUT):
        """Watch ``socket`` (a Socket, an fd or an object with fileno()) for ``flags``.
        Registering again changes the flags; flags=0 unregisters."""
        if not flags:
            if socket in self._index:
                self.unregister(socket)
            return
        if socket in self._index:
            self.sockets[self._index[socket]] = (socket, flags)
        else:
            self._index[socket] = len(self.sockets)
            self.sockets.append((socket, flags))

    modify = register

    def unregister(self, socket):
        """Stop watching ``socket`` (KeyError if it was not registered)."""
        position = self._index.pop(socket)
        self.sockets.pop(position)
        for sock, index in list(self._index.items()):
            if index > position:
                self._index[sock] = index - 1

    def poll(self, timeout=None):
        """Wait up to ``timeout`` ms (None or negative: forever); return a list of
        (socket or integer fd, event mask) for the ready ones."""
        if timeout is None or timeout < 0:
            timeout = -1
        return zmq_poll(self.sockets, timeout)


def select(rlist, wlist, xlist, timeout=None):
    """select.select for sockets: ``timeout`` in seconds (None: forever).
    Returns the (readable, writable, errored) lists of sockets and integer fds."""
    timeout = -1 if timeout is None or timeout < 0 else int(timeout * 1000)
    flags = {}
    for items, flag in ((rlist, POLLIN), (wlist, POLLOUT), (xlist, POLLERR)):
        for s in items:
            flags[s] = flags.get(s, 0) | flag
    ready = zmq_poll(list(flags.items()), timeout)
    return (
        [s for s, e in ready if e & POLLIN],
        [s for s, e in ready if e & POLLOUT],
        [s for s, e in ready if e & POLLERR],
    )
