"""Socket options: value types (int, int64, bytes, str), attribute style, HWM."""

import pytest

import zmqipc as zmq
from conftest import guard


@pytest.fixture
def sock(ctx):
    s = ctx.socket(zmq.DEALER)
    yield s
    s.close(linger=0)


# --- int options --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,default,new",
    [
        ("LINGER", -1, 0),
        ("RCVTIMEO", -1, 250),
        ("SNDTIMEO", -1, 125),
        ("SNDHWM", 1000, 10),
        ("RCVHWM", 1000, 20),
        ("RECONNECT_IVL", 100, 200),
        ("BACKLOG", 100, 5),
        ("IMMEDIATE", 0, 1),
        ("IPV6", 0, 1),
        ("TCP_KEEPALIVE", -1, 1),
        ("HEARTBEAT_IVL", 0, 1000),
        ("HANDSHAKE_IVL", 30000, 1000),
    ],
)
def test_int_options_method_and_attribute(sock, name, default, new):
    option = getattr(zmq, name)
    assert sock.getsockopt(option) == default
    assert getattr(sock, name.lower()) == default
    sock.setsockopt(option, new)
    value = sock.getsockopt(option)
    assert value == new and type(value) is int
    setattr(sock, name.lower(), default)
    assert sock.get(option) == default
    sock.set(option, new)
    assert getattr(sock, name.lower()) == new


def test_attribute_case_insensitive(sock):
    sock.LINGER = 5
    assert sock.linger == 5
    assert sock.Linger == 5


def test_option_enum_members_accepted(sock):
    sock.setsockopt(zmq.SocketOption.LINGER, 7)
    assert sock.getsockopt(zmq.SocketOption.LINGER) == 7
    assert sock.getsockopt(17) == 7


def test_int_option_accepts_index_types(sock):
    import numpy as np

    sock.setsockopt(zmq.LINGER, np.int64(3))
    assert sock.linger == 3
    sock.linger = True  # bool is an int
    assert sock.linger == 1


@pytest.mark.parametrize("value", [b"5", "5", 1.5, None, [1]])
def test_int_option_rejects_non_int(sock, value):
    with pytest.raises(TypeError):
        sock.setsockopt(zmq.LINGER, value)
    assert sock.linger == -1  # untouched


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**40])
def test_int_option_out_of_range_is_not_truncated(sock, value):
    with pytest.raises(OverflowError):
        sock.setsockopt(zmq.LINGER, value)
    assert sock.linger == -1


def test_int_option_extremes(sock):
    sock.rcvtimeo = 2**31 - 1
    assert sock.rcvtimeo == 2**31 - 1
    sock.linger = -1
    assert sock.linger == -1


# --- int64 options -----------------------------------------------------------------------


def test_affinity_is_int64(sock):
    assert sock.affinity == 0
    sock.affinity = 2**40 + 3
    assert sock.affinity == 2**40 + 3
    assert sock.getsockopt(zmq.AFFINITY) == 2**40 + 3
    assert type(sock.affinity) is int


def test_maxmsgsize_is_int64(sock):
    assert sock.maxmsgsize == -1
    sock.setsockopt(zmq.MAXMSGSIZE, 5 * 2**32)
    assert sock.getsockopt(zmq.MAXMSGSIZE) == 5 * 2**32
    sock.maxmsgsize = -1
    assert sock.maxmsgsize == -1


def test_int64_option_rejects_bytes(sock):
    with pytest.raises(TypeError):
        sock.setsockopt(zmq.AFFINITY, b"1")


def test_maxmsgsize_enforced(ctx, ipc_endpoint):
    """An oversized message makes the receiver drop the connection, unseen."""
    from zmqipc.utils.monitor import recv_monitor_message

    server = ctx.socket(zmq.PULL)
    client = ctx.socket(zmq.PUSH)
    guard(server, client)
    server.maxmsgsize = 100
    monitor = server.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    guard(monitor)
    server.bind(ipc_endpoint)
    client.connect(ipc_endpoint)
    client.send(b"x" * 100)  # at the limit: delivered
    assert server.recv() == b"x" * 100
    client.send(b"x" * 1000)  # over it: connection dropped
    assert recv_monitor_message(monitor)["event"] == zmq.EVENT_DISCONNECTED
    with pytest.raises(zmq.Again):
        server.recv(zmq.NOBLOCK)


# --- bytes options -----------------------------------------------------------------------


def test_routing_id_bytes(sock):
    assert sock.routing_id == b""
    sock.routing_id = b"\x00\xffbinary"  # binary identities round-trip exactly
    assert sock.routing_id == b"\x00\xffbinary"
    assert sock.getsockopt(zmq.ROUTING_ID) == b"\x00\xffbinary"
    assert sock.identity == b"\x00\xffbinary"
    assert sock.getsockopt(zmq.IDENTITY) == b"\x00\xffbinary"
    assert type(sock.routing_id) is bytes


def test_routing_id_too_long(sock):
    with pytest.raises(zmq.ZMQError) as info:
        sock.routing_id = b"x" * 256
    assert info.value.errno == zmq.EINVAL


def test_routing_id_string(sock):
    sock.setsockopt_string(zmq.ROUTING_ID, "wörker")
    assert sock.getsockopt(zmq.ROUTING_ID) == "wörker".encode()
    assert sock.getsockopt_string(zmq.ROUTING_ID) == "wörker"
    sock.set_string(zmq.ROUTING_ID, "x", encoding="ascii")
    assert sock.get_string(zmq.ROUTING_ID) == "x"
    sock.setsockopt_unicode(zmq.ROUTING_ID, "u")
    assert sock.getsockopt_unicode(zmq.ROUTING_ID) == "u"


def test_getsockopt_string_of_int_option_type_error(sock):
    with pytest.raises(TypeError):
        sock.getsockopt_string(zmq.LINGER)


def test_setsockopt_string_requires_str(sock):
    with pytest.raises(TypeError):
        sock.setsockopt_string(zmq.ROUTING_ID, b"bytes")


@pytest.mark.parametrize("value", [5, 1.0, None])
def test_bytes_option_rejects_non_bytes(sock, value):
    with pytest.raises(TypeError):
        sock.setsockopt(zmq.ROUTING_ID, value)


def test_bytes_option_rejects_str_with_hint(sock):
    with pytest.raises(TypeError) as info:
        sock.setsockopt(zmq.ROUTING_ID, "text")
    assert "setsockopt_string" in str(info.value)


def test_subscribe_option_bytes(ctx):
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"topic")
    sub.setsockopt(zmq.UNSUBSCRIBE, b"topic")
    sub.setsockopt_string(zmq.SUBSCRIBE, "tôpic")
    with pytest.raises(TypeError):
        sub.setsockopt(zmq.SUBSCRIBE, 1)
    with pytest.raises(TypeError):
        sub.setsockopt(zmq.SUBSCRIBE, "str")


def test_subscribe_on_non_sub_is_einval(sock):
    with pytest.raises(zmq.ZMQError) as info:
        sock.setsockopt(zmq.SUBSCRIBE, b"")
    assert info.value.errno == zmq.EINVAL


def test_last_endpoint_bytes_and_string(sock, ipc_endpoint):
    sock.bind(ipc_endpoint)
    assert sock.getsockopt(zmq.LAST_ENDPOINT) == ipc_endpoint.encode()
    assert sock.last_endpoint == ipc_endpoint.encode()
    assert sock.getsockopt_string(zmq.LAST_ENDPOINT) == ipc_endpoint


def test_string_options_have_no_trailing_nul(sock):
    sock.zap_domain = b"global"
    assert sock.zap_domain == b"global"
    sock.plain_username = b"user"
    assert sock.plain_username == b"user"
    assert sock.mechanism == zmq.PLAIN
    sock.socks_proxy = b"127.0.0.1:1080"
    assert sock.getsockopt(zmq.SOCKS_PROXY) == b"127.0.0.1:1080"


# --- read-only, write-only, unknown ---------------------------------------------------------


def test_read_only_options(sock):
    assert sock.type == zmq.DEALER
    assert sock.getsockopt(zmq.TYPE) == zmq.DEALER
    assert sock.rcvmore == 0
    assert sock.events & zmq.POLLOUT == 0  # no peer yet: cannot send
    with pytest.raises(zmq.ZMQError) as info:
        sock.setsockopt(zmq.TYPE, zmq.PUSH)
    assert info.value.errno == zmq.EINVAL


def test_write_only_option_attribute_error(sock):
    sock.curve_serverkey = zmq.curve_keypair()[0]
    with pytest.raises(AttributeError):
        sock.connect_routing_id


def test_unknown_option_number_einval(sock):
    with pytest.raises(zmq.ZMQError) as info:
        sock.setsockopt(9999, 1)
    assert info.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as info:
        sock.getsockopt(9999)
    assert info.value.errno == zmq.EINVAL


def test_unknown_option_attribute(sock):
    with pytest.raises(AttributeError):
        sock.no_such_option
    with pytest.raises(AttributeError):
        sock.no_such_option = 1


def test_draft_option_einval(sock):
    with pytest.raises(zmq.ZMQError) as info:
        sock.setsockopt(zmq.ROUTER_NOTIFY, 1)
    assert info.value.errno == zmq.EINVAL


def test_option_on_wrong_socket_type(sock):
    with pytest.raises(zmq.ZMQError) as info:
        sock.router_mandatory = 1  # DEALER has no ROUTER_MANDATORY
    assert info.value.errno == zmq.EINVAL


# --- HWM ---------------------------------------------------------------------------------


def test_hwm_sets_both(sock):
    sock.hwm = 7
    assert sock.sndhwm == 7
    assert sock.rcvhwm == 7
    assert sock.hwm == 7
    sock.setsockopt(zmq.HWM, 9)
    assert (sock.sndhwm, sock.rcvhwm) == (9, 9)
    assert sock.getsockopt(zmq.HWM) == 9
    sock.set_hwm(11)
    assert sock.get_hwm() == 11


def test_sndhwm_limits_queue(ctx):
    """With SNDHWM=1 and no peer-side reading, a non-blocking send hits Again."""
    push = ctx.socket(zmq.PUSH)
    pull = ctx.socket(zmq.PULL)
    guard(push, pull)
    push.sndhwm = 1
    pull.rcvhwm = 1
    pull.bind("inproc://hwm-limit")
    push.connect("inproc://hwm-limit")
    sent = 0
    with pytest.raises(zmq.Again):
        for _ in range(1000):
            push.send(b"x", zmq.NOBLOCK)
            sent += 1
    assert 1 <= sent < 1000
    for _ in range(sent):
        assert pull.recv() == b"x"


def test_options_survive_bind(ctx, ipc_endpoint):
    s = ctx.socket(zmq.ROUTER)
    s.routing_id = b"r"
    s.sndhwm = 5
    s.bind(ipc_endpoint)
    assert s.routing_id == b"r" and s.sndhwm == 5


def test_fd_option_is_int(sock):
    fd = sock.getsockopt(zmq.FD)
    assert isinstance(fd, int) and fd >= 0
