from typing import Any

import zmqipc
from zmqipc.auth.base import Authenticator

__all__ = ["AsyncioAuthenticator"]

class AsyncioAuthenticator(Authenticator):
    def __init__(
        self,
        context: zmqipc.Context | None = ...,
        loop: Any = ...,
        encoding: str = ...,
        log: Any = ...,
    ) -> None: ...
