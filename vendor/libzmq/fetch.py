"""Obtain, verify, extract and patch the pinned libzmq source.

The libzmq source is a build input, never part of the repository.  This module
finds an archive listed in ``pin.json``, checks its sha256, extracts the parts
the build needs into ``vendor/libzmq/source/`` and applies our patches.

Where the archive comes from, in order:

1. ``ZMQIPC_LIBZMQ_SOURCE``: an accepted archive file, or a directory holding one;
2. an already prepared ``source/`` tree (an sdist ships it, so an sdist builds
   offline);
3. the download cache (``ZMQIPC_CACHE_DIR``, default ``~/.cache/zmqipc``);
4. the machine's package clients as configured: ``pip download`` (PyPI), then
   ``apt-get source`` (Debian: deb-src entries for the machine's configured
   Debian mirror, in a private apt state; the system's apt setup is untouched).

Any failure stops the build with a message naming the accepted digests.
Run ``python vendor/libzmq/fetch.py`` to prepare the tree by hand.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PIN = json.load(open(os.path.join(HERE, "pin.json")))
SOURCE_DIR = os.path.join(HERE, "source")
PATCH_DIR = os.path.join(HERE, "patches")
MARKER = ".zmqipc-source.json"
# Parts of the libzmq tree the build uses (plus licence files for the sdist).
WANTED = ("include/", "src/", "external/wepoll/", "COPYING", "COPYING.LESSER")


class SourceError(RuntimeError):
    """The libzmq source could not be obtained or verified."""


def log(msg):
    print("zmqipc libzmq: " + msg, file=sys.stderr, flush=True)


def how_to_supply():
    lines = ["Accepted libzmq %s archives (sha256):" % PIN["version"]]
    for a in PIN["archives"]:
        lines.append("  %s  %s  (%s)" % (a["sha256"], a["name"], a["origin"]))
    lines.append(
        "Supply one with ZMQIPC_LIBZMQ_SOURCE=/path/to/archive-or-directory, or put it in "
        "the cache directory %s, or make PyPI reachable for pip." % cache_dir()
    )
    return "\n".join(lines)


def cache_dir():
    if os.environ.get("ZMQIPC_CACHE_DIR"):
        return os.environ["ZMQIPC_CACHE_DIR"]
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return os.path.join(os.environ["LOCALAPPDATA"], "zmqipc", "cache")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "zmqipc")


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def accepted_archive(path):
    """Return the pin entry for ``path`` if its digest is accepted, else raise."""
    digest = sha256_of(path)
    for a in PIN["archives"]:
        if a["sha256"] == digest:
            return a
    raise SourceError(
        "%s has sha256 %s, which is not an accepted libzmq %s archive.\n%s"
        % (path, digest, PIN["version"], how_to_supply())
    )


def archives_in(directory):
    names = {a["name"] for a in PIN["archives"]}
    if not os.path.isdir(directory):
        return []
    return [os.path.join(directory, n) for n in sorted(os.listdir(directory)) if n in names]


def fetch_with_pip(spec, dest):
    log("downloading %s with pip (sdist, no dependencies)" % spec)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        spec.split("==")[0],
        "--disable-pip-version-check",
        "-d",
        dest,
        spec,
    ]
    return subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr).returncode == 0


def private_apt_options(workdir):
    """apt-get options for a private apt state in ``workdir`` whose sources are
    deb-src entries for the Debian archives this machine is configured to use
    (as apt itself reports them): no system file is touched, no host is named here."""
    targets = subprocess.run(
        [
            "apt-get",
            "indextargets",
            "--format",
            "$(REPO_URI) $(RELEASE) $(COMPONENT)",
            "Origin: Debian",
            "Identifier: Packages",
        ],
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    entries = sorted({"deb-src %s\n" % t.strip() for t in targets if t.strip()})
    if not entries:
        raise OSError("apt has no Debian archive configured")
    for sub in ("lists/partial", "cache/archives/partial", "sources.list.d"):
        os.makedirs(os.path.join(workdir, sub), exist_ok=True)
    with open(os.path.join(workdir, "sources.list"), "w") as f:
        f.writelines(entries)
    options = {
        "Dir::Etc::SourceList": os.path.join(workdir, "sources.list"),
        "Dir::Etc::SourceParts": os.path.join(workdir, "sources.list.d"),
        "Dir::State::Lists": os.path.join(workdir, "lists"),
        "Dir::Cache": os.path.join(workdir, "cache"),
    }
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        options["APT::Sandbox::User"] = "root"  # apt's _apt user cannot write to workdir
    return [arg for key, value in options.items() for arg in ("-o", "%s=%s" % (key, value))]


def apt_source_download(spec, dest):
    """``apt-get source --download-only spec`` into ``dest``.  The exit status is not
    trusted either way: a mirror may lack one of the package's files (the .dsc of a
    security update) while the wanted archive arrived; the caller verifies the
    archive's digest."""
    if not shutil.which("apt-get"):
        return False
    log("downloading %s with apt-get source" % spec)
    with tempfile.TemporaryDirectory() as work:
        options = private_apt_options(work)
        subprocess.run(
            ["apt-get", "-q"] + options + ["update"],
            stdout=sys.stderr,
            stderr=sys.stderr,
            check=True,
        )
        subprocess.run(
            ["apt-get", "-q"] + options + ["source", "--download-only", spec],
            cwd=dest,
            stdout=sys.stderr,
            stderr=sys.stderr,
        )
    return True


def download_archive():
    """Fetch an accepted archive through the package clients into the cache."""
    os.makedirs(cache_dir(), exist_ok=True)
    fetchers = {"pip": fetch_with_pip, "apt": apt_source_download}
    for a in PIN["archives"]:
        for client, spec in a["fetch"].items():
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    ok = fetchers[client](spec, tmp)
                except (OSError, subprocess.SubprocessError) as e:
                    log("%s failed: %s" % (client, e))
                    ok = False
                got = os.path.join(tmp, a["name"])
                if ok and os.path.exists(got):
                    accepted_archive(got)  # verify before it enters the cache
                    cached = os.path.join(cache_dir(), a["name"])
                    if os.path.exists(cached):
                        set_aside(cached)  # appeared meanwhile: never overwritten
                    shutil.copyfile(got, cached)
                    return cached
    raise SourceError(
        "could not download libzmq source through pip or apt-get.\n" + how_to_supply()
    )


def locate_archive():
    override = os.environ.get("ZMQIPC_LIBZMQ_SOURCE")
    if override:
        if os.path.isdir(override):
            found = archives_in(override)
            if not found:
                raise SourceError(
                    "ZMQIPC_LIBZMQ_SOURCE=%s holds no accepted archive.\n%s"
                    % (override, how_to_supply())
                )
            return found[0]
        if not os.path.isfile(override):
            raise SourceError(
                "ZMQIPC_LIBZMQ_SOURCE=%s does not exist.\n%s" % (override, how_to_supply())
            )
        return override
    for cached in archives_in(cache_dir()):
        try:
            accepted_archive(cached)
            return cached
        except SourceError as e:
            log("ignoring a cached archive with the wrong digest: %s" % str(e).splitlines()[0])
            set_aside(cached)
    return download_archive()


def set_aside(path):
    """Rename a file that holds an archive's name but not its content: the cache
    directory may be the user's own (ZMQIPC_CACHE_DIR), so it is never deleted."""
    for n in range(1, 1000):
        aside = "%s.rejected-%d" % (path, n)
        if not os.path.exists(aside):
            os.rename(path, aside)
            log("renamed it to %s" % aside)
            return aside
    raise SourceError("%s has the wrong digest; move it away and build again" % path)


def extract(archive, entry, dest):
    """Extract the WANTED parts under the archive's libzmq root into ``dest``."""
    root = entry["root"].rstrip("/") + "/"
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if not member.name.startswith(root):
                continue
            rel = member.name[len(root) :]
            if not rel.startswith(WANTED) or rel.endswith(".orig"):
                continue
            if ".." in rel.split("/") or not (member.isfile() or member.isdir()):
                continue
            target = os.path.join(dest, *rel.split("/"))
            if member.isdir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with tar.extractfile(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
    if not os.path.exists(os.path.join(dest, "include", "zmq.h")):
        raise SourceError("%s has no libzmq tree under %s" % (archive, root))


# --- patches -----------------------------------------------------------------
# A patch file is ours: '#' header lines saying why, then hunks of the form
#   === FILE relative/path
#   <<<
#   exact text to find (must occur once)
#   ===
#   replacement text
#   >>>
# An optional line '=== UNLESS text' after '=== FILE' skips the hunk when the
# file already contains that text: some accepted archives carry the fix.
# A hunk whose replacement is already present counts as applied too.


def parse_patch(path):
    hunks, state, cur = [], None, None
    for line in open(path, encoding="utf-8").read().splitlines(keepends=True):
        tag = line.rstrip("\r\n")
        if state is None and tag.startswith("=== FILE "):
            cur = {"file": tag[len("=== FILE ") :].strip(), "find": "", "replace": ""}
        elif state is None and tag.startswith("=== UNLESS ") and cur:
            cur["unless"] = tag[len("=== UNLESS ") :]
        elif state is None and tag == "<<<" and cur:
            state = "find"
        elif state == "find" and tag == "===":
            state = "replace"
        elif state == "replace" and tag == ">>>":
            hunks.append(cur)
            state, cur = None, {"file": cur["file"], "find": "", "replace": ""}
        elif state:
            cur[state] += line
    if state or not hunks:
        raise SourceError("malformed patch file %s" % path)
    return hunks


def patch_files():
    return sorted(f for f in os.listdir(PATCH_DIR) if f.endswith(".patch"))


def patch_set():
    """Names and digests of our patches: a changed patch re-prepares the tree."""
    return [[name, sha256_of(os.path.join(PATCH_DIR, name))[:16]] for name in patch_files()]


def apply_patch(tree, path):
    for hunk in parse_patch(path):
        target = os.path.join(tree, *hunk["file"].split("/"))
        with open(target, encoding="utf-8", newline="") as f:
            text = f.read()
        # Archives differ in line endings; match on LF and write back what we found.
        crlf = "\r\n" in text
        text = text.replace("\r\n", "\n")
        count = text.count(hunk["find"])
        if hunk.get("unless") and hunk["unless"] in text:
            continue
        if count == 1:
            text = text.replace(hunk["find"], hunk["replace"])
        elif count == 0 and hunk["replace"] in text:
            continue
        else:
            raise SourceError(
                "patch %s: text to replace occurs %d times in %s"
                % (os.path.basename(path), count, hunk["file"])
            )
        if crlf:
            text = text.replace("\n", "\r\n")
        with open(target, "w", encoding="utf-8", newline="") as f:
            f.write(text)


# --- entry point ---------------------------------------------------------------


def read_marker(tree=SOURCE_DIR):
    try:
        return json.load(open(os.path.join(tree, MARKER)))
    except (OSError, ValueError):
        return None


def keep_unchanged_mtimes(new_tree, old_tree):
    """Files identical to the previous tree keep its mtimes, so a patch change
    recompiles only the files it touched. Builds compare a source's mtime only
    with its own object, so when a header changed every file keeps its new
    mtime: everything that may include it is recompiled."""
    identical, header_changed = [], False
    for folder, _, files in os.walk(new_tree):
        for name in files:
            new = os.path.join(folder, name)
            old = os.path.join(old_tree, os.path.relpath(new, new_tree))
            same = False
            if os.path.isfile(old) and os.path.getsize(old) == os.path.getsize(new):
                with open(old, "rb") as a, open(new, "rb") as b:
                    same = a.read() == b.read()
            if same:
                identical.append((new, old))
            elif name.endswith((".h", ".hpp")):
                header_changed = True
    if header_changed:
        return
    for new, old in identical:
        stat = os.stat(old)
        os.utime(new, (stat.st_atime, stat.st_mtime))


def prepare_source():
    """Make sure ``source/`` holds the verified, patched tree; return its marker."""
    marker = read_marker()
    override = os.environ.get("ZMQIPC_LIBZMQ_SOURCE")
    if marker and marker.get("patches") == patch_set() and not override:
        return marker
    archive = locate_archive()
    entry = accepted_archive(archive)
    log("using %s (sha256 %s)" % (entry["name"], entry["sha256"]))
    staging = SOURCE_DIR + ".tmp"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    extract(archive, entry, staging)
    for name in patch_files():
        apply_patch(staging, os.path.join(PATCH_DIR, name))
    marker = {
        "version": PIN["version"],
        "archive": entry["name"],
        "sha256": entry["sha256"],
        "origin": entry["origin"],
        "patches": patch_set(),
    }
    with open(os.path.join(staging, MARKER), "w") as f:
        json.dump(marker, f, indent=1)
    keep_unchanged_mtimes(staging, SOURCE_DIR)
    # Swap in only a complete tree: a failed build never leaves a half-prepared one.
    shutil.rmtree(SOURCE_DIR, ignore_errors=True)
    os.replace(staging, SOURCE_DIR)
    return marker


if __name__ == "__main__":
    try:
        print(json.dumps(prepare_source(), indent=1))
    except SourceError as e:
        sys.exit("error: %s" % e)
