"""NumPy arrays in shared memory: only a small descriptor travels through the socket.

    arr = zmqipc.shm.empty((8192, 16384), dtype="f4")   # an ndarray in shared memory
    sock.send_array(arr)                  # O(1): a descriptor, not the data
    other = sock.recv_array()             # the receiver maps the same memory
    sock.send_array(any_array, shm=True)  # one copy into a pooled segment, then the same

The design (descriptor format, lifetime rules, cleanup, security, platforms) is in
docs/shm.md. In short: a segment is reused only when no live process holds a view
on it and every descriptor sent for it was claimed (or its lease expired); segments
of dead owners are removed by cleanup(), which also runs when zmqipc is imported.
"""

import atexit
import json
import math
import numbers
import operator
import os
import re
import secrets
import socket as _socket
import sys
import threading
import time
from typing import Any

from zmqipc import _zmq


class _NumpyOnFirstUse:
    """numpy, imported when first used: ``import zmqipc`` imports this module (to clean
    up dead processes' segments) and must not import numpy. The first use puts numpy
    itself in its place (every later ``np.x`` is a plain module attribute)."""

    def __getattr__(self, name):
        global np
        import numpy

        np = numpy
        return getattr(numpy, name)


np: Any = _NumpyOnFirstUse()

__all__ = [
    "empty",
    "zeros",
    "empty_like",
    "is_shm",
    "cleanup",
    "configure",
    "segments",
    "DESCRIPTOR_VERSION",
]

DESCRIPTOR_VERSION = 1
HEADER_SIZE = _zmq.SHM_HEADER_SIZE
MAX_GENERATION = 1 << 44

_settings = {
    "lease_s": 60.0,  # an unclaimed descriptor keeps its memory this long
    "pool_bytes": 4 << 30,  # idle segments beyond this are given back
    "idle_maps": 16,  # mappings of other processes' segments kept for reuse
}

_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # base32, lower case
_STEM = re.compile(r"zq[a-z2-7]{28}\Z")  # "zq" + pid(7) + start(7) + random(14)
if sys.platform == "win32":
    _OS_PREFIX = "Local\\"
else:
    _OS_PREFIX = "/"  # "/zq" + 28 = 31 characters: macOS's shm_open limit


# --- process-wide state (guarded by _lock; exporters only decrement counts) ----

_lock = threading.RLock()
_segments: dict = {}  # stem -> ShmSegment: every segment this process has mapped
_owned: dict = {}  # segment size -> [ShmSegment]: this process's pool


def configure(lease_s=None, pool_bytes=None, idle_maps=None):
    """Tune the pool: ``lease_s`` how long an unclaimed descriptor keeps its memory
    from reuse, ``pool_bytes`` the shared memory this process keeps in its pool
    (reusable segments beyond it are freed), ``idle_maps`` how many of other processes' segments
    stay mapped for fast reuse. Returns the settings in force."""
    new = {}
    if lease_s is not None:
        if isinstance(lease_s, bool) or not isinstance(lease_s, numbers.Real):
            raise TypeError("lease_s must be a number of seconds")
        if not 0 <= lease_s < 1e9:  # also refuses nan and inf (the lease is in ns)
            raise ValueError("lease_s must be >= 0 and finite (< 1e9 s), not %r" % (lease_s,))
        new["lease_s"] = float(lease_s)
    for name, value in (("pool_bytes", pool_bytes), ("idle_maps", idle_maps)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError("%s must be an int" % name)
            if value < 0:
                raise ValueError("%s must be >= 0" % name)
            new[name] = int(value)
    _settings.update(new)  # all or nothing
    return dict(_settings)


def _b32(value, width):
    return "".join(_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(width)))


def _unb32(text):
    value = 0
    for ch in text:
        value = value * 32 + _ALPHABET.index(ch)
    return value


def _new_stem():
    """An unguessable name that also records its creator (pid, start time), so
    cleanup() can tell a dead owner's segments without opening them."""
    key = _zmq.shm_self_key()
    return "zq" + _b32(key & 0xFFFFFFFF, 7) + _b32(key >> 32, 7) + _b32(secrets.randbits(70), 14)


def _owner_key(stem):
    return _unb32(stem[2:9]) | (_unb32(stem[9:16]) << 32)


def _host_id():
    """Identifies this machine (and boot): descriptors from elsewhere are refused."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return "boot:" + f.read().strip()
    except OSError:
        return "host:" + _socket.gethostname()[:58]


_HOST = _host_id()


def _segment_size(nbytes):
    """Header plus data rounded up to a size class (at most 1/8 slack), so
    arrays of similar sizes reuse the same segments."""
    n = max(int(nbytes), 1 << 16)
    step = 1 << max(n.bit_length() - 4, 12)
    return HEADER_SIZE + -(-n // step) * step


# --- registry of names (macOS cannot list shm_open names: keep marker files) ---


def _marker_dir():
    import tempfile

    return os.path.join(tempfile.gettempdir(), "zmqipc-shm-%d" % os.getuid())


def _register(stem):
    if sys.platform == "darwin":
        os.makedirs(_marker_dir(), mode=0o700, exist_ok=True)
        open(os.path.join(_marker_dir(), stem), "w").close()


def _listing_dir():
    return _marker_dir() if sys.platform == "darwin" else "/dev/shm"


def _list_stems():
    if sys.platform == "win32":
        return []  # the kernel frees a mapping with its last handle
    try:
        names = os.listdir(_listing_dir())
    except OSError:
        return []
    return [n for n in names if _STEM.match(n)]


# A segment without a header is one whose creator died between creating and
# writing it, unless that is happening right now (microseconds) in a process whose
# liveness we cannot see (another PID namespace): cleanup() waits this long first.
HALF_MADE_GRACE_S = 10.0


def _listed_before(stem, seconds):
    """True if the segment's listing (Linux: /dev/shm; macOS: its marker) is older
    than ``seconds``."""
    try:
        return time.time() - os.stat(os.path.join(_listing_dir(), stem)).st_mtime > seconds
    except OSError:
        return False  # gone meanwhile


def _unlink(stem):
    err = _zmq.ShmSegment.unlink(_OS_PREFIX + stem)
    if sys.platform == "darwin":
        try:
            os.unlink(os.path.join(_marker_dir(), stem))
        except OSError:
            pass
    return err


# --- allocation (the owner's pool) --------------------------------------------


def _create(size):
    while True:
        stem = _new_stem()
        _register(stem)
        try:
            seg = _zmq.ShmSegment.create(_OS_PREFIX + stem, size)
        except OSError as e:
            _unlink(stem)
            if e.errno == 17:  # EEXIST: a 70-bit collision; take another name
                continue
            raise MemoryError("cannot allocate %d bytes of shared memory: %s" % (size, e)) from None
        _segments[stem] = seg
        _owned.setdefault(size, []).append(seg)
        return seg


def _reuse(size, lease_ns, reap):
    for seg in _owned.get(size, ()):
        if seg.recycle(lease_ns, reap):
            return seg
    return None


def _pool_total():
    return sum(size * len(segs) for size, segs in _owned.items())


def _release(seg):
    """Give an owned segment up: no new claims, name removed, memory unmapped
    (other processes keep theirs until they drop it)."""
    seg.retire()
    _unlink(_stem_of(seg))
    _owned[seg.size].remove(seg)
    _segments.pop(_stem_of(seg), None)
    seg.close()


def _stem_of(seg):
    return seg.name[len(_OS_PREFIX) :]


def _trim():
    """Free reusable segments beyond pool_bytes (largest first)."""
    limit = _settings["pool_bytes"]
    for size in sorted(_owned, reverse=True):
        for seg in list(_owned[size]):
            if _pool_total() <= limit:
                return
            if seg.recycle(int(_settings["lease_s"] * 1e9)):
                _release(seg)


def _acquire(nbytes):
    """A held segment of this process's pool with room for ``nbytes``."""
    size = _segment_size(nbytes)
    lease_ns = int(_settings["lease_s"] * 1e9)
    with _lock:
        # First without process lookups (steady state: a segment is free); only
        # before growing the pool, look for holders that died.
        seg = _reuse(size, lease_ns, False) or _reuse(size, lease_ns, True)
        if seg is None:
            if _pool_total() + size > _settings["pool_bytes"]:
                _trim()
            # Unclaimed descriptors keep their memory for lease_s even past
            # pool_bytes: growing is safe, reusing early would fail their receivers.
            seg = _create(size)
        seg.hold()
        return seg


def _array_on(seg, nbytes, shape, dtype, order):
    return np.ndarray(shape, dtype=dtype, buffer=seg.export(HEADER_SIZE, nbytes), order=order)


def empty(shape, dtype=float, order="C"):
    """A new ndarray in shared memory (contents undefined), like numpy.empty.
    Sending it with send_array over ipc/inproc sends only a descriptor."""
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise TypeError(
            "arrays of dtype %s hold Python objects and cannot live in shared memory" % dtype
        )
    shape = _shape_of(shape)
    if order not in ("C", "F"):
        raise ValueError("order must be 'C' or 'F'")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes >= 1 << 62:
        raise ValueError("array of shape %s and dtype %s is too large" % (shape, dtype))
    seg = _acquire(nbytes)
    try:
        return _array_on(seg, nbytes, shape, dtype, order)
    finally:
        seg.drop_hold()  # no-op when the array holds it; undoes hold() on error


def _shape_of(shape):
    """A tuple of non-negative ints, from an int-like or a sequence of them (as numpy)."""
    try:
        dims = (operator.index(shape),)
    except TypeError:
        dims = tuple(operator.index(d) for d in shape)
    if any(d < 0 for d in dims):
        raise ValueError("negative dimensions are not allowed: %s" % (dims,))
    return dims


def zeros(shape, dtype=float, order="C"):
    """A new zero-filled ndarray in shared memory."""
    array = empty(shape, dtype, order)
    # Reused segments hold old data. numpy's own zero of the dtype, not the int 0:
    # that would store b"0" in a string field, and fails for void.
    np.copyto(array, np.zeros((), array.dtype))
    return array


def empty_like(prototype, dtype=None, order="K", subok=True, shape=None):
    """A shared-memory ndarray with the shape and dtype of ``prototype`` (numpy's
    signature; ``subok`` is accepted, the result is always a plain ndarray)."""
    prototype = np.asarray(prototype)
    dtype = prototype.dtype if dtype is None else dtype
    shape = prototype.shape if shape is None else shape
    if order == "K" or order == "A":
        order = (
            "F"
            if prototype.ndim > 1
            and prototype.flags.f_contiguous
            and not prototype.flags.c_contiguous
            else "C"
        )
    return empty(shape, dtype, order)


def _buffer_of(array):
    """The ShmBuffer under ``array``, following numpy bases and memoryviews."""
    return _zmq.shm_buffer_of(array, np.ndarray)


def is_shm(array):
    """True if ``array`` views zmqipc shared memory."""
    return isinstance(array, np.ndarray) and _buffer_of(array) is not None


def segments():
    """Names of the segments this process has mapped (for diagnostics)."""
    with _lock:
        return sorted(_segments)


# --- the descriptor ------------------------------------------------------------


def describe(array, buf=None):
    """Mark ``array`` (contiguous, in shared memory) as sent once and return
    (segment, generation, descriptor JSON bytes), or None if it is not in shared memory.
    ``buf``: the array's shared-memory buffer when the caller has looked it up."""
    if buf is None:
        buf = _buffer_of(array)
    offset = -1 if buf is None or array.nbytes == 0 else buf.offset_of(array)
    if offset < 0:
        return None
    seg = buf.segment
    start = _descriptor_starts.get(seg.name) or _descriptor_start(seg)
    gen = seg.mark_sent()
    return seg, gen, b'%s%d,"gen":%d}' % (start, offset, gen)


def remember_bounded(cache, key, value):
    """Store ``value`` in ``cache`` (a dict of at most 256 entries, emptied when
    full) and return it."""
    if len(cache) >= 256:
        cache.clear()
    cache[key] = value
    return value


def _descriptor_start(seg):
    """The descriptor's JSON up to the offset, formatted directly (every field is a
    name, a number or this host's id: json.dumps would cost more than the rest of the
    hand-off). ``HEADER_MEMBER + descriptor + b"}"`` ends the array header; the
    receiver's fast path (split_header) matches exactly this form."""
    start = b'{"v":%d,"name":"%s","host":%s,"offset":' % (
        DESCRIPTOR_VERSION,
        _stem_of(seg).encode("ascii"),
        _HOST_JSON,
    )
    return remember_bounded(_descriptor_starts, seg.name, start)


_descriptor_starts: dict = {}  # segment name -> its descriptor's start (bounded)


HEADER_MEMBER = b',"shm":'  # how zmqipc.arrays.array_header joins the descriptor
_HOST_JSON = json.dumps(_HOST).encode("ascii")
_FAST_START = HEADER_MEMBER + b'{"v":%d,"name":"' % DESCRIPTOR_VERSION
_FAST_TAIL = re.compile(
    re.escape(_FAST_START)
    + rb'(zq[a-z2-7]{28})","host":'
    + re.escape(_HOST_JSON)
    + rb',"offset":(0|[1-9][0-9]{0,18}),"gen":(0|[1-9][0-9]{0,18})\}\}\Z'
)


def split_header(text):
    """The receiver's fast path: if the array header ``text`` (bytes) ends with a
    descriptor written exactly as describe() writes it on this host, with fields in
    range, return (prefix, (stem, host, offset, gen)), prefix being the header before
    the descriptor; else None (then parse the JSON). Cheap: no JSON parse. Sound:
    whatever precedes such a tail, the text is valid JSON exactly when the prefix
    closed by "}" is, and it then has the prefix's members plus this descriptor, so a
    prefix that once passed the full parse (arrays._parse_header caches it) needs no
    second one."""
    at = text.rfind(_FAST_START)
    match = _FAST_TAIL.match(text, at) if at >= 0 else None
    if match is None:
        return None
    offset, gen = int(match[2]), int(match[3])
    if not (HEADER_SIZE <= offset < 1 << 62 and gen < MAX_GENERATION):
        return None  # the full parse names the bad field
    return text[:at], (match[1].decode("ascii"), _HOST, offset, gen)


def unsend(seg, gen):
    """Undo describe() for a descriptor that was not sent after all."""
    seg.accept(gen)


def copy_to_shm(array, order):
    """One copy of ``array`` into a pooled segment: returns the shared ndarray."""
    out = empty(array.shape, array.dtype, order)
    np.copyto(out, array, casting="no")
    return out


def parse_descriptor(desc):
    """Validate a descriptor received from a peer (untrusted): return
    (stem, host, offset, gen) or raise ValueError."""
    if not isinstance(desc, dict) or set(desc) != {"v", "name", "host", "offset", "gen"}:
        raise ValueError("malformed shared-memory descriptor: %.200r" % (desc,))
    version, stem, host, offset, gen = (
        desc["v"],
        desc["name"],
        desc["host"],
        desc["offset"],
        desc["gen"],
    )
    if type(version) is not int or version != DESCRIPTOR_VERSION:
        raise ValueError("unsupported shared-memory descriptor version %.50r" % (version,))
    if type(stem) is not str or not _STEM.match(stem):
        raise ValueError("malformed shared-memory descriptor: bad segment name %.80r" % (stem,))
    if type(host) is not str or len(host) > 64:
        raise ValueError("malformed shared-memory descriptor: bad host %.80r" % (host,))
    if type(offset) is not int or not HEADER_SIZE <= offset < 1 << 62:
        raise ValueError("malformed shared-memory descriptor: bad offset %.50r" % (offset,))
    if type(gen) is not int or not 0 <= gen < MAX_GENERATION:
        raise ValueError("malformed shared-memory descriptor: bad generation %.50r" % (gen,))
    return stem, host, offset, gen


_OPEN_ERRORS = {
    2: "does not exist (its sender exited and it was cleaned up, or the sender is on "
    "another machine: send without shm over tcp)",
    13: "cannot be opened: permission denied (another user's segment?)",
    _zmq.SHM_EFOREIGN: "is not owned by this user with mode 0600; refusing to map it",
    _zmq.SHM_EFORMAT: "is not a zmqipc shared-memory segment (bad size or header)",
}


def _open_segment(stem):
    seg, err = _zmq.ShmSegment.open(_OS_PREFIX + stem)
    if seg is None:
        raise ValueError(
            "shared-memory segment %s %s"
            % (stem, _OPEN_ERRORS.get(err) or "cannot be mapped: %s" % os.strerror(err))
        )
    _segments[stem] = seg
    return seg


def attach(fields, nbytes, shape, dtype, order):
    """The receiving side: an ndarray on the memory a descriptor names. ``fields``:
    (stem, host, offset, gen) from parse_descriptor or split_header. Segments seen
    before are mapped already (up to idle_maps of them stay mapped while unused); a
    mapping is used only while its owner has not given the segment up, and every
    descriptor is checked against it (range, generation) as on a first open."""
    stem, host, offset, gen = fields
    if host != _HOST:
        raise ValueError(
            "the array is in shared memory on another machine (%s); send it "
            "without shm to reach a remote peer" % host
        )
    with _lock:
        seg = _segments.get(stem)
        if seg is None or seg.retired:
            _sweep_idle_maps()  # unmaps a retired one unless views on it remain
            if seg is not None:
                raise ValueError(
                    "shared-memory segment %s was removed (its owner gave it up, or "
                    "cleanup() collected it after its lease)" % stem
                )
            seg = _open_segment(stem)
        buf = seg.claim(offset, nbytes, gen)
    if buf is None:  # nothing to view (zero-size items): nothing held
        return np.empty(shape, dtype=dtype, order=order)
    return np.ndarray(shape, dtype=dtype, buffer=buf, order=order)


def _sweep_idle_maps():
    """Unmap other processes' segments nobody here uses, beyond idle_maps or
    once their owner gave them up."""
    idle = [(stem, seg) for stem, seg in _segments.items() if not seg.owned and seg.exports == 0]
    excess = len(idle) - _settings["idle_maps"]
    for stem, seg in idle:
        if excess > 0 or seg.retired:
            excess -= 1
            _segments.pop(stem)
            seg.close()


# --- cleanup -------------------------------------------------------------------


def _foreign(seg):
    """Created in another PID namespace (a container sharing /dev/shm, not our PIDs):
    its owner's and holders' keys mean nothing here, so they may well be alive."""
    return seg.pid_ns != 0 and seg.pid_ns != _zmq.shm_pid_namespace()


def _collectable(seg, grace_ns, exiting=False):
    """A segment whose owner is gone (or is this exiting process), that no live
    process holds and whose descriptors were claimed or are older than grace."""
    own = 1 if seg.holding else 0
    if seg.live_holders() - own > 0 or (own and not exiting):
        return False
    if seg.pending and time.time_ns() - seg.last_send_ns < grace_ns:
        return False
    return True


def cleanup(grace_s=None, *, pids=None):
    """Remove segments left by processes that exited or died: any segment of this
    user whose creator is no longer running, that no live process holds and whose
    unclaimed descriptors were sent more than ``grace_s`` ago (default: lease_s, so
    an array sent by a process that has exited stays receivable for its lease).
    ``grace_s=0`` drops unclaimed arrays at once: only when no receiver still
    needs them. ``pids``: only segments created by these process ids.
    Returns the names removed. Runs automatically, with the defaults, when
    zmqipc.shm is imported."""
    removed = []
    grace_ns = int((_settings["lease_s"] if grace_s is None else grace_s) * 1e9)
    if grace_ns < 0:
        raise ValueError("grace_s must be >= 0")
    pids = None if pids is None else {int(pid) for pid in pids}
    with _lock:
        for stem in _list_stems():
            if pids is not None and _owner_key(stem) & 0xFFFFFFFF not in pids:
                continue
            seg = _segments.get(stem)
            if (seg is not None and seg.owned) or _zmq.shm_key_alive(_owner_key(stem)):
                continue
            opened = seg is None
            if opened:
                seg, err = _zmq.ShmSegment.open(_OS_PREFIX + stem)
                if seg is None:
                    # A segment killed while being created has no header yet: its owner
                    # is dead, so the name is garbage. Others' or vanished: leave them.
                    if (
                        err == _zmq.SHM_EFORMAT
                        and _listed_before(stem, HALF_MADE_GRACE_S)
                        and _unlink(stem) == 0
                    ):
                        removed.append(stem)
                    elif err == 2 and sys.platform == "darwin":
                        _unlink(stem)  # a marker without its segment
                    continue
            try:
                if not _foreign(seg) and _collectable(seg, grace_ns):
                    seg.retire()
                    if _unlink(stem) == 0:
                        removed.append(stem)
            finally:
                if opened:
                    seg.close()
                elif seg.exports == 0 and seg.retired:
                    _segments.pop(stem, None)
                    seg.close()
        _sweep_idle_maps()  # also segments other processes removed meanwhile
    return removed


@atexit.register
def _at_exit():
    """Remove this process's segments nobody else needs; leave the others (a
    receiver may still claim a descriptor, or hold a view) to cleanup()."""
    grace_ns = int(_settings["lease_s"] * 1e9)
    with _lock:
        for stem, seg in list(_segments.items()):
            if (seg.owned or not _zmq.shm_key_alive(seg.owner)) and _collectable(
                seg, grace_ns, exiting=True
            ):
                seg.retire()
                _unlink(stem)


# --- fork -----------------------------------------------------------------------


def _before_fork():
    _lock.acquire()
    for seg in _segments.values():
        seg.fork_prepare()


def _after_fork_parent():
    for seg in _segments.values():
        seg.fork_parent()
    _lock.release()


def _after_fork_child():
    """The child keeps the views it inherited (on slots taken for it before the
    fork) but owns nothing: the parent's pool stays the parent's."""
    global _lock
    _lock = threading.RLock()
    parent_key = _parent_key
    for stem, seg in list(_segments.items()):
        seg.fork_child(parent_key)
        if seg.exports == 0:
            del _segments[stem]
            seg.close()
    _owned.clear()


_parent_key = _zmq.shm_self_key()


def _remember_key():
    global _parent_key
    _parent_key = _zmq.shm_self_key()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork_parent, after_in_child=_after_fork_child
    )
    os.register_at_fork(after_in_child=_remember_key)  # runs after _after_fork_child

try:
    cleanup()
except Exception:  # noqa: BLE001 - never fail an import over housekeeping
    pass
