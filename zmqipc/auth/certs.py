"""CURVE certificates in ZeroMQ's text format (as czmq and pyzmq write them).

A certificate is a small ZPL file::

    #   comment lines
    metadata
        name = "value"
    curve
        public-key = "<40 Z85 characters>"
        secret-key = "<40 Z85 characters>"     (only in the .key_secret file)

create_certificates writes NAME.key (public) and NAME.key_secret (both keys, mode
0600). It never overwrites a file: an existing certificate raises FileExistsError.
"""

import datetime
import os

from zmqipc import _zmq

__all__ = ["create_certificates", "load_certificate", "load_certificates"]

_BANNERS = {
    "public": (
        "ZeroMQ CURVE Public Certificate",
        "Exchange securely, or use a secure mechanism to verify the contents",
        "of this file after exchange.",
    ),
    "secret": (
        "ZeroMQ CURVE **Secret** Certificate",
        "DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.",
    ),
}


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _metadata_lines(metadata):
    """The metadata section's lines; ValueError for a name or value that would write
    lines of its own into the file (a key, a section)."""
    lines = []
    for name, value in (metadata or {}).items():
        name, value = _text(name), _text(value)
        if not name or any(c in name for c in " \t\r\n=\"'#") or any(c in value for c in '\r\n"'):
            raise ValueError(
                "certificate metadata %r = %r: names must be one word without '=', '#' "
                "or quotes, values one line without '\"'" % (name, value)
            )
        lines.append('    %s = "%s"' % (name, value))
    return lines


def _write_certificate(path, kind, public_key, secret_key=None, metadata_lines=()):
    lines = ["#   ****  Generated on %s by zmqipc  ****" % datetime.datetime.now()]
    lines += ["#   " + line for line in _BANNERS[kind]]
    lines += ["", "metadata", *metadata_lines]
    lines += ["curve", '    public-key = "%s"' % _text(public_key)]
    if secret_key is not None:
        lines.append('    secret-key = "%s"' % _text(secret_key))
    mode = 0o600 if kind == "secret" else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)  # never overwrite
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def create_certificates(key_dir, name, metadata=None):
    """Create a new key pair as ``key_dir/name.key`` (public) and
    ``key_dir/name.key_secret`` (public and secret); return the two paths."""
    metadata_lines = _metadata_lines(metadata)  # checked before any file is written
    public_key, secret_key = _zmq.curve_keypair()
    base = os.path.join(os.fspath(key_dir), name)
    public_file, secret_file = base + ".key", base + ".key_secret"
    for path in (public_file, secret_file):
        if os.path.exists(path):
            raise FileExistsError("certificate %s exists; zmqipc does not overwrite it" % path)
    _write_certificate(public_file, "public", public_key)
    _write_certificate(secret_file, "secret", public_key, secret_key, metadata_lines)
    return public_file, secret_file


def _key_value(line):
    """(name, value) of a ``name = "value"`` line (quotes optional)."""
    name, _, value = line.partition(b"=")
    value = value.strip()
    if len(value) >= 2 and value[:1] in (b'"', b"'") and value[-1:] == value[:1]:
        value = value[1:-1]
    return name.strip(), value


def load_certificate(filename):
    """Return (public_key, secret_key) from a certificate file as Z85 bytes; the
    secret key is None in a public certificate. OSError if the file cannot be read,
    ValueError if it holds no valid public key."""
    keys = {}
    section = None
    with open(filename, "rb") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith(b"#"):
                continue
            if raw[:1] not in (b" ", b"\t"):  # a section header at column 0 (ZPL)
                section = line if b"=" not in line else None
            if b"=" not in line or section == b"metadata":  # metadata never holds keys
                continue
            name, value = _key_value(line)
            if name in (b"public-key", b"secret-key"):
                if len(value) != 40:
                    raise ValueError("%s: %s is not 40 Z85 characters" % (filename, name.decode()))
                keys[name] = value
    if b"public-key" not in keys:
        raise ValueError("no public key found in %s" % (filename,))
    return keys[b"public-key"], keys.get(b"secret-key")


def load_certificates(directory="."):
    """The public keys of every ``*.key`` certificate in ``directory``, as a dict
    {public_key (Z85 bytes): True}."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise OSError("not a certificate directory: %s" % directory)
    keys = {}
    for entry in sorted(os.listdir(directory)):
        if entry.endswith(".key"):
            public_key, _ = load_certificate(os.path.join(directory, entry))
            keys[public_key] = True
    return keys
