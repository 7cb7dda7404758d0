"""Decoding socket-monitor events (see Socket.get_monitor_socket)."""

import inspect
import struct

from zmqipc.constants import Event

__all__ = ["parse_monitor_message", "recv_monitor_message"]


def parse_monitor_message(msg):
    """Decode the two frames of a monitor event into
    {"event": Event, "value": int, "endpoint": bytes}."""
    if len(msg) != 2 or len(msg[0]) != 6:
        raise RuntimeError(
            "invalid monitor message: expected 2 frames with a 6-byte first frame, got %r" % (msg,)
        )
    event_id, value = struct.unpack("=hi", bytes(msg[0]))
    try:
        event = Event(event_id)
    except ValueError:
        event = event_id
    return {"event": event, "value": value, "endpoint": bytes(msg[1])}


def recv_monitor_message(socket, flags=0):
    """Receive and decode one event from a monitor socket. For a zmqipc.asyncio
    socket this returns an awaitable of the event, as in pyzmq."""
    frames = socket.recv_multipart(flags)
    if inspect.isawaitable(frames):
        return _parse_when_received(frames)
    return parse_monitor_message(frames)


async def _parse_when_received(frames):
    return parse_monitor_message(await frames)
