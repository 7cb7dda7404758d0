"""A small program using each public module of zmqipc; tests/test_typing.py checks
that mypy accepts it (it is type-checked, not run)."""

import asyncio

import numpy as np

import zmqipc
import zmqipc.asyncio
from zmqipc import devices
from zmqipc.auth import CURVE_ALLOW_ANY, create_certificates, load_certificate, load_certificates
from zmqipc.auth.asyncio import AsyncioAuthenticator
from zmqipc.auth.thread import ThreadAuthenticator
from zmqipc.utils import jsonapi, z85
from zmqipc.utils.monitor import recv_monitor_message


def sync_part(ctx: zmqipc.Context, url: str) -> bytes:
    push = ctx.socket(zmqipc.PUSH)
    pull = ctx.socket(zmqipc.PULL)
    pull.bind(url)
    push.connect(url)
    tracker = push.send(np.arange(10.0), copy=False, track=True)
    if tracker is not None:
        tracker.wait(1.0)
    frame = pull.recv(copy=False)
    assert isinstance(frame, zmqipc.Frame)
    user: int | str = frame["User-Id"] if frame.more else frame.get("Socket-Type")
    print(user, zmqipc.Socket.shadow(push).underlying, zmqipc.pyzmq_version())
    push.send_array(np.zeros((2, 3)))
    array: np.ndarray = pull.recv_array()
    print(array.shape, jsonapi.dumps({"a": 1}), z85.encode(b"1234"))
    monitor = push.get_monitor_socket()
    print(recv_monitor_message(monitor, zmqipc.NOBLOCK) if monitor.poll(0) else None)
    endpoint = push.get(zmqipc.LAST_ENDPOINT)
    return endpoint if isinstance(endpoint, bytes) else b""


async def async_part(url: str) -> int:
    ctx = zmqipc.asyncio.Context.instance()
    req: zmqipc.asyncio.Socket = ctx.socket(zmqipc.REQ)
    req.connect(url)
    await req.send_multipart([b"a", b"b"])
    parts: list[object] = await req.recv_multipart()
    text: str = await req.recv_string()
    events: int = await req.poll(100, zmqipc.POLLIN)
    poller = zmqipc.asyncio.Poller()
    poller.register(req, zmqipc.POLLIN)
    ready: list[tuple[object, int]] = await poller.poll(10)
    auth = AsyncioAuthenticator(ctx)
    auth.start()
    auth.configure_plain(passwords={"user": "pw"})
    auth.stop()
    print(parts, text, ready)
    return events


def auth_and_devices(ctx: zmqipc.Context, key_dir: str) -> None:
    public_file, secret_file = create_certificates(key_dir, "server")
    public, secret = load_certificate(secret_file)
    keys: dict[bytes, bool] = load_certificates(key_dir)
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.allow("127.0.0.1")
    auth.configure_curve(domain="*", location=CURVE_ALLOW_ANY)
    auth.stop()
    dev = devices.ThreadProxySteerable(zmqipc.PULL, zmqipc.PUSH, zmqipc.PUB, zmqipc.PAIR)
    dev.bind_in("ipc://in")
    dev.bind_ctrl("ipc://ctrl")
    port: int = dev.bind_out_to_random_port("tcp://127.0.0.1")
    dev.start()
    dev.join(1.0)
    print(public_file, public, secret, keys, port, auth.is_alive())


if __name__ == "__main__":
    with zmqipc.Context() as context:
        sync_part(context, "inproc://x")
        auth_and_devices(context, ".")
    asyncio.run(async_part("inproc://y"))
