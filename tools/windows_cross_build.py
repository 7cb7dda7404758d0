#!/usr/bin/env python3
"""Cross-build zmqipc's Windows extension on Linux with mingw-w64.

Builds, from vendor/libzmq/build_config.py's description (the same sources,
macros and per-language flags setup.py uses):
  1. libzmq with our Windows config and patches, as libzmq.a;
  2. our C helpers and the Cython module, against real Windows CPython headers
     (Include/ and PC/pyconfig.h from CPython's source, fetched through apt-get
     source and sha256-checked like libzmq);
  3. an import library for python3XY.dll, made here with dlltool from a .def
     listing exactly the Python symbols the module uses;
  4. _zmq.cp3XY-win_amd64.pyd, checked with objdump -p and tools/pe_imports.py:
     it imports only Windows system DLLs and python3XY.dll (the C++ runtime,
     libgcc and winpthread are linked in) and exports only PyInit__zmq;
  5. windows_smoke.exe (tools/windows_smoke.c linked statically against libzmq.a),
     which tools/windows_cross_check.sh runs under Wine.

The mingw build is our compile-and-link check of the Windows code paths; the
wheels themselves are built by MSVC on GitHub (cibuildwheel).

Usage: python3 tools/windows_cross_build.py BUILD_DIR [--jobs N]
Prints "pyd: <path>" and "smoke: <path>".  Needs Cython in this Python, and
Debian's g++-mingw-w64-x86-64-posix (mingw-w64) for the toolchain.
Environment: ZMQIPC_CROSS_PREFIX (default x86_64-w64-mingw32), ZMQIPC_WERROR=1
(our own code must compile without warnings), ZMQIPC_CACHE_DIR (downloads).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "vendor", "libzmq"), os.path.join(ROOT, "tools")]
import build_config as cfg  # noqa: E402
import fetch  # noqa: E402
import pe_imports  # noqa: E402

PLATFORM = "windows"

# CPython's source as Debian ships it (bookworm's python3.11), for the Windows
# headers: the Include/ tree every platform shares and PC/pyconfig.h.
CPYTHON = {
    "version": "3.11",
    "apt": "python3.11",
    "name": "python3.11_3.11.2.orig.tar.gz",
    "sha256": "2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849",
    "root": "Python-3.11.2/",
}
PY_TAG = "cp" + CPYTHON["version"].replace(".", "")
PYTHON_DLL = "python%s.dll" % CPYTHON["version"].replace(".", "")


def log(msg):
    print("== " + msg, flush=True)


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, **kwargs)


def tool(prefix, *names):
    for name in names:
        path = shutil.which(prefix + "-" + name)
        if path:
            return path
    sys.exit(
        "error: %s-%s not found; apt-get install g++-mingw-w64-x86-64-posix mingw-w64"
        % (prefix, names[-1])
    )


# --- CPython headers ---------------------------------------------------------------


def cpython_archive():
    """The pinned CPython source archive: from the cache, else through apt-get source."""
    cached = os.path.join(fetch.cache_dir(), CPYTHON["name"])
    if not (os.path.exists(cached) and fetch.sha256_of(cached) == CPYTHON["sha256"]):
        os.makedirs(fetch.cache_dir(), exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            fetch.apt_source_download(CPYTHON["apt"], tmp)
            got = os.path.join(tmp, CPYTHON["name"])
            if not os.path.exists(got):
                sys.exit(
                    "error: apt-get source %s brought no %s" % (CPYTHON["apt"], CPYTHON["name"])
                )
            digest = fetch.sha256_of(got)
            if digest != CPYTHON["sha256"]:
                sys.exit(
                    "error: %s has sha256 %s, expected %s"
                    % (CPYTHON["name"], digest, CPYTHON["sha256"])
                )
            shutil.copyfile(got, cached)
    return cached


def cpython_headers(build):
    """Include/ and PC/ (pyconfig.h) of the pinned CPython, extracted into build."""
    dest = os.path.join(build, "cpython-" + CPYTHON["sha256"][:12])
    if not os.path.isdir(dest):
        staging = dest + ".tmp"
        shutil.rmtree(staging, ignore_errors=True)
        wanted = (CPYTHON["root"] + "Include/", CPYTHON["root"] + "PC/pyconfig.h")
        with tarfile.open(cpython_archive()) as tar:
            members = [
                m
                for m in tar.getmembers()
                if m.isfile() and m.name.startswith(wanted) and ".." not in m.name.split("/")
            ]
            for m in members:
                target = os.path.join(staging, m.name[len(CPYTHON["root"]) :])
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with tar.extractfile(m) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
        os.replace(staging, dest)
    return [os.path.join(dest, "Include"), os.path.join(dest, "PC")]


# --- compiling ------------------------------------------------------------------------


def define_args(macros):
    return ["-D%s" % name if value is None else "-D%s=%s" % (name, value) for name, value in macros]


class CrossBuild:
    def __init__(self, build, jobs, prefix):
        self.build = os.path.abspath(build)
        self.jobs = jobs
        self.cc = tool(prefix, "gcc-posix", "gcc")
        self.cxx = tool(prefix, "g++-posix", "g++")
        self.ar = tool(prefix, "ar")
        self.nm = tool(prefix, "nm")
        self.dlltool = tool(prefix, "dlltool")
        self.objdump = tool(prefix, "objdump")
        self.werror = os.environ.get("ZMQIPC_WERROR") == "1"
        self.headers_mtime = cfg.libzmq_headers_mtime(PLATFORM)

    def compile(self, source, obj, libzmq, macros, include_dirs):
        compiler = self.cxx if cfg.is_cxx(source) else self.cc
        cmd = (
            [compiler, "-c", source, "-o", obj]
            + define_args(macros)
            + ["-I" + d for d in include_dirs]
            + cfg.compile_flags(source, "gnu", libzmq, werror=self.werror)
        )
        stamp = obj + ".cmd"
        if (
            libzmq  # our own files are few and always compiled
            and os.path.exists(obj)
            and os.path.exists(stamp)
            and open(stamp).read() == repr(cmd)
            and os.path.getmtime(obj) >= max(os.path.getmtime(source), self.headers_mtime)
        ):
            return obj  # up to date (same command, newer than its source and the headers)
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError("compiling %s failed:\n%s" % (source, result.stderr))
        if result.stderr.strip():
            print(result.stderr, file=sys.stderr)
        with open(stamp, "w") as f:
            f.write(repr(cmd))
        return obj

    def objects(self, sources, subdir, libzmq, macros, include_dirs):
        out = os.path.join(self.build, subdir)
        os.makedirs(out, exist_ok=True)

        def one(source):
            name = os.path.splitext(os.path.basename(source))[0] + ".o"
            return self.compile(source, os.path.join(out, name), libzmq, macros, include_dirs)

        with ThreadPoolExecutor(self.jobs) as pool:
            return list(pool.map(one, sources))

    def libzmq(self):
        sources = cfg.libzmq_sources(PLATFORM)
        log(
            "compiling %d libzmq sources with %s / %s (%d jobs)"
            % (len(sources), self.cxx, self.cc, self.jobs)
        )
        objects = self.objects(
            sources, "libzmq", True, cfg.libzmq_macros(PLATFORM), cfg.libzmq_include_dirs(PLATFORM)
        )
        archive = os.path.join(self.build, "libzmq.a")
        if os.path.exists(archive):
            os.remove(archive)
        run([self.ar, "rcs", archive] + objects)
        return archive

    def extension_objects(self, python_include):
        generated = os.path.join(self.build, "cython", "_zmq.cpp")
        os.makedirs(os.path.dirname(generated), exist_ok=True)
        directives = [
            arg for k, v in cfg.CYTHON_DIRECTIVES.items() for arg in ("-X", "%s=%s" % (k, v))
        ]
        log("cythonizing %s" % cfg.CYTHON_SOURCE)
        run(
            [sys.executable, "-m", "cython", "-3", "--cplus"]
            + directives
            + ["-o", generated, cfg.CYTHON_SOURCE],
            cwd=ROOT,
        )
        # MS_WIN64: PC/pyconfig.h derives it from _WIN64 only for MSVC.
        macros = cfg.EXTENSION_MACROS + [("MS_WIN64", None), ("NDEBUG", None)]
        include = cfg.EXTENSION_INCLUDE_DIRS + python_include
        log("compiling the Cython module and our C helpers")
        return self.objects(cfg.OWN_C_SOURCES + [generated], "extension", False, macros, include)

    def python_import_library(self, objects, python_include):
        """libpythonXY.a for python3XY.dll, from the Python symbols the objects use.

        The headers declare the C API dllimport, so most references are __imp_
        ones: listed as DATA (the import-table slot, no call thunk).  A function
        whose address is taken in a static initialiser (a type slot such as
        PyObject_GenericGetAttr) is referenced plainly and needs a thunk: it
        must be a function the headers declare with PyAPI_FUNC."""
        out = run(
            [self.nm, "--undefined-only", "--format=just-symbols"] + objects,
            capture_output=True,
            text=True,
        ).stdout.split()
        imported = {s[len("__imp_") :] for s in out if re.match(r"__imp__?Py", s)}
        thunks = {s for s in out if re.match(r"_?Py", s)}
        declared = set()
        for folder, _, files in os.walk(python_include[0]):
            for name in files:
                text = open(os.path.join(folder, name), encoding="utf-8", errors="replace").read()
                declared.update(re.findall(r"PyAPI_FUNC\([^;]*?\)\s*(\w+)\s*\(", text))
        if thunks - declared:
            sys.exit(
                "error: %s referenced without dllimport and not declared PyAPI_FUNC"
                % ", ".join(sorted(thunks - declared))
            )
        definition = os.path.join(self.build, PYTHON_DLL[:-4] + ".def")
        with open(definition, "w") as f:
            f.write("LIBRARY %s\nEXPORTS\n" % PYTHON_DLL)
            f.writelines(
                "    %s%s\n" % (name, "" if name in thunks else " DATA")
                for name in sorted(imported | thunks)
            )
        library = os.path.join(self.build, "lib%s.a" % PYTHON_DLL[:-4])
        run(
            [
                self.dlltool,
                "--input-def",
                definition,
                "--output-lib",
                library,
                "--dllname",
                PYTHON_DLL,
            ]
        )
        log(
            "import library for %s: %d symbols, %d with call thunks (%s)"
            % (PYTHON_DLL, len(imported | thunks), len(thunks), definition)
        )
        return library

    def link(self, output, inputs, shared=False):
        """Link ``inputs`` (objects, then archives) into ``output`` with libzmq's
        Windows system libraries and link flags; ``shared``: a DLL (the .pyd)."""
        libs = ["-l" + name for name in cfg.SYSTEM_LIBRARIES[PLATFORM]]
        run(
            [self.cxx]
            + (["-shared"] if shared else [])
            + ["-o", output]
            + inputs
            + libs
            + cfg.link_flags(PLATFORM, "gnu"),
            cwd=ROOT,
        )
        return output

    def link_pyd(self, objects, libzmq, python_lib):
        pyd = os.path.join(self.build, "_zmq.%s-win_amd64.pyd" % PY_TAG)
        return self.link(pyd, objects + [libzmq, python_lib], shared=True)

    def check_pyd(self, pyd):
        """Imports only system DLLs and python3XY.dll; exports only PyInit__zmq.
        objdump's view and tools/pe_imports.py's must agree."""
        dump = run([self.objdump, "-p", pyd], capture_output=True, text=True).stdout
        by_objdump = re.findall(r"^\s*DLL Name: (\S+)", dump, re.M)
        image = pe_imports.PEImage(pyd)
        if by_objdump != image.imports():
            sys.exit(
                "error: objdump lists imports %s, pe_imports.py %s" % (by_objdump, image.imports())
            )
        log("%s imports: %s" % (os.path.basename(pyd), ", ".join(by_objdump)))
        bad = pe_imports.disallowed(by_objdump)
        if bad or PYTHON_DLL not in by_objdump:
            sys.exit(
                "error: the .pyd must import only Windows system DLLs and %s; it imports %s"
                % (PYTHON_DLL, ", ".join(by_objdump))
            )
        if image.exports() != ["PyInit__zmq"]:
            sys.exit("error: the .pyd must export only PyInit__zmq, not %s" % image.exports())

    def smoke_exe(self, libzmq):
        obj = os.path.join(self.build, "windows_smoke.o")
        exe = os.path.join(self.build, "windows_smoke.exe")
        run(
            [
                self.cc,
                "-O2",
                "-DZMQ_STATIC",
                "-I",
                os.path.join(cfg.LIBZMQ, "include"),
                "-c",
                "tools/windows_smoke.c",
                "-o",
                obj,
            ],
            cwd=ROOT,
        )
        return self.link(exe, [obj, libzmq])

    def ipc_paths_exe(self, libzmq):
        """tools/windows_ipc_paths.cpp: checks of our patches' Windows path logic;
        it calls libzmq internals, so it is compiled like a libzmq source."""
        source = os.path.join("tools", "windows_ipc_paths.cpp")
        obj = os.path.join(self.build, "windows_ipc_paths.o")
        exe = os.path.join(self.build, "windows_ipc_paths.exe")
        self.compile(
            source, obj, True, cfg.libzmq_macros(PLATFORM), cfg.libzmq_include_dirs(PLATFORM)
        )
        return self.link(exe, [obj, libzmq])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("build_dir")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    os.chdir(ROOT)
    fetch.prepare_source()
    cross = CrossBuild(
        args.build_dir, args.jobs, os.environ.get("ZMQIPC_CROSS_PREFIX", "x86_64-w64-mingw32")
    )
    python_include = cpython_headers(cross.build)
    try:
        libzmq = cross.libzmq()
        objects = cross.extension_objects(python_include)
    except RuntimeError as e:
        sys.exit("error: %s" % e)
    pyd = cross.link_pyd(objects, libzmq, cross.python_import_library(objects, python_include))
    cross.check_pyd(pyd)
    smoke = cross.smoke_exe(libzmq)
    ipc_paths = cross.ipc_paths_exe(libzmq)
    print("pyd: %s" % pyd)
    print("smoke: %s" % smoke)
    print("ipc-paths: %s" % ipc_paths)


if __name__ == "__main__":
    main()
