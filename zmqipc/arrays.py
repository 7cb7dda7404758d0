"""NumPy arrays over ZeroMQ: send_array / recv_array / recv_array_into.

Wire format (two frames, so any language can implement it):

1. header: a UTF-8 JSON object
       {"zmqipc_array": 1, "dtype": DESCR, "shape": [d0, d1, ...],
        "order": "C" | "F", "nbytes": N}
   DESCR is NumPy's array-interface descriptor (numpy.lib.format.dtype_to_descr):
   a type string such as "<f8" or "|u1", or for structured dtypes a list of
   [name, DESCR] / [name, DESCR, shape] entries.
2. data: exactly N = prod(shape) * itemsize raw bytes, in the given memory order.

Arrays that are neither C- nor Fortran-contiguous are copied once into C order
before sending. Object dtypes cannot travel and raise TypeError.

Limits, checked on both sides so a hostile header fails fast with ValueError:
structured dtypes nest at most MAX_DTYPE_DEPTH levels (deeper ones exhaust the
recursion limit in NumPy and in formatting), and items that occupy no bytes
(``|V0``, ``[]``, ``|S0``, and subarrays of them) number at most
MAX_DATALESS_ITEMS per message: they carry no data, so ``nbytes`` cannot bound
them, and NumPy loops over each one when copying or printing.

Shared memory (zmqipc.shm, docs/shm.md): the header may carry a descriptor instead
of the data, and the data frame is then empty:
       {..., "nbytes": N, "shm": {"v": 1, "name": SEGMENT, "host": HOST_ID,
                                  "offset": BYTES, "gen": GENERATION}}
recv_array maps the segment (same user, same machine) and views the N bytes at
offset; receivers need no option for it. Messages without "shm" are unchanged.
"""

import json
import math

import numpy as np

from zmqipc import shm as _shm

__all__ = ["send_array", "recv_array", "recv_array_into", "array_header", "parse_array_header"]

FORMAT_VERSION = 1
MAX_DTYPE_DEPTH = 32
MAX_DATALESS_ITEMS = 1 << 16


def _byte_view(array):
    """The array's bytes as a 1-D uint8 view, in memory order, without copying."""
    flat = array.reshape(-1, order="F" if _order(array) == "F" else "C")
    return flat.view(np.uint8)


def _order(array):
    if array.ndim < 2:
        return "C"
    flags = array.flags  # a new object per access
    return "F" if flags.f_contiguous and not flags.c_contiguous else "C"


# Recent array descriptions, both ways: streams repeat the same dtype and shape, and
# building or checking them costs more than the rest of a shared-memory hand-off.
# Bounded; only valid ones are kept; the cached values are never mutated.
# _known_headers: header texts (up to _KNOWN_HEADER_MAX bytes) -> their parse: the
# same text always parses the same, and a sender repeats it (same array, or same
# shared-memory array and generation). _shm_prefixes: the text of shm headers before
# the descriptor (zmqipc.shm.split_header) whose full parse succeeded, so a new
# descriptor after a known prefix is not parsed as JSON either.
_KNOWN_HEADER_MAX = 4096
_built_headers: dict = {}
_known_headers: dict = {}
_shm_prefixes: dict = {}


_remember = _shm.remember_bounded


def array_header(array, shm=None):
    """The header frame (bytes) describing ``array``; ``shm``: the JSON text (bytes)
    of its shared-memory descriptor, when the data stays in shared memory."""
    if array.dtype.fields is not None or array.dtype.subdtype is not None:
        prefix = _header_prefix(array)  # simple dtypes only: .str names them exactly
    else:
        key = (array.dtype.str, array.shape, _order(array))
        prefix = _built_headers.get(key) or _remember(_built_headers, key, _header_prefix(array))
    return prefix + b"}" if shm is None else b"".join((prefix, _shm.HEADER_MEMBER, shm, b"}"))


def _header_prefix(array):
    """The header without its closing brace."""
    descr = np.lib.format.dtype_to_descr(array.dtype)
    _check_depth(descr)
    meta = {
        "zmqipc_array": FORMAT_VERSION,
        "dtype": descr,
        "shape": list(array.shape),
        "order": _order(array),
        "nbytes": int(array.nbytes),
    }
    return json.dumps(meta, separators=(",", ":")).encode("utf-8")[:-1]


def _prepare(array):
    if not isinstance(array, np.ndarray):
        array = np.asarray(array)
    dtype = array.dtype
    if dtype.hasobject:
        raise TypeError("arrays of dtype %s hold Python objects and cannot be sent" % dtype)
    if dtype.fields is not None or dtype.subdtype is not None or not dtype.itemsize:
        _check_limits(dtype, array.shape)  # never send what a receiver must refuse
    if not array.flags.forc:  # neither C- nor Fortran-contiguous
        array = np.ascontiguousarray(array)  # the one documented copy
    return array


def send_array(socket, array, flags=0, copy=True, track=False, shm=None):
    """Send ``array`` as [header, data] (see the module doc for the format).

    ``shm``: None (default) sends an array that lives in zmqipc shared memory as a
    descriptor when every endpoint of the socket is ipc:// or inproc://, inline
    otherwise; True sends any array through shared memory (one copy into a pooled
    segment unless it lives there already) and refuses other endpoints, whose peers
    may be on another machine; "force" skips that check; False always sends inline."""
    if not (shm is None or shm is True or shm is False or (type(shm) is str and shm == "force")):
        raise ValueError("send_array: shm must be None, True, False or 'force', not %r" % (shm,))
    array = _prepare(array)
    if shm is not False and array.nbytes:
        buf = _shm._buffer_of(array)
        if shm is not None or buf is not None:
            remote = getattr(socket, "_remote_endpoint", None)
            if remote is None or shm == "force":
                return _send_shm(socket, array, flags, buf)
            if shm is True:
                raise ValueError(
                    "send_array(shm=True) refused: %s may reach a peer on another "
                    "machine, which cannot map this memory (use shm='force' if "
                    "every peer runs on this machine)" % remote
                )
    return socket.send_multipart(
        [array_header(array), _byte_view(array)], flags=flags, copy=copy, track=track
    )


def _send_shm(socket, array, flags, buf):
    """Send only a descriptor; copy into a pooled segment first if need be.
    ``buf``: the array's shared-memory buffer, None if it is an ordinary array."""
    described = _shm.describe(array, buf)
    if described is None:
        array = _shm.copy_to_shm(array, _order(array))
        described = _shm.describe(array)
    segment, generation, descriptor = described
    try:
        sent = socket.send_multipart([array_header(array, descriptor), b""], flags=flags)
    except BaseException:
        _shm.unsend(segment, generation)
        raise
    if sent is not None and hasattr(sent, "add_done_callback"):  # zmqipc.asyncio: a Future,
        # cancelled or failed before anything was sent

        def unsend_unless_sent(future):
            if future.cancelled() or future.exception() is not None:
                _shm.unsend(segment, generation)

        sent.add_done_callback(unsend_unless_sent)
    return sent


def _check_depth(descr):
    """Refuse a descriptor whose structs nest deeper than MAX_DTYPE_DEPTH; walks it
    level by level, without recursion."""
    depth, level = 0, [descr]
    while level:
        depth += 1
        if depth > MAX_DTYPE_DEPTH:
            raise ValueError("dtype nests deeper than %d levels" % MAX_DTYPE_DEPTH)
        level = [
            entry[1]
            for d in level
            if isinstance(d, list)
            for entry in d
            if isinstance(entry, (list, tuple)) and len(entry) > 1
        ]


def _descr_from_json(descr):
    if isinstance(descr, str):
        return descr
    if not isinstance(descr, list):
        raise ValueError("dtype descriptor must be a string or a list")
    fields = []
    for entry in descr:
        if not isinstance(entry, list) or len(entry) not in (2, 3):
            raise ValueError("bad structured dtype field %r" % (entry,))
        name = tuple(entry[0]) if isinstance(entry[0], list) else entry[0]
        field = (name, _descr_from_json(entry[1]))
        if len(entry) == 3:
            field += (tuple(entry[2]),)
        fields.append(field)
    return fields


def parse_array_header(header):
    """Validate a header frame; return (dtype, shape, order, nbytes) or raise ValueError
    (TypeError for object dtypes)."""
    return _parse_header(header)[:4]


def _parse_header(header):
    """parse_array_header plus the shared-memory descriptor's fields, validated by
    zmqipc.shm (None for inline data). A shm header whose text before the descriptor
    passed this full parse before, with a descriptor exactly as this host's senders
    write it, skips the JSON parse (zmqipc.shm.split_header says why that is sound)."""
    text = bytes(header)
    known = _known_headers.get(text)
    if known is None:
        known = _parse_new_header(text)
        if len(text) <= _KNOWN_HEADER_MAX:
            _remember(_known_headers, text, known)
    return known


def _parse_new_header(text):
    split = _shm.split_header(text)
    if split is not None:
        parsed = _shm_prefixes.get(split[0])
        if parsed is not None:
            return parsed + (split[1],)
    try:
        meta = json.loads(text.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _parse_meta(text, None)  # raises the precise error
    parsed = _parse_meta(text, meta)
    desc = meta.get("shm")
    if desc is None:
        return parsed + (None,)
    fields = _shm.parse_descriptor(desc)
    if split is not None:
        _remember(_shm_prefixes, split[0], parsed)
    return parsed + (fields,)


def _parse_meta(header, meta):
    """Validate the array part of a header: (dtype, shape, order, nbytes)."""
    try:
        if meta is None:
            meta = json.loads(bytes(header).decode("utf-8"))
        if not isinstance(meta, dict) or meta.get("zmqipc_array") != FORMAT_VERSION:
            raise ValueError(
                "not a zmqipc array header (version %r)"
                % (meta.get("zmqipc_array") if isinstance(meta, dict) else None)
            )
        _check_depth(meta["dtype"])
        dtype = np.lib.format.descr_to_dtype(_descr_from_json(meta["dtype"]))
        shape = tuple(meta["shape"])
        order = meta["order"]
        nbytes = meta["nbytes"]
    except Exception as e:  # whatever a hostile header makes json or NumPy raise: RecursionError
        # (deep JSON), SyntaxError (NumPy literal_evals dtype strings such as "(1,"), ...
        raise ValueError("malformed array header: %s: %s" % (type(e).__name__, e)) from None
    if dtype.hasobject:
        raise TypeError("array header names an object dtype, which cannot be received")
    if not all(type(d) is int and d >= 0 for d in shape) or order not in ("C", "F"):  # no bools
        raise ValueError("malformed array header: bad shape %r or order %r" % (shape, order))
    _check_limits(dtype, shape)
    if type(nbytes) is not int or nbytes != math.prod(shape) * dtype.itemsize:
        raise ValueError(
            "array header nbytes %r does not match dtype %s x shape %r" % (nbytes, dtype, shape)
        )
    return dtype, shape, order, nbytes


def _dataless_items(dtype):
    """How many items of no bytes one element of ``dtype`` holds."""
    if dtype.subdtype is not None:
        base, sub_shape = dtype.subdtype
        return math.prod(sub_shape) * _dataless_items(base)
    if dtype.names:
        return sum(_dataless_items(dtype.fields[name][0]) for name in dtype.names)
    return 1 if dtype.itemsize == 0 else 0


def _check_limits(dtype, shape):
    """Refuse what nbytes cannot bound: items that occupy no bytes."""
    if math.prod(shape) * _dataless_items(dtype) > MAX_DATALESS_ITEMS:
        raise ValueError(
            "array of shape %r and dtype %s holds more than %d items of zero size"
            % (shape, dtype, MAX_DATALESS_ITEMS)
        )


def _recv_checked(socket, flags):
    """Receive one whole array message, so a bad one never leaves frames behind, and
    validate it: return (dtype, shape, order, data), data being the data Frame or,
    for a shared-memory message, the ndarray on the shared memory."""
    parts = socket.recv_multipart(flags, False)  # positional: cheaper into Cython
    if len(parts) != 2:
        raise ValueError("an array message has 2 frames (header, data), got %d" % len(parts))
    header, data = parts
    dtype, shape, order, nbytes, shm = _parse_header(header)
    if shm is not None:
        if len(data):
            raise ValueError(
                "a shared-memory array message has an empty data frame, got %d bytes" % len(data)
            )
        return dtype, shape, order, _shm.attach(shm, nbytes, shape, dtype, order)
    if len(data) != nbytes:
        raise ValueError("array data frame has %d bytes, header says %d" % (len(data), nbytes))
    return dtype, shape, order, data


def recv_array(socket, flags=0, copy=False):
    """Receive an array. With copy=False (default) the array views the message
    memory and keeps it alive; misaligned data is copied, and so is a read-only
    message (one libzmq shares with other receivers, e.g. PUB to several SUBs
    over inproc): the result is always writable and never another's memory."""
    dtype, shape, order, data = _recv_checked(socket, flags)
    if isinstance(data, np.ndarray):  # shared memory
        return data.copy(order="K") if copy else data
    array = np.ndarray(shape, dtype=dtype, buffer=data if len(data) else None, order=order)
    if copy or not array.flags.aligned or not array.flags.writeable:
        array = array.copy(order="K")
    return array


def recv_array_into(socket, out, flags=0):
    """Receive an array into ``out`` (writable, contiguous). The message's dtype,
    shape and memory order must match ``out``; on mismatch ValueError is raised,
    the message is consumed and ``out`` is left untouched."""
    if not isinstance(out, np.ndarray) or not out.flags.writeable:
        raise TypeError("recv_array_into needs a writable numpy array")
    if not (out.flags.c_contiguous or out.flags.f_contiguous):
        raise ValueError("recv_array_into needs a contiguous array")
    dtype, shape, order, data = _recv_checked(socket, flags)
    if dtype != out.dtype or shape != out.shape:
        raise ValueError(
            "received %s%r does not match out %s%r" % (dtype, shape, out.dtype, out.shape)
        )
    if (
        out.ndim > 1
        and order != _order(out)
        and not (out.flags.c_contiguous and out.flags.f_contiguous)
    ):
        raise ValueError("received %s-ordered data for a %s-ordered array" % (order, _order(out)))
    if isinstance(data, np.ndarray):  # shared memory: any layout, so copy element-wise
        np.copyto(out, data, casting="no")
    elif len(data):  # one copy, from the message memory straight into out
        _byte_view(out)[:] = np.frombuffer(data, dtype=np.uint8)
    return out
