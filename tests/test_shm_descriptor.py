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


# --- the receiver's fast path (zmqipc.shm.split_header): headers in the exact form this
# host's senders write skip the JSON parse once their text before the descriptor passed it


def _compact(real, **fields):
    """A genuine header of ``real`` in the senders' exact form, descriptor fields replaced
    (JSON values: bytes as written, or numbers)."""
    from zmqipc import arrays

    seg, gen, desc = shm.describe(real)
    shm.unsend(seg, gen)
    for name, value in fields.items():
        start = desc.index(b'"%s":' % name.encode()) + len(name) + 3
        end = min(i for i in (desc.find(b",", start), desc.find(b"}", start)) if i >= 0)
        desc = desc[:start] + (value if isinstance(value, bytes) else b"%d" % value) + desc[end:]
    return arrays.array_header(real, desc)


def test_repeated_shm_headers_skip_the_json_parse(channel, planted, monkeypatch):
    from zmqipc import arrays

    server, client = channel
    files, seg, real = planted
    monkeypatch.setattr(arrays, "_known_headers", {})
    monkeypatch.setattr(arrays, "_shm_prefixes", {})
    client.send_array(real)
    assert (server.recv_array() == 7).all()  # the first full parse caches the prefix
    client.send_array(np.full(1000, 0, "u1"), shm=True)
    assert (server.recv_array() == 0).all()
    spaced = _valid(seg, real)
    parsed = []
    loads = json.loads
    monkeypatch.setattr(arrays.json, "loads", lambda text: parsed.append(text) or loads(text))
    for value in range(1, 4):
        client.send_array(real)  # the same text again
        assert (server.recv_array() == 7).all()
        client.send_array(np.full(1000, value, "u1"), shm=True)  # a reused segment: new
        assert (server.recv_array() == value).all()  # generation, known prefix
    assert parsed == []
    _send(client, spaced)  # the same descriptor, other spacing: parsed
    assert (server.recv_array() == 7).all() and len(parsed) == 1


def test_hostile_fast_path_descriptors_against_a_mapped_segment(channel, planted):
    server, client = channel
    files, seg, real = planted
    client.send_array(real)
    assert (server.recv_array() == 7).all()  # mapped, prefix cached
    hostile = {
        "end of the mapping": _compact(real, offset=seg.size - 10),
        "past the mapping": _compact(real, offset=seg.size + HEADER),
        "huge offset": _compact(real, offset=(1 << 62) - 1),
        "stale generation": _compact(real, gen=seg.generation + 1),
        "not a segment": _compact(real, name=b'"%s"' % files["zeros"].encode()),
        "group-readable": _compact(real, name=b'"%s"' % files["group_readable"].encode()),
        "missing": _compact(real, name=b'"%s"' % files["missing"].encode()),
    }
    for why, header in hostile.items():
        assert shm.split_header(header) is not None, why  # the fast path applies
        client.send_multipart([header, b""])
        with pytest.raises(ValueError):
            server.recv_array()
    client.send_array(real)
    assert (server.recv_array() == 7).all()


def _mostly(good, bad):
    """Draws from ``good`` two times in three, so that most texts reach the fast path."""
    return st.tuples(st.sampled_from((1, 1, 0)), good, bad).map(lambda t: t[1] if t[0] else t[2])


_prefix_variants = [
    None,  # the genuine prefix
    b'{"zmqipc_array": 1, "dtype": "|u1", "shape": [100000], "order": "C", "nbytes": 100000',
    b'{"zmqipc_array":1,"dtype":"|u1","shape":[100000],"order":"C","nbytes":99999',
    b'{"zmqipc_array":1,"dtype":"|u1","shape":[100000],"order":"C","nbytes":100000,"x":{"a":1',
    b'{"zmqipc_array":1,"dtype":"|u1","shape":[100000],"order":"C","nbytes":100000,"x":"',
    b'{"zmqipc_array":1,"dtype":"|u1","shape":[100000],"order":"C","nbytes":100000,"shm":7',
    b'["zmqipc_array",1',
    b"",
]


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fast_header_parse_matches_the_full_parse(planted, data):
    """Whatever a peer writes, the fast path answers as the full JSON parse does."""
    from zmqipc import arrays

    files, seg, real = planted
    genuine = _compact(real)
    prefix = data.draw(_mostly(st.none(), st.sampled_from(_prefix_variants)))
    prefix = prefix or shm.split_header(genuine)[0]
    number = (
        st.integers(0, 1 << 66)
        | st.integers(-5, 5)
        | st.binary(max_size=6)
        | st.integers(0, seg.size).map(lambda n: b"0%d" % n)  # JSON forbids leading zeros
        | st.sampled_from([b"1e4", b"4096.0", b"true", b'"4096"'])
    )
    pieces = {
        "name": _mostly(
            st.sampled_from(sorted(files.values())).map(str.encode),
            st.sampled_from([27, 29]).map(lambda n: b"zq" + b"a" * n)
            | st.text("abcdefghijklmnopqrstuvwxyz234567", min_size=26, max_size=31).map(
                lambda t: b"zq" + t.encode()
            ),
        ),
        "host": _mostly(
            st.just(shm._HOST_JSON),
            st.sampled_from([b'"boot:x"', b"null", b'"%s" ' % shm._HOST.encode()]),
        ),
        "offset": _mostly(st.integers(HEADER, seg.size + HEADER), number),
        "gen": _mostly(st.integers(0, seg.generation + 1), number),
    }
    for name in ("offset", "gen"):
        pieces[name] = pieces[name].map(lambda n: n if isinstance(n, bytes) else b"%d" % n)
    text = (
        prefix
        + b',"shm":{"v":1,"name":"'
        + data.draw(pieces["name"])
        + b'","host":'
        + data.draw(pieces["host"])
        + b',"offset":'
        + data.draw(pieces["offset"])
        + b',"gen":'
        + data.draw(pieces["gen"])
        + data.draw(_mostly(st.just(b"}}"), st.sampled_from([b"} }", b"}}\n", b"}", b"}}}"])))
    )

    def outcome():
        try:
            return arrays._parse_header(text)
        except (ValueError, TypeError) as e:
            return type(e)

    def forget(*caches):
        for cache in caches:
            cache.clear()

    forget(arrays._shm_prefixes, arrays._known_headers)
    arrays._parse_header(genuine)  # the genuine prefix is cached
    forget(arrays._known_headers)
    cached = outcome()
    forget(arrays._shm_prefixes, arrays._known_headers)
    full = outcome()  # parsed as JSON (its prefix and text cached if valid)
    assert cached == full
    forget(arrays._known_headers)
    assert outcome() == full  # through the prefix that parse cached
    assert outcome() == full  # as a known text
