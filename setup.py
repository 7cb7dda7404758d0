"""Build zmqipc: the pinned libzmq compiled statically into one Cython extension.

Build knobs (environment variables, all optional):
  ZMQIPC_LIBZMQ_SOURCE   accepted libzmq archive, or a directory holding one
  ZMQIPC_CACHE_DIR       where downloaded archives are kept
  ZMQIPC_BUILD_JOBS      parallel compile jobs (default: CPU count)
  ZMQIPC_DEBUG=1         -O0 -g, for debuggers
  ZMQIPC_SANITIZE=address  build with AddressSanitizer (see tools/memcheck.sh)
  ZMQIPC_WERROR=1        our own C and the Cython module fail on any -Wall warning (CI)

What is compiled, and with which flags, is described once in
vendor/libzmq/build_config.py (shared with the Windows cross-build).
"""

import glob
import hashlib
import json
import os
import sys
import sysconfig
from concurrent.futures import ThreadPoolExecutor

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "vendor", "libzmq"))
import build_config as cfg  # noqa: E402  (vendor/libzmq/build_config.py: flags, sources)
import fetch  # noqa: E402  (vendor/libzmq/fetch.py: the verified, patched source)

PLATFORM = cfg.platform_of(sys.platform)
SANITIZE = os.environ.get("ZMQIPC_SANITIZE", "")
DEBUG = os.environ.get("ZMQIPC_DEBUG") == "1" or bool(SANITIZE)
WERROR = os.environ.get("ZMQIPC_WERROR") == "1"
# The compiler attributes that name commands (unix C/C++ compiler and linker; MSVC).
COMPILER_COMMANDS = ("compiler_so", "compiler_so_cxx", "linker_so", "linker_so_cxx", "cc")


class BuildExt(build_ext):
    """Compile libzmq and our C helpers in parallel into objects, each with the
    flags of its language, then link them into zmqipc._zmq."""

    def build_extension(self, ext):
        marker = fetch.prepare_source()
        self.prepare_compiler()
        ext.extra_compile_args = self.flags(cfg.CYTHON_SOURCE.replace(".pyx", ".cpp"), libzmq=False)
        ext.extra_link_args = self.link_flags()
        objects = self.compile_objects()
        ext.extra_objects = objects + list(ext.extra_objects or [])
        # build_ext relinks only when a dependency is newer: make a recompiled
        # object (e.g. after a patch change) one.
        ext.depends = list(ext.depends or []) + objects
        self.forget_other_compilers_build(ext)
        super().build_extension(ext)
        self.write_build_info(ext, marker)

    def toolchain(self):
        return "msvc" if self.compiler.compiler_type == "msvc" else "gnu"

    def prepare_compiler(self):
        # setuptools' MSVC compiler initialises itself lazily inside compile(): do it
        # once here, before the thread pool, so no two threads initialise it at once.
        if self.toolchain() == "msvc":
            if not self.compiler.initialized:
                self.compiler.initialize()
            cfg.use_static_msvc_runtime(self.compiler)

    def link_flags(self):
        return cfg.link_flags(PLATFORM, self.toolchain(), DEBUG, SANITIZE)

    def compiler_key(self):
        """Identifies the compilers and flags: objects built by another compiler or
        with other flags (a gcc build, then a clang one) are never reused."""
        commands = [getattr(self.compiler, attr, None) for attr in COMPILER_COMMANDS]
        flags = [self.flags(name, libzmq) for name in ("a.c", "a.cpp") for libzmq in (True, False)]
        key = repr((self.compiler.compiler_type, commands, flags, self.link_flags()))
        return hashlib.sha256(key.encode()).hexdigest()[:12]

    def forget_other_compilers_build(self, ext):
        """setuptools skips an extension newer than its sources, even when it was
        built by another compiler: then remove it, so it is built again."""
        stamp = os.path.join(self.build_temp, "extension-compiler-key")
        key = self.compiler_key()
        previous = open(stamp).read() if os.path.exists(stamp) else None
        if previous != key:
            built = self.get_ext_fullpath(ext.name)
            if os.path.exists(built):
                os.remove(built)
            os.makedirs(self.build_temp, exist_ok=True)
            with open(stamp, "w") as f:
                f.write(key)

    def flags(self, source, libzmq):
        return cfg.compile_flags(source, self.toolchain(), libzmq, DEBUG, SANITIZE, WERROR)

    def compile_objects(self):
        jobs = int(os.environ.get("ZMQIPC_BUILD_JOBS") or os.cpu_count() or 1)
        headers_mtime = cfg.libzmq_headers_mtime(PLATFORM)
        libzmq_include = cfg.libzmq_include_dirs(PLATFORM)
        libzmq_macros = cfg.libzmq_macros(PLATFORM)

        def compile_one(source):
            libzmq = source not in cfg.OWN_C_SOURCES
            out_dir = os.path.join(
                self.build_temp, "libzmq-" + self.compiler_key() if libzmq else "own"
            )
            obj = self.compiler.object_filenames([source], output_dir=out_dir)[0]
            newest_input = max(os.path.getmtime(source), headers_mtime)
            if (
                libzmq
                and not self.force
                and os.path.exists(obj)
                and os.path.getmtime(obj) >= newest_input
            ):
                return obj  # up to date: in-tree rebuilds stay fast
            macros, include = (
                (libzmq_macros, libzmq_include)
                if libzmq
                else (cfg.EXTENSION_MACROS, cfg.EXTENSION_INCLUDE_DIRS)
            )
            return self.compiler.compile(
                [source],
                output_dir=out_dir,
                macros=macros,
                include_dirs=include,
                extra_postargs=self.flags(source, libzmq),
            )[0]

        sources = cfg.libzmq_sources(PLATFORM) + cfg.OWN_C_SOURCES
        print("compiling libzmq and csrc: %d files with %d jobs" % (len(sources), jobs))
        with ThreadPoolExecutor(jobs) as pool:
            return list(pool.map(compile_one, sources))

    def write_build_info(self, ext, marker):
        info = dict(
            marker,
            platform_config=PLATFORM,
            sanitize=SANITIZE or None,
            debug=DEBUG,
            compiler=self.compiler.compiler_type,
            python=sysconfig.get_platform(),
            ipc_buffer_default=cfg.ipc_buffer_default(PLATFORM),
        )
        path = os.path.join(os.path.dirname(self.get_ext_fullpath(ext.name)), "_build_info.json")
        with open(path, "w") as f:
            json.dump(info, f, indent=1)

    def copy_extensions_to_source(self):
        # In-place/editable builds copy only the .so back: bring the build info too.
        super().copy_extensions_to_source()
        built = os.path.join(self.build_lib, "zmqipc", "_build_info.json")
        if os.path.exists(built):
            self.copy_file(built, os.path.join(HERE, "zmqipc", "_build_info.json"))


def extensions():
    from Cython.Build import cythonize

    ext = Extension(
        "zmqipc._zmq",
        sources=[cfg.CYTHON_SOURCE],
        include_dirs=cfg.EXTENSION_INCLUDE_DIRS,
        define_macros=cfg.EXTENSION_MACROS,
        language="c++",
        libraries=cfg.SYSTEM_LIBRARIES.get(PLATFORM, []),
        depends=["zmqipc/_zmq.pxd"]
        + sorted(glob.glob("csrc/*.h"))
        + sorted(glob.glob("zmqipc/includes/*.pxd"))
        + sorted(glob.glob("zmqipc/*.pxi")),
    )
    return cythonize([ext], language_level=3, compiler_directives=cfg.CYTHON_DIRECTIVES)


# The verified, patched libzmq tree is prepared before anything else: the licence
# files come with it, and an sdist ships it so that it builds with no network.
fetch.prepare_source()
setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
