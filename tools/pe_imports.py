"""Which DLLs a Windows extension (.pyd) imports, and which names it exports.

A small reader of the PE import and export tables, so the check runs anywhere
Python does: tools/windows_cross_build.py uses it on the mingw-w64 build (and
compares it with objdump's view), tests/test_build.py on the installed Windows
extension built by MSVC.

The extension may import only Windows' own DLLs and python3XY.dll: libzmq's C++
runtime (libstdc++/libgcc/winpthread for mingw, msvcp140/vcruntime140 for MSVC)
is linked in statically, so nothing has to be installed or bundled beside it.

Usage: python tools/pe_imports.py FILE.pyd   (prints the imports; exit 1 if any
is not allowed)
"""

import re
import struct
import sys

# DLLs that every supported Windows (10 and later) provides.
WINDOWS_SYSTEM_DLLS = {
    "kernel32.dll",
    "advapi32.dll",
    "ws2_32.dll",
    "iphlpapi.dll",
    "rpcrt4.dll",
    "msvcrt.dll",
    "ucrtbase.dll",
}
# The universal C runtime's API sets (api-ms-win-crt-*.dll) are part of Windows too.
API_SET = re.compile(r"api-ms-win-[a-z0-9-]+\.dll")
PYTHON_DLL = re.compile(r"python3\d*\.dll")


class PEError(ValueError):
    """Not a PE image this reader understands."""


class PEImage:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        data = self.data
        if data[:2] != b"MZ":
            raise PEError("%s: no MZ header" % path)
        pe = struct.unpack_from("<I", data, 0x3C)[0]
        if data[pe : pe + 4] != b"PE\0\0":
            raise PEError("%s: no PE signature" % path)
        sections, optional_size = struct.unpack_from("<H12xH", data, pe + 6)
        optional = pe + 24
        magic = struct.unpack_from("<H", data, optional)[0]
        directories = optional + {0x10B: 96, 0x20B: 112}.get(magic, -1)
        if directories < optional:
            raise PEError("%s: unknown optional header magic %#x" % (path, magic))
        self.directories = [struct.unpack_from("<II", data, directories + 8 * i) for i in range(2)]
        table = optional + optional_size
        self.sections = [
            struct.unpack_from("<8xIIII", data, table + 40 * i) for i in range(sections)
        ]

    def offset(self, rva):
        """File offset of a relative virtual address."""
        for size, start, raw_size, raw_start in self.sections:
            if start <= rva < start + max(size, raw_size):
                return raw_start + rva - start
        raise PEError("RVA %#x is in no section" % rva)

    def string(self, rva):
        at = self.offset(rva)
        return self.data[at : self.data.index(b"\0", at)].decode("ascii")

    def imports(self):
        """Names of the imported DLLs, in table order."""
        rva, size = self.directories[1]
        names = []
        at = self.offset(rva) if size else None
        while at is not None:
            name_rva = struct.unpack_from("<12xI", self.data, at)[0]
            if name_rva == 0:
                break
            names.append(self.string(name_rva))
            at += 20
        return names

    def exports(self):
        """Names the image exports."""
        rva, size = self.directories[0]
        if not size:
            return []
        count, names_rva = struct.unpack_from("<24xI4xI", self.data, self.offset(rva))
        names = self.offset(names_rva)
        return [
            self.string(struct.unpack_from("<I", self.data, names + 4 * i)[0]) for i in range(count)
        ]


def disallowed(dlls):
    """The imports that are neither Windows system DLLs nor python3XY.dll."""
    return [
        d
        for d in dlls
        if d.lower() not in WINDOWS_SYSTEM_DLLS
        and not API_SET.fullmatch(d.lower())
        and not PYTHON_DLL.fullmatch(d.lower())
    ]


if __name__ == "__main__":
    image = PEImage(sys.argv[1])
    for dll in image.imports():
        print(dll)
    bad = disallowed(image.imports())
    if bad:
        sys.exit("not allowed: %s" % ", ".join(bad))
