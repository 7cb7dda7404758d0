"""How the zmqipc extension is compiled: the one build description.

setup.py (native builds with gcc, clang or MSVC) and tools/windows_cross_build.py
(the mingw-w64 cross-build of the Windows extension) both read everything from
here: the libzmq source list, macros, include directories, per-language compiler
flags, link flags and system libraries.  Paths are relative to the project root.

Flags are chosen per source file by language (C or C++) and by part (libzmq,
which is third-party code whose own warnings we silence, or our own code, which
must compile warning-free with -Wall).  Toolchains: "gnu" (gcc, clang, mingw-w64)
and "msvc".
"""

import os
import re

VENDOR = os.path.join("vendor", "libzmq")
LIBZMQ = os.path.join(VENDOR, "source")  # the verified, patched tree (fetch.py)

# Our own C helpers, compiled like libzmq into objects linked into the extension.
OWN_C_SOURCES = [os.path.join("csrc", "release_queue.c"), os.path.join("csrc", "shm.c")]
CYTHON_SOURCE = os.path.join("zmqipc", "_zmq.pyx")
EXTENSION_INCLUDE_DIRS = ["csrc", os.path.join(LIBZMQ, "include")]
EXTENSION_MACROS = [("ZMQ_STATIC", None)]
CYTHON_DIRECTIVES = {"embedsignature": True, "binding": False, "cdivision": True}

SYSTEM_LIBRARIES = {
    "windows": ["ws2_32", "iphlpapi", "advapi32", "rpcrt4"],
    "linux": ["rt"],
}  # rt: shm_open on glibc < 2.34

# C++ standard for libzmq and the Cython module; C uses the compiler's default.
CXX_STD = "-std=gnu++11"


def platform_of(sys_platform):
    """Our config name ("linux", "macos", "windows") for a sys.platform value."""
    return {"win32": "windows", "darwin": "macos"}.get(sys_platform, "linux")


def is_cxx(source):
    return source.endswith((".cpp", ".cc", ".cxx"))


# --- libzmq --------------------------------------------------------------------


def libzmq_sources(platform):
    src = os.path.join(LIBZMQ, "src")
    # WebSocket transports need sources the archives lack (sha1): not built.
    files = [
        os.path.join(src, f)
        for f in sorted(os.listdir(src))
        if f.endswith(".cpp") and f != "precompiled.cpp" and not f.startswith(("ws_", "wss_"))
    ]
    files.append(os.path.join(src, "tweetnacl.c"))
    if platform == "windows":
        files.append(os.path.join(LIBZMQ, "external", "wepoll", "wepoll.c"))
    return files


def libzmq_headers_mtime(platform):
    """When a libzmq header (ours or the tree's) last changed: a libzmq object older
    than this, or than its source, is stale.  (fetch.py keeps the mtimes of files a
    patch change leaves identical, so a patched header is what moves this.)"""
    folders = libzmq_include_dirs(platform)
    return max(
        os.path.getmtime(os.path.join(folder, name))
        for folder in folders
        for name in os.listdir(folder)
        if name.endswith((".h", ".hpp"))
    )


def ipc_buffer_default(platform):
    """SO_SNDBUF/SO_RCVBUF our libzmq requests for ipc sockets whose ZMQ_SNDBUF/RCVBUF
    are not set (patch 0030), as the platform configuration defines it; None: the
    system's default."""
    with open(os.path.join(VENDOR, "config", platform, "platform.hpp")) as f:
        found = re.search(r"^#define ZMQIPC_IPC_BUFFER_DEFAULT (\d+)", f.read(), re.M)
    return int(found.group(1)) if found else None


def libzmq_include_dirs(platform):
    return [
        os.path.join(VENDOR, "config", platform),
        os.path.join(LIBZMQ, "include"),
        os.path.join(LIBZMQ, "src"),
    ]


def libzmq_macros(platform):
    macros = [
        ("ZMQ_CUSTOM_PLATFORM_HPP", None),
        ("ZMQ_STATIC", None),
        ("_REENTRANT", None),
        ("_THREAD_SAFE", None),
    ]
    if platform == "windows":
        macros += [
            ("FD_SETSIZE", "16384"),
            ("_CRT_SECURE_NO_WARNINGS", None),
            ("WIN32_LEAN_AND_MEAN", None),
            ("NOMINMAX", None),
        ]
    return macros


# --- compiler flags --------------------------------------------------------------

# libzmq is pinned third-party code: its warnings (gcc's false array-bounds
# alarms in curve_client_tools.hpp, sign comparisons in tweetnacl.c, ...) are not
# ours to fix, so they are silenced for its files only.  A real problem there
# gets a patch in vendor/libzmq/patches/.
# (MSVC: named warnings, since /W0 would fight setuptools' /W3 with a D9025 notice.)
LIBZMQ_QUIET = {"gnu": ["-w"], "msvc": ["/wd4267", "/wd4244", "/wd4996"]}


def optimisation_flags(toolchain, debug):
    if toolchain == "msvc":
        return ["/Od", "/Zi"] if debug else ["/O2"]
    # -g0 overrides the -g that Python's own CFLAGS usually carry: release objects
    # and the extension stay small (the wheel is stripped at link time as well).
    return ["-O0", "-g"] if debug else ["-O2", "-g0"]


def sanitizer_flags(sanitize):
    return ["-fsanitize=" + sanitize, "-fno-omit-frame-pointer"] if sanitize else []


def compile_flags(source, toolchain, libzmq, debug=False, sanitize="", werror=False):
    """Compiler arguments for one source file.

    ``libzmq`` says whether the file is libzmq's (warnings silenced) or ours
    (-Wall, and -Werror when ``werror``, so CI catches new warnings)."""
    if toolchain == "msvc":
        # (our own code gets setuptools' /W3)
        args = ["/EHsc"] if is_cxx(source) else []
        args += LIBZMQ_QUIET["msvc"] if libzmq else (["/WX"] if werror else [])
        return args + optimisation_flags(toolchain, debug)
    args = ["-fvisibility=hidden"]
    if is_cxx(source):
        args += [CXX_STD, "-fvisibility-inlines-hidden"]
    args += LIBZMQ_QUIET["gnu"] if libzmq else ["-Wall"] + (["-Werror"] if werror else [])
    return args + optimisation_flags(toolchain, debug) + sanitizer_flags(sanitize)


# --- linking ---------------------------------------------------------------------


# MSVC: libzmq is C++, and the DLL C++ runtime (msvcp140.dll) is not part of
# Windows; a bundled copy breaks other extensions that need a newer one (pyzmq
# #2012).  So the C++ and vcruntime parts are linked statically (/MT) while the
# universal C runtime, which Windows 10+ provides, stays a DLL (ucrt.lib).
# (setuptools' --debug builds keep /MDd: they are for debugging CPython builds.)
def use_static_msvc_runtime(compiler):
    """Switch an initialised setuptools MSVC compiler from /MD to /MT."""
    compiler.compile_options[:] = ["/MT" if o == "/MD" else o for o in compiler.compile_options]


def link_flags(platform, toolchain, debug=False, sanitize=""):
    """Export only the module init function, so libzmq's symbols stay private;
    strip release builds."""
    if toolchain == "msvc":
        return ["/NODEFAULTLIB:libucrt.lib", "/DEFAULTLIB:ucrt.lib"]
    if platform == "linux":
        args = ["-Wl,--version-script=" + os.path.join("csrc", "exports.map")]
        args += [] if debug else ["-Wl,--strip-all"]
    elif platform == "macos":
        args = ["-Wl,-exported_symbol,_PyInit__zmq"] + ([] if debug else ["-Wl,-S", "-Wl,-x"])
    else:
        # mingw-w64: C++ runtime, libgcc and winpthread linked in, so the .pyd
        # needs only Windows' own DLLs and python3XY.dll.
        # (-static: the driver adds -lpthread after our flags, so -Bstatic cannot
        # reach it; Windows' own DLLs only come as import libraries anyway.)
        args = ["-static"] + ([] if debug else ["-s"])
    return args + sanitizer_flags(sanitize)
