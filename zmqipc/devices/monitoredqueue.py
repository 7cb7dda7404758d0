"""monitored_queue: a two-way queue that copies each message, prefixed, to a
monitor socket."""

from zmqipc.constants import POLLIN, ROUTER
from zmqipc.poll import Poller

__all__ = ["monitored_queue"]


def _relay(source, destination, monitor, prefix, swap_ids):
    msg = source.recv_multipart(copy=False)
    if swap_ids:  # ROUTER to ROUTER: the sender's id goes behind the recipient's
        msg[0], msg[1] = msg[1], msg[0]
    destination.send_multipart(msg)
    monitor.send_multipart([prefix] + msg)


def monitored_queue(in_socket, out_socket, mon_socket, in_prefix=b"in", out_prefix=b"out"):
    """Relay messages both ways between ``in_socket`` and ``out_socket`` and send a
    copy of each to ``mon_socket`` with ``in_prefix`` or ``out_prefix`` (by where it
    came from) as first frame. Between two ROUTER sockets the first two frames
    (routing ids) are swapped. Runs until the Context is terminated."""
    swap_ids = in_socket.socket_type == ROUTER and out_socket.socket_type == ROUTER
    poller = Poller()
    poller.register(in_socket, POLLIN)
    poller.register(out_socket, POLLIN)
    while True:
        ready = dict(poller.poll())
        if in_socket in ready:
            _relay(in_socket, out_socket, mon_socket, in_prefix, swap_ids)
        if out_socket in ready:
            _relay(out_socket, in_socket, mon_socket, out_prefix, swap_ids)
