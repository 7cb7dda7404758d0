"""Coverage-guided fuzz of everything in zmqipc that parses bytes from a peer (issue 10).

    pip install atheris
    python tools/fuzz.py -max_total_time=600 -timeout=20 [libFuzzer flags] [corpus_dir]

atheris instruments zmqipc's Python modules (the array header parser, the socket
helpers, monitor-event parsing) and libFuzzer drives the inputs. One input is one
call of one entry point, picked by the input's first byte, with the bytes arriving
as a real message over inproc:

  parse_array_header (raw bytes, or a header assembled from the input so the JSON
  is well formed and the fields are plausible, shared-memory descriptors
  included), recv_array (copy and zero-copy),
  recv_array_into, recv_multipart, recv_string, recv_json, recv_into, z85_decode,
  curve_public, parse_monitor_message.

A crash is any exception other than the documented ones (ValueError for bad data,
TypeError for an object dtype, UnicodeDecodeError from recv_string, RuntimeError
for a malformed monitor event, ZMQError(EINVAL) from curve_public for a key that
is not Z85 (libzmq's answer, as pyzmq); recv_json raises what json.loads raises,
RecursionError included, as pyzmq), a socket left out of step (frames of a
refused message still queued), or a native crash; a hang is an input running
past -timeout seconds. libFuzzer prints the executions ("Done N runs") at the end.
recv_pyobj is not fuzzed: unpickling runs arbitrary code by design (as in pyzmq),
so it is only for trusted peers.
"""

import json
import sys

import atheris

with atheris.instrument_imports():
    import numpy as np

    import zmqipc as zmq
    from zmqipc import arrays
    from zmqipc.utils import monitor, z85

DTYPES = [
    "<f8",
    "|u1",
    ">i4",
    "<c16",
    "|b1",
    "|V0",
    "|S0",
    "<U0",
    "|V8",
    "|S3",
    "<U2",
    "<M8[ns]",
    "<m8[D]",
    "|O",
    "<f2",
    "x",
    "",
    "<f8,<i4",
    "(2,3)<f4",
    "<f8[2]",
    "V",
    "|V-1",
    "<i8" * 40,
]

ctx = zmq.Context()
sender, receiver = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
for s in (sender, receiver):
    s.linger = 0
    s.rcvtimeo = s.sndtimeo = 10_000  # a message lost would hang: fail instead
receiver.bind("inproc://fuzz")
sender.connect("inproc://fuzz")


def descr(fdp, depth=0):
    """A dtype descriptor (JSON value) chosen by the input: mostly plausible."""
    kind = fdp.ConsumeIntInRange(0, 5)
    if kind <= 2 or depth > 40:
        return fdp.PickValueInList(DTYPES) if kind < 2 else fdp.ConsumeUnicode(8)
    if kind == 3:
        return fdp.ConsumeUnicode(20)
    fields = []
    for _ in range(fdp.ConsumeIntInRange(0, 4)):
        entry = [fdp.PickValueInList(["a", "b", "a", ["t", "c"], "", 3]), descr(fdp, depth + 1)]
        if fdp.ConsumeBool():
            n_dims = fdp.ConsumeIntInRange(0, 3)
            entry.append([fdp.ConsumeIntInRange(-2, 70000) for _ in range(n_dims)])
        fields.append(entry)
    return fields


def header(fdp):
    """A well-formed JSON header whose fields the input picks."""
    meta = {
        "zmqipc_array": fdp.PickValueInList([1, 1, 1, 2, "1", None]),
        "dtype": descr(fdp),
        "shape": [
            fdp.PickValueInList([0, 1, 2, 7, 10**18, -1, True, 2**63, 1.0])
            if fdp.ConsumeBool()
            else fdp.ConsumeIntInRange(0, 64)
            for _ in range(fdp.ConsumeIntInRange(0, 5))
        ],
        "order": fdp.PickValueInList(["C", "F", "A", None]),
        "nbytes": fdp.ConsumeIntInRange(-1, 4096),
    }
    if fdp.ConsumeIntInRange(0, 7) == 0:  # a shared-memory descriptor (zmqipc.shm)
        meta["shm"] = fdp.PickValueInList(
            [
                fdp.ConsumeUnicode(40),
                [1, "zq", "h", 0, 0],
                [fdp.ConsumeUnicode(8) for _ in range(5)],
                {},
                None,
                [
                    1,
                    fdp.ConsumeUnicode(12),
                    fdp.ConsumeUnicode(12),
                    fdp.ConsumeIntInRange(-1, 1 << 40),
                    fdp.ConsumeIntInRange(-1, 1 << 40),
                ],
            ]
        )
    for key in list(meta):
        if fdp.ConsumeIntInRange(0, 15) == 0:
            del meta[key]
    data = json.dumps(meta).encode()
    if fdp.ConsumeIntInRange(0, 7) == 0:  # sometimes cut or mangle the JSON
        data = data[: fdp.ConsumeIntInRange(0, len(data))]
    return data


def array_message(fdp):
    head = header(fdp) if fdp.ConsumeBool() else fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 200))
    try:  # a data frame of the size the header claims, most of the time
        size = json.loads(head)["nbytes"]
        size = size if type(size) is int and 0 <= size <= 1 << 16 else 0
    except Exception:
        size = 0
    if fdp.ConsumeIntInRange(0, 3) == 0:
        size = fdp.ConsumeIntInRange(0, 4096)
    frames = [head, fdp.ConsumeBytes(size).ljust(size, b"\0")]
    if fdp.ConsumeIntInRange(0, 7) == 0:
        frames = frames[: fdp.ConsumeIntInRange(1, 2)] + [b"x"] * fdp.ConsumeIntInRange(0, 2)
    return frames


def deliver(frames):
    sender.send_multipart(frames)


def recv_array(fdp):
    deliver(array_message(fdp))
    a = receiver.recv_array(copy=fdp.ConsumeBool())
    assert a.flags.writeable
    a.copy()
    a.tobytes()


def recv_array_into(fdp):
    frames = array_message(fdp)
    try:
        dtype, shape, order, _ = arrays.parse_array_header(frames[0])
        out = np.empty(shape, dtype=dtype, order=order) if np.prod(shape) < 1 << 16 else np.empty(4)
    except Exception:
        out = np.empty(fdp.ConsumeIntInRange(0, 64), dtype=fdp.PickValueInList(["<f8", "|u1"]))
    deliver(frames)
    receiver.recv_array_into(out)


def raw_frames(fdp):
    n_frames = fdp.ConsumeIntInRange(1, 4)
    return [fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 300)) for _ in range(n_frames)]


def recv_multipart(fdp):
    frames = raw_frames(fdp)
    deliver(frames)
    assert [bytes(f) for f in receiver.recv_multipart(copy=fdp.ConsumeBool())] == frames


def recv_string(fdp):
    deliver([fdp.ConsumeBytes(300)])
    receiver.recv_string(encoding=fdp.PickValueInList(["utf-8", "utf-16", "latin-1", "ascii"]))


def recv_json(fdp):
    deliver([fdp.ConsumeBytes(2000)])
    receiver.recv_json()


def recv_into(fdp):
    deliver([fdp.ConsumeBytes(300)])
    buf = bytearray(fdp.ConsumeIntInRange(0, 300))
    n = receiver.recv_into(buf)
    assert n >= min(n, len(buf))


def z85_decode(fdp):
    data = fdp.ConsumeBytes(200)
    deliver([data])
    z85.decode(receiver.recv())


def curve_public(fdp):
    data = fdp.ConsumeBytes(45)
    deliver([data])
    zmq.curve_public(receiver.recv())


def monitor_event(fdp):
    deliver(raw_frames(fdp))
    monitor.recv_monitor_message(receiver)


def parse_header_raw(fdp):
    arrays.parse_array_header(fdp.ConsumeBytes(fdp.remaining_bytes()))


def parse_header_built(fdp):
    arrays.parse_array_header(header(fdp))


TARGETS = [
    parse_header_raw,
    parse_header_built,
    recv_array,
    recv_array_into,
    recv_multipart,
    recv_string,
    recv_json,
    recv_into,
    z85_decode,
    curve_public,
    monitor_event,
]
EXPECTED = {
    recv_json: (ValueError, RecursionError),
    monitor_event: (RuntimeError, ValueError),
    curve_public: (ValueError, zmq.ZMQError),
}


def one_input(data):
    fdp = atheris.FuzzedDataProvider(data)
    target = TARGETS[fdp.ConsumeIntInRange(0, len(TARGETS) - 1)]
    try:
        target(fdp)
    except EXPECTED.get(target, (ValueError, TypeError)):
        pass
    if receiver.poll(0):  # a refused message must not leave frames behind
        left = receiver.recv_multipart()
        raise AssertionError("socket out of step after %s: %r left" % (target.__name__, left))


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
