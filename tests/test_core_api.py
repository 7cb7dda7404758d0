"""The core's seams: the one error path, option value types, the generated
constants, and the layering rule (Python modules use only the core's public names).
"""

import ast
import os
import signal

import pytest

import zmqipc as zmq
from zmqipc import _zmq, constants, error

posix_signals = pytest.mark.skipif(
    not hasattr(signal, "SIGUSR1"), reason="needs POSIX signals (SIGUSR1)"
)


# --- errors: a non-blocking call interrupted by a signal ------------------------------------


@pytest.fixture
def sigusr1_calls():
    """A SIGUSR1 handler that records its calls and returns."""
    calls = []
    old = signal.signal(signal.SIGUSR1, lambda signum, frame: calls.append(signum))
    yield calls
    signal.signal(signal.SIGUSR1, old)


@posix_signals
def test_bind_interrupted_by_a_handler_that_returns_raises(ctx, ipc_endpoint, sigusr1_calls):
    """EINTR on bind used to be dropped: bind returned as if it had bound. Now the
    handler runs and the caller learns the bind did not happen."""
    sock = ctx.socket(zmq.PAIR)
    _zmq._simulate_interrupt(signal.SIGUSR1)
    with pytest.raises(zmq.InterruptedSystemCall) as info:
        sock.bind(ipc_endpoint)
    assert sigusr1_calls == [signal.SIGUSR1]
    assert info.value.errno == zmq.EINTR
    assert sock.get(zmq.LAST_ENDPOINT) == b""  # nothing was bound
    sock.bind(ipc_endpoint)  # the caller's retry binds
    assert sock.get(zmq.LAST_ENDPOINT) == ipc_endpoint.encode()


@posix_signals
def test_connect_interrupted_by_a_handler_that_raises_propagates(ctx, ipc_endpoint):
    def handler(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGUSR1, handler)
    try:
        sock = ctx.socket(zmq.PAIR)
        _zmq._simulate_interrupt(signal.SIGUSR1)
        with pytest.raises(KeyboardInterrupt):
            sock.connect(ipc_endpoint)
    finally:
        signal.signal(signal.SIGUSR1, old)


@pytest.mark.parametrize(
    "name, cls",
    [
        ("EAGAIN", zmq.Again),
        ("ETERM", zmq.ContextTerminated),
        ("EINTR", zmq.InterruptedSystemCall),
        ("EINVAL", zmq.ZMQError),
    ],
)
def test_one_errno_to_exception_map(name, cls):
    err = error.error_for(getattr(zmq, name), zmq.strerror(getattr(zmq, name)), "detail")
    assert type(err) is cls
    assert err.errno == getattr(zmq, name)


# --- option value types ----------------------------------------------------------------------


def test_curve_keys_read_back_as_z85(ctx):
    if not zmq.has("curve"):
        pytest.fail("this build must have CURVE")
    public, secret = zmq.curve_keypair()
    server_public, _ = zmq.curve_keypair()
    sock = ctx.socket(zmq.DEALER)
    sock.curve_secretkey = secret
    sock.curve_publickey = public
    sock.curve_serverkey = server_public
    assert sock.curve_publickey == public
    assert sock.curve_secretkey == secret
    assert sock.curve_serverkey == server_public
    assert sock.getsockopt_string(zmq.CURVE_PUBLICKEY) == public.decode()


def test_curve_key_set_raw_reads_back_as_z85(ctx):
    public, _ = zmq.curve_keypair()
    sock = ctx.socket(zmq.DEALER)
    sock.set(zmq.CURVE_SERVERKEY, zmq.utils.z85.decode(public))  # 32 raw bytes
    assert sock.get(zmq.CURVE_SERVERKEY) == public


def test_every_option_has_a_value_type():
    types = {option: option.value_type for option in zmq.SocketOption}
    assert types[zmq.SocketOption.AFFINITY] is zmq.OptionType.INT64
    assert types[zmq.SocketOption.ROUTING_ID] is zmq.OptionType.BYTES
    assert types[zmq.SocketOption.LAST_ENDPOINT] is zmq.OptionType.STRING
    assert types[zmq.SocketOption.CURVE_PUBLICKEY] is zmq.OptionType.CURVE_KEY
    assert types[zmq.SocketOption.FD] is zmq.OptionType.FD
    assert types[zmq.SocketOption.LINGER] is zmq.OptionType.INT
    # the draft options that had no member before (103-106, 110, 111)
    for name in ("WSS_KEY_PEM", "WSS_CERT_PEM", "WSS_TRUST_PEM", "WSS_HOSTNAME"):
        assert zmq.SocketOption[name].value_type is zmq.OptionType.STRING
    for name in ("HELLO_MSG", "DISCONNECT_MSG"):
        assert zmq.SocketOption[name].value_type is zmq.OptionType.BYTES


@pytest.mark.parametrize(
    "option",
    [o for o in zmq.SocketOption if o.value_type in (zmq.OptionType.BYTES, zmq.OptionType.STRING)],
)
def test_bytes_options_refuse_ints(ctx, option):
    sock = ctx.socket(zmq.DEALER)
    with pytest.raises(TypeError):
        sock.set(option, 1)


@pytest.mark.parametrize("option", [zmq.AFFINITY, zmq.MAXMSGSIZE])
def test_int64_options_round_trip_past_32_bits(ctx, option):
    sock = ctx.socket(zmq.DEALER)
    sock.set(option, 2**40)
    assert sock.get(option) == 2**40


# --- constants -------------------------------------------------------------------------------


def test_flat_constants_are_the_enum_members():
    assert zmq.POLLIN is zmq.PollEvent.POLLIN
    assert zmq.IDENTITY is zmq.SocketOption.ROUTING_ID
    assert zmq.NOBLOCK is zmq.Flag.DONTWAIT
    assert zmq.XREQ is zmq.SocketType.DEALER
    assert zmq.EVENT_ALL is zmq.Event.ALL
    assert zmq.EAGAIN is zmq.Errno.EAGAIN
    assert zmq.DELAY_ATTACH_ON_CONNECT is zmq.SocketOption.IMMEDIATE
    assert zmq.FAIL_UNROUTABLE is zmq.SocketOption.ROUTER_MANDATORY
    assert zmq.IPC_PATH_MAX_LEN > 0
    for name in constants.__all__:
        value = getattr(zmq, name)
        if name.isupper() and not isinstance(value, bool):
            assert isinstance(value, int), name


def test_constants_are_pyzmqs():
    """pyzmq's flat names exist with the same value and enum class, except names
    that only libzmq releases after 4.3.4 define."""
    pyzmq = pytest.importorskip("zmq")
    newer_than_434 = {
        "BUSY_POLL",
        "HICCUP_MSG",
        "XSUB_VERBOSE_UNSUBSCRIBE",
        "TOPICS_COUNT",
        "NORM_MODE",
        "NORM_UNICAST_NACK",
        "NORM_BUFFER_SIZE",
        "NORM_SEGMENT_SIZE",
        "NORM_BLOCK_SIZE",
        "NORM_NUM_PARITY",
        "NORM_NUM_AUTOPARITY",
        "NORM_PUSH",
        "NORM_FIXED",
        "NORM_CC",
        "NORM_CCL",
        "NORM_CCE",
        "NORM_CCE_ECNONLY",
    }
    draft_differs = {"RECONNECT_STOP_AFTER_DISCONNECT"}  # 4.3.4's draft value is 3
    missing, different = [], []
    for name in pyzmq.constants.__all__:
        theirs = getattr(pyzmq.constants, name)
        if not name.isupper() or name in newer_than_434:
            continue
        if not hasattr(zmq, name):
            missing.append(name)
            continue
        ours = getattr(zmq, name)
        if int(ours) != int(theirs) and name not in draft_differs:
            different.append((name, int(ours), int(theirs)))
        if type(theirs).__name__ != type(ours).__name__:
            different.append((name, type(ours).__name__, type(theirs).__name__))
    assert missing == [] and different == []


def test_errno_names_match_the_core():
    assert set(zmq.Errno.__members__) == set(_zmq.libzmq_errnos())


# --- layering ---------------------------------------------------------------------------------


def _core_names_used(path):
    tree = ast.parse(open(path).read())
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "zmqipc._zmq":
            used.update(alias.name for alias in node.names)
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "_zmq"
        ):
            used.add(node.attr)
    return used


def test_python_modules_use_only_public_core_names():
    root = os.path.dirname(zmq.__file__)
    used = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                for core_name in _core_names_used(os.path.join(folder, name)):
                    used.setdefault(core_name, []).append(name)
    assert used, "expected the Python modules to use the core"
    private = {n: files for n, files in used.items() if n not in _zmq.__all__ and n != "__file__"}
    assert private == {}
    assert all(hasattr(_zmq, n) for n in _zmq.__all__)


def test_core_state_is_read_only(ctx):
    sock = ctx.socket(zmq.PAIR)
    with pytest.raises(AttributeError):
        _zmq.Socket.socket_type.__set__(sock, zmq.PUB)
    with pytest.raises(AttributeError):
        _zmq.Socket.context.__set__(sock, None)
    tracker = zmq.MessageTracker()
    with pytest.raises(AttributeError):
        tracker.pending = 3
    assert tracker.pending == 0


def test_one_version_source():
    from importlib.metadata import version

    assert zmq.__version__ == version("zmqipc")
    assert zmq.pyzmq_version() == zmq.__version__
