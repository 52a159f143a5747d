"""installer.wheel_paths: the longest path each Windows lock installs, read from the ends of the
wheels alone, and the property the installer relies on: the engine's environment in a long
user's data folder still fits Windows' 260-character limit (MAX_PATH)."""

import hashlib
import http.server
import io
import json
import os
import random
import re
import struct
import threading
import urllib.request
import zipfile

import pytest

from installer import wheel_paths
from installer.matrix import LOCKS
from tests.conftest import skip_or_fail

MAX_PATH = 260
# The longest environment folder the installer plans for: a 20-letter user name, the data folder
# in LOCALAPPDATA, and an environment named by 8 hex digits.
LONG_ENV_ROOT = "C:\\Users\\" + "u" * 20 + "\\AppData\\Local\\nsg\\e\\" + "0123456789ab"[:8] + "\\"
LONGEST_NAME = "pkg/" + "deep/" * 12 + "the_longest_member_of_all.py"


def make_zip(path, members=200, comment=b"", zip64=False, monkeypatch=None):
    """A zip of incompressible members (about 2 MB) whose longest name is LONGEST_NAME alone."""
    rng = random.Random(0)
    if zip64:
        monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)  # zipfile then writes the ZIP64 end records
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for i in range(members):
            z.writestr(f"pkg/module_{i}.py", rng.randbytes(10_000))
        z.writestr(LONGEST_NAME, b"")
        z.writestr("pkg/ünïcode_名前.txt", b"")
        z.comment = comment
    if zip64:
        monkeypatch.undo()
        _blank_classic_end_record(path)
    return path


def _blank_classic_end_record(path):
    """Set the classic EOCD's directory size and offset to 0xFFFFFFFF, as a zip over 4 GiB has
    them, so that only the ZIP64 record says where the directory is."""
    data = bytearray(path.read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    assert data[eocd - 20 : eocd - 16] == b"PK\x06\x07"  # the ZIP64 locator is there
    struct.pack_into("<II", data, eocd + 12, 0xFFFFFFFF, 0xFFFFFFFF)
    path.write_bytes(bytes(data))


def zipfile_longest(path):
    with zipfile.ZipFile(path) as z:
        return max(z.namelist(), key=len)


class RangeServer(http.server.ThreadingHTTPServer):
    """Serves one file over HTTP, honouring single byte ranges (``a-b`` and ``-n``) unless told
    not to, and counts the bytes it sends."""

    def __init__(self, path, honour_ranges=True):
        super().__init__(("127.0.0.1", 0), RangeHandler)
        self.data, self.honour_ranges, self.sent = path.read_bytes(), honour_ranges, 0
        self.url = f"http://127.0.0.1:{self.server_address[1]}/{path.name}"


class RangeHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        data, wanted = self.server.data, self.headers.get("Range")
        ranged = re.fullmatch(r"bytes=(\d*)-(\d*)", wanted or "") if self.server.honour_ranges else None
        if ranged:
            first, last = ranged.groups()
            start = max(len(data) - int(last), 0) if not first else int(first)
            stop = min(int(last) + 1, len(data)) if first and last else len(data)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{len(data)}")
        else:
            start, stop = 0, len(data)
            self.send_response(200)
        self.send_header("Content-Length", str(stop - start))
        self.end_headers()
        self.wfile.write(data[start:stop])
        self.server.sent += stop - start

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(path, honour_ranges=True):
        server = RangeServer(path, honour_ranges)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# --- reading a zip's end ------------------------------------------------------------------------


@pytest.mark.parametrize("known_size", [False, True])
def test_longest_member_over_http_reads_only_the_end(tmp_path, serve, known_size):
    wheel = make_zip(tmp_path / "a.whl")
    server = serve(wheel)
    size = wheel.stat().st_size if known_size else None
    assert wheel_paths.longest_member(server.url, size) == zipfile_longest(wheel) == LONGEST_NAME
    assert 0 < server.sent < wheel.stat().st_size / 20  # about 70 kB of 2 MB: no whole download


def test_longest_member_of_a_file_url(tmp_path):
    wheel = make_zip(tmp_path / "a.whl")
    assert wheel_paths.longest_member(wheel.as_uri()) == zipfile_longest(wheel)


def test_member_names_are_zipfiles_own(tmp_path):
    wheel = make_zip(tmp_path / "a.whl", members=5)
    with zipfile.ZipFile(wheel) as z:
        assert wheel_paths.member_names(wheel.as_uri()) == z.namelist()


@pytest.mark.parametrize(
    "comment",
    [b"c" * 0xFFFF, (b"PK\x05\x06" + b"\0" * 18) * 10 + b"c" * (0xFFFF - 220)],
    ids=["longest", "longest-with-signatures"],
)
def test_the_longest_comment(tmp_path, serve, comment):
    """The EOCD is found before a 65535-byte comment, even one that holds the EOCD's signature
    (which fools zipfile itself, so LONGEST_NAME is the reference here)."""
    wheel = make_zip(tmp_path / "commented.whl", comment=comment)
    assert wheel.read_bytes().endswith(struct.pack("<H", 0xFFFF) + comment)
    server = serve(wheel)
    assert wheel_paths.longest_member(server.url) == LONGEST_NAME
    assert wheel_paths.longest_member(wheel.as_uri(), wheel.stat().st_size) == LONGEST_NAME
    assert server.sent < wheel.stat().st_size / 10


def test_zip64_end_records(tmp_path, serve, monkeypatch):
    wheel = make_zip(tmp_path / "zip64.whl", zip64=True, monkeypatch=monkeypatch)
    assert zipfile_longest(wheel) == LONGEST_NAME  # zipfile reads it through the ZIP64 record too
    server = serve(wheel)
    assert wheel_paths.longest_member(server.url) == LONGEST_NAME
    assert server.sent < wheel.stat().st_size / 20


def test_a_zip_smaller_than_the_tail_read(tmp_path, serve):
    wheel = make_zip(tmp_path / "small.whl", members=1)
    assert wheel.stat().st_size < wheel_paths.TAIL
    assert wheel_paths.longest_member(serve(wheel).url) == LONGEST_NAME


def test_a_server_that_ignores_ranges_is_refused_not_downloaded(tmp_path, serve):
    wheel = make_zip(tmp_path / "a.whl")
    with pytest.raises(wheel_paths.WheelPathError, match="ignores byte ranges"):
        wheel_paths.longest_member(serve(wheel, honour_ranges=False).url)


def test_not_a_zip(tmp_path):
    path = tmp_path / "not.whl"
    path.write_bytes(b"x" * 1000)
    with pytest.raises(wheel_paths.WheelPathError, match="not a zip file"):
        wheel_paths.longest_member(path.as_uri())


# --- where members land -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "member, installed",
    [
        ("torch/lib/c10.dll", "Lib\\site-packages\\torch\\lib\\c10.dll"),
        ("torch-2.13.0.dist-info/RECORD", "Lib\\site-packages\\torch-2.13.0.dist-info\\RECORD"),
        ("six.py", "Lib\\site-packages\\six.py"),
        ("libclang-18.1.1.data/platlib/clang/native/libclang.dll", "Lib\\site-packages\\clang\\native\\libclang.dll"),
        ("pkg-1.0.data/purelib/pkg/a.py", "Lib\\site-packages\\pkg\\a.py"),
        ("pkg-1.0.data/scripts/run.py", "Scripts\\run.py"),
        ("sympy-1.14.0.data/data/share/man/man1/isympy.1", "share\\man\\man1\\isympy.1"),
        ("pkg-1.0.data/headers/pkg.h", "Include\\pkg\\pkg.h"),  # approximate: installers differ
        ("pkg-1.0.data/unknown/x", "Lib\\site-packages\\pkg-1.0.data\\unknown\\x"),
        ("pkg/sub/", "Lib\\site-packages\\pkg\\sub"),
    ],
)
def test_installed_path(member, installed):
    assert wheel_paths.installed_path(member) == installed


@pytest.mark.parametrize(
    "filename, fits",
    [
        ("torch-2.13.0-cp311-cp311-win_amd64.whl", True),
        ("torch-2.13.0-cp312-cp312-win_amd64.whl", False),
        ("torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl", False),
        ("torch-2.13.0-cp311-cp311-win_arm64.whl", False),
        ("psutil-7.2.2-cp37-abi3-win_amd64.whl", True),
        ("six-1.17.0-py2.py3-none-any.whl", True),
        ("libclang-18.1.1-py2.py3-none-win_amd64.whl", True),
        ("x-1.0-cp313-abi3-win_amd64.whl", False),  # abi3 from a newer Python
        ("x-1.0-cp311-cp311t-win_amd64.whl", False),  # free-threaded
        ("x-1.0.tar.gz", False),
    ],
)
def test_which_wheels_python_3_11_on_windows_installs(filename, fits):
    assert (wheel_paths.wheel_rank(filename, 11) is not None) == fits


def test_installers_prefer_the_most_specific_wheel():
    names = ["x-1-py3-none-any.whl", "x-1-cp39-abi3-win_amd64.whl", "x-1-cp311-cp311-win_amd64.whl"]
    assert max(names, key=lambda name: wheel_paths.wheel_rank(name, 11)) == "x-1-cp311-cp311-win_amd64.whl"
    assert max(names[:2], key=lambda name: wheel_paths.wheel_rank(name, 11)) == "x-1-cp39-abi3-win_amd64.whl"


# --- a whole lock, offline ----------------------------------------------------------------------


def fake_registry(tmp_path, wheels):
    """A simple-API index of local wheels, as ``fetch`` answers it, and the wheels' SHA-256."""
    files, digests, fetched = {}, {}, []
    for project, filename, members in wheels:
        path = tmp_path / filename
        with zipfile.ZipFile(path, "w") as z:
            for member in members:
                z.writestr(member, b"")
        digests[filename] = hashlib.sha256(path.read_bytes()).hexdigest()
        entry = {"filename": filename, "url": path.as_uri(), "size": path.stat().st_size}
        files.setdefault(project, []).append(dict(entry, hashes={"sha256": digests[filename]}))

    def fetch(url):
        fetched.append(url)
        project = url.rstrip("/").rsplit("/", 1)[1]
        if project not in files:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, io.BytesIO())
        return {"files": files[project]}

    return fetch, digests, fetched


def write_lock(path, pins):
    lines = ["# This file was autogenerated by uv via the following command:"]
    for pin, digests in pins:
        lines += [f"{pin} \\"] + [f"    --hash=sha256:{digest} \\" for digest in digests]
        lines[-1] = lines[-1].removesuffix(" \\")
        lines.append("    # via -r installer/requirements/engine.in")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_longest_installed_takes_the_windows_wheel_of_that_python(tmp_path):
    long_linux = "big/" + "x" * 150 + ".so"
    fetch, digests, fetched = fake_registry(
        tmp_path,
        [
            ("big", "big-1.0-cp311-cp311-win_amd64.whl", ["big/" + "w" * 80 + ".pyd", "big-1.0.dist-info/RECORD"]),
            ("big", "big-1.0-cp311-cp311-manylinux_2_28_x86_64.whl", [long_linux]),
            ("big", "big-1.0-cp312-cp312-win_amd64.whl", ["big/" + "y" * 120 + ".pyd"]),
            ("small-pkg", "small_pkg-2.0-py3-none-any.whl", ["small_pkg/a.py"]),
        ],
    )
    lock = write_lock(
        tmp_path / "windows-x86_64-py3.11-torch.txt",
        [("big==1.0", sorted(digest for name, digest in digests.items() if name.startswith("big"))),
         ("small-pkg==2.0", [digests["small_pkg-2.0-py3-none-any.whl"]])],
    )  # fmt: skip
    cache = {}
    expected = "Lib\\site-packages\\big\\" + "w" * 80 + ".pyd"
    assert wheel_paths.longest_installed(str(lock), fetch=fetch, cache=cache) == (len(expected), expected)
    assert sorted(fetched) == ["https://pypi.org/simple/big/", "https://pypi.org/simple/small-pkg/"]
    assert wheel_paths.longest_installed(str(lock), fetch=fetch, cache=cache)[1] == expected
    assert len(fetched) == 2  # the second lock's answers come from the cache
    assert set(cache["wheels"]) == {
        digests["big-1.0-cp311-cp311-win_amd64.whl"],
        digests["small_pkg-2.0-py3-none-any.whl"],
    }


def test_a_pin_that_pypi_does_not_have_is_a_clear_error(tmp_path):
    fetch, digests, _ = fake_registry(tmp_path, [("torch", "torch-2.13.0-cp311-cp311-win_amd64.whl", ["torch/a.py"])])
    lock = write_lock(tmp_path / "windows-x86_64-py3.11-torch.txt", [("torch==2.13.0+cpu", ["ab" * 32])])
    with pytest.raises(wheel_paths.WheelPathError, match=r"torch==2\.13\.0\+cpu \(Python 3\.11\): none of its files"):
        wheel_paths.longest_installed(str(lock), fetch=fetch)
    lock = write_lock(tmp_path / "windows-x86_64-py3.11-jax.txt", [("nowhere==1.0", ["cd" * 32])])
    with pytest.raises(wheel_paths.WheelPathError, match="nowhere==1.0: PyPI's index of nowhere could not be read"):
        wheel_paths.longest_installed(str(lock), fetch=fetch)


def test_record_writes_every_windows_lock_sorted(tmp_path):
    fetch, digests, _ = fake_registry(tmp_path, [("six", "six-1.0-py2.py3-none-any.whl", ["six.py"])])
    for name in ("windows-x86_64-py3.12-jax.txt", "windows-x86_64-py3.11-torch.txt", "linux-x86_64-py3.11-jax.txt"):
        write_lock(tmp_path / name, [("six==1.0", [digests["six-1.0-py2.py3-none-any.whl"]])])
    target = tmp_path / "windows-paths.json"
    wheel_paths.record(str(target), folder=str(tmp_path), fetch=fetch)
    text = target.read_text(encoding="utf-8")
    entry = {"length": len("Lib\\site-packages\\six.py"), "path": "Lib\\site-packages\\six.py"}
    assert json.loads(text) == {"windows-x86_64-py3.11-torch.txt": entry, "windows-x86_64-py3.12-jax.txt": entry}
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


# --- the committed record -----------------------------------------------------------------------


def committed_record():
    with open(wheel_paths.RECORD, encoding="utf-8") as f:
        return json.load(f)


def test_the_record_covers_exactly_the_windows_locks():
    present = {name for name in os.listdir(LOCKS) if name.startswith("windows-") and name.endswith(".txt")}
    assert set(committed_record()) == present
    for name, entry in committed_record().items():
        assert entry["length"] == len(entry["path"]), name
        assert not entry["path"].startswith("\\") and "/" not in entry["path"], name


@pytest.mark.parametrize("lock", sorted(committed_record()))
def test_every_windows_environment_fits_max_path_in_a_long_user_folder(lock):
    """The installer relies on this: a user name of 20 letters leaves every file of the engine
    under Windows' 260-character limit, with no LongPathsEnabled."""
    entry = committed_record()[lock]
    assert len(LONG_ENV_ROOT) + entry["length"] < MAX_PATH, f"{lock}: {LONG_ENV_ROOT}{entry['path']}"


@pytest.fixture(scope="module")
def pypi():
    try:
        with urllib.request.urlopen("https://pypi.org/simple/", timeout=20, context=wheel_paths.ssl_context()) as r:
            r.read(1)
    except OSError as error:
        skip_or_fail(f"PyPI cannot be reached: {error}")


def test_a_real_wheel_read_from_its_end_is_what_zipfile_sees(pypi):
    """colorama, a 25 kB wheel of a real lock: its end, read with Range requests from PyPI, names
    the members zipfile finds in the whole download; and the record covers its longest path."""
    lock = os.path.join(LOCKS, "windows-x86_64-py3.11-torch.txt")
    (pin,) = [pin for pin in wheel_paths.pins(lock) if pin[0] == "colorama"]
    entry = wheel_paths.wheel_for(*pin, "3.11")
    assert entry["filename"] == f"colorama-{pin[1]}-py2.py3-none-any.whl"
    with urllib.request.urlopen(entry["url"], timeout=60, context=wheel_paths.ssl_context()) as response:
        whole = response.read()
    assert hashlib.sha256(whole).hexdigest() == entry["hashes"]["sha256"]
    with zipfile.ZipFile(io.BytesIO(whole)) as z:
        names = z.namelist()
    assert wheel_paths.member_names(entry["url"], entry["size"]) == names
    assert wheel_paths.longest_member(entry["url"]) == max(names, key=lambda name: (len(name), name))
    longest = wheel_paths.longest_installed_member(entry["url"], entry["size"])
    assert committed_record()[os.path.basename(lock)]["length"] >= len(longest)
