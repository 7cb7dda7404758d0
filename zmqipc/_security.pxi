# Included by _zmq.pyx: security helpers: CURVE key pairs and Z85 text.

def curve_keypair():
    """A new CURVE key pair as (public, secret), each 40 bytes of Z85."""
    cdef char public_key[41]
    cdef char secret_key[41]
    check_rc(zmq_curve_keypair(public_key, secret_key))
    return public_key[:40], secret_key[:40]


def curve_public(secret_key):
    """The Z85 public key belonging to a Z85 secret key."""
    cdef char public_key[41]
    if isinstance(secret_key, str):
        secret_key = secret_key.encode("ascii")
    if not isinstance(secret_key, bytes) or len(secret_key) != 40:
        raise ValueError("secret_key must be 40 bytes of Z85")
    check_rc(zmq_curve_public(public_key, secret_key))
    return public_key[:40]


def z85_encode(data):
    """Encode bytes (length a multiple of 4) as Z85."""
    cdef bytes raw = bytes(data)
    if len(raw) % 4:
        raise ValueError("Z85 encodes a multiple of 4 bytes, got %d" % len(raw))
    out = PyBytes_FromStringAndSize(NULL, len(raw) * 5 // 4 + 1)
    if zmq_z85_encode(PyBytes_AS_STRING(out), <const uint8_t *><char *>raw, len(raw)) == NULL:
        raise_errno(zmq_errno())
    return out[:-1]


def z85_decode(z85bytes):
    """Decode Z85 (length a multiple of 5) to bytes."""
    if isinstance(z85bytes, str):
        z85bytes = z85bytes.encode("ascii")
    cdef bytes text = bytes(z85bytes)
    if len(text) % 5 or b"\0" in text:
        raise ValueError("Z85 input must be a multiple of 5 characters, got %d" % len(text))
    if not text:
        return b""   # libzmq rejects empty input; encode(b"") is b"" (as pyzmq)
    out = PyBytes_FromStringAndSize(NULL, len(text) * 4 // 5)
    if zmq_z85_decode(<uint8_t *>PyBytes_AS_STRING(out), text) == NULL:
        raise ValueError("invalid Z85 data")
    return out
