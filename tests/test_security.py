"""Security: Z85, CURVE key helpers, and real CURVE / PLAIN connections over tcp."""

import os
import threading

import pytest

import zmqipc as zmq
from conftest import guard
from zmqipc.utils import z85
from zmqipc.utils.monitor import recv_monitor_message

HANDSHAKE_FAILED = (
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)

# --- Z85 ------------------------------------------------------------------------------------------


def test_z85_rfc32_test_vector():
    raw = bytes([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B])
    assert z85.encode(raw) == b"HelloWorld"
    assert z85.decode(b"HelloWorld") == raw
    assert z85.decode("HelloWorld") == raw  # str accepted


@pytest.mark.parametrize("size", [0, 4, 32, 400])
def test_z85_round_trip(size):
    raw = os.urandom(size)
    encoded = z85.encode(raw)
    assert isinstance(encoded, bytes)
    assert len(encoded) == size * 5 // 4
    assert z85.decode(encoded) == raw


def test_z85_accepts_buffers():
    assert z85.encode(bytearray(4)) == z85.encode(b"\0\0\0\0")
    assert z85.encode(memoryview(b"\0\0\0\0")) == b"00000"


@pytest.mark.parametrize("bad", [b"abc", b"12345"[:3], b"x"])
def test_z85_encode_bad_length(bad):
    with pytest.raises(ValueError):
        z85.encode(bad)


@pytest.mark.parametrize("bad", [b"abcd", b"abcdef", b"\0\0\0\0\0"])
def test_z85_decode_bad_input(bad):
    with pytest.raises(ValueError):
        z85.decode(bad)


def test_z85_matches_pyzmq():
    pz = pytest.importorskip("zmq.utils.z85")
    raw = os.urandom(64)
    assert z85.encode(raw) == pz.encode(raw)
    assert z85.decode(pz.encode(raw)) == raw


# --- key helpers ----------------------------------------------------------------------------------


def test_curve_keypair():
    public, secret = zmq.curve_keypair()
    assert isinstance(public, bytes) and isinstance(secret, bytes)
    assert len(public) == len(secret) == 40
    assert len(z85.decode(public)) == len(z85.decode(secret)) == 32
    public2, secret2 = zmq.curve_keypair()
    assert (public2, secret2) != (public, secret)


def test_curve_public_derives_public_key():
    public, secret = zmq.curve_keypair()
    assert zmq.curve_public(secret) == public
    assert zmq.curve_public(secret.decode("ascii")) == public


def test_curve_public_matches_pyzmq():
    pz = pytest.importorskip("zmq")
    public, secret = zmq.curve_keypair()
    assert pz.curve_public(secret) == public
    pz_public, pz_secret = pz.curve_keypair()
    assert zmq.curve_public(pz_secret) == pz_public


@pytest.mark.parametrize("bad", [b"short", b"x" * 41, b""])
def test_curve_public_rejects_bad_secret(bad):
    with pytest.raises(ValueError):
        zmq.curve_public(bad)


# --- CURVE over tcp -------------------------------------------------------------------------------


def curve_pair(ctx, server_keys, client_keys, server_public_for_client):
    server = ctx.socket(zmq.REP)
    client = ctx.socket(zmq.REQ)
    guard(server, client)
    server.curve_server = True
    server.curve_secretkey = server_keys[1]
    server.curve_publickey = server_keys[0]
    client.curve_publickey = client_keys[0]
    client.curve_secretkey = client_keys[1]
    client.curve_serverkey = server_public_for_client
    return server, client


def test_curve_req_rep_encrypted_round_trip(ctx):
    server_keys = zmq.curve_keypair()
    client_keys = zmq.curve_keypair()
    server, client = curve_pair(ctx, server_keys, client_keys, server_keys[0])
    assert server.mechanism == zmq.CURVE and client.mechanism == zmq.CURVE
    assert server.curve_server == 1 and client.curve_server == 0
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client.connect("tcp://127.0.0.1:%d" % port)
    for i in range(3):
        client.send(b"secret request %d" % i)
        msg = server.recv(copy=False)
        assert msg.bytes == b"secret request %d" % i
        assert msg.get("Socket-Type") == "REQ"
        server.send(b"secret reply %d" % i)
        assert client.recv() == b"secret reply %d" % i
    # a large message goes through the encryption layer in one piece too
    payload = os.urandom(3 * 1024 * 1024)
    client.send(payload)
    assert server.recv() == payload
    server.send(b"ok")
    assert client.recv() == b"ok"


def test_curve_keys_as_str_via_setsockopt_string(ctx):
    server_keys = [k.decode() for k in zmq.curve_keypair()]
    client_keys = [k.decode() for k in zmq.curve_keypair()]
    server = ctx.socket(zmq.REP)
    client = ctx.socket(zmq.REQ)
    guard(server, client)
    server.setsockopt(zmq.CURVE_SERVER, 1)
    server.setsockopt_string(zmq.CURVE_SECRETKEY, server_keys[1])
    client.setsockopt_string(zmq.CURVE_PUBLICKEY, client_keys[0])
    client.setsockopt_string(zmq.CURVE_SECRETKEY, client_keys[1])
    client.setsockopt_string(zmq.CURVE_SERVERKEY, server_keys[0])
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client.connect("tcp://127.0.0.1:%d" % port)
    client.send_string("hello")
    assert server.recv_string() == "hello"


def test_curve_binary_32_byte_keys(ctx):
    server_keys = [z85.decode(k) for k in zmq.curve_keypair()]
    client_keys = [z85.decode(k) for k in zmq.curve_keypair()]
    server, client = curve_pair(ctx, server_keys, client_keys, server_keys[0])
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client.connect("tcp://127.0.0.1:%d" % port)
    client.send(b"binary keys")
    assert server.recv() == b"binary keys"


def test_curve_bad_key_length_einval(ctx):
    s = ctx.socket(zmq.REQ)
    with pytest.raises(zmq.ZMQError) as info:
        s.curve_serverkey = b"too short"
    assert info.value.errno == zmq.EINVAL


def _expect_handshake_failure(server, client, port):
    monitor = server.get_monitor_socket(HANDSHAKE_FAILED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
    guard(monitor)
    client.connect("tcp://127.0.0.1:%d" % port)
    try:  # queued until a handshake works...
        client.send(b"should never arrive", zmq.NOBLOCK)
    except zmq.Again:  # ...unless the failed handshake already dropped the pipe
        pass
    event = recv_monitor_message(monitor)["event"]
    assert event & HANDSHAKE_FAILED, event
    with pytest.raises(zmq.Again):
        server.recv(zmq.NOBLOCK)


def test_curve_wrong_server_key_fails_handshake(ctx):
    server_keys = zmq.curve_keypair()
    client_keys = zmq.curve_keypair()
    wrong = zmq.curve_keypair()[0]
    server, client = curve_pair(ctx, server_keys, client_keys, wrong)
    client.immediate = 1  # no queueing to incomplete connections
    port = server.bind_to_random_port("tcp://127.0.0.1")
    monitor = server.get_monitor_socket(HANDSHAKE_FAILED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
    guard(monitor)
    client.connect("tcp://127.0.0.1:%d" % port)
    event = recv_monitor_message(monitor)["event"]
    assert event & HANDSHAKE_FAILED, event
    with pytest.raises(zmq.Again):
        client.send(b"x", zmq.NOBLOCK)  # never connected


def test_plaintext_client_rejected_by_curve_server(ctx):
    server_keys = zmq.curve_keypair()
    server = ctx.socket(zmq.PULL)
    client = ctx.socket(zmq.PUSH)  # NULL mechanism
    guard(server, client)
    server.curve_server = 1
    server.curve_secretkey = server_keys[1]
    port = server.bind_to_random_port("tcp://127.0.0.1")
    _expect_handshake_failure(server, client, port)


# --- PLAIN with a ZAP handler -----------------------------------------------------------------------


def _zap_handler(ctx, ready, stop_endpoint):
    zap = ctx.socket(zmq.REP)
    zap.linger = 0
    zap.bind("inproc://zeromq.zap.01")
    stop = ctx.socket(zmq.PAIR)
    stop.linger = 0
    stop.bind(stop_endpoint)
    ready.set()
    poller = zmq.Poller()
    poller.register(zap, zmq.POLLIN)
    poller.register(stop, zmq.POLLIN)
    try:
        while True:
            events = dict(poller.poll())
            if stop in events:
                return
            version, request_id, domain, address, identity, mechanism, *creds = zap.recv_multipart()
            assert version == b"1.0" and mechanism == b"PLAIN"
            username, password = creds
            if password == b"right":
                zap.send_multipart([version, request_id, b"200", b"OK", username, b""])
            else:
                zap.send_multipart([version, request_id, b"400", b"Bad password", b"", b""])
    finally:
        zap.close()
        stop.close()


@pytest.mark.timeout(60)
def test_plain_with_zap_handler_user_id(ctx, inproc_endpoint):
    ready = threading.Event()
    t = threading.Thread(target=_zap_handler, args=(ctx, ready, inproc_endpoint))
    t.start()
    try:
        ready.wait()
        server = ctx.socket(zmq.PULL)
        good = ctx.socket(zmq.PUSH)
        bad = ctx.socket(zmq.PUSH)
        guard(server, good, bad)
        server.plain_server = True
        assert server.mechanism == zmq.PLAIN
        port = server.bind_to_random_port("tcp://127.0.0.1")
        monitor = server.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        guard(monitor)
        bad.plain_username = b"mallory"
        bad.plain_password = b"wrong"
        bad.connect("tcp://127.0.0.1:%d" % port)
        bad.send(b"from mallory", zmq.NOBLOCK)
        ev = recv_monitor_message(monitor)
        assert ev["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH
        assert ev["value"] == 400

        good.plain_username = b"alice"
        good.plain_password = b"right"
        good.connect("tcp://127.0.0.1:%d" % port)
        good.send(b"from alice")
        frame = server.recv(copy=False)
        assert frame.bytes == b"from alice"
        assert frame.get("User-Id") == "alice"
    finally:
        stopper = ctx.socket(zmq.PAIR)
        stopper.connect(inproc_endpoint)
        stopper.send(b"stop")
        t.join()
        stopper.close()
