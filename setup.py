"""Build zmqipc: the pinned libzmq compiled statically into one Cython extension.

Build knobs (environment variables, all optional):
  ZMQIPC_LIBZMQ_SOURCE   accepted libzmq archive, or a directory holding one
  ZMQIPC_CACHE_DIR       where downloaded archives are kept
  ZMQIPC_BUILD_JOBS      parallel compile jobs (default: CPU count)
  ZMQIPC_DEBUG=1         -O0 -g, for debuggers
  ZMQIPC_SANITIZE=address  build with AddressSanitizer (see tools/memcheck.sh)
"""

import glob
import json
import os
import sys
import sysconfig
from concurrent.futures import ThreadPoolExecutor

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.sdist import sdist

HERE = os.path.dirname(os.path.abspath(__file__))
VENDOR = os.path.join("vendor", "libzmq")
sys.path.insert(0, os.path.join(HERE, VENDOR))
import fetch  # noqa: E402  (vendor/libzmq/fetch.py)

LIBZMQ = os.path.join(VENDOR, "source")
PLATFORM = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
MSVC = sys.platform == "win32" and "GCC" not in sys.version
SANITIZE = os.environ.get("ZMQIPC_SANITIZE", "")
DEBUG = os.environ.get("ZMQIPC_DEBUG") == "1" or bool(SANITIZE)


def libzmq_sources():
    src = os.path.join(LIBZMQ, "src")
    # WebSocket transports need sources the archives lack (sha1): not built.
    files = [os.path.join(src, f) for f in sorted(os.listdir(src))
             if f.endswith(".cpp") and f != "precompiled.cpp" and not f.startswith(("ws_", "wss_"))]
    files.append(os.path.join(src, "tweetnacl.c"))
    if PLATFORM == "windows":
        files.append(os.path.join(LIBZMQ, "external", "wepoll", "wepoll.c"))
    return files


def libzmq_flags(source):
    """Compiler arguments for one libzmq source file."""
    if MSVC:
        return ["/EHsc", "/O2", "/wd4267", "/wd4244", "/wd4996"]
    args = ["-fvisibility=hidden", "-Wno-unused", "-Wno-deprecated-declarations"]
    args += ["-O0", "-g"] if DEBUG else ["-O2"]
    if source.endswith(".cpp"):
        args += ["-std=gnu++11", "-fvisibility-inlines-hidden"]
    return args + sanitizer_flags()


def sanitizer_flags():
    return ["-fsanitize=" + SANITIZE, "-fno-omit-frame-pointer"] if SANITIZE else []


LIBZMQ_MACROS = [("ZMQ_CUSTOM_PLATFORM_HPP", None), ("ZMQ_STATIC", None),
                 ("_REENTRANT", None), ("_THREAD_SAFE", None)]
if PLATFORM == "windows":
    LIBZMQ_MACROS += [("FD_SETSIZE", "16384"), ("_CRT_SECURE_NO_WARNINGS", None),
                      ("WIN32_LEAN_AND_MEAN", None), ("NOMINMAX", None)]


class BuildExt(build_ext):
    """Compile libzmq in parallel into objects, then link them into zmqipc._zmq."""

    def build_extension(self, ext):
        marker = fetch.prepare_source()
        objects = self.compile_libzmq()
        ext.extra_objects = objects + list(ext.extra_objects or [])
        # build_ext relinks only when a dependency is newer: make a recompiled
        # libzmq object (e.g. after a patch change) one.
        ext.depends = list(ext.depends or []) + objects
        super().build_extension(ext)
        self.write_build_info(ext, marker)

    def compile_libzmq(self):
        jobs = int(os.environ.get("ZMQIPC_BUILD_JOBS") or os.cpu_count() or 1)
        include = [os.path.join(VENDOR, "config", PLATFORM), os.path.join(LIBZMQ, "include"),
                   os.path.join(LIBZMQ, "src")]
        out_dir = os.path.join(self.build_temp, "libzmq")
        config = os.path.join(VENDOR, "config", PLATFORM, "platform.hpp")

        def compile_one(source):
            obj = self.compiler.object_filenames([source], output_dir=out_dir)[0]
            newest_input = max(os.path.getmtime(source), os.path.getmtime(config))
            if not self.force and os.path.exists(obj) and os.path.getmtime(obj) >= newest_input:
                return obj  # up to date: in-tree rebuilds stay fast
            return self.compiler.compile([source], output_dir=out_dir, macros=LIBZMQ_MACROS,
                                         include_dirs=include, extra_postargs=libzmq_flags(source))[0]

        sources = libzmq_sources()
        print("compiling libzmq: %d files with %d jobs" % (len(sources), jobs))
        with ThreadPoolExecutor(jobs) as pool:
            return list(pool.map(compile_one, sources))

    def write_build_info(self, ext, marker):
        info = dict(marker, platform_config=PLATFORM, sanitize=SANITIZE or None,
                    compiler=self.compiler.compiler_type, python=sysconfig.get_platform())
        path = os.path.join(os.path.dirname(self.get_ext_fullpath(ext.name)), "_build_info.json")
        with open(path, "w") as f:
            json.dump(info, f, indent=1)

    def copy_extensions_to_source(self):
        # In-place/editable builds copy only the .so back: bring the build info too.
        super().copy_extensions_to_source()
        built = os.path.join(self.build_lib, "zmqipc", "_build_info.json")
        if os.path.exists(built):
            self.copy_file(built, os.path.join(HERE, "zmqipc", "_build_info.json"))


class Sdist(sdist):
    """Ship the verified, patched libzmq tree so an sdist builds with no network."""

    def run(self):
        fetch.prepare_source()
        super().run()


def link_args():
    """Export only the module init function: libzmq's symbols stay private."""
    if PLATFORM == "linux":
        script = os.path.join("csrc", "exports.map")
        return ["-Wl,--version-script=" + script] + sanitizer_flags()
    if PLATFORM == "macos":
        return ["-Wl,-exported_symbol,_PyInit__zmq"] + sanitizer_flags()
    if not MSVC:  # mingw: ws2_32 etc. come from libraries below
        return ["-static-libgcc", "-static-libstdc++"]
    return []


def compile_args():
    if MSVC:
        return ["/EHsc"]
    args = ["-fvisibility=hidden", "-Wno-unused-function", "-std=gnu++11"]
    return args + (["-O0", "-g"] if DEBUG else ["-O2"]) + sanitizer_flags()


def extensions():
    from Cython.Build import cythonize

    ext = Extension(
        "zmqipc._zmq",
        sources=["zmqipc/_zmq.pyx", "csrc/release_queue.c", "csrc/shm.c"],
        include_dirs=["csrc", os.path.join(LIBZMQ, "include")],
        define_macros=[("ZMQ_STATIC", None)],
        language="c++",
        extra_compile_args=compile_args(),
        extra_link_args=link_args(),
        libraries={"windows": ["ws2_32", "iphlpapi", "advapi32", "rpcrt4"],
                   "linux": ["rt"]}.get(PLATFORM, []),   # rt: shm_open on glibc < 2.34
        depends=["zmqipc/_zmq.pxd", "csrc/release_queue.h", "csrc/shm.h"]
        + sorted(glob.glob("zmqipc/includes/*.pxd")) + sorted(glob.glob("zmqipc/*.pxi")),
    )
    return cythonize([ext], language_level=3, compiler_directives={
        "embedsignature": True, "binding": False, "cdivision": True})


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt, "sdist": Sdist})
