"""The build: vendored libzmq version, capabilities, build info, symbol isolation,
and the source fetch step's verification."""

import ctypes
import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys

import pytest

import zmqipc as zmq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENDOR = os.path.join(ROOT, "vendor", "libzmq")
PIN = json.load(open(os.path.join(VENDOR, "pin.json")))


def test_libzmq_version():
    assert zmq.zmq_version() == "4.3.4"
    assert zmq.zmq_version_info() == (4, 3, 4)
    assert zmq.VERSION == 40304


@pytest.mark.parametrize("capability", ["ipc", "curve"])
def test_capabilities_built_in(capability):
    assert zmq.has(capability) is True


def test_unbuilt_capabilities_reported_absent():
    for name in ("pgm", "norm", "gssapi", "draft", "ws", "no-such-thing"):
        assert zmq.has(name) is False
    with pytest.raises(TypeError):
        zmq.has(5)


def test_build_info_names_verified_archive_and_patches():
    info = zmq.build_info()
    assert info["libzmq_version"] == "4.3.4"
    assert info["sha256"] in {a["sha256"] for a in PIN["archives"]}
    patch_names = sorted(
        f for f in os.listdir(os.path.join(VENDOR, "patches")) if f.endswith(".patch")
    )
    assert [name for name, _ in info["patches"]] == patch_names
    expected_config = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
    assert info["platform_config"] == expected_config
    assert "ipc" in info["transports"] and "tcp" in info["transports"]


def test_libzmq_symbols_are_hidden():
    """Only the module init function is exported: no zmq_* symbol can clash with
    another libzmq (pyzmq's) in the same process."""
    lib = ctypes.CDLL(zmq._zmq.__file__)
    assert hasattr(lib, "PyInit__zmq")
    for name in ("zmq_ctx_new", "zmq_socket", "zmq_msg_init_data", "zmq_version"):
        assert not hasattr(lib, name), name


@pytest.mark.skipif(sys.platform != "linux", reason="nm -D check is for ELF")
def test_dynamic_symbol_table_exports_only_init():
    try:
        out = subprocess.run(
            ["nm", "-D", "--defined-only", zmq._zmq.__file__],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("nm not available")
    exported = [line.split()[-1] for line in out.splitlines() if line.strip()]
    assert exported == ["PyInit__zmq"]


@pytest.mark.skipif(sys.platform != "linux", reason="reads ELF sections with readelf")
def test_release_build_is_stripped():
    """Release builds carry no debug info: the wheel stays small (issue: 5.7 MB)."""
    if zmq.build_info().get("debug", True):
        pytest.skip("a ZMQIPC_DEBUG/ZMQIPC_SANITIZE build keeps its debug info on purpose")
    try:
        out = subprocess.run(
            ["readelf", "-S", "-W", zmq._zmq.__file__], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("readelf not available")
    assert ".debug_info" not in out and ".symtab" not in out


def test_licence_files_installed():
    """zmqipc's LICENSE and the bundled code's licence texts ship with the package."""
    files = importlib.metadata.distribution("zmqipc").files or []
    shipped = {f.name for f in files if ".dist-info" in str(f)}
    assert {"LICENSE", "COPYING", "COPYING.LESSER", "license.txt"} <= shipped


def pe_imports():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import pe_imports as module
    finally:
        sys.path.remove(os.path.join(ROOT, "tools"))
    return module


def test_pe_import_allowlist():
    """The rule the Windows extension is held to: Windows' own DLLs and python3XY.dll."""
    allowed = [
        "KERNEL32.dll",
        "WS2_32.dll",
        "IPHLPAPI.DLL",
        "ADVAPI32.dll",
        "RPCRT4.dll",
        "msvcrt.dll",
        "api-ms-win-crt-runtime-l1-1-0.dll",
        "python311.dll",
        "python314.dll",
    ]
    runtimes = [
        "libstdc++-6.dll",
        "libgcc_s_seh-1.dll",
        "libwinpthread-1.dll",
        "MSVCP140.dll",
        "VCRUNTIME140.dll",
        "VCRUNTIME140_1.dll",
        "libzmq.dll",
        "python27.dll",
    ]
    assert pe_imports().disallowed(allowed + runtimes) == runtimes


@pytest.mark.skipif(sys.platform != "win32", reason="reads the Windows extension's PE import table")
def test_windows_extension_imports_only_system_dlls():
    """libzmq's C++ runtime is linked statically (/MT): the .pyd needs nothing
    beside Windows and python3XY.dll, and exports only its init function."""
    module = pe_imports()
    image = module.PEImage(zmq._zmq.__file__)
    assert module.disallowed(image.imports()) == [], image.imports()
    assert any(module.PYTHON_DLL.fullmatch(dll.lower()) for dll in image.imports())
    assert image.exports() == ["PyInit__zmq"]


@pytest.mark.parametrize("transport", ["ipc", "tcp", "inproc"])
def test_push_pull_and_req_rep_round_trip(transport, tmp_path):
    ctx = zmq.Context()
    try:

        def endpoint(tag):
            if transport == "ipc":
                return "ipc://%s" % (tmp_path / tag)
            if transport == "inproc":
                return "inproc://build-%s" % tag
            return "tcp://127.0.0.1"

        push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
        req, rep = ctx.socket(zmq.REQ), ctx.socket(zmq.REP)
        for bound, connecting, tag in ((pull, push, "pp"), (rep, req, "rr")):
            url = endpoint(tag)
            if transport == "tcp":
                url = "%s:%d" % (url, bound.bind_to_random_port(url))
            else:
                bound.bind(url)
            connecting.connect(url)
        push.send(b"payload")
        assert pull.recv() == b"payload"
        req.send(b"question")
        assert rep.recv() == b"question"
        rep.send(b"answer")
        assert req.recv() == b"answer"
    finally:
        ctx.destroy(linger=0)


# --- the fetch step (vendor/libzmq/fetch.py) -------------------------------------


@pytest.fixture
def fetch():
    sys.path.insert(0, VENDOR)
    try:
        import fetch as module

        yield module
    finally:
        sys.path.remove(VENDOR)


def test_fetch_rejects_archive_with_wrong_digest(fetch, tmp_path):
    bogus = tmp_path / "pyzmq-25.1.2.tar.gz"
    bogus.write_bytes(b"not the real archive")
    with pytest.raises(fetch.SourceError) as info:
        fetch.accepted_archive(str(bogus))
    message = str(info.value)
    assert hashlib.sha256(b"not the real archive").hexdigest() in message
    for archive in PIN["archives"]:  # the message names every accepted digest
        assert archive["sha256"] in message


def test_fetch_override_must_exist(fetch, tmp_path, monkeypatch):
    monkeypatch.setenv("ZMQIPC_LIBZMQ_SOURCE", str(tmp_path / "missing.tar.gz"))
    with pytest.raises(fetch.SourceError, match="does not exist"):
        fetch.locate_archive()
    monkeypatch.setenv("ZMQIPC_LIBZMQ_SOURCE", str(tmp_path))
    with pytest.raises(fetch.SourceError, match="no accepted archive"):
        fetch.locate_archive()


def test_patches_parse_and_say_why(fetch):
    for name in fetch.patch_files():
        path = os.path.join(fetch.PATCH_DIR, name)
        assert fetch.parse_patch(path), name
        with open(path) as f:
            header = f.readline()
        assert header.startswith("# ") and len(header) > 20, "%s needs a header comment" % name


def test_patch_applies_once_and_is_idempotent(fetch, tmp_path):
    tree = tmp_path / "tree"
    (tree / "src").mkdir(parents=True)
    (tree / "src" / "a.cpp").write_text("int x = 1;\nint y = 2;\n")
    patch = tmp_path / "0001-test.patch"
    patch.write_text(
        "# test patch: change x\n=== FILE src/a.cpp\n<<<\nint x = 1;\n===\nint x = 3;\n>>>\n"
    )
    fetch.apply_patch(str(tree), str(patch))
    fetch.apply_patch(str(tree), str(patch))  # already applied: no error, no change
    assert (tree / "src" / "a.cpp").read_text() == "int x = 3;\nint y = 2;\n"
    (tree / "src" / "a.cpp").write_text("something else\n")
    with pytest.raises(fetch.SourceError, match="occurs 0 times"):
        fetch.apply_patch(str(tree), str(patch))


def test_fetch_never_deletes_a_file_in_the_cache_dir(fetch, tmp_path, monkeypatch):
    """ZMQIPC_CACHE_DIR may be the user's own folder: a file there that has an
    archive's name but not its digest is renamed aside, never removed or overwritten."""
    name = PIN["archives"][0]["name"]
    (tmp_path / name).write_bytes(b"the user's own file")
    monkeypatch.setenv("ZMQIPC_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("ZMQIPC_LIBZMQ_SOURCE", raising=False)
    monkeypatch.setattr(fetch, "download_archive", lambda: "downloaded")
    assert fetch.locate_archive() == "downloaded"
    kept = tmp_path / (name + ".rejected-1")
    assert kept.read_bytes() == b"the user's own file"
    assert not (tmp_path / name).exists()
