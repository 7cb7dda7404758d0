"""send_array / recv_array / recv_array_into and recv_into.

Covers the 2-frame wire format of zmqipc.arrays over ipc, tcp and inproc: dtype
and memory-order fidelity, zero-copy receive (the array views the Frame), the
lifetime of received arrays, and malformed messages (a clear ValueError and a
socket that stays in step with the sender).
"""

import gc
import json

import numpy as np
import pytest

import zmqipc as zmq
from conftest import GUARD_MS, connected_pair, endpoint_for
from zmqipc import arrays

TRANSPORTS = ["ipc", "tcp", "inproc"]


# --- fixtures and helpers ------------------------------------------------------------


def make_pair(ctx, transport, ipc_dir, kind=(zmq.PAIR, zmq.PAIR)):
    """(sender, receiver), connected, with hang guards."""
    receiver, sender = connected_pair(ctx, endpoint_for(transport, ipc_dir), (kind[1], kind[0]))
    return sender, receiver


@pytest.fixture(params=TRANSPORTS)
def pair(request, ctx, ipc_dir):
    return make_pair(ctx, request.param, ipc_dir)


@pytest.fixture
def ipc_pair(ctx, ipc_dir):
    return make_pair(ctx, "ipc", ipc_dir)


def frame_behind(array):
    """The zmq.Frame at the end of ``array``'s .base chain, or None."""
    obj = array
    while obj is not None and not isinstance(obj, zmq.Frame):
        obj = getattr(obj, "base", None) if not isinstance(obj, memoryview) else obj.obj
    return obj


def same_array(got, want):
    """Exact equality: dtype (byte order included), shape and every byte."""
    assert isinstance(got, np.ndarray)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.dtype.str == want.dtype.str
    assert got.shape == want.shape
    assert _field_bytes(got) == _field_bytes(want)
    return True


def _field_bytes(a):
    """Every byte of ``a``'s values in C order, padding of structured dtypes excluded
    (copies do not preserve padding bytes)."""
    if a.dtype.names:
        return b"".join(_field_bytes(a[name]) for name in a.dtype.names)
    return np.ascontiguousarray(a).tobytes()


def nested_dtype():
    point = np.dtype([("x", "<f4"), ("y", "<f4")])
    return np.dtype([("pos", point), ("m", "<f8", (2, 3)), ("flag", "?"), ("tag", "S3")])


def structured(dtype, n):
    raw = np.arange(n * dtype.itemsize, dtype=np.uint64) * 2654435761 % 251
    return raw.astype(np.uint8).view(dtype)[:n].copy() if dtype.itemsize else np.zeros(n, dtype)


CASES = {
    "c_float64_3d": lambda: np.arange(24.0).reshape(2, 3, 4),
    "fortran_int32": lambda: np.asfortranarray(np.arange(60, dtype=np.int32).reshape(3, 4, 5)),
    "fortran_large": lambda: np.asfortranarray(
        np.arange(512 * 300, dtype=np.float64).reshape(512, 300)
    ),
    "sliced_2d": lambda: np.arange(400, dtype=np.int16).reshape(20, 20)[::2, 1::3],
    "reversed_1d": lambda: np.arange(10.0)[::-1],
    "transposed_sliced": lambda: np.arange(600, dtype=np.uint32).reshape(20, 30).T[::3],
    "zero_d": lambda: np.array(3.5),
    "zero_d_struct": lambda: structured(np.dtype([("a", "<i2"), ("b", ">f8")]), 1)[0:1].reshape(()),
    "empty_1d": lambda: np.zeros((0,), np.float32),
    "empty_3d": lambda: np.zeros((3, 0, 2), np.int64),
    "structured": lambda: structured(np.dtype([("x", "<i4"), ("y", "<f8"), ("name", "S5")]), 7),
    "nested_subarray": lambda: structured(nested_dtype(), 5),
    "aligned_struct": lambda: structured(np.dtype([("a", "u1"), ("b", "<i8")], align=True), 9),
    "titled_struct": lambda: structured(np.dtype([(("title", "n"), "<i4"), ("v", "<u2")]), 4),
    "big_endian_f8": lambda: np.arange(10, dtype=">f8"),
    "big_endian_i4_2d": lambda: np.arange(12, dtype=">i4").reshape(3, 4),
    "little_on_any": lambda: np.arange(10, dtype="<u8") * (2**60 + 12345),
    "bool": lambda: np.array([True, False, True, True, False]),
    "complex128": lambda: np.arange(8) * (1 + 2j),
    "complex64_big": lambda: (np.arange(6) * (3 - 1j)).astype(">c8"),
    "datetime64": lambda: np.arange("2024-01-01", "2024-01-11", dtype="datetime64[D]"),
    "datetime64_ns": lambda: np.arange(5, dtype=np.int64).astype("datetime64[ns]") + 10**18,
    "timedelta64": lambda: np.arange(5).astype("timedelta64[ms]"),
    "float16": lambda: np.linspace(-1, 1, 11, dtype=np.float16),
    "unicode": lambda: np.array(["a", "bcd", "\u00e9\u4e2d"]),
    "void_raw": lambda: np.frombuffer(bytes(range(32)), dtype="V8"),
    "large_c": lambda: np.random.default_rng(0).random(1 << 17),  # 1 MiB: zero-copy path
}


# --- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("send_copy", [True, False], ids=["send_copy", "send_zc"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_round_trip(pair, case, send_copy):
    sender, receiver = pair
    original = CASES[case]()
    expected = original.copy()
    sender.send_array(original, copy=send_copy)
    got = receiver.recv_array()
    assert same_array(got, expected)
    if got.ndim > 1 and original.flags.f_contiguous and not original.flags.c_contiguous:
        assert got.flags.f_contiguous  # memory order travels with the data


@pytest.mark.parametrize(
    "case",
    [
        "structured",
        "nested_subarray",
        "fortran_int32",
        "zero_d",
        "empty_3d",
        "big_endian_i4_2d",
        "datetime64_ns",
        "large_c",
    ],
)
def test_round_trip_recv_copy(pair, case):
    sender, receiver = pair
    original = CASES[case]()
    sender.send_array(original, copy=False)
    got = receiver.recv_array(copy=True)
    assert same_array(got, original)
    assert frame_behind(got) is None  # copy=True owns its data
    assert got.flags.owndata


def test_many_arrays_in_a_row(pair):
    sender, receiver = pair
    arrays_sent = [CASES[name]() for name in sorted(CASES)]
    for a in arrays_sent:
        sender.send_array(a, copy=False)
    for a in arrays_sent:
        assert same_array(receiver.recv_array(), a)


def test_wire_format_is_documented_two_frames(ipc_pair):
    sender, receiver = ipc_pair
    a = np.asfortranarray(np.arange(6, dtype=">i2").reshape(2, 3))
    sender.send_array(a)
    header, data = receiver.recv_multipart()
    meta = json.loads(header.decode("utf-8"))
    assert meta == {"zmqipc_array": 1, "dtype": ">i2", "shape": [2, 3], "order": "F", "nbytes": 12}
    assert data == a.tobytes(order="F")
    assert not receiver.get(zmq.RCVMORE)


def test_send_array_accepts_sequences(ipc_pair):
    sender, receiver = ipc_pair
    sender.send_array([[1, 2], [3, 4]])
    assert same_array(receiver.recv_array(), np.array([[1, 2], [3, 4]]))


def test_send_array_read_only_array_zero_copy(ipc_pair):
    sender, receiver = ipc_pair
    a = np.arange(50_000.0)
    a.flags.writeable = False
    tracker = sender.send_array(a, copy=False, track=True)
    assert same_array(receiver.recv_array(), a)
    tracker.wait(GUARD_MS / 1000)


# --- zero-copy receive and lifetime ------------------------------------------------


def test_recv_array_views_frame_memory(pair, ctx):
    sender, receiver = pair
    original = np.random.default_rng(1).random((512, 256))  # 1 MiB
    expected = original.copy()
    sender.send_array(original, copy=False)
    got = receiver.recv_array()
    frame = frame_behind(got)
    assert isinstance(frame, zmq.Frame)
    assert not got.flags.owndata
    assert np.shares_memory(got, np.frombuffer(frame, dtype=np.uint8))
    assert got.flags.writeable  # received frames own (writable) memory
    assert np.array_equal(got, expected)
    del frame
    # The array alone keeps the message alive: close everything, collect, read it.
    sender.close()
    receiver.close()
    ctx.term()
    gc.collect()
    del original
    gc.collect()
    assert np.array_equal(got, expected)
    got += 1.0  # and the memory is still ours to write
    assert np.array_equal(got, expected + 1.0)


def test_recv_array_copy_true_owns_data(pair):
    sender, receiver = pair
    original = np.arange(200_000, dtype=np.int64)
    sender.send_array(original, copy=False)
    got = receiver.recv_array(copy=True)
    assert got.flags.owndata and got.base is None
    assert np.array_equal(got, original)
    assert not np.shares_memory(got, original)


def test_recv_array_small_is_usable_after_close(pair, ctx):
    sender, receiver = pair
    sender.send_array(np.arange(5, dtype=np.uint8))
    got = receiver.recv_array()
    sender.close()
    receiver.close()
    ctx.term()
    gc.collect()
    assert got.tolist() == [0, 1, 2, 3, 4]


def test_send_multipart_keeps_zero_copy(ctx, ipc_dir):
    """[header, array] through send_multipart(copy=False) is not copied: over inproc
    libzmq hands the same buffer to the receiver, and the tracker stays pending
    until the receiver drops it."""
    sender, receiver = make_pair(ctx, "inproc", ipc_dir)
    a = np.arange(100_000, dtype=np.float64)
    header = arrays.array_header(a)
    tracker = sender.send_multipart([header, a], copy=False, track=True)
    assert isinstance(tracker, zmq.MessageTracker)
    assert not tracker.done  # libzmq holds the array's own buffer
    got = receiver.recv_array()
    assert np.shares_memory(got, a)  # the very same memory: no copy anywhere
    assert np.array_equal(got, np.arange(100_000, dtype=np.float64))
    assert not tracker.done  # the received array still holds it
    del got
    gc.collect()
    tracker.wait(GUARD_MS / 1000)
    assert tracker.done


def test_send_multipart_zero_copy_over_ipc_tracker(ctx, ipc_dir):
    """Over ipc the tracker is pending while nobody is there to take the message
    and done once it has been written to the peer."""
    url = "ipc://%s/late" % ipc_dir
    sender = ctx.socket(zmq.PUSH)
    sender.linger = 0
    sender.connect(url)  # no peer yet: the message waits in the pipe
    a = np.arange(100_000, dtype=np.float64)
    tracker = sender.send_multipart([arrays.array_header(a), a], copy=False, track=True)
    assert not tracker.done
    with pytest.raises(zmq.NotDone):
        tracker.wait(0.05)
    receiver = ctx.socket(zmq.PULL)
    receiver.linger = 0
    receiver.rcvtimeo = GUARD_MS
    receiver.bind(url)
    got = receiver.recv_array()
    assert np.array_equal(got, a)
    tracker.wait(GUARD_MS / 1000)
    assert tracker.done


def test_send_array_track(ipc_pair):
    sender, receiver = ipc_pair
    assert sender.send_array(np.arange(10), copy=True) is None
    receiver.recv_array()
    tracker = sender.send_array(np.arange(100_000.0), copy=False, track=True)
    assert isinstance(tracker, zmq.MessageTracker)
    receiver.recv_array()
    tracker.wait(GUARD_MS / 1000)


# --- what cannot be sent -----------------------------------------------------------------


@pytest.mark.parametrize("copy", [True, False])
def test_object_dtype_refused_and_nothing_sent(ipc_pair, copy):
    sender, receiver = ipc_pair
    with pytest.raises(TypeError, match="object"):
        sender.send_array(np.array([1, "a", None], dtype=object), copy=copy)
    with pytest.raises(TypeError, match="object"):
        sender.send_array(np.zeros(3, dtype=[("a", "i4"), ("o", "O")]), copy=copy)
    sender.send_array(np.arange(3))
    assert same_array(receiver.recv_array(), np.arange(3))
    assert not receiver.poll(0)


# --- malformed messages ----------------------------------------------------------------


def _hdr(**overrides):
    meta = {"zmqipc_array": 1, "dtype": "<f8", "shape": [4], "order": "C", "nbytes": 32}
    meta.update(overrides)
    meta = {k: v for k, v in meta.items() if v is not _DROP}
    return json.dumps(meta).encode()


def _nested_descr(depth):
    """A struct descriptor ``depth`` levels deep around one float64."""
    descr = "<f8"
    for _ in range(depth - 1):
        descr = [["f", descr]]
    return descr


_DROP = object()
DATA32 = np.arange(4.0).tobytes()

BAD_MESSAGES = {
    "not_json": ([b"this is not json", DATA32], "malformed array header"),
    "not_utf8": ([b"\xff\xfe\x00", DATA32], "malformed array header"),
    "json_list": ([b"[1, 2, 3]", DATA32], "not a zmqipc array header"),
    "wrong_version": ([_hdr(zmqipc_array=2), DATA32], "not a zmqipc array header"),
    "no_version": ([_hdr(zmqipc_array=_DROP), DATA32], "not a zmqipc array header"),
    "missing_dtype": ([_hdr(dtype=_DROP), DATA32], "malformed array header"),
    "missing_shape": ([_hdr(shape=_DROP), DATA32], "malformed array header"),
    "bad_dtype": ([_hdr(dtype="<zz9"), DATA32], "malformed array header"),
    "dtype_number": ([_hdr(dtype=7), DATA32], "malformed array header"),
    "bad_struct_field": ([_hdr(dtype=[["a"]]), DATA32], "malformed array header"),
    "negative_shape": ([_hdr(shape=[-4], nbytes=32), DATA32], "bad shape"),
    "float_shape": ([_hdr(shape=[4.0]), DATA32], "bad shape"),
    "shape_not_list": ([_hdr(shape=4), DATA32], "malformed array header"),
    "bad_order": ([_hdr(order="Z"), DATA32], "bad shape .* or order"),
    "nbytes_wrong": ([_hdr(nbytes=40), DATA32], "does not match"),
    "nbytes_str": ([_hdr(nbytes="32"), DATA32], "does not match"),
    "data_too_short": ([_hdr(), DATA32[:24]], "24 bytes, header says 32"),
    "data_too_long": ([_hdr(), DATA32 + b"12345678"], "40 bytes, header says 32"),
    "missing_data_frame": ([_hdr()], "data frame|2 frames"),
    "extra_frame": ([_hdr(), DATA32, b"extra"], "more than 2 frames|2 frames"),
    "two_extra_frames": ([_hdr(), DATA32, b"x", b"y"], "more than 2 frames|2 frames"),
    "empty_header": ([b"", DATA32], "malformed array header"),
    "deeply_nested_json": ([b"[" * 100_000, DATA32], "malformed array header"),
    "deeply_nested_dtype": (
        [
            b'{"zmqipc_array": 1, "shape": [4], "order": "C", "nbytes": 32, "dtype": '
            + b"[" * 990
            + b'"<f8"'
            + b"]" * 990
            + b"}",
            DATA32,
        ],
        "malformed array header",
    ),
    "bool_in_shape": ([_hdr(shape=[True, 4]), DATA32], "bad shape"),
    "huge_subarray": (
        [_hdr(dtype=[["a", "<f8", [10**9, 10**9]]], shape=[1], nbytes=8), DATA32],
        "malformed array header",
    ),
    "duplicate_field": (
        [_hdr(dtype=[["a", "<f8"], ["a", "<f8"]], shape=[2]), DATA32],
        "malformed array header",
    ),
    # Found by tools/fuzz.py: NumPy literal_evals this and raised SyntaxError.
    "dtype_python_syntax": ([_hdr(dtype="(1,"), DATA32], "malformed array header"),
    # Items of no bytes: nbytes is 0 whatever the shape, so only a limit bounds them.
    "zero_size_void_huge": (
        [_hdr(dtype="|V0", shape=[10**18], nbytes=0), b""],
        "items of zero size",
    ),
    "empty_struct_huge": ([_hdr(dtype=[], shape=[10**18], nbytes=0), b""], "items of zero size"),
    "zero_size_bytes_huge": (
        [_hdr(dtype="|S0", shape=[10**18], nbytes=0), b""],
        "items of zero size",
    ),
    "zero_size_unicode_2d": (
        [_hdr(dtype="<U0", shape=[10**9, 10**9], nbytes=0), b""],
        "items of zero size",
    ),
    "zero_size_subarray": (
        [_hdr(dtype=[["a", [], [1000, 1000]]], shape=[1], nbytes=0), b""],
        "items of zero size",
    ),
    "zero_size_field_beside_data": (
        [
            _hdr(dtype=[["x", "<f8"], ["z", "|V0"], ["e", [], [70000]]], shape=[4], nbytes=32),
            DATA32,
        ],
        "items of zero size",
    ),
    # Accepted by NumPy, but formatting it (the mismatch message) exhausts the recursion limit.
    "dtype_nested_400": ([_hdr(dtype=_nested_descr(400), nbytes=32), DATA32], "nests deeper than"),
    "dtype_nested_33": (
        [_hdr(dtype=_nested_descr(arrays.MAX_DTYPE_DEPTH + 1), nbytes=32), DATA32],
        "nests deeper than",
    ),
}


def _recover(sender, receiver, recv):
    """After an error the very next message arrives intact."""
    good = np.arange(4.0) * 7
    sender.send_array(good)
    assert same_array(recv(), good)
    assert not receiver.poll(0)


@pytest.mark.parametrize("case", sorted(BAD_MESSAGES))
def test_recv_array_malformed(pair, case):
    sender, receiver = pair
    parts, message = BAD_MESSAGES[case]
    sender.send_multipart(parts)
    with pytest.raises(ValueError, match=message):
        receiver.recv_array()
    _recover(sender, receiver, receiver.recv_array)


@pytest.mark.parametrize("case", sorted(BAD_MESSAGES))
def test_recv_array_into_malformed_leaves_out_untouched(pair, case):
    sender, receiver = pair
    parts, message = BAD_MESSAGES[case]
    out = np.full(4, -1.0)
    sender.send_multipart(parts)
    with pytest.raises(ValueError, match=message):
        receiver.recv_array_into(out)
    assert (out == -1.0).all()
    _recover(sender, receiver, lambda: receiver.recv_array_into(out))


@pytest.mark.parametrize("recv", ["recv_array", "recv_array_into"])
def test_object_dtype_header_refused(pair, recv):
    sender, receiver = pair
    sender.send_multipart([_hdr(dtype="|O", nbytes=32), DATA32])
    out = np.full(4, -1.0)
    with pytest.raises(TypeError, match="object"):
        receiver.recv_array() if recv == "recv_array" else receiver.recv_array_into(out)
    assert (out == -1.0).all()
    _recover(sender, receiver, receiver.recv_array)


@pytest.mark.timeout(60, method="thread")  # today this spins in array.copy() for ever
@pytest.mark.parametrize("dtype", ["|V0", [], "|S0"])
def test_recv_array_copy_zero_size_huge_shape_refused(ipc_pair, dtype):
    sender, receiver = ipc_pair
    sender.send_multipart([_hdr(dtype=dtype, shape=[10**18], nbytes=0), b""])
    with pytest.raises(ValueError, match="items of zero size"):
        receiver.recv_array(copy=True)
    _recover(sender, receiver, receiver.recv_array)


def test_zero_size_items_within_limit_round_trip(ipc_pair):
    sender, receiver = ipc_pair
    for a in (
        np.zeros(arrays.MAX_DATALESS_ITEMS, dtype=[]),
        np.zeros((3, 4), dtype=[("x", "<i2"), ("z", [], (5,))]),
    ):
        sender.send_array(a)
        got = receiver.recv_array(copy=True)
        assert got.dtype == a.dtype and got.shape == a.shape


def test_sender_refuses_what_a_receiver_would():
    sock = _SendSpy()
    with pytest.raises(ValueError, match="items of zero size"):
        arrays.send_array(sock, np.zeros(arrays.MAX_DATALESS_ITEMS + 1, dtype=[]))
    deep = np.lib.format.descr_to_dtype(
        _json_descr_to_numpy(_nested_descr(arrays.MAX_DTYPE_DEPTH + 1))
    )
    with pytest.raises(ValueError, match="nests deeper than"):
        arrays.send_array(sock, np.zeros(2, dtype=deep))
    ok = np.lib.format.descr_to_dtype(_json_descr_to_numpy(_nested_descr(arrays.MAX_DTYPE_DEPTH)))
    arrays.send_array(sock, np.zeros(2, dtype=ok))
    assert arrays.parse_array_header(sock.sent[0][0])[0] == ok


class _SendSpy:
    def __init__(self):
        self.sent = []

    def send_multipart(self, parts, **kwargs):
        self.sent.append(parts)


def _json_descr_to_numpy(descr):
    return descr if isinstance(descr, str) else [(e[0], _json_descr_to_numpy(e[1])) for e in descr]


def test_parse_array_header_direct():
    a = CASES["nested_subarray"]()
    dtype, shape, order, nbytes = arrays.parse_array_header(arrays.array_header(a))
    assert (dtype, shape, order, nbytes) == (a.dtype, a.shape, "C", a.nbytes)
    with pytest.raises(ValueError):
        arrays.parse_array_header(b"{}")


# --- recv_array_into -----------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        "c_float64_3d",
        "fortran_int32",
        "fortran_large",
        "structured",
        "nested_subarray",
        "zero_d",
        "empty_3d",
        "big_endian_f8",
        "bool",
        "datetime64",
        "large_c",
        "sliced_2d",
    ],
)
def test_recv_array_into_fills_in_place(pair, case):
    sender, receiver = pair
    original = CASES[case]()
    out = np.zeros_like(original, order="K")
    if original.flags.f_contiguous and not original.flags.c_contiguous:
        out = np.asfortranarray(out)
    address = out.__array_interface__["data"][0]
    sender.send_array(original, copy=False)
    result = receiver.recv_array_into(out)
    assert result is out
    assert out.__array_interface__["data"][0] == address
    assert same_array(out, original)


@pytest.mark.parametrize(
    "mismatch", ["dtype", "byte_order", "shape", "size", "order", "struct_fields"]
)
def test_recv_array_into_mismatch(pair, mismatch):
    sender, receiver = pair
    out = np.full((3, 4), 9.0)
    sent = {
        "dtype": np.arange(12, dtype=np.float32).reshape(3, 4),
        "byte_order": np.arange(12, dtype=">f8").reshape(3, 4),
        "shape": np.arange(12.0).reshape(4, 3),
        "size": np.arange(20.0).reshape(4, 5),
        "order": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "struct_fields": structured(np.dtype([("a", "<f4"), ("b", "<f4")]), 12).reshape(3, 4),
    }[mismatch]
    sender.send_array(sent)
    with pytest.raises(ValueError, match="match|ordered"):
        receiver.recv_array_into(out)
    assert (out == 9.0).all()
    good = np.arange(12.0).reshape(3, 4)
    sender.send_array(good)
    assert receiver.recv_array_into(out) is out
    assert np.array_equal(out, good)


def test_recv_array_into_rejects_bad_out(ipc_pair):
    sender, receiver = ipc_pair
    ro = np.zeros(4)
    ro.flags.writeable = False
    with pytest.raises(TypeError):
        receiver.recv_array_into(ro)
    with pytest.raises(TypeError):
        receiver.recv_array_into(bytearray(32))
    with pytest.raises(ValueError, match="contiguous"):
        receiver.recv_array_into(np.zeros(8)[::2])
    # None of that consumed anything.
    sender.send_array(np.arange(4.0))
    out = np.zeros(4)
    receiver.recv_array_into(out)
    assert out.tolist() == [0.0, 1.0, 2.0, 3.0]


# --- recv_into (pyzmq-compatible) ------------------------------------------------------


def test_recv_into_returns_size_and_truncates(ipc_pair):
    sender, receiver = ipc_pair
    sender.send(b"hello world")
    buf = bytearray(5)
    assert receiver.recv_into(buf) == 11  # the full size, as zmq_recv
    assert buf == b"hello"
    sender.send(b"abc")
    buf = bytearray(b"........")
    assert receiver.recv_into(buf) == 3
    assert buf == b"abc....."


def test_recv_into_nbytes_and_numpy(ipc_pair):
    sender, receiver = ipc_pair
    sender.send(b"0123456789")
    buf = bytearray(10)
    assert receiver.recv_into(buf, nbytes=4) == 10
    assert buf == b"0123" + bytes(6)
    a = np.arange(1000, dtype=np.int32)
    sender.send(a, copy=False)
    out = np.zeros(1000, dtype=np.int32)
    assert receiver.recv_into(out) == 4000
    assert np.array_equal(out, a)
    sender.send(b"\x01" * 16)
    mv = memoryview(bytearray(32))[8:24]
    assert receiver.recv_into(mv) == 16
    assert mv.obj == bytes(8) + b"\x01" * 16 + bytes(8)


def test_recv_into_empty_buffer_discards_frame(ipc_pair):
    sender, receiver = ipc_pair
    sender.send_multipart([b"drop me", b"keep"])
    assert receiver.recv_into(bytearray()) == 7
    assert receiver.get(zmq.RCVMORE)
    assert receiver.recv() == b"keep"


def test_recv_into_errors_do_not_consume(ipc_pair):
    sender, receiver = ipc_pair
    sender.send(b"payload")
    with pytest.raises(ValueError):
        receiver.recv_into(bytearray(3), nbytes=10)  # pyzmq: nbytes too big for the buffer
    with pytest.raises(ValueError):
        receiver.recv_into(bytearray(3), nbytes=-1)
    with pytest.raises(BufferError):
        receiver.recv_into(b"read-only")  # pyzmq raises BufferError too
    with pytest.raises(BufferError):
        receiver.recv_into(np.zeros(8)[::2])  # not contiguous
    with pytest.raises(TypeError):
        receiver.recv_into(12345)  # not a buffer at all
    buf = bytearray(7)
    assert receiver.recv_into(buf) == 7
    assert buf == b"payload"


def test_recv_into_noblock_again(ipc_pair):
    _, receiver = ipc_pair
    with pytest.raises(zmq.Again):
        receiver.recv_into(bytearray(4), flags=zmq.NOBLOCK)


def test_recv_into_matches_pyzmq_signature():
    pyzmq = pytest.importorskip("zmq")
    ctx = pyzmq.Context()
    try:
        a, b = ctx.socket(pyzmq.PAIR), ctx.socket(pyzmq.PAIR)
        a.bind("inproc://sig")
        b.connect("inproc://sig")
        a.send(b"hello world")
        buf = bytearray(5)
        assert b.recv_into(buf) == 11 and buf == b"hello"  # the behaviour we copy
        a.send(b"x")
        with pytest.raises(ValueError):
            b.recv_into(bytearray(3), nbytes=10)
        with pytest.raises(BufferError):
            b.recv_into(b"read-only")
    finally:
        ctx.destroy(linger=0)
