"""A ZAP handler in a background thread (pyzmq's zmq.auth.thread)."""

import asyncio
import threading

from zmqipc.auth.base import Authenticator
from zmqipc.constants import PAIR, POLLIN
from zmqipc.poll import Poller
from zmqipc.socket import Socket

__all__ = ["ThreadAuthenticator"]

_TERMINATE = b"TERMINATE"


class AuthenticationThread(threading.Thread):
    """Serves ZAP requests for ``authenticator`` until TERMINATE arrives on ``pipe``.
    Credential callbacks may be coroutines: they run on the thread's own loop."""

    def __init__(self, authenticator, pipe):
        super().__init__(daemon=True, name="zmqipc.auth")
        self.authenticator = authenticator
        self.pipe = pipe
        self.started = threading.Event()

    def run(self):
        loop = asyncio.new_event_loop()
        zap = self.authenticator.zap_socket
        poller = Poller()
        poller.register(self.pipe, POLLIN)
        poller.register(zap, POLLIN)
        self.started.set()
        try:
            while True:
                ready = dict(poller.poll())
                if self.pipe in ready:
                    command = self.pipe.recv_multipart()
                    if command[0] == _TERMINATE:
                        return
                    self.authenticator.log.error("unknown authenticator command %r", command)
                if zap in ready:
                    request = zap.recv_multipart()
                    loop.run_until_complete(self.authenticator.handle_zap_message(request))
        finally:
            self.pipe.close()
            loop.close()


class ThreadAuthenticator(Authenticator):
    """Answers ZAP requests in a background thread; start() before binding the
    sockets it guards, stop() when done."""

    _zap_socket_class = Socket  # blocking sockets, whatever the Context's default

    def __init__(self, context=None, encoding="utf-8", log=None):
        super().__init__(context=context, encoding=encoding, log=log)
        self.pipe = None
        self.pipe_endpoint = "inproc://zmqipc.auth.%x" % id(self)
        self.thread = None

    def start(self):
        """Bind the ZAP socket and start the thread (which owns it from now on)."""
        super().start()
        self.pipe = self.context.socket(PAIR, socket_class=Socket)
        self.pipe.linger = 1
        self.pipe.bind(self.pipe_endpoint)
        thread_pipe = self.context.socket(PAIR, socket_class=Socket)
        thread_pipe.linger = 1
        thread_pipe.connect(self.pipe_endpoint)
        self.thread = AuthenticationThread(self, thread_pipe)
        self.thread.start()
        if not self.thread.started.wait(timeout=10):
            raise RuntimeError("the authenticator thread did not start")

    def stop(self):
        """Stop the thread and close the ZAP socket."""
        if self.pipe is not None:
            if self.is_alive():
                self.pipe.send(_TERMINATE)
                self.thread.join()
            self.thread = None
            self.pipe.close()
            self.pipe = None
        super().stop()

    def is_alive(self):
        """True while the thread runs."""
        return self.thread is not None and self.thread.is_alive()

    def __del__(self):
        if self.pipe is not None and not self.pipe.closed:
            self.stop()
