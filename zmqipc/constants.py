"""ZeroMQ constants with pyzmq's names: IntEnum groups plus flat module names.

Values are libzmq 4.3.4's (zmq.h); errno values come from the compiled library
so they match what libzmq reports on this platform. Draft socket types and
options are listed (as pyzmq does) but this build has no draft API, so libzmq
rejects them with EINVAL.
"""

from enum import IntEnum, IntFlag

from zmqipc._zmq import libzmq_errnos as _libzmq_errnos


Errno = IntEnum("Errno", _libzmq_errnos(), module=__name__)
Errno.__doc__ = "errno values libzmq may report (as compiled on this platform)."


class ContextOption(IntEnum):
    """Options for Context.set/get."""
    IO_THREADS = 1
    MAX_SOCKETS = 2
    SOCKET_LIMIT = 3
    THREAD_PRIORITY = 3
    THREAD_SCHED_POLICY = 4
    MAX_MSGSZ = 5
    MSG_T_SIZE = 6
    THREAD_AFFINITY_CPU_ADD = 7
    THREAD_AFFINITY_CPU_REMOVE = 8
    THREAD_NAME_PREFIX = 9
    ZERO_COPY_RECV = 10
    IPV6 = 42
    BLOCKY = 70


class SocketType(IntEnum):
    """Socket types; SERVER and later are draft (not built)."""
    PAIR = 0
    PUB = 1
    SUB = 2
    REQ = 3
    REP = 4
    DEALER = 5
    ROUTER = 6
    PULL = 7
    PUSH = 8
    XPUB = 9
    XSUB = 10
    STREAM = 11
    SERVER = 12
    CLIENT = 13
    RADIO = 14
    DISH = 15
    GATHER = 16
    SCATTER = 17
    DGRAM = 18
    PEER = 19
    CHANNEL = 20
    XREQ = 5   # old names
    XREP = 6
    UPSTREAM = 7
    DOWNSTREAM = 8


class SocketOption(IntEnum):
    """Socket options for setsockopt/getsockopt."""
    AFFINITY = 4
    ROUTING_ID = 5
    SUBSCRIBE = 6
    UNSUBSCRIBE = 7
    RATE = 8
    RECOVERY_IVL = 9
    SNDBUF = 11
    RCVBUF = 12
    RCVMORE = 13
    FD = 14
    EVENTS = 15
    TYPE = 16
    LINGER = 17
    RECONNECT_IVL = 18
    BACKLOG = 19
    RECONNECT_IVL_MAX = 21
    MAXMSGSIZE = 22
    SNDHWM = 23
    RCVHWM = 24
    MULTICAST_HOPS = 25
    RCVTIMEO = 27
    SNDTIMEO = 28
    IPV4ONLY = 31
    LAST_ENDPOINT = 32
    ROUTER_MANDATORY = 33
    TCP_KEEPALIVE = 34
    TCP_KEEPALIVE_CNT = 35
    TCP_KEEPALIVE_IDLE = 36
    TCP_KEEPALIVE_INTVL = 37
    TCP_ACCEPT_FILTER = 38
    IMMEDIATE = 39
    XPUB_VERBOSE = 40
    ROUTER_RAW = 41
    IPV6 = 42
    MECHANISM = 43
    PLAIN_SERVER = 44
    PLAIN_USERNAME = 45
    PLAIN_PASSWORD = 46
    CURVE_SERVER = 47
    CURVE_PUBLICKEY = 48
    CURVE_SECRETKEY = 49
    CURVE_SERVERKEY = 50
    PROBE_ROUTER = 51
    REQ_CORRELATE = 52
    REQ_RELAXED = 53
    CONFLATE = 54
    ZAP_DOMAIN = 55
    ROUTER_HANDOVER = 56
    TOS = 57
    IPC_FILTER_PID = 58
    IPC_FILTER_UID = 59
    IPC_FILTER_GID = 60
    CONNECT_ROUTING_ID = 61
    GSSAPI_SERVER = 62
    GSSAPI_PRINCIPAL = 63
    GSSAPI_SERVICE_PRINCIPAL = 64
    GSSAPI_PLAINTEXT = 65
    HANDSHAKE_IVL = 66
    SOCKS_PROXY = 68
    XPUB_NODROP = 69
    BLOCKY = 70
    XPUB_MANUAL = 71
    XPUB_WELCOME_MSG = 72
    STREAM_NOTIFY = 73
    INVERT_MATCHING = 74
    HEARTBEAT_IVL = 75
    HEARTBEAT_TTL = 76
    HEARTBEAT_TIMEOUT = 77
    XPUB_VERBOSER = 78
    CONNECT_TIMEOUT = 79
    TCP_MAXRT = 80
    THREAD_SAFE = 81
    MULTICAST_MAXTPDU = 84
    VMCI_BUFFER_SIZE = 85
    VMCI_BUFFER_MIN_SIZE = 86
    VMCI_BUFFER_MAX_SIZE = 87
    VMCI_CONNECT_TIMEOUT = 88
    USE_FD = 89
    GSSAPI_PRINCIPAL_NAMETYPE = 90
    GSSAPI_SERVICE_PRINCIPAL_NAMETYPE = 91
    BINDTODEVICE = 92
    # draft (not built)
    ZAP_ENFORCE_DOMAIN = 93
    LOOPBACK_FASTPATH = 94
    METADATA = 95
    MULTICAST_LOOP = 96
    ROUTER_NOTIFY = 97
    XPUB_MANUAL_LAST_VALUE = 98
    SOCKS_USERNAME = 99
    SOCKS_PASSWORD = 100
    IN_BATCH_SIZE = 101
    OUT_BATCH_SIZE = 102
    # old names
    IDENTITY = 5
    CONNECT_RID = 61
    HWM = 1     # pyzmq's pseudo-option (same number): sets SNDHWM and RCVHWM together


class MessageOption(IntEnum):
    """Options for Frame.get."""
    MORE = 1
    SRCFD = 2
    SHARED = 3


class Flag(IntEnum):
    """Send/recv flags."""
    DONTWAIT = 1
    NOBLOCK = 1
    SNDMORE = 2


class RouterNotify(IntEnum):
    NOTIFY_CONNECT = 1
    NOTIFY_DISCONNECT = 2


class PollEvent(IntFlag):
    POLLIN = 1
    POLLOUT = 2
    POLLERR = 4
    POLLPRI = 8


class Event(IntFlag):
    """Socket monitor events."""
    CONNECTED = 0x0001
    CONNECT_DELAYED = 0x0002
    CONNECT_RETRIED = 0x0004
    LISTENING = 0x0008
    BIND_FAILED = 0x0010
    ACCEPTED = 0x0020
    ACCEPT_FAILED = 0x0040
    CLOSED = 0x0080
    CLOSE_FAILED = 0x0100
    DISCONNECTED = 0x0200
    MONITOR_STOPPED = 0x0400
    HANDSHAKE_FAILED_NO_DETAIL = 0x0800
    HANDSHAKE_SUCCEEDED = 0x1000
    HANDSHAKE_FAILED_PROTOCOL = 0x2000
    HANDSHAKE_FAILED_AUTH = 0x4000
    ALL = 0xFFFF


class SecurityMechanism(IntEnum):
    NULL = 0
    PLAIN = 1
    CURVE = 2
    GSSAPI = 3


class DeviceType(IntEnum):
    STREAMER = 1
    FORWARDER = 2
    QUEUE = 3


class ReconnectStop(IntEnum):
    CONN_REFUSED = 0x1
    HANDSHAKE_FAILED = 0x2
    AFTER_DISCONNECT = 0x3


def _flat_names():
    """Module-level names as pyzmq has them: PUSH, LINGER, EVENT_CONNECTED, ..."""
    names = {}
    for enum in (ContextOption, SocketType, SocketOption, MessageOption, Flag, RouterNotify,
                 PollEvent, SecurityMechanism, DeviceType, Errno):
        for name, member in enum.__members__.items():
            names.setdefault(name, int(member))
    for name, member in Event.__members__.items():
        names["EVENT_" + name] = int(member)
    for name, member in ReconnectStop.__members__.items():
        names["RECONNECT_STOP_" + name] = int(member)
    names.update(VERSION_MAJOR=4, VERSION_MINOR=3, VERSION_PATCH=4, VERSION=40304,
                 HAUSNUMERO=156384712, POLLITEMS_DFLT=16, THREAD_PRIORITY_DFLT=-1,
                 THREAD_SCHED_POLICY_DFLT=-1, IO_THREADS_DFLT=1, MAX_SOCKETS_DFLT=1023,
                 MSG_T_SIZE=6, NULL=0, DRAFT_API=0, HWM=1)
    return names


globals().update(_flat_names())
__all__ = ["Errno", "ContextOption", "SocketType", "SocketOption", "MessageOption", "Flag",
           "RouterNotify", "PollEvent", "Event", "SecurityMechanism", "DeviceType",
           "ReconnectStop"] + sorted(_flat_names())
