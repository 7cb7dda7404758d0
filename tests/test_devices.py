"""zmqipc.devices: devices, proxies and monitored queues in threads and processes."""

import threading

import pytest

import zmqipc as zmq
from conftest import GUARD_MS
from zmqipc import devices

pytestmark = pytest.mark.timeout(120)


def sock(ctx, kind, connect=None, **options):
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = s.sndtimeo = GUARD_MS
    for name, value in options.items():
        setattr(s, name, value)
    if connect:
        s.connect(connect)
    return s


def stop_thread_device(dev):
    """A thread device runs until its Context ends: terminate it and wait."""
    dev._context.term()
    dev.join(GUARD_MS / 1000)
    assert dev.done and not dev.launcher.is_alive()


def test_thread_device_streams(ctx, make_ipc_endpoint):
    front, back = make_ipc_endpoint(), make_ipc_endpoint()
    dev = devices.ThreadDevice(zmq.STREAMER, zmq.PULL, zmq.PUSH)
    dev.context_factory = zmq.Context  # its own Context, so the test can end it
    dev.bind_in(front)
    dev.bind_out(back)
    dev.setsockopt_in(zmq.RCVHWM, 10)
    dev.start()
    producer, consumer = sock(ctx, zmq.PUSH, front), sock(ctx, zmq.PULL, back)
    for i in range(20):
        producer.send(b"%d" % i)
    assert [consumer.recv() for _ in range(20)] == [b"%d" % i for i in range(20)]
    stop_thread_device(dev)


def test_device_with_one_socket_and_random_port(ctx):
    dev = devices.ThreadDevice(zmq.QUEUE, zmq.ROUTER, -1)  # out_type < 0: one socket
    dev.context_factory = zmq.Context
    port = dev.bind_in_to_random_port("tcp://127.0.0.1")
    dev.start()
    a = sock(ctx, zmq.DEALER, "tcp://127.0.0.1:%d" % port, routing_id=b"a")
    b = sock(ctx, zmq.DEALER, "tcp://127.0.0.1:%d" % port, routing_id=b"b")
    # The ROUTER proxies to itself: what it receives (prefixed with the sender's id)
    # goes back to that id.
    b.send(b"echo")
    assert b.recv_multipart() == [b"echo"]
    a.send_multipart([b"x", b"y"])
    assert a.recv_multipart() == [b"x", b"y"]
    stop_thread_device(dev)


def test_thread_proxy_copies_to_the_monitor(ctx, make_ipc_endpoint):
    front, back, mon = make_ipc_endpoint(), make_ipc_endpoint(), make_ipc_endpoint()
    dev = devices.ThreadProxy(zmq.PULL, zmq.PUSH, zmq.PUB)
    dev.context_factory = zmq.Context
    dev.bind_in(front)
    dev.bind_out(back)
    dev.bind_mon(mon)
    dev.start()
    watcher = sock(ctx, zmq.SUB, mon, subscribe=b"")
    producer, consumer = sock(ctx, zmq.PUSH, front), sock(ctx, zmq.PULL, back)
    producer.send(b"first")  # until the SUB is in, copies may be dropped
    assert consumer.recv() == b"first"
    while True:
        producer.send(b"seen")
        assert consumer.recv() == b"seen"
        if watcher.poll(100):
            break
    assert watcher.recv() in (b"first", b"seen")
    stop_thread_device(dev)


def test_thread_proxy_steerable_terminates_on_command(ctx, make_ipc_endpoint):
    front, back, mon, ctrl = (make_ipc_endpoint() for _ in range(4))
    dev = devices.ThreadProxySteerable(zmq.PULL, zmq.PUSH, zmq.PUB, zmq.PAIR)
    dev.context_factory = zmq.Context
    dev.bind_in(front)
    dev.bind_out(back)
    dev.bind_mon(mon)
    dev.bind_ctrl(ctrl)
    dev.start()
    producer, consumer = sock(ctx, zmq.PUSH, front), sock(ctx, zmq.PULL, back)
    producer.send(b"through")
    assert consumer.recv() == b"through"
    control = sock(ctx, zmq.PAIR, ctrl)
    control.send(b"TERMINATE")
    dev.join(GUARD_MS / 1000)
    assert dev.done and not dev.launcher.is_alive()
    dev._context.term()


def test_process_device_and_proxy(ctx, make_ipc_endpoint):
    front, back, mon = make_ipc_endpoint(), make_ipc_endpoint(), make_ipc_endpoint()
    dev = devices.ProcessProxy(zmq.PULL, zmq.PUSH, zmq.PUB)
    dev.bind_in(front)
    dev.bind_out(back)
    dev.bind_mon(mon)
    dev.start()
    try:
        producer, consumer = sock(ctx, zmq.PUSH, front), sock(ctx, zmq.PULL, back)
        for i in range(10):
            producer.send(b"p%d" % i)
        assert [consumer.recv() for _ in range(10)] == [b"p%d" % i for i in range(10)]
    finally:
        dev.launcher.terminate()
        dev.join(GUARD_MS / 1000)
    assert not dev.launcher.is_alive()


def test_process_device_and_steerable_proxy_stop_cleanly(ctx, make_ipc_endpoint):
    front, back, mon, ctrl = (make_ipc_endpoint() for _ in range(4))
    dev = devices.ProcessProxySteerable(zmq.PULL, zmq.PUSH, zmq.PUB, zmq.PAIR)
    for side, addr in (("in", front), ("out", back), ("mon", mon), ("ctrl", ctrl)):
        getattr(dev, "bind_" + side)(addr)
    dev.start()
    producer, consumer = sock(ctx, zmq.PUSH, front), sock(ctx, zmq.PULL, back)
    producer.send(b"via process")
    assert consumer.recv() == b"via process"
    control = sock(ctx, zmq.PAIR, ctrl)
    control.send(b"TERMINATE")
    dev.join(GUARD_MS / 1000)
    assert dev.launcher.exitcode == 0

    plain = devices.ProcessDevice(zmq.QUEUE, zmq.PULL, zmq.PUSH)
    front2, back2 = make_ipc_endpoint(), make_ipc_endpoint()
    plain.bind_in(front2)
    plain.bind_out(back2)
    plain.start()
    try:
        producer, consumer = sock(ctx, zmq.PUSH, front2), sock(ctx, zmq.PULL, back2)
        producer.send(b"plain")
        assert consumer.recv() == b"plain"
    finally:
        plain.launcher.terminate()
        plain.join(GUARD_MS / 1000)


def run_queue(ctx, in_type, out_type, endpoints):
    ins, outs, mons = (ctx.socket(t) for t in (in_type, out_type, zmq.PUB))
    for s, addr in zip((ins, outs, mons), endpoints):
        s.linger = 0
        s.bind(addr)
    thread = threading.Thread(target=_queue_until_terminated, args=(ins, outs, mons))
    thread.start()
    return thread


def _queue_until_terminated(ins, outs, mons):
    try:
        devices.monitored_queue(ins, outs, mons, b"IN", b"OUT")
    except zmq.ContextTerminated:
        pass
    finally:
        for s in (ins, outs, mons):
            s.close()


def test_monitored_queue_router_dealer_with_prefixes(make_ipc_endpoint):
    endpoints = [make_ipc_endpoint() for _ in range(3)]
    queue_ctx, ctx = zmq.Context(), zmq.Context()
    thread = run_queue(queue_ctx, zmq.ROUTER, zmq.DEALER, endpoints)
    try:
        watcher = sock(ctx, zmq.SUB, endpoints[2], subscribe=b"")
        client = sock(ctx, zmq.REQ, endpoints[0])
        worker = sock(ctx, zmq.REP, endpoints[1])

        def round_trip(text):
            client.send(text)
            worker.send(worker.recv() + b"!")
            assert client.recv() == text + b"!"

        round_trip(b"warm-up")  # until the SUB is connected, copies are dropped
        while not watcher.poll(100):
            round_trip(b"warm-up")
        round_trip(b"q")
        copy_in = watcher.recv_multipart()
        while copy_in[-1] != b"q":  # skip the warm-up's copies
            copy_in = watcher.recv_multipart()
        copy_out = watcher.recv_multipart()
        assert copy_in[0] == b"IN" and copy_in[-2:] == [b"", b"q"]
        assert copy_out[0] == b"OUT" and copy_out[-2:] == [b"", b"q!"]
        assert copy_in[1] == copy_out[1]  # the client's routing id
    finally:
        ctx.destroy(linger=0)
        queue_ctx.term()
        thread.join()


def test_monitored_queue_swaps_ids_between_two_routers(make_ipc_endpoint):
    endpoints = [make_ipc_endpoint() for _ in range(3)]
    queue_ctx, ctx = zmq.Context(), zmq.Context()
    thread = run_queue(queue_ctx, zmq.ROUTER, zmq.ROUTER, endpoints)
    try:
        client = sock(ctx, zmq.DEALER, routing_id=b"client")
        worker = sock(ctx, zmq.DEALER, routing_id=b"worker")
        worker.connect(endpoints[1])
        client.connect(endpoints[0])
        # in: [client, worker, hello] -> out: [worker, client, hello] -> the worker.
        # (Resent until the worker's connection is up: a ROUTER drops unroutable ones.)
        client.send_multipart([b"worker", b"hello"])
        while not worker.poll(100):
            client.send_multipart([b"worker", b"hello"])
        assert worker.recv_multipart() == [b"client", b"hello"]
        worker.send_multipart([b"client", b"back"])
        assert client.recv_multipart() == [b"worker", b"back"]
    finally:
        ctx.destroy(linger=0)
        queue_ctx.term()
        thread.join()


def test_thread_monitored_queue_device(ctx, make_ipc_endpoint):
    front, back, mon = make_ipc_endpoint(), make_ipc_endpoint(), make_ipc_endpoint()
    dev = devices.ThreadMonitoredQueue(zmq.ROUTER, zmq.DEALER, zmq.PUB, b"in", b"out")
    dev.context_factory = zmq.Context
    dev.bind_in(front)
    dev.bind_out(back)
    dev.bind_mon(mon)
    dev.start()
    client, worker = sock(ctx, zmq.REQ, front), sock(ctx, zmq.REP, back)
    client.send(b"ping")
    worker.send(worker.recv())
    assert client.recv() == b"ping"
    stop_thread_device(dev)


def test_device_configuration_errors():
    with pytest.raises(TypeError):
        devices.ThreadDevice(zmq.QUEUE, zmq.PULL)
    dev = devices.ThreadProxy(zmq.PULL, zmq.PUSH)
    assert "bind_mon" in dir(dev) and "connect_out" in dir(dev)
    with pytest.raises(AttributeError):
        dev.bind_ctrl("inproc://nope")  # a plain proxy has no control socket
