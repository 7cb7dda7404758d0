"""JSON helpers as pyzmq's zmq.utils.jsonapi: dumps returns bytes."""

import json

__all__ = ["dumps", "loads"]


def dumps(obj, **kwargs):
    """Serialise ``obj`` to UTF-8 JSON bytes."""
    return json.dumps(obj, **kwargs).encode("utf-8")


def loads(data, **kwargs):
    """Parse JSON from bytes or str."""
    return json.loads(data, **kwargs)
