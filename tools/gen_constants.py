"""Generate zmqipc's constants from libzmq's zmq.h.

    python tools/gen_constants.py          # rewrite the generated files
    python tools/gen_constants.py --check  # exit 1 if they are not current (CI)

Numbers and names come from the vendored zmq.h (prepared by vendor/libzmq/fetch.py).
What zmq.h does not say is written here, by name: which enum a constant belongs to,
each socket option's value type, and the few names pyzmq adds. The outputs are
  zmqipc/constants.py       IntEnum groups and every flat name, written out for mypy
  zmqipc/_option_types.pxi  the core's option-type lookup (a C switch)
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "vendor", "libzmq"))
import fetch  # noqa: E402  (vendor/libzmq/fetch.py)

CONSTANTS_PY = os.path.join(ROOT, "zmqipc", "constants.py")
OPTION_TYPES_PXI = os.path.join(ROOT, "zmqipc", "_option_types.pxi")

# Socket option value types, by name; every option not listed is a C int.
# bytes: binary (returned as stored); string: NUL-terminated text; curve_key: 32
# raw bytes or 40 Z85 characters when set, read back as Z85 text.
OPTION_TYPES = {
    "int64": [
        "AFFINITY",
        "MAXMSGSIZE",
        "VMCI_BUFFER_SIZE",
        "VMCI_BUFFER_MIN_SIZE",
        "VMCI_BUFFER_MAX_SIZE",
    ],
    "fd": ["FD"],
    "bytes": [
        "ROUTING_ID",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "TCP_ACCEPT_FILTER",
        "CONNECT_ROUTING_ID",
        "XPUB_WELCOME_MSG",
        "HELLO_MSG",
        "DISCONNECT_MSG",
    ],
    "string": [
        "LAST_ENDPOINT",
        "PLAIN_USERNAME",
        "PLAIN_PASSWORD",
        "ZAP_DOMAIN",
        "GSSAPI_PRINCIPAL",
        "GSSAPI_SERVICE_PRINCIPAL",
        "SOCKS_PROXY",
        "BINDTODEVICE",
        "METADATA",
        "SOCKS_USERNAME",
        "SOCKS_PASSWORD",
        "WSS_KEY_PEM",
        "WSS_CERT_PEM",
        "WSS_TRUST_PEM",
        "WSS_HOSTNAME",
    ],
    "curve_key": ["CURVE_PUBLICKEY", "CURVE_SECRETKEY", "CURVE_SERVERKEY"],
}

# Which enum a zmq.h name belongs to: first by name, then by the zmq.h section
# (the comment line above it). (enum, prefix stripped from the member name)
BY_PREFIX = [
    ("ZMQ_EVENT_", "Event", "ZMQ_EVENT_"),
    ("ZMQ_PROTOCOL_ERROR_", "Event", "ZMQ_"),
    ("ZMQ_RECONNECT_STOP_", "ReconnectStop", "ZMQ_RECONNECT_STOP_"),
    ("ZMQ_NOTIFY_", "RouterNotify", "ZMQ_NOTIFY_"),
    ("ZMQ_POLL", "PollEvent", "ZMQ_"),
]
BY_SECTION = {
    "Context options": "ContextOption",
    "DRAFT Context options": "ContextOption",
    "Socket types.": "SocketType",
    "DRAFT Socket types.": "SocketType",
    "Socket options.": "SocketOption",
    "DRAFT Socket options.": "SocketOption",
    "Deprecated options and aliases": "SocketOption",
    "Message options": "MessageOption",
    "Deprecated Message options": "MessageOption",
    "Send/recv options.": "Flag",
    "Security mechanisms": "SecurityMechanism",
}
DEVICE_TYPES = ["ZMQ_STREAMER", "ZMQ_FORWARDER", "ZMQ_QUEUE"]
# Plain int names (not enum members) kept from zmq.h.
PLAIN_INTS = [
    "ZMQ_VERSION_MAJOR",
    "ZMQ_VERSION_MINOR",
    "ZMQ_VERSION_PATCH",
    "ZMQ_HAUSNUMERO",
    "ZMQ_IO_THREADS_DFLT",
    "ZMQ_MAX_SOCKETS_DFLT",
    "ZMQ_THREAD_PRIORITY_DFLT",
    "ZMQ_THREAD_SCHED_POLICY_DFLT",
    "ZMQ_GROUP_MAX_LENGTH",
    "ZMQ_POLLITEMS_DFLT",
    "ZMQ_GSSAPI_NT_HOSTBASED",
    "ZMQ_GSSAPI_NT_USER_NAME",
    "ZMQ_GSSAPI_NT_KRB5_PRINCIPAL",
    "ZMQ_CURRENT_EVENT_VERSION",
    "ZMQ_CURRENT_EVENT_VERSION_DRAFT",
]
# pyzmq's names that zmq.h lacks: (enum, member, value expression).
EXTRA_MEMBERS = [
    ("SocketType", "UPSTREAM", "7"),  # old names of PULL/PUSH
    ("SocketType", "DOWNSTREAM", "8"),
    ("SocketOption", "HWM", "1"),  # pseudo-option: SNDHWM and RCVHWM together
]
# errno names: libzmq's own (zmq.h) plus the C library's it reports. The values
# are read from the compiled library (they differ between platforms).
LIBC_ERRNOS = [
    "EAGAIN",
    "EFAULT",
    "EINVAL",
    "EINTR",
    "ENOMEM",
    "EACCES",
    "ENOENT",
    "ENAMETOOLONG",
    "EMFILE",
]

ENUMS = [  # (name, base, doc), in flat-name precedence order (the last one wins)
    ("ContextOption", "IntEnum", "Options for Context.set/get."),
    ("SocketType", "IntEnum", "Socket types; SERVER and later are draft (not built)."),
    ("SocketOption", "IntEnum", "Socket options; each member's value_type says what it takes."),
    ("MessageOption", "IntEnum", "Options for Frame.get."),
    ("Flag", "IntFlag", "Send/recv flags."),
    ("SecurityMechanism", "IntEnum", "Security mechanisms (the MECHANISM option)."),
    ("PollEvent", "IntFlag", "Poll events."),
    ("DeviceType", "IntEnum", "Legacy device types."),
    ("Event", "IntFlag", "Socket monitor events (and ZMTP protocol error codes)."),
    ("ReconnectStop", "IntEnum", "RECONNECT_STOP option values (draft)."),
    ("RouterNotify", "IntEnum", "ROUTER_NOTIFY option values (draft)."),
]


def zmq_h_path():
    path = os.path.join(fetch.SOURCE_DIR, "include", "zmq.h")
    if not os.path.exists(path):
        fetch.prepare_source()
    return path


def parse_zmq_h(text):
    """[(section, name, value expression)] for every `#define ZMQ_X value`, in order."""
    defines = []
    section = ""
    for line in text.splitlines():
        comment = re.match(r"/\*\s+(.*?)\s*\*/$", line.strip())
        if comment:
            section = comment.group(1)
            continue
        m = re.match(r"#define (ZMQ_\w+)\s+(.+?)\s*$", line)
        if m and "(" not in m.group(1):
            defines.append((section, m.group(1), m.group(2)))
    return defines


def evaluate(expr, known):
    """The int value of a zmq.h value expression (numbers, ZMQ_ names, + and |)."""
    expr = expr.strip()
    if not re.fullmatch(r"[\w\s|+()]+", expr):
        raise ValueError(expr)
    return eval(expr, {"__builtins__": {}}, dict(known))  # noqa: S307 (checked characters above)


def classify(text):
    """{enum: [(member, value, alias_of or None, flat name)]}, {plain name: value},
    errno names. A flat name is the zmq.h name without ZMQ_."""
    values = {}
    members = {name: [] for name, _, _ in ENUMS}
    owner = {}  # ZMQ_ name -> (enum, member)
    plain = {}
    defines = parse_zmq_h(text)
    for section, name, expr in defines:
        if name in ("ZMQ_VERSION", "ZMQ_DEFINED_STDINT", "ZMQ_HAS_CAPABILITIES", "ZMQ_EXPORT"):
            continue
        if expr.startswith('"'):
            continue  # message property names (strings)
        try:
            value = evaluate(expr, values)
        except (ValueError, NameError, SyntaxError):
            continue
        values[name] = value
        target = None
        if name in DEVICE_TYPES:
            target = ("DeviceType", name[4:])
        for prefix, enum, strip in BY_PREFIX:
            if name.startswith(prefix):
                target = (enum, name[len(strip) :])
                break
        else:
            if section in BY_SECTION:
                target = (BY_SECTION[section], name[4:])
        alias = expr.strip() if expr.strip() in owner else None
        if alias:  # an old or new name for another constant: same enum
            target = (owner[alias][0], target[1] if target else name[4:])
        if name in PLAIN_INTS:
            plain[name[4:]] = value
        elif target:
            members[target[0]].append(
                (target[1], value, owner[alias][1] if alias else None, name[4:])
            )
            owner[name] = target
    # errnos zmq.h defines where the C library lacks them, then libzmq's own
    errnos = re.findall(r"#ifndef (E[A-Z]+)\n", text)
    errnos += re.findall(r"#define (E[A-Z]+) \(ZMQ_HAUSNUMERO", text)
    plain["VERSION"] = (
        values["ZMQ_VERSION_MAJOR"] * 10000
        + values["ZMQ_VERSION_MINOR"] * 100
        + values["ZMQ_VERSION_PATCH"]
    )
    for enum, member, expr in EXTRA_MEMBERS:
        members[enum].append((member, evaluate(expr, {}), None, member))
    return members, plain, list(dict.fromkeys(LIBC_ERRNOS + errnos))


def option_types():
    types = {}
    for kind, names in OPTION_TYPES.items():
        for name in names:
            types[name] = kind
    return types


HEADER = "# GENERATED by tools/gen_constants.py from libzmq %s's zmq.h: do not edit.\n"


def render_constants(members, plain, errnos, version):
    types = option_types()
    option_names = {m for m, _, _, _ in members["SocketOption"]}
    unknown = set(types) - option_names
    if unknown:
        raise SystemExit("OPTION_TYPES names not in zmq.h: %s" % sorted(unknown))
    out = [HEADER % version]
    out.append('''"""ZeroMQ constants with pyzmq's names: IntEnum groups, and every flat name
(PUSH, LINGER, EVENT_CONNECTED, ...) bound to its enum member, so
``zmqipc.POLLIN is zmqipc.PollEvent.POLLIN``.

Values are libzmq's (zmq.h); errno values come from the compiled library, so they
match what libzmq reports on this platform. Draft socket types and options are
listed (as pyzmq does), but this build has no draft API: libzmq rejects them.
"""

from enum import Enum, IntEnum, IntFlag

from zmqipc._zmq import libzmq_errnos

_ERRNO = libzmq_errnos()


class OptionType(Enum):
    """What a socket option's value is."""

    INT = "int"
    INT64 = "int64"
    FD = "fd"
    BYTES = "bytes"  # binary, returned as stored
    STRING = "string"  # text, NUL-terminated in libzmq
    CURVE_KEY = "curve_key"  # 32 raw bytes or 40 Z85 characters; read as Z85


class Errno(IntEnum):
    """errno values libzmq may report (as compiled on this platform)."""

''')
    for name in errnos:
        out.append('    %s = _ERRNO["%s"]\n' % (name, name))
    flat = {}
    for enum, base, doc in ENUMS:
        out.append('\n\nclass %s(%s):\n    """%s"""\n\n' % (enum, base, doc))
        if enum == "SocketOption":
            out.append('''    @property
    def value_type(self) -> OptionType:
        """What this option's value is."""
        return _OPTION_TYPES.get(self._value_, OptionType.INT)

''')
        for member, value, alias, flat_name in members[enum]:
            literal = hex(value) if base == "IntFlag" and value > 9 else str(value)
            out.append("    %s = %s%s\n" % (member, literal, "  # = %s" % alias if alias else ""))
            flat[flat_name] = "%s.%s" % (enum, member)
        if enum == "SocketOption":
            out.append("\n\n_OPTION_TYPES = {  # options whose value is not a C int\n")
            for member, value, alias, _ in members[enum]:
                if types.get(member, "int") != "int" and not alias:
                    out.append(
                        "    %d: OptionType.%s,  # %s\n" % (value, types[member].upper(), member)
                    )
            out.append("}\n")
    for name in errnos:
        flat.setdefault(name, "Errno.%s" % name)
    out.append("\n\n# Flat names, as pyzmq has them; each is its enum member.\n")
    for name in sorted(flat):
        out.append("%s = %s\n" % (name, flat[name]))
    out.append("\n# Plain numbers from zmq.h.\n")
    for name in sorted(plain):
        out.append("%s = %d\n" % (name, plain[name]))
    out.append("DRAFT_API = False  # this build has no draft API\n")
    names = (
        ["OptionType", "Errno"]
        + [e for e, _, _ in ENUMS]
        + sorted(flat)
        + sorted(plain)
        + ["DRAFT_API"]
    )
    out.append("\n__all__ = [\n")
    for name in names:
        out.append('    "%s",\n' % name)
    out.append("]\n")
    return "".join(out)


def render_option_types(members, version):
    types = option_types()
    by_kind = {}
    for member, value, _, _ in members["SocketOption"]:
        kind = types.get(member, "int")
        if kind != "int":
            by_kind.setdefault(kind, set()).add(value)
    out = [HEADER % version]
    out.append("# Included by _zmq.pyx: what each socket option's value is (see OptionType).\n\n")
    out.append("cdef enum OptionKind:\n")
    for kind in ["int"] + list(OPTION_TYPES):
        out.append("    OPTION_%s\n" % kind.upper())
    out.append("\n\ncdef inline OptionKind option_kind(int option) noexcept nogil:\n")
    for kind in OPTION_TYPES:
        numbers = ", ".join(str(v) for v in sorted(by_kind[kind]))
        out.append(
            "    if option in (%s%s):\n        return OPTION_%s\n"
            % (numbers, "," if len(by_kind[kind]) == 1 else "", kind.upper())
        )
    out.append("    return OPTION_INT\n")
    return "".join(out)


def generate():
    with open(zmq_h_path()) as f:
        members, plain, errnos = classify(f.read())
    version = "%d.%d.%d" % (plain["VERSION_MAJOR"], plain["VERSION_MINOR"], plain["VERSION_PATCH"])
    return {
        CONSTANTS_PY: render_constants(members, plain, errnos, version),
        OPTION_TYPES_PXI: render_option_types(members, version),
    }


def main(argv):
    check = "--check" in argv
    stale = []
    for path, text in generate().items():
        current = open(path).read() if os.path.exists(path) else None
        if current != text:
            stale.append(os.path.relpath(path, ROOT))
            if not check:
                with open(path, "w") as f:
                    f.write(text)
    if check and stale:
        print(
            "generated files are not current: %s\nrun: python tools/gen_constants.py"
            % ", ".join(stale),
            file=sys.stderr,
        )
        return 1
    for path in stale:
        print("wrote " + path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
