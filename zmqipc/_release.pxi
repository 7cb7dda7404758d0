# Included by _zmq.pyx: zero-copy sends. Leases keep a sent buffer's exporter
# alive until libzmq's release callback queues it (csrc/release_queue.c); the
# queue is drained under the GIL; trackers count what libzmq still holds.

# Below this many bytes copy=False copies anyway. Zero-copy costs a lease object
# and a release per message; measured over ipc (README) it matches copying at
# about 3 KiB and wins from 4 KiB up (pyzmq uses 64 KiB: its release path costs
# a helper-thread round trip).
COPY_THRESHOLD = 4096


cdef class MessageTracker:
    """Tells when libzmq has released the buffers of zero-copy sends.

    ``done`` is True (and the buffers may be modified or freed) once every
    tracked message has been sent or discarded by libzmq.
    """

    def __init__(self, *towatch):
        self.pending = 0
        self._peers = [t for t in towatch if isinstance(t, MessageTracker)]
        for t in towatch:
            if not isinstance(t, (MessageTracker, Frame)):
                raise TypeError("MessageTracker can watch trackers and frames, not %r" % (t,))
            if isinstance(t, Frame) and (<Frame>t).tracker is not None:
                self._peers.append((<Frame>t).tracker)

    @property
    def done(self):
        """True once libzmq no longer holds any of the tracked buffers."""
        drain_releases()
        if self.pending > 0:
            return False
        return all(peer.done for peer in self._peers)

    def wait(self, timeout=-1):
        """Block until ``done``; raise NotDone if ``timeout`` seconds (float) pass first.
        A negative timeout waits forever. Sleeps until libzmq releases a buffer
        (a ReleaseWatcher), with the GIL released; if all 64 watchers are taken (as
        many threads waiting at once), it checks every millisecond instead."""
        if self.done:
            return
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        try:
            watcher = release_watcher()
        except RuntimeError:   # the pool is exhausted
            watcher = None
        try:
            while True:
                if watcher is not None:
                    watcher.arm()
                if self.done:
                    return
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise _error.NotDone()
                if watcher is None:
                    time.sleep(0.001 if remaining is None else min(remaining, 0.001))
                else:
                    select.select([watcher], [], [], remaining)
        finally:
            if watcher is not None:
                watcher.close()

    def __repr__(self):
        return "<MessageTracker pending=%d>" % self.pending


# Addresses of read-only buffers (bytes, read-only arrays) libzmq currently holds,
# with counts. Over inproc a zero-copy message arrives as the sender's own memory;
# a Frame received at such an address must not be writable.
cdef dict _readonly_leased = {}


cdef class _BufferLease:
    """One zero-copy message's hold on its exporter (see _zmq.pxd)."""

    def __dealloc__(self):
        cdef size_t address
        if self.guards_readonly and _readonly_leased is not None:
            address = <size_t>self.view.buf
            if _readonly_leased[address] == 1:
                del _readonly_leased[address]
            else:
                _readonly_leased[address] -= 1
        if self.has_view:
            PyBuffer_Release(&self.view)


cdef int lease_buffer(zmq_msg_t *msg, Py_buffer *view, MessageTracker tracker) except -1:
    """Point ``msg`` at the exported ``view`` without copying. The view, and with it
    the exporter, moves into a lease that libzmq holds until its release callback;
    from here on the caller must not release ``view`` itself."""
    cdef _BufferLease lease
    try:
        lease = _BufferLease.__new__(_BufferLease)
    except BaseException:
        PyBuffer_Release(view)
        raise
    lease.view = view[0]
    lease.has_view = True   # the lease releases the view when it goes
    lease.node.owner = <void *>lease
    check_rc(zmq_msg_init_data(msg, lease.view.buf, <size_t>lease.view.len,
                               zmqipc_release_cb, &lease.node))
    Py_INCREF(lease)        # owned by libzmq until zmqipc_release_cb queues the node
    if lease.view.readonly:
        address = <size_t>lease.view.buf
        _readonly_leased[address] = _readonly_leased.get(address, 0) + 1
        lease.guards_readonly = True
    if tracker is not None:
        lease.tracker = tracker
        tracker.pending += 1
    return 0


cdef void drain_releases() noexcept:
    """Drop the references libzmq has given back. Must hold the GIL."""
    cdef zmqipc_release_node *node = zmqipc_release_take_all()
    cdef zmqipc_release_node *following
    cdef _BufferLease lease
    while node != NULL:
        following = node.next
        lease = <_BufferLease>node.owner
        if lease.tracker is not None:
            lease.tracker.pending -= 1
            lease.tracker = None
        Py_DECREF(lease)    # the reference handed to libzmq
        lease = None        # may free the lease (and the node inside it)
        node = following


def release_pending():
    """Drop now every zero-copy buffer libzmq has already given back (for tests
    and explicit clean-up; sends, receives and trackers do this themselves)."""
    drain_releases()


# --- the scheduled drain ------------------------------------------------------------------

cdef int _pending_drain(void *arg) noexcept:
    zmqipc_release_drain_started()   # releases from here on schedule again
    drain_releases()
    return 0


cdef int _failing_schedules = 0   # test hook: see _fail_next_drain_schedules


cdef int _schedule_drain() noexcept nogil:
    # Runs on libzmq's thread: no GIL. The interpreter runs the drain soon on the
    # main thread, so memory comes back even if the program stops calling us.
    # Fails (-1) when the interpreter's pending-call queue is full.
    global _failing_schedules
    if _failing_schedules > 0:
        _failing_schedules -= 1
        return -1
    return Py_AddPendingCall(_pending_drain, NULL)


zmqipc_release_set_scheduler(_schedule_drain)


def _fail_next_drain_schedules(int count):
    """For tests only: the next ``count`` drain requests fail as if the
    interpreter's pending-call queue were full."""
    global _failing_schedules
    _failing_schedules = count


def _stop_scheduling():
    # At interpreter exit, stop scheduling pending calls from libzmq threads.
    zmqipc_release_set_scheduler(NULL)


atexit.register(_stop_scheduling)


# --- waking listeners ----------------------------------------------------------------------

cdef list _idle_watchers = []


cdef class ReleaseWatcher:
    """A socket that becomes readable when libzmq gives zero-copy buffers back.

    Any number of watchers may wait at once (threads with select/poll, event loops
    with add_reader). Use it without losing a wake-up:

        watcher.arm()              # 1. the next release will wake this watcher
        if condition():            # 2. check (tracker.done drains the queue first)
            ...
        else: wait until watcher.fileno() is readable, then go back to 1.

    Get one from release_watcher(); close() gives it back to the pool (its socket
    stays open for the life of the process, as libzmq's threads may write to it).
    """
    cdef object _reader
    cdef int _slot
    cdef bint _in_use
    cdef int _fork_gen   # a watcher made before fork() is the parent's: never pooled here

    def fileno(self):
        """The socket to wait on for readability."""
        return self._reader.fileno()

    def arm(self):
        """Forget earlier wake-ups and wake on the next release."""
        try:
            while self._reader.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        if self._fork_gen == _fork_generation:   # (a parent's slot may be another's now)
            zmqipc_release_arm(self._slot)

    def close(self):
        """Give the watcher back to the pool."""
        if self._in_use:
            self._in_use = False
            if self._fork_gen == _fork_generation:
                _idle_watchers.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _forget_release_watchers():
    """After fork(), in the child: the pooled watchers' sockets are shared with the
    parent (each side would drain the other's wake-ups), and a child that closes its
    inherited descriptors may reuse their numbers for its own files, which a release
    would then write to. The child starts with no watchers."""
    _idle_watchers.clear()
    zmqipc_release_forget_watchers()


def release_watcher():
    """A ReleaseWatcher (see there) from a pool of at most 64."""
    cdef ReleaseWatcher watcher
    if _idle_watchers:
        watcher = _idle_watchers.pop()
    else:
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        watcher = ReleaseWatcher.__new__(ReleaseWatcher)
        watcher._slot = zmqipc_release_watch(writer.fileno())
        if watcher._slot < 0:
            raise RuntimeError("more than 64 release watchers in use")
        writer.detach()          # libzmq's threads own this end from now on
        Py_INCREF(reader)        # and may write to it until the process ends
        watcher._reader = reader
        watcher._fork_gen = _fork_generation
    watcher._in_use = True
    return watcher
