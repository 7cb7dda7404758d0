"""Blocking calls release the GIL, and signals reach Python while they block:
Ctrl-C (SIGINT) raises KeyboardInterrupt promptly; a handler that returns makes the
call resume transparently.

Synchronisation is by events and by watching the main thread's stack, never by
timing: a helper thread waits until the main thread is inside the blocking call
(``_blocking_call`` on its stack and the GIL released) before it acts. Hangs are
caught by pytest-timeout.
"""

import os
import signal
import sys
import threading
import time

import pytest

import zmqipc as zmq
from conftest import connected_pair, guard, run_python
from zmqipc import _zmq

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="POSIX signals"),
]

MAIN = threading.main_thread()


def _blocking_call(fn, *args, **kwargs):
    """Marker frame: the main thread is (about to be) blocked in ``fn``."""
    return fn(*args, **kwargs)


def _main_is_blocked():
    frame = sys._current_frames().get(MAIN.ident)
    while frame is not None:
        if frame.f_code is _blocking_call.__code__:
            return True
        frame = frame.f_back
    return False


# poll/select-family syscalls libzmq blocks in (per architecture)
_WAIT_SYSCALLS = {"x86_64": {7, 23, 232, 270, 271, 281}, "aarch64": {22, 72, 73}}


def _main_sleeps_in_poll():
    """True if the main thread sleeps in a poll-like syscall (Linux /proc), False
    if it does not, None if this cannot be told here."""
    import platform

    task = "/proc/self/task/%d/" % MAIN.native_id
    try:
        with open(task + "stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        if state not in ("S", "D"):
            return False
        wait_syscalls = _WAIT_SYSCALLS.get(platform.machine())
        if wait_syscalls is None:
            return True
        with open(task + "syscall") as f:
            first = f.read().split()[0]
        # sleeping in futex (waiting for the GIL) is not "blocked in libzmq"
        return first.isdigit() and int(first) in wait_syscalls
    except (OSError, AttributeError, IndexError):
        return None


def wait_until_main_blocked():
    """Return once the main thread sleeps inside ``_blocking_call``'s libzmq call.

    A signal that lands after the GIL is released but before libzmq enters its
    blocking poll() is only seen when that call returns (inherent to signals and
    blocking syscalls, pyzmq included), so wait until the thread really sleeps."""
    while True:
        # We can only look at the main thread's stack when we hold the GIL, i.e.
        # while the main thread has released it (inside the blocking libzmq call).
        if _main_is_blocked():
            blocked = _main_sleeps_in_poll()
            if blocked is None:  # no /proc: give the call time to block
                time.sleep(0.05)
                return
            if blocked:
                return
        time.sleep(0.001)


def in_thread(fn, *args):
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


@pytest.fixture
def sigint_default():
    """Make sure SIGINT raises KeyboardInterrupt (Python's default handler)."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


@pytest.fixture
def sigusr1_flag():
    """A SIGUSR1 handler that records the signal and returns normally."""
    received = threading.Event()
    old = signal.signal(signal.SIGUSR1, lambda signum, frame: received.set())
    yield received
    signal.signal(signal.SIGUSR1, old)


def ctrl_c_when_blocked(use_os_kill=False):
    def run():
        wait_until_main_blocked()
        if use_os_kill:
            os.kill(os.getpid(), signal.SIGINT)
        else:
            signal.pthread_kill(MAIN.ident, signal.SIGINT)

    return in_thread(run)


# --- GIL ------------------------------------------------------------------------------------


class Counter:
    """Counts in a Python thread; ``reached`` is set after ``target`` increments
    counted from ``start()`` -- only possible if the main thread let go of the GIL."""

    def __init__(self, target=200_000):
        self.target = target
        self.reached = threading.Event()
        self.go = threading.Event()
        self.stop = False
        self.count = 0
        self.thread = in_thread(self._run)

    def _run(self):
        self.go.wait()
        while not self.stop:
            self.count += 1
            if self.count == self.target:
                self.reached.set()

    def start(self):
        self.go.set()

    def join(self):
        self.stop = True
        self.go.set()
        self.thread.join()


def test_recv_releases_gil(pair):
    """The sender only sends once the counter advanced while main is in recv; if
    recv held the GIL, neither could run and the test would time out."""
    a, b = pair
    b.rcvtimeo = -1
    counter = Counter()

    def sender():
        wait_until_main_blocked()
        counter.start()
        counter.reached.wait()
        a.send(b"after counting")

    t = in_thread(sender)
    assert _blocking_call(b.recv) == b"after counting"
    assert counter.count >= counter.target
    counter.join()
    t.join()


def test_recv_with_rcvtimeo_releases_gil(pair):
    a, b = pair
    counter = Counter(target=1)
    b.rcvtimeo = 500

    def watcher():
        wait_until_main_blocked()
        counter.start()

    t = in_thread(watcher)
    start = counter.count
    with pytest.raises(zmq.Again):
        _blocking_call(b.recv)
    # the other thread ran while recv waited for its timeout
    counter.reached.wait()
    assert counter.count > start
    counter.join()
    t.join()


def test_poll_releases_gil(pair):
    a, b = pair
    counter = Counter()
    poller = zmq.Poller()
    poller.register(b, zmq.POLLIN)

    def sender():
        wait_until_main_blocked()
        counter.start()
        counter.reached.wait()
        a.send(b"x")

    t = in_thread(sender)
    assert _blocking_call(poller.poll) == [(b, zmq.POLLIN)]
    counter.join()
    t.join()


def test_blocked_send_releases_gil(ctx, ipc_endpoint):
    push = ctx.socket(zmq.PUSH)
    guard(push)
    push.sndtimeo = -1
    push.sndhwm = 1
    push.connect(ipc_endpoint)  # no peer yet: the pipe exists but nobody reads
    with pytest.raises(zmq.Again):
        while True:
            push.send(b"fill", zmq.NOBLOCK)
    counter = Counter()

    def reader():
        wait_until_main_blocked()
        counter.start()
        counter.reached.wait()
        pull = ctx.socket(zmq.PULL)
        guard(pull)
        pull.bind(ipc_endpoint)
        while pull.recv() != b"last":
            pass
        pull.close()

    t = in_thread(reader)
    _blocking_call(push.send, b"last")  # blocks until the reader binds
    t.join()
    assert counter.count >= counter.target
    counter.join()


def test_send_large_copy_releases_gil(pair):
    """A plain (copying) large send lets other threads run while libzmq copies.

    With a huge switch interval the interpreter never takes the GIL from the main
    thread, so the counting thread (which gives the GIL back after each step)
    advances only when the main thread gives the GIL up itself: here, only inside
    send(). A send that held the GIL would leave the count unchanged every time."""
    a, b = pair
    data = bytes(8 * 1024 * 1024)
    count = [0]
    stop = threading.Event()

    def count_steps():
        while not stop.is_set():
            count[0] += 1
            time.sleep(0)  # hand the GIL back at once

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    t = in_thread(count_steps)
    try:
        advanced = False
        for _ in range(20):  # each send gives the counter one chance
            before = count[0]
            a.send(data)
            advanced = count[0] > before
            assert b.recv() == data
            if advanced:
                break
    finally:
        stop.set()
        sys.setswitchinterval(old_interval)
        t.join()
    assert advanced


# --- Ctrl-C ---------------------------------------------------------------------------------


def test_sigint_interrupts_blocking_recv(pair, sigint_default):
    a, b = pair
    b.rcvtimeo = -1
    t = ctrl_c_when_blocked()
    with pytest.raises(KeyboardInterrupt):
        _blocking_call(b.recv)
    t.join()
    # the socket is still perfectly usable afterwards
    a.send(b"after ctrl-c")
    assert b.recv() == b"after ctrl-c"


def test_sigint_via_os_kill_interrupts_recv(pair, sigint_default):
    """os.kill(os.getpid(), SIGINT) from another thread: what Ctrl-C in a terminal does."""
    a, b = pair
    b.rcvtimeo = -1
    t = ctrl_c_when_blocked(use_os_kill=True)
    with pytest.raises(KeyboardInterrupt):
        _blocking_call(b.recv_multipart)
    t.join()


def test_sigint_via_timer_interrupts_recv(pair, sigint_default):
    """The usual pattern: threading.Timer calling os.kill(os.getpid(), SIGINT)."""
    _, b = pair
    b.rcvtimeo = -1
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        _blocking_call(b.recv, copy=False)
    timer.join()


def test_sigint_interrupts_poller_poll(pair, sigint_default):
    _, b = pair
    poller = zmq.Poller()
    poller.register(b, zmq.POLLIN)
    t = ctrl_c_when_blocked()
    with pytest.raises(KeyboardInterrupt):
        _blocking_call(poller.poll)
    t.join()


def test_sigint_interrupts_poll_with_timeout(pair, sigint_default):
    _, b = pair
    t = ctrl_c_when_blocked()
    with pytest.raises(KeyboardInterrupt):
        _blocking_call(b.poll, 60_000)
    t.join()


def test_sigint_interrupts_select(pair, sigint_default):
    _, b = pair
    t = ctrl_c_when_blocked()
    with pytest.raises(KeyboardInterrupt):
        _blocking_call(zmq.select, [b], [], [])
    t.join()


def test_sigint_interrupts_send_blocked_by_hwm(ctx, ipc_endpoint, sigint_default):
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.sndhwm = 1
    push.connect(ipc_endpoint)  # nobody there
    with pytest.raises(zmq.Again):
        while True:
            push.send(b"fill", zmq.NOBLOCK)
    t = ctrl_c_when_blocked()
    with pytest.raises(KeyboardInterrupt):
        _blocking_call(push.send, b"blocked")
    t.join()
    with pytest.raises(zmq.Again):  # still full, still usable
        push.send(b"x", zmq.NOBLOCK)


def test_sigint_interrupts_send_no_peer(ctx, sigint_default):
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    t = ctrl_c_when_blocked()
    with pytest.raises(KeyboardInterrupt):
        _blocking_call(push.send_multipart, [b"a", b"b"])
    t.join()


def test_sigint_interrupts_proxy(ctx, inproc_endpoint, sigint_default):
    frontend = ctx.socket(zmq.PULL)
    backend = ctx.socket(zmq.PUSH)
    frontend.bind(inproc_endpoint + "-fe")
    backend.bind(inproc_endpoint + "-be")
    t = ctrl_c_when_blocked()
    with pytest.raises(KeyboardInterrupt):
        _blocking_call(zmq.proxy, frontend, backend)
    t.join()


def test_sigint_interrupts_term_then_term_again(inproc_endpoint, sigint_default):
    """Ctrl-C while term() waits for an unclosed socket; the program can then
    close the socket and term again."""
    c = zmq.Context()
    s = c.socket(zmq.PUSH)
    s.connect(inproc_endpoint)
    t = ctrl_c_when_blocked()
    with pytest.raises(KeyboardInterrupt):
        _blocking_call(c.term)
    t.join()
    s.close(linger=0)
    c.term()
    assert c.closed


# --- handlers that return: the call resumes -----------------------------------------------------


def test_returning_handler_recv_resumes(pair, sigusr1_flag):
    a, b = pair
    b.rcvtimeo = -1

    def run():
        wait_until_main_blocked()
        signal.pthread_kill(MAIN.ident, signal.SIGUSR1)
        sigusr1_flag.wait()  # the handler ran (in the main thread)
        a.send(b"delivered after the signal")

    t = in_thread(run)
    assert _blocking_call(b.recv) == b"delivered after the signal"
    assert sigusr1_flag.is_set()
    t.join()


def test_returning_handler_many_signals(pair, sigusr1_flag):
    a, b = pair
    b.rcvtimeo = -1

    def run():
        for _ in range(5):
            wait_until_main_blocked()
            sigusr1_flag.clear()
            signal.pthread_kill(MAIN.ident, signal.SIGUSR1)
            sigusr1_flag.wait()
        a.send(b"survived five signals")

    t = in_thread(run)
    assert _blocking_call(b.recv) == b"survived five signals"
    t.join()


def test_returning_handler_poll_resumes(pair, sigusr1_flag):
    a, b = pair
    poller = zmq.Poller()
    poller.register(b, zmq.POLLIN)

    def run():
        wait_until_main_blocked()
        signal.pthread_kill(MAIN.ident, signal.SIGUSR1)
        sigusr1_flag.wait()
        a.send(b"x")

    t = in_thread(run)
    # with a timeout the poll restarts for the time left; it must not return early
    assert _blocking_call(poller.poll, 60_000) == [(b, zmq.POLLIN)]
    t.join()


def test_returning_handler_send_resumes(ctx, ipc_endpoint, sigusr1_flag):
    push = ctx.socket(zmq.PUSH)
    guard(push)
    push.sndtimeo = -1
    push.sndhwm = 1
    push.connect(ipc_endpoint)
    with pytest.raises(zmq.Again):
        while True:
            push.send(b"fill", zmq.NOBLOCK)
    got = []

    def run():
        wait_until_main_blocked()
        signal.pthread_kill(MAIN.ident, signal.SIGUSR1)
        sigusr1_flag.wait()
        pull = ctx.socket(zmq.PULL)
        guard(pull)
        pull.bind(ipc_endpoint)
        while True:
            msg = pull.recv()
            got.append(msg)
            if msg == b"last":
                break
        pull.close()

    t = in_thread(run)
    _blocking_call(push.send, b"last")
    t.join()
    assert got[-1] == b"last"


def test_handler_raising_custom_exception_propagates(pair):
    class Stop(Exception):
        pass

    def handler(signum, frame):
        raise Stop()

    old = signal.signal(signal.SIGUSR1, handler)
    try:
        _, b = pair
        b.rcvtimeo = -1

        def run():
            wait_until_main_blocked()
            signal.pthread_kill(MAIN.ident, signal.SIGUSR1)

        t = in_thread(run)
        with pytest.raises(Stop):
            _blocking_call(b.recv)
        t.join()
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_connected_pair_helper(ctx, ipc_endpoint):
    s, c = connected_pair(ctx, ipc_endpoint)
    c.send(b"x")
    assert s.recv() == b"x"


# --- sliced waits: Windows' Ctrl-C path, forced here --------------------------------------
#
# Windows has no EINTR: its Ctrl-C handler runs on another thread and the blocked
# call is not interrupted. Sliced mode (the default there) waits in slices and
# checks for signals between them. Here the signal goes to a helper thread, so
# the main thread's wait is not interrupted either: only the checks between
# slices can notice it, as on Windows.


@pytest.fixture
def sliced():
    before = _zmq.sliced_wait()
    _zmq._set_sliced_wait(True)
    yield
    _zmq._set_sliced_wait(before)


def signal_elsewhere_when_blocked(signum=signal.SIGINT, then=None):
    """Once the main thread sleeps in its call, deliver ``signum`` to this helper
    thread (as Windows delivers Ctrl-C), then run ``then``."""

    def run():
        wait_until_main_blocked()
        signal.pthread_kill(threading.get_ident(), signum)
        if then is not None:
            then()

    return in_thread(run)


def test_sliced_wait_switch(sliced):
    assert _zmq.sliced_wait()
    assert 0 < zmq._zmq.WAIT_SLICE_MS <= 100


def test_sliced_recv_raises_keyboard_interrupt_and_loses_nothing(pair, sliced, sigint_default):
    a, b = pair
    b.rcvtimeo = -1
    t = signal_elsewhere_when_blocked()
    with pytest.raises(KeyboardInterrupt):
        _blocking_call(b.recv)
    t.join()
    a.send(b"after ctrl-c")
    assert b.recv() == b"after ctrl-c"


@pytest.mark.parametrize("call", ["recv_frame", "recv_multipart", "recv_into"])
def test_sliced_recv_variants_interrupted(pair, sliced, sigint_default, call):
    a, b = pair
    b.rcvtimeo = -1
    fn = {
        "recv_frame": lambda: b.recv(copy=False),
        "recv_multipart": b.recv_multipart,
        "recv_into": lambda: b.recv_into(bytearray(10)),
    }[call]
    t = signal_elsewhere_when_blocked()
    with pytest.raises(KeyboardInterrupt):
        _blocking_call(fn)
    t.join()
    a.send_multipart([b"one", b"two"])
    assert b.recv_multipart() == [b"one", b"two"]


def test_sliced_send_at_hwm_interrupted_sends_nothing(ctx, ipc_endpoint, sliced, sigint_default):
    """Blocked at the high-water mark, Ctrl-C leaves the queue as it was: every
    earlier message arrives, in order, and the interrupted one does not."""
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.sndhwm = 1
    push.connect(ipc_endpoint)  # nobody there yet: messages queue
    sent = []
    with pytest.raises(zmq.Again):
        while True:
            push.send(b"fill-%d" % len(sent), zmq.NOBLOCK)
            sent.append(b"fill-%d" % len(sent))
    t = signal_elsewhere_when_blocked()
    with pytest.raises(KeyboardInterrupt):
        _blocking_call(push.send, b"interrupted", copy=False)
    t.join()
    pull = ctx.socket(zmq.PULL)
    guard(pull)
    pull.bind(ipc_endpoint)
    push.send(b"after")
    got = [pull.recv() for _ in range(len(sent) + 1)]
    assert got == sent + [b"after"]


def test_sliced_poll_interrupted(pair, sliced, sigint_default):
    _, b = pair
    poller = zmq.Poller()
    poller.register(b, zmq.POLLIN)
    t = signal_elsewhere_when_blocked()
    with pytest.raises(KeyboardInterrupt):
        _blocking_call(poller.poll)
    t.join()


def test_sliced_poll_with_timeout_interrupted(pair, sliced, sigint_default):
    _, b = pair
    t = signal_elsewhere_when_blocked()
    with pytest.raises(KeyboardInterrupt):
        _blocking_call(b.poll, 60_000)
    t.join()


def test_sliced_recv_resumes_after_a_handler_that_returns(pair, sliced, sigusr1_flag):
    a, b = pair
    b.rcvtimeo = -1
    t = signal_elsewhere_when_blocked(
        signal.SIGUSR1, then=lambda: (sigusr1_flag.wait(), a.send(b"after the handler"))
    )
    assert _blocking_call(b.recv) == b"after the handler"
    t.join()
    assert sigusr1_flag.is_set()


def test_sliced_recv_gets_a_message_that_arrives_while_waiting(pair, sliced):
    a, b = pair
    b.rcvtimeo = -1
    t = in_thread(lambda: (wait_until_main_blocked(), a.send(b"late")))
    assert _blocking_call(b.recv) == b"late"
    t.join()


@pytest.mark.parametrize("timeout_ms", [0, 1, 120])
def test_sliced_rcvtimeo_still_raises_again(pair, sliced, timeout_ms):
    _, b = pair
    b.rcvtimeo = timeout_ms
    with pytest.raises(zmq.Again):
        b.recv()
    assert b.poll(0) == 0  # nothing was consumed or invented


def test_sliced_sndtimeo_at_hwm_raises_again(ctx, ipc_endpoint, sliced):
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.sndhwm = 1
    push.sndtimeo = 120
    push.connect(ipc_endpoint)
    with pytest.raises(zmq.Again):
        while True:
            push.send(b"fill", zmq.NOBLOCK)
    with pytest.raises(zmq.Again):
        push.send(b"blocked")


def test_sliced_wait_is_chosen_by_environment():
    """ZMQIPC_SLICED_WAIT=1 at import selects sliced waits (Windows always has them)."""
    code = "import zmqipc; print(zmqipc._zmq.sliced_wait())"
    env = dict(os.environ, ZMQIPC_SLICED_WAIT="1")
    out = run_python("-c", code, env=env, check=True)
    assert out.stdout.strip() == "True"
    env.pop("ZMQIPC_SLICED_WAIT")
    out = run_python("-c", code, env=env, check=True)
    assert out.stdout.strip() == str(os.name == "nt")
