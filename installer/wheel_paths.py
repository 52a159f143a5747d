"""The longest path each Windows lock installs, so the installer can place the engine's
environment where every file fits Windows' 260-character limit on a path (MAX_PATH), which pip,
uv and Python itself meet unless long paths are enabled on the machine.

A wheel is a zip file: its central directory, at the end, names every member. Only that end is
read, with HTTP Range requests, so even PyTorch's and TensorFlow's wheels cost a few hundred
kilobytes each. ``python -m installer.wheel_paths`` (and ``python -m installer.relock``) writes
``installer/locks/windows-paths.json``. Standard library only.
"""

from __future__ import annotations

import concurrent.futures
import glob
import json
import os
import re
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from installer.download import ssl_context
from installer.matrix import LOCKS

RECORD = os.path.join(LOCKS, "windows-paths.json")
SIMPLE_INDEX = "https://pypi.org/simple/{}/"  # PyPI's JSON simple API (PEP 691), sizes included (PEP 700)
WORKERS = 8
ATTEMPTS = 3  # per request: a registry answers large runs with the odd transient failure
TRANSIENT_HTTP = (408, 429, 500, 502, 503, 504)

# Zip records (APPNOTE.TXT 4.3): signature, then the fields this module reads.
EOCD = b"PK\x05\x06"  # end of central directory, 22 bytes and a comment of up to 65535
EOCD_SIZE = 22
ZIP64_LOCATOR = b"PK\x06\x07"  # 20 bytes just before the EOCD, when the zip needs 64-bit fields
ZIP64_LOCATOR_SIZE = 20
ZIP64_EOCD = b"PK\x06\x06"
ZIP64_EOCD_SIZE = 56
CENTRAL = b"PK\x01\x02"  # one per member: 46 bytes, then name, extra field and comment
CENTRAL_HEADER = struct.Struct("<4s4xH18xHHH")  # signature, flags, name, extra and comment lengths
UTF8_FLAG = 0x800
# Enough of the end to hold the EOCD with the longest comment, and the ZIP64 records before it.
TAIL = EOCD_SIZE + 0xFFFF + ZIP64_LOCATOR_SIZE + ZIP64_EOCD_SIZE

# Where a wheel's ``<name>.data/<scheme>/`` members go in a Windows environment (the venv scheme).
DATA_SCHEMES = {"purelib": "Lib\\site-packages", "platlib": "Lib\\site-packages", "scripts": "Scripts", "data": ""}
SITE_PACKAGES = "Lib\\site-packages"

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")
HASH = re.compile(r"--hash=sha256:([0-9a-fA-F]{64})")
WINDOWS_LOCK = re.compile(r"^windows-[^-]+-py(3\.\d+)-.+\.txt$")


class WheelPathError(Exception):
    """A lock's wheel could not be found or read; the text says which and why."""


# Reading the end of a zip file -------------------------------------------------------------


def _open(request: urllib.request.Request):
    """urlopen with a few retries, since one transient failure should not end a long survey."""
    for attempt in range(ATTEMPTS):
        try:
            return urllib.request.urlopen(request, timeout=60, context=ssl_context())
        except urllib.error.HTTPError as error:
            if error.code not in TRANSIENT_HTTP or attempt == ATTEMPTS - 1:
                raise
        except (urllib.error.URLError, OSError):
            if attempt == ATTEMPTS - 1:
                raise
        time.sleep(1 + attempt)


def _http_range(url: str, first: int | None, last: int | None) -> tuple:
    """(bytes, file size) of a byte range; ``first`` None: the last ``last`` bytes. A server that
    ignores Range is refused rather than letting it send a whole wheel."""
    wanted = f"bytes=-{last}" if first is None else f"bytes={first}-{last}"
    with _open(urllib.request.Request(url, headers={"Range": wanted})) as response:
        total = re.fullmatch(r"bytes \d+-\d+/(\d+)", response.headers.get("Content-Range") or "")
        if response.status != 206 or not total:
            raise WheelPathError(f"{url}: the server ignores byte ranges (HTTP {response.status})")
        return response.read(), int(total.group(1))


def _file_range(url: str, first: int | None, last: int | None) -> tuple:
    """As ``_http_range``, for a file:// URL (the tests' wheels)."""
    path = urllib.request.url2pathname(urllib.parse.urlparse(url).path)
    with open(path, "rb") as f:
        total = os.fstat(f.fileno()).st_size
        start = max(total - last, 0) if first is None else first
        f.seek(start)
        return f.read((total if first is None else last + 1) - start), total


def _read_range(url: str, first: int | None, last: int | None) -> tuple:
    """Bytes ``first`` to ``last`` (inclusive, as HTTP counts) of the file at ``url``, and its size."""
    scheme = urllib.parse.urlparse(url).scheme
    return (_file_range if scheme == "file" else _http_range)(url, first, last)


class _Tail:
    """The end of a remote file, read once; earlier bytes are fetched only when asked for."""

    def __init__(self, url: str, size: int | None):
        self.url = url
        if size is None:
            self.data, self.size = _read_range(url, None, TAIL)
        else:
            self.data, self.size = _read_range(url, max(size - TAIL, 0), size - 1)
        self.start = self.size - len(self.data)

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset + length > self.size:
            raise WheelPathError(f"{self.url}: a zip record points outside the file")
        if length == 0:
            return b""
        if offset >= self.start:
            return self.data[offset - self.start : offset - self.start + length]
        return _read_range(self.url, offset, offset + length - 1)[0]


def _find_eocd(tail: bytes) -> int:
    """Where the EOCD starts in ``tail``: the last signature whose comment ends the file exactly
    (the comment itself may contain the signature)."""
    end = len(tail)
    while (at := tail.rfind(EOCD, 0, end)) >= 0:
        if at + EOCD_SIZE <= len(tail):
            (comment,) = struct.unpack_from("<H", tail, at + 20)
            if at + EOCD_SIZE + comment == len(tail):
                return at
        end = at + len(EOCD) - 1
    raise WheelPathError("not a zip file: no end of central directory record")


def _central_directory(tail: _Tail) -> tuple:
    """(offset, size) of the central directory, from the EOCD, or its ZIP64 record when present."""
    eocd = tail.start + _find_eocd(tail.data)
    size, offset = struct.unpack("<II", tail.read(eocd + 12, 8))
    locator = eocd - ZIP64_LOCATOR_SIZE
    if locator >= 0 and tail.read(locator, 4) == ZIP64_LOCATOR:
        (record,) = struct.unpack("<Q", tail.read(locator + 8, 8))
        fields = tail.read(record, ZIP64_EOCD_SIZE)
        if fields[:4] != ZIP64_EOCD:
            raise WheelPathError(f"{tail.url}: a ZIP64 locator points at no ZIP64 record")
        size, offset = struct.unpack_from("<QQ", fields, 40)
    return offset, size


def _names(directory: bytes) -> list:
    """The member names of a central directory, decoded as zip tools do (UTF-8 when flagged)."""
    names, at = [], 0
    while at + CENTRAL_HEADER.size <= len(directory):
        signature, flags, name, extra, comment = CENTRAL_HEADER.unpack_from(directory, at)
        if signature != CENTRAL:
            raise WheelPathError("a damaged zip central directory")
        start = at + 46
        names.append(directory[start : start + name].decode("utf-8" if flags & UTF8_FLAG else "cp437"))
        at = start + name + extra + comment
    return names


def member_names(url: str, size: int | None = None) -> list:
    """Every member name of the zip at ``url`` (http(s) or file), from its end alone."""
    tail = _Tail(url, size)
    offset, length = _central_directory(tail)
    return _names(tail.read(offset, length))


def longest_member(url: str, size: int | None = None) -> str:
    """The longest member name (in characters) of the zip at ``url``, without downloading it
    whole; ``size``, when known, saves asking the server for it."""
    return max(member_names(url, size), key=lambda name: (len(name), name))


# Where a wheel's members land ------------------------------------------------------------


def installed_path(member: str) -> str:
    """Where a wheel member lands, relative to a Windows environment's root. The ``.data``
    folders follow the venv install scheme; ``headers`` is approximate (``Include\\<name>\\``;
    installers differ, and no wheel of the locks has any)."""
    parts = [part for part in member.split("/") if part]
    if len(parts) > 2 and parts[0].endswith(".data"):
        scheme, rest = parts[1], parts[2:]
        if scheme == "headers":
            return "\\".join(["Include", parts[0][: -len(".data")].split("-")[0], *rest])
        if scheme in DATA_SCHEMES:
            return "\\".join([root for root in [DATA_SCHEMES[scheme]] if root] + rest)
    return "\\".join([SITE_PACKAGES, *parts])


def longest_installed_member(url: str, size: int | None = None) -> str:
    """The longest installed path of one wheel: not always its longest member's, as the
    ``.data`` folders shorten or lengthen theirs."""
    return max(map(installed_path, member_names(url, size)), key=lambda path: (len(path), path))


# Which wheel a Windows environment installs ------------------------------------------------


def pins(lock_path: str) -> list:
    """[(name, version, {sha256})] of a uv ``pip compile --generate-hashes`` lock."""
    found = []
    with open(lock_path, encoding="utf-8") as f:
        for line in f:
            pin = PIN.match(line)
            if pin:
                found.append((pin.group(1), pin.group(2), set()))
            elif found:
                found[-1][2].update(digest.lower() for digest in HASH.findall(line))
    return found


def _tag_rank(python: str, abi: str, platform: str, minor: int) -> tuple | None:
    """How an installer on CPython 3.``minor``, 64-bit Windows, prefers one tag triple (higher is
    better, as packaging.tags orders them); None when it cannot install it."""
    if platform not in ("win_amd64", "any"):
        return None
    cpython = re.fullmatch(r"cp3(\d+)", python)
    generic = re.fullmatch(r"py3(\d*)", python)
    if cpython and abi == f"cp3{minor}" and int(cpython.group(1)) == minor:
        fit = (3, minor)
    elif cpython and abi == "abi3" and int(cpython.group(1)) <= minor:
        fit = (2, int(cpython.group(1)))
    elif abi == "none" and cpython and int(cpython.group(1)) == minor:
        fit = (1, minor)
    elif abi == "none" and generic and (not generic.group(1) or int(generic.group(1)) <= minor):
        fit = (0, int(generic.group(1) or 0))
    else:
        return None
    return (platform == "win_amd64", *fit)


def wheel_rank(filename: str, minor: int) -> tuple | None:
    """The best rank of a wheel's (possibly compressed) tag sets, or None where none installs."""
    stem = filename[: -len(".whl")] if filename.endswith(".whl") else None
    fields = stem.split("-") if stem else []
    if len(fields) not in (5, 6):
        return None
    pythons, abis, platforms = (field.split(".") for field in fields[-3:])
    ranks = [_tag_rank(p, a, s, minor) for p in pythons for a in abis for s in platforms]
    return max((rank for rank in ranks if rank), default=None)


def fetch_json(url: str):
    """A package index's answer, as JSON."""
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with _open(request) as response:
        return json.load(response)


def normalized(name: str) -> str:
    """A project's name as package indexes spell it in URLs (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_for(name: str, version: str, hashes: set, python: str, fetch=fetch_json, indexes=None) -> dict:
    """The PyPI file (simple-API entry) a Windows environment on ``python`` installs for a pin: of
    the files whose SHA-256 the lock lists, the wheel that fits best. (PyPI's per-version JSON
    API would do as well, but the simple API is the one indexes and mirrors all serve.)"""
    indexes = {} if indexes is None else indexes
    url = SIMPLE_INDEX.format(normalized(name))
    if url not in indexes:
        try:
            indexes[url] = fetch(url)
        except (OSError, ValueError) as error:
            raise WheelPathError(f"{name}=={version}: PyPI's index of {name} could not be read: {error}") from error
    minor = int(python.split(".")[1])
    listed = [entry for entry in indexes[url]["files"] if entry.get("hashes", {}).get("sha256") in hashes]
    ranked = [(rank, entry) for entry in listed for rank in [wheel_rank(entry["filename"], minor)] if rank]
    if not ranked:
        where = "none of its files is on PyPI" if not listed else "no Windows wheel for that Python among them"
        raise WheelPathError(f"{name}=={version} (Python {python}): {where} with the lock's hashes")
    return max(ranked, key=lambda pair: (pair[0], pair[1]["filename"]))[1]


def _python_of(lock_path: str) -> str:
    found = WINDOWS_LOCK.match(os.path.basename(lock_path))
    if not found:
        raise WheelPathError(f"{os.path.basename(lock_path)} is not named as a Windows lock (windows-*-py3.N-*.txt)")
    return found.group(1)


def longest_installed(lock_path: str, fetch=fetch_json, cache: dict | None = None) -> tuple:
    """(length, path) of the longest path the lock installs, relative to the environment's root
    (no leading backslash). ``cache`` carries indexes and wheels' results (by SHA-256) from one
    lock to the next, as the locks share most packages."""
    cache = {} if cache is None else cache
    indexes, wheels = cache.setdefault("indexes", {}), cache.setdefault("wheels", {})
    python = _python_of(lock_path)

    def longest(pin) -> str:
        entry = wheel_for(*pin, python, fetch=fetch, indexes=indexes)
        digest = entry["hashes"]["sha256"]
        if digest not in wheels:
            try:
                wheels[digest] = longest_installed_member(entry["url"], entry.get("size"))
            except (OSError, ValueError, struct.error) as error:
                raise WheelPathError(f"{entry['filename']}: {error}") from error
        return wheels[digest]

    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        paths = list(pool.map(longest, pins(lock_path)))
    if not paths:
        raise WheelPathError(f"{os.path.basename(lock_path)} pins nothing")
    path = max(paths, key=lambda found: (len(found), found))
    return len(path), path


def windows_locks(folder: str = LOCKS) -> list:
    return sorted(
        path for path in glob.glob(os.path.join(folder, "windows-*.txt")) if WINDOWS_LOCK.match(os.path.basename(path))
    )


def record(path: str = RECORD, folder: str = LOCKS, fetch=fetch_json) -> dict:
    """Write {lock file name: {"length", "path"}} for every Windows lock in ``folder``."""
    cache = {}
    longest = {}
    for lock in windows_locks(folder):
        length, found = longest_installed(lock, fetch=fetch, cache=cache)
        longest[os.path.basename(lock)] = {"length": length, "path": found}
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(longest, indent=2, sort_keys=True) + "\n")
    return longest


def main() -> int:
    started = time.monotonic()
    try:
        longest = record()
    except (WheelPathError, OSError) as error:
        print(f"python -m installer.wheel_paths: {error}", file=sys.stderr)
        return 1
    for name, entry in longest.items():
        print(f"{entry['length']:4d}  {name}  {entry['path']}")
    print(f"wrote {os.path.relpath(RECORD)} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
