"""A shared-memory descriptor is untrusted input: hostile ones raise ValueError, never
crash and never map or read outside a genuine segment (fuzzed with hypothesis)."""

import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import connected_pair
from zmqipc import shm

pytestmark = pytest.mark.skipif(
    not os.path.isdir("/dev/shm"), reason="plants hostile segments in /dev/shm (Linux POSIX shm)"
)

HEADER = shm.HEADER_SIZE


def _stem():
    """A well-formed name that claims this (live) process as owner, so cleanup()
    leaves the planted files alone until the fixture removes them."""
    return shm._new_stem()


def _plant(data, mode=0o600, size=None):
    stem = _stem()
    path = "/dev/shm/" + stem
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        if size is not None:
            os.ftruncate(fd, size)
    finally:
        os.close(fd)
    return stem


@pytest.fixture(scope="module")
def planted():
    real = shm.empty(100_000, dtype="u1")
    real[:] = 7
    seg = shm._buffer_of(real).segment
    header = bytes(
        np.ctypeslib.as_array((np.ctypeslib.ctypes.c_ubyte * HEADER).from_address(seg.address))
    )
    files = {
        "real": shm._stem_of(seg),
        "group_readable": _plant(header, mode=0o640, size=seg.size),
        "tiny": _plant(b"x" * 100),
        "empty": _plant(b""),
        "zeros": _plant(b"", size=2 * HEADER),
        "size_mismatch": _plant(header, size=seg.size + (1 << 20)),  # header: another size
        "truncated": _plant(header, size=HEADER),
        "missing": _stem(),
    }
    if os.geteuid() == 0:  # root can make a segment another user owns
        files["other_user"] = _plant(header, size=seg.size)
        os.chown("/dev/shm/" + files["other_user"], 65534, 65534)
    yield files, seg, real
    for name, stem in files.items():
        if name != "real" and os.path.exists("/dev/shm/" + stem):
            os.unlink("/dev/shm/" + stem)


@pytest.fixture(scope="module")
def channel():
    import zmqipc as zmq

    ctx = zmq.Context()
    server, client = connected_pair(ctx, "inproc://shm-fuzz")
    yield server, client
    ctx.destroy(linger=0)


def _send(client, meta):
    client.send_multipart([json.dumps(meta).encode(), b""])


def _valid(seg, real, **changes):
    meta = json.loads(shm_header(real))
    meta["shm"].update(changes.pop("shm", {}))
    meta.update(changes)
    return meta


def shm_header(array):
    from zmqipc import arrays

    seg, gen, desc = shm.describe(array)
    shm.unsend(seg, gen)
    return arrays.array_header(array, desc)


def test_genuine_descriptor_maps(channel, planted):
    server, client = channel
    files, seg, real = planted
    _send(client, _valid(seg, real))
    got = server.recv_array()
    assert (got == 7).all() and shm.is_shm(got)


@pytest.mark.parametrize(
    "which, match",
    [
        ("group_readable", "0600"),
        ("tiny", "not a zmqipc"),
        ("empty", "not a zmqipc"),
        ("zeros", "not a zmqipc"),
        ("size_mismatch", "not a zmqipc"),
        ("truncated", "not a zmqipc"),
        ("missing", "does not exist"),
        ("other_user", "not owned by this user"),
    ],
)
def test_hostile_segments(channel, planted, which, match):
    server, client = channel
    files, seg, real = planted
    if which not in files:
        pytest.skip("making another user's segment needs root")
    _send(client, _valid(seg, real, shm={"name": files[which]}))
    with pytest.raises(ValueError, match=match):
        server.recv_array()


def test_out_of_range_and_other_host(channel, planted):
    server, client = channel
    files, seg, real = planted
    for changes in (
        {"shm": {"offset": seg.size - 10}},
        {"shm": {"offset": HEADER - 1}},
        {"shm": {"offset": 2**62}},
        {"shape": [seg.size], "nbytes": seg.size},
        {"shm": {"host": "boot:elsewhere"}},
        {"shm": {"gen": shm._buffer_of(real).segment.generation + 1}},
    ):
        _send(client, _valid(seg, real, **changes))
        with pytest.raises(ValueError):
            server.recv_array()


def test_data_frame_must_be_empty(channel, planted):
    server, client = channel
    files, seg, real = planted
    client.send_multipart([json.dumps(_valid(seg, real)).encode(), b"x" * 100_000])
    with pytest.raises(ValueError, match="empty data frame"):
        server.recv_array()


anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)
int_like = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(0, 1 << 22),
    st.booleans(),
    st.floats(allow_nan=True),
    st.text(max_size=5),
    st.none(),
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzzed_descriptors_never_crash(channel, planted, data):
    server, client = channel
    files, seg, real = planted
    names = st.sampled_from(sorted(files.values())) | st.text(max_size=40) | int_like
    desc = data.draw(
        st.one_of(
            anything,
            st.fixed_dictionaries(
                {
                    "v": st.just(1) | int_like,
                    "name": names,
                    "host": st.just(shm._HOST) | st.text(max_size=80) | int_like,
                    "offset": st.just(HEADER) | int_like,
                    "gen": st.just(seg.generation) | int_like,
                }
            ),
        )
    )
    count = data.draw(st.integers(0, 1 << 22) | st.integers(-5, 5))
    dtype = data.draw(st.sampled_from(["|u1", "<f8", "<i4", "|V0", [["a", "<f8"]]]))
    meta = {
        "zmqipc_array": 1,
        "dtype": dtype,
        "shape": [count],
        "order": data.draw(st.sampled_from(["C", "F", "X"])),
        "nbytes": data.draw(st.just(None) | int_like),
        "shm": desc,
    }
    try:
        itemsize = np.dtype(dtype if isinstance(dtype, str) else [tuple(f) for f in dtype]).itemsize
        if data.draw(st.booleans()):
            meta["nbytes"] = count * itemsize
    except TypeError:
        pass
    client.send_multipart([json.dumps(meta).encode(), b""])
    try:
        got = server.recv_array()
    except ValueError:
        return
    # Accepted: only ever a view inside the genuine segment's mapping (or no data).
    if got.nbytes == 0:
        return
    start = got.__array_interface__["data"][0]
    assert seg.address + HEADER <= start and start + got.nbytes <= seg.address + seg.size
    assert shm.is_shm(got)
