"""A ZAP handler as a task on the running asyncio loop (pyzmq's zmq.auth.asyncio)."""

import asyncio
import warnings

import zmqipc.asyncio as _zaio
from zmqipc.auth.base import Authenticator

__all__ = ["AsyncioAuthenticator"]


class AsyncioAuthenticator(Authenticator):
    """Answers ZAP requests in a task of the running loop; call start() from a
    coroutine, before binding the sockets it guards."""

    _zap_socket_class = _zaio.Socket

    def __init__(self, context=None, loop=None, encoding="utf-8", log=None):
        super().__init__(context, encoding, log)
        if loop is not None:
            warnings.warn(
                "AsyncioAuthenticator(loop=...) is ignored: the running loop is used",
                DeprecationWarning,
                stacklevel=2,
            )
        self._task = None

    async def _serve(self):
        zap = self.zap_socket
        while True:
            request = await zap.recv_multipart()
            await self.handle_zap_message(request)

    def start(self):
        """Bind the ZAP socket and start serving on the running loop."""
        super().start()
        self._task = asyncio.ensure_future(self._serve())

    def stop(self):
        """Stop serving and close the ZAP socket."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        super().stop()
