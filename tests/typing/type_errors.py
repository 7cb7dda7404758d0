"""Misuses mypy must reject (tests/test_typing.py expects one error per line marked E)."""

import zmqipc
import zmqipc.asyncio
from zmqipc.auth import load_certificate


async def misuse(sock: zmqipc.asyncio.Socket, sync: zmqipc.Socket) -> None:
    count: str = await sock.poll()  # E: poll's Future holds an int
    text: int = await sock.recv_string()  # E: a str
    parts: bytes = await sock.recv_multipart()  # E: a list
    ready: str = sync.poll(0)  # E: an int
    public: str = load_certificate("f")[0]  # E: bytes
    print(count, text, parts, ready, public)
