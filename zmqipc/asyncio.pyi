# zmqipc.asyncio: send/recv/poll return asyncio Futures.
import asyncio
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np
from typing_extensions import TypeAlias

import zmqipc
from zmqipc._zmq import Frame, MessageTracker
from zmqipc._zmq import Socket as _CoreSocket

__all__ = ["Context", "Socket", "Poller"]

# Received results of this many bytes or more are received one at a time (docs/asyncio.md).
LARGE_RESULT: int
# copy=True sends of bytes of this many bytes or more are made in place (docs/asyncio.md).
SEND_IN_PLACE: int

_S = TypeVar("_S", bound=zmqipc.Socket)
_Tracker: TypeAlias = asyncio.Future[MessageTracker | None]

class Socket(zmqipc.Socket):
    def __init__(
        self,
        context: zmqipc.Context | _CoreSocket | None = ...,
        socket_type: int = ...,
        io_loop: Any = ...,
        **kwargs: Any,
    ) -> None: ...
    @classmethod
    def from_socket(cls, socket: _CoreSocket, io_loop: Any = ...) -> Socket: ...
    def __del__(self) -> None: ...
    def send(  # type: ignore[override]
        self, data: Any, flags: int = ..., copy: bool = ..., track: bool = ..., **kwargs: Any
    ) -> _Tracker: ...
    def send_multipart(  # type: ignore[override]
        self,
        msg_parts: Iterable[Any],
        flags: int = ...,
        copy: bool = ...,
        track: bool = ...,
        **kwargs: Any,
    ) -> _Tracker: ...
    def send_string(  # type: ignore[override]
        self, u: str, flags: int = ..., copy: bool = ..., encoding: str = ..., **kwargs: Any
    ) -> _Tracker: ...
    def send_json(self, obj: Any, flags: int = ..., **kwargs: Any) -> _Tracker: ...  # type: ignore[override]
    def send_pyobj(  # type: ignore[override]
        self, obj: Any, flags: int = ..., protocol: int = ..., **kwargs: Any
    ) -> _Tracker: ...
    def send_serialized(  # type: ignore[override]
        self,
        msg: Any,
        serialize: Callable[[Any], list[Any]],
        flags: int = ...,
        copy: bool = ...,
        **kwargs: Any,
    ) -> _Tracker: ...
    def send_array(  # type: ignore[override]
        self,
        array: Any,
        flags: int = ...,
        copy: bool = ...,
        track: bool = ...,
        shm: bool | str | None = ...,
    ) -> _Tracker: ...
    def recv(  # type: ignore[override]
        self, flags: int = ..., copy: bool = ..., track: bool = ...
    ) -> asyncio.Future[bytes | Frame | Any]: ...
    def recv_multipart(  # type: ignore[override]
        self, flags: int = ..., copy: bool = ..., track: bool = ...
    ) -> asyncio.Future[list[Any]]: ...
    def recv_into(  # type: ignore[override]
        self, buffer: Any, nbytes: int = ..., flags: int = ...
    ) -> asyncio.Future[int]: ...
    def recv_string(self, flags: int = ..., encoding: str = ...) -> asyncio.Future[str]: ...  # type: ignore[override]
    def recv_unicode(self, flags: int = ..., encoding: str = ...) -> asyncio.Future[str]: ...  # type: ignore[override]
    def recv_json(self, flags: int = ..., **kwargs: Any) -> asyncio.Future[Any]: ...  # type: ignore[override]
    def recv_pyobj(self, flags: int = ...) -> asyncio.Future[Any]: ...  # type: ignore[override]
    def recv_serialized(  # type: ignore[override]
        self, deserialize: Callable[[list[Any]], Any], flags: int = ..., copy: bool = ...
    ) -> asyncio.Future[Any]: ...
    def recv_array(  # type: ignore[override]
        self, flags: int = ..., copy: bool = ...
    ) -> asyncio.Future[np.ndarray]: ...
    def recv_array_into(  # type: ignore[override]
        self, out: np.ndarray, flags: int = ...
    ) -> asyncio.Future[np.ndarray]: ...
    def poll(  # type: ignore[override]
        self, timeout: int | None = ..., flags: int = ...
    ) -> asyncio.Future[int]: ...

class Context(zmqipc.Context):
    def socket(  # type: ignore[override]
        self, socket_type: int, socket_class: Callable[..., _S] | None = ..., **kwargs: Any
    ) -> Socket: ...

class Poller(zmqipc.Poller):
    def poll(  # type: ignore[override]
        self, timeout: int | None = ...
    ) -> asyncio.Future[list[tuple[Any, int]]]: ...
