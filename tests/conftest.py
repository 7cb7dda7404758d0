"""Shared fixtures for the core socket API tests.

Every socket made through ``ctx`` gets torn down with linger=0, so a failing test
never leaves the run hanging in zmq_ctx_term.
"""

import importlib.machinery
import itertools
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

# Test the zmqipc that pip installed. `python -m pytest` puts the checkout first on
# sys.path, and the checkout has no compiled extension unless it was built in place.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if not any(
    os.path.exists(os.path.join(ROOT, "zmqipc", "_zmq" + suffix))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES
):
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != ROOT]

import zmqipc as zmq  # noqa: E402

# Child interpreters import the installed zmqipc: run them where it is, never in the
# checkout (there `import zmqipc` finds the uncompiled source tree first).
CHILD_CWD = os.path.dirname(os.path.dirname(zmq.__file__))


def run_python(*args, timeout=120, **kwargs):
    """Run ``python *args`` (this interpreter) in CHILD_CWD unless ``cwd`` is given,
    output captured as text; returns the CompletedProcess. ``kwargs`` go to
    subprocess.run."""
    kwargs.setdefault("cwd", CHILD_CWD)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )


# A hang guard for blocking calls (a lost message becomes zmq.Again), never a
# performance threshold.
GUARD_MS = 10_000

_counter = itertools.count()

# The core-API test modules written against this conftest; each test gets a hang
# guard (pytest-timeout) unless it sets its own.
_GUARDED_MODULES = {
    "test_context.py",
    "test_socket.py",
    "test_options.py",
    "test_multipart.py",
    "test_poll.py",
    "test_monitor.py",
    "test_errors.py",
    "test_security.py",
    "test_signals_gil.py",
    "test_fork.py",
    "test_seed_scenario.py",
}
HANG_GUARD_S = 60


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in _GUARDED_MODULES and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(HANG_GUARD_S))


@pytest.fixture
def ctx():
    """A fresh Context, destroyed with linger=0 at teardown."""
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def ipc_dir(tmp_path, tmp_path_factory):
    """A short directory for ipc:// socket files.

    AF_UNIX paths are limited to ~107 bytes; pytest's tmp_path can be longer for
    long (parametrized) test names, so fall back to a short mkdtemp in pytest's
    base temp dir (not TEMP itself: CI runs the suite with a TEMP too long for any
    socket path, and --basetemp elsewhere)."""
    if len(str(tmp_path)) <= 70:
        yield str(tmp_path)
        return
    path = tempfile.mkdtemp(prefix="zq", dir=str(tmp_path_factory.getbasetemp()))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def ipc_endpoint(ipc_dir):
    """A unique, short ipc:// endpoint (< 100 bytes)."""
    url = "ipc://%s/s%d" % (ipc_dir, next(_counter))
    assert len(url) < 100, url
    return url


@pytest.fixture
def make_ipc_endpoint(ipc_dir):
    """Factory for several unique ipc:// endpoints in one test."""

    def make():
        url = "ipc://%s/s%d" % (ipc_dir, next(_counter))
        assert len(url) < 100, url
        return url

    return make


@pytest.fixture
def inproc_endpoint():
    return "inproc://t-%d-%d" % (os.getpid(), next(_counter))


def guard(*sockets, ms=GUARD_MS, linger=0):
    """Give sockets ``linger`` and send/recv timeouts so a bug fails instead of hangs."""
    for s in sockets:
        s.linger = linger
        s.rcvtimeo = ms
        s.sndtimeo = ms
    return sockets


def connected_pair(ctx, endpoint, types=(zmq.PAIR, zmq.PAIR)):
    """(bound, connected) sockets over ``endpoint`` (tcp "*" ports resolved)."""
    server = ctx.socket(types[0])
    client = ctx.socket(types[1])
    guard(server, client)
    server.bind(endpoint)
    client.connect(server.last_endpoint.decode())
    return server, client


def endpoint_for(transport, ipc_dir):
    """A fresh endpoint on ``transport``: "ipc" (in ``ipc_dir``), "tcp" (a random
    loopback port) or "inproc"."""
    n = next(_counter)
    return {
        "ipc": "ipc://%s/s%d" % (ipc_dir, n),
        "tcp": "tcp://127.0.0.1:*",
        "inproc": "inproc://t-%d-%d" % (os.getpid(), n),
    }[transport]


@pytest.fixture(params=["ipc", "tcp", "inproc"])
def transport_endpoint(request, ipc_endpoint, inproc_endpoint):
    """One endpoint per transport (tcp on a random loopback port)."""
    return {"ipc": ipc_endpoint, "tcp": "tcp://127.0.0.1:*", "inproc": inproc_endpoint}[
        request.param
    ]


@pytest.fixture
def pair(ctx, ipc_endpoint):
    """A connected PAIR/PAIR over ipc with hang guards: (bound, connected)."""
    return connected_pair(ctx, ipc_endpoint)
