import threading

import zmqipc
from zmqipc.auth.base import Authenticator

__all__ = ["ThreadAuthenticator"]

class AuthenticationThread(threading.Thread):
    authenticator: Authenticator
    pipe: zmqipc.Socket
    started: threading.Event
    def __init__(self, authenticator: Authenticator, pipe: zmqipc.Socket) -> None: ...

class ThreadAuthenticator(Authenticator):
    pipe: zmqipc.Socket | None
    pipe_endpoint: str
    thread: AuthenticationThread | None
    def is_alive(self) -> bool: ...
    def __del__(self) -> None: ...
