"""zmqipc.auth: ZAP authenticators (thread and asyncio) and CURVE certificates.

Whether a connection got in is read from the server's monitor (HANDSHAKE_SUCCEEDED
or a HANDSHAKE_FAILED_* event), so refusals are checked without waiting for a
timeout; after a refusal the message the client queued must not have arrived.
"""

import asyncio
import os
import stat
import sys

import pytest

import zmqipc as zmq
import zmqipc.asyncio as zaio
from conftest import GUARD_MS
from zmqipc.auth import CURVE_ALLOW_ANY, create_certificates, load_certificate, load_certificates
from zmqipc.auth.asyncio import AsyncioAuthenticator
from zmqipc.auth.thread import ThreadAuthenticator
from zmqipc.utils.monitor import recv_monitor_message

pytestmark = pytest.mark.timeout(120)

FAILED = (
    zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)


# --- certificates ---------------------------------------------------------------------------


def test_create_and_load_certificates(tmp_path):
    public_file, secret_file = create_certificates(tmp_path, "server", metadata={"role": "test"})
    assert os.path.basename(public_file) == "server.key"
    assert os.path.basename(secret_file) == "server.key_secret"
    public, secret = load_certificate(secret_file)
    assert zmq.curve_public(secret) == public and len(public) == 40
    assert load_certificate(public_file) == (public, None)
    assert b"role" in open(secret_file, "rb").read()
    create_certificates(tmp_path, "client")
    assert set(load_certificates(tmp_path)) == {
        public,
        load_certificate(tmp_path / "client.key")[0],
    }
    if sys.platform != "win32":
        assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600


def test_certificates_are_never_overwritten(tmp_path):
    public_file, secret_file = create_certificates(tmp_path, "mine")
    before = open(secret_file, "rb").read()
    with pytest.raises(FileExistsError):
        create_certificates(tmp_path, "mine")
    assert open(secret_file, "rb").read() == before


def test_pyzmq_reads_ours_and_we_read_pyzmq(tmp_path):
    pz_auth = pytest.importorskip("zmq.auth")
    ours = create_certificates(tmp_path / ".", "ours")
    (tmp_path / "pz").mkdir()
    theirs = pz_auth.create_certificates(str(tmp_path / "pz"), "theirs")
    for secret_file in (ours[1], theirs[1]):
        assert pz_auth.load_certificate(secret_file) == load_certificate(secret_file)
    for public_file in (ours[0], theirs[0]):
        assert pz_auth.load_certificate(public_file) == load_certificate(public_file)
    assert set(pz_auth.load_certificates(str(tmp_path))) == set(load_certificates(tmp_path))


def test_bad_certificates_raise(tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_text('curve\n    public-key = "short"\n')
    with pytest.raises(ValueError):
        load_certificate(bad)
    empty = tmp_path / "empty.key"
    empty.write_text("# nothing\n")
    with pytest.raises(ValueError):
        load_certificate(empty)
    with pytest.raises(OSError):
        load_certificate(tmp_path / "missing.key")
    with pytest.raises(OSError):
        load_certificates(tmp_path / "missing-dir")


def test_metadata_cannot_write_keys_or_sections(tmp_path):
    """Metadata named like a key is metadata, not a key; names or values that would
    add lines of their own (a newline, a quote) are refused before any file is
    written."""
    fake = "x" * 40
    public_file, secret_file = create_certificates(
        tmp_path, "meta", metadata={"public-key": fake, "owner": "ops team"}
    )
    public, secret = load_certificate(secret_file)
    assert public != fake.encode() and zmq.curve_public(secret) == public
    for metadata in (
        {"note": 'a"\n    secret-key = "' + fake},
        {"bad\nname": "x"},
        {"a=b": "x"},
        {"": "x"},
    ):
        with pytest.raises(ValueError, match="metadata"):
            create_certificates(tmp_path, "injected", metadata=metadata)
        assert not list(tmp_path.glob("injected*"))  # nothing half-written


def test_keys_in_the_metadata_section_are_ignored(tmp_path):
    real = create_certificates(tmp_path, "real")[1]
    public, secret = load_certificate(real)
    text = open(real).read() + 'metadata\n    public-key = "%s"\n' % ("y" * 40)  # last
    edited = tmp_path / "edited.key_secret"
    edited.write_text(text)
    assert load_certificate(edited) == (public, secret)
    bare = tmp_path / "bare.key"  # no sections at all (hand-written): still read
    bare.write_text('public-key = "%s"\n' % public.decode())
    assert load_certificate(bare) == (public, None)


# --- connections through a ZAP handler ---------------------------------------------------------


class Server:
    """A PULL server with a monitor; the client is a PUSH."""

    def __init__(self, ctx, url, configure_server, configure_client):
        self.server = ctx.socket(zmq.PULL)
        self.server.linger = 0
        configure_server(self.server)
        self.monitor = self.server.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | FAILED)
        self.monitor.rcvtimeo = GUARD_MS
        self.server.bind(url)
        self.client = ctx.socket(zmq.PUSH)
        self.client.linger = 0
        configure_client(self.client)
        self.client.connect(self.server.last_endpoint.decode())
        try:  # queued before the handshake (the pipe exists from connect on)...
            self.client.send(b"secret payload", zmq.NOBLOCK)
            self.sent = True
        except zmq.Again:  # ...unless the handshake already failed and dropped it
            self.sent = False

    def outcome(self):
        """True if the handshake succeeded (and the payload arrived), False if it was
        refused (and nothing arrived)."""
        event = recv_monitor_message(self.monitor)["event"]
        if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            if not self.sent:
                self.client.send(b"secret payload")
            self.server.rcvtimeo = GUARD_MS
            frame = self.server.recv(copy=False)
            assert frame.bytes == b"secret payload"
            self.user_id = frame["User-Id"]
            return True
        assert event & FAILED
        with pytest.raises(zmq.Again):
            self.server.recv(zmq.NOBLOCK)
        return False


def plain(username, password):
    def configure(sock):
        sock.plain_username = username.encode()
        sock.plain_password = password.encode()

    return configure


def plain_server(sock):
    sock.plain_server = True


def curve_server(keys):
    def configure(sock):
        sock.curve_server = True
        sock.curve_publickey, sock.curve_secretkey = keys

    return configure


def curve_client(keys, server_public):
    def configure(sock):
        sock.curve_publickey, sock.curve_secretkey = keys
        sock.curve_serverkey = server_public

    return configure


@pytest.fixture
def thread_auth(ctx):
    auth = ThreadAuthenticator(ctx)
    auth.start()
    yield auth
    auth.stop()
    assert not auth.is_alive()


@pytest.fixture(params=["ipc", "tcp"])
def url(request, make_ipc_endpoint):
    """url(): a new endpoint of the transport for each server."""
    return lambda: make_ipc_endpoint() if request.param == "ipc" else "tcp://127.0.0.1:*"


def test_plain_right_and_wrong_password(ctx, thread_auth, url):
    thread_auth.configure_plain(domain="*", passwords={"admin": "s3cret"})
    good = Server(ctx, url(), plain_server, plain("admin", "s3cret"))
    assert good.outcome() and good.user_id == "admin"
    wrong = Server(ctx, url(), plain_server, plain("admin", "guess"))
    assert not wrong.outcome()
    unknown = Server(ctx, url(), plain_server, plain("eve", "s3cret"))
    assert not unknown.outcome()


def test_curve_certificate_directory(ctx, thread_auth, url, tmp_path):
    server_keys = zmq.curve_keypair()
    allowed_dir = tmp_path / "allowed"
    allowed_dir.mkdir()
    create_certificates(allowed_dir, "client")
    create_certificates(tmp_path, "stranger")
    client_keys = load_certificate(allowed_dir / "client.key_secret")
    stranger_keys = load_certificate(tmp_path / "stranger.key_secret")
    thread_auth.configure_curve(domain="*", location=allowed_dir)
    good = Server(ctx, url(), curve_server(server_keys), curve_client(client_keys, server_keys[0]))
    assert good.outcome()
    assert good.user_id == client_keys[0].decode()
    stranger = Server(
        ctx, url(), curve_server(server_keys), curve_client(stranger_keys, server_keys[0])
    )
    assert not stranger.outcome()
    wrong_server_key = Server(
        ctx, url(), curve_server(server_keys), curve_client(client_keys, zmq.curve_keypair()[0])
    )
    assert not wrong_server_key.outcome()


def test_curve_allow_any_and_callbacks(ctx, thread_auth, ipc_endpoint):
    server_keys = zmq.curve_keypair()
    thread_auth.configure_curve(domain="*", location=CURVE_ALLOW_ANY)
    anyone = Server(
        ctx,
        ipc_endpoint,
        curve_server(server_keys),
        curve_client(zmq.curve_keypair(), server_keys[0]),
    )
    assert anyone.outcome()

    good_keys = zmq.curve_keypair()

    class Provider:
        def __init__(self):
            self.asked = []

        def callback(self, domain, key):
            self.asked.append(key)
            return key == good_keys[0]

    class AsyncProvider(Provider):
        async def callback(self, domain, key):
            return Provider.callback(self, domain, key)

    for i, provider in enumerate((Provider(), AsyncProvider())):
        thread_auth.configure_curve_callback(domain="*", credentials_provider=provider)
        ok = Server(
            ctx,
            ipc_endpoint + "ok%d" % i,
            curve_server(server_keys),
            curve_client(good_keys, server_keys[0]),
        )
        assert ok.outcome()
        refused = Server(
            ctx,
            ipc_endpoint + "no%d" % i,
            curve_server(server_keys),
            curve_client(zmq.curve_keypair(), server_keys[0]),
        )
        assert not refused.outcome()
        assert good_keys[0] in provider.asked and len(provider.asked) == 2


def null_server(sock):
    sock.zap_domain = b"global"  # makes libzmq ask the handler about NULL connections


def test_allow_and_deny_addresses_over_tcp(ctx, thread_auth):
    thread_auth.allow("127.0.0.1")
    assert Server(ctx, "tcp://127.0.0.1:*", null_server, lambda s: None).outcome()
    with pytest.raises(ValueError):
        thread_auth.deny("127.0.0.1")
    thread_auth._allowed.clear()
    thread_auth.allow("10.9.8.7")
    assert not Server(ctx, "tcp://127.0.0.1:*", null_server, lambda s: None).outcome()
    thread_auth._allowed.clear()
    thread_auth.deny("127.0.0.1")
    assert not Server(ctx, "tcp://127.0.0.1:*", null_server, lambda s: None).outcome()


def test_zap_handler_replies_to_malformed_requests(ctx, thread_auth):
    client = ctx.socket(zmq.REQ)  # talk to the handler directly, as libzmq would
    client.linger = 0
    client.rcvtimeo = GUARD_MS
    client.connect("inproc://zeromq.zap.01")
    client.send_multipart([b"1.0", b"id-1"])
    assert client.recv_multipart()[:3] == [b"1.0", b"id-1", b"400"]
    client.send_multipart([b"9.9", b"id-2", b"", b"", b"", b"NULL"])
    assert client.recv_multipart()[2:4] == [b"400", b"Invalid version"]
    client.send_multipart([b"1.0", b"id-3", b"", b"", b"", b"NULL"])
    assert client.recv_multipart() == [b"1.0", b"id-3", b"200", b"OK", b"anonymous", b""]


# --- the asyncio authenticator -----------------------------------------------------------------


def test_asyncio_authenticator_plain_and_curve(ipc_endpoint, tmp_path):
    async def main():
        ctx = zaio.Context()
        try:
            auth = AsyncioAuthenticator(ctx)
            auth.start()
            auth.configure_plain(passwords={"u": "p"})
            server_keys = zmq.curve_keypair()
            create_certificates(tmp_path, "client")
            auth.configure_curve(location=tmp_path)
            client_keys = load_certificate(tmp_path / "client.key_secret")
            cases = [
                (plain_server, plain("u", "p"), True),
                (plain_server, plain("u", "x"), False),
                (curve_server(server_keys), curve_client(client_keys, server_keys[0]), True),
                (
                    curve_server(server_keys),
                    curve_client(zmq.curve_keypair(), server_keys[0]),
                    False,
                ),
            ]
            for i, (configure_server, configure_client, expected) in enumerate(cases):
                server = ctx.socket(zmq.PULL)
                server.linger = 0
                configure_server(server)
                monitor = server.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | FAILED)
                server.bind(ipc_endpoint + str(i))
                client = ctx.socket(zmq.PUSH)
                client.linger = 0
                configure_client(client)
                client.connect(ipc_endpoint + str(i))
                await client.send(b"payload")
                frames = await asyncio.wait_for(monitor.recv_multipart(), GUARD_MS / 1000)
                event = zmq.utils.monitor.parse_monitor_message(frames)["event"]
                assert (event == zmq.EVENT_HANDSHAKE_SUCCEEDED) is expected
                if expected:
                    assert await asyncio.wait_for(server.recv(), GUARD_MS / 1000) == b"payload"
                else:
                    with pytest.raises(zmq.Again):
                        await server.recv(zmq.NOBLOCK)
            auth.stop()
        finally:
            ctx.destroy(linger=0)

    asyncio.run(main())


def test_authenticator_stops_and_starts_again_at_once(ctx):
    """Each start binds inproc://zeromq.zap.01 again. Before patch 0050 the name of
    the stopped one was released only when libzmq's reaper got to its socket, and
    the next start failed with EADDRINUSE in some cycles (pyzmq too)."""
    for _ in range(100):
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.stop()
        assert not auth.is_alive()
