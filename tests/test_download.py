"""The installer's downloads (installer/download.py) against real origins: files, local HTTP
servers that stall, drop the connection or refuse, a local HTTPS server this computer does not
trust; and uv (installer/uv.py), hash-pinned per platform, fetched from PyPI and run."""

import hashlib
import http.server
import json
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import urllib.request
import zipfile
from pathlib import Path
from platform import machine

import pytest

from installer import matrix, uv
from installer.download import DownloadError, download
from installer.progress import Cancelled
from installer.steps import InstallError
from tests.conftest import ROOT, skip_or_fail

PAYLOAD = random.Random(0).randbytes(300_000)
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()
NETWORK_LINE = (
    "could not download the test file from 127.0.0.1: check the internet connection (behind a proxy, set HTTPS_PROXY)"
)


def leftovers(folder):
    return sorted(os.listdir(folder))


@pytest.fixture
def origin_file(tmp_path):
    source = tmp_path / "origin" / "payload.bin"
    source.parent.mkdir()
    source.write_bytes(PAYLOAD)
    return source.as_uri()


@pytest.fixture
def target_dir(tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


# --- from files --------------------------------------------------------------------------------


def test_file_download_checks_hash_and_reports_progress(origin_file, target_dir):
    reports = []
    target = str(target_dir / "payload.bin")
    assert download(origin_file, target, DIGEST, "the test file", reports.append, chunk=1024) == target
    assert Path(target).read_bytes() == PAYLOAD
    assert leftovers(target_dir) == ["payload.bin"]
    last = reports[-1]
    assert (last.step, last.fraction, last.done_bytes, last.total_bytes) == (
        "Downloading the test file",
        1.0,
        len(PAYLOAD),
        len(PAYLOAD),
    )
    fractions = [report.fraction for report in reports]
    assert fractions == sorted(fractions)
    assert len(reports) < 10  # about 300 chunks, reported at most ten times a second


def test_damaged_file_fails_in_one_line_and_leaves_nothing(origin_file, target_dir):
    with pytest.raises(DownloadError) as failure:
        download(origin_file, str(target_dir / "payload.bin"), "0" * 64, "the test file")
    message = str(failure.value)
    assert "the test file was damaged in transit (its SHA256 does not match)" in message
    assert "\n" not in message
    assert isinstance(failure.value, InstallError)
    assert leftovers(target_dir) == []


def test_cancel_mid_download_leaves_nothing(origin_file, target_dir):
    reports = []
    with pytest.raises(Cancelled):
        download(origin_file, str(target_dir / "payload.bin"), DIGEST, "the test file", reports.append,
                 cancelled=lambda: bool(reports), chunk=1024)  # fmt: skip
    assert len(reports) == 1
    assert leftovers(target_dir) == []


# --- from local HTTP servers -------------------------------------------------------------------


class Origin:
    """A local HTTP server of PAYLOAD. Request n is answered as ``plan[n]`` says (the last entry
    repeats): "serve" honours Range, "ignore-range" sends the whole file, "stall" sends half and
    then nothing, "drop" sends a third and closes the connection, "404" has no such file."""

    def __init__(self, plan, tls=None):
        self.plan = plan
        self.ranges = []  # each request's Range header, None when it had none
        self.release = threading.Event()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True
        if tls:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/payload.bin"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def handler(self):
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                origin.ranges.append(self.headers.get("Range"))
                behaviour = origin.plan[min(len(origin.ranges), len(origin.plan)) - 1]
                if behaviour == "404":
                    self.send_error(404)
                    return
                start = 0
                asked = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if asked and behaviour == "serve":
                    start = int(asked.group(1))
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(PAYLOAD) - start))
                self.end_headers()
                if behaviour == "stall":
                    self.wfile.write(PAYLOAD[start : len(PAYLOAD) // 2])
                    origin.release.wait(10)
                elif behaviour == "drop":
                    self.wfile.write(PAYLOAD[start : len(PAYLOAD) // 3])
                else:
                    self.wfile.write(PAYLOAD[start:])

        return Handler


@pytest.fixture
def origin(monkeypatch):
    """Starts Origin(plan) servers, reached without any proxy, and stops them after the test."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    started = []

    def start(plan, tls=None):
        started.append(Origin(plan, tls))
        return started[-1]

    yield start
    for server in started:
        server.close()


def test_stalled_download_resumes_where_it_stopped(origin, target_dir):
    server = origin(["stall", "serve"])
    target = str(target_dir / "payload.bin")
    download(server.url, target, DIGEST, "the test file", stall_seconds=0.5, retries=1)
    assert Path(target).read_bytes() == PAYLOAD
    assert server.ranges == [None, f"bytes={len(PAYLOAD) // 2}-"]
    assert leftovers(target_dir) == ["payload.bin"]


def test_dropped_connection_is_retried_and_restarts_when_range_is_ignored(origin, target_dir):
    server = origin(["drop", "ignore-range"])
    reports = []
    target = str(target_dir / "payload.bin")
    download(server.url, target, DIGEST, "the test file", reports.append, retries=1)
    assert Path(target).read_bytes() == PAYLOAD
    assert server.ranges == [None, f"bytes={len(PAYLOAD) // 3}-"]
    assert reports[-1].done_bytes == reports[-1].total_bytes == len(PAYLOAD)


def test_lasting_network_failure_is_one_line(origin, target_dir):
    server = origin(["drop"])
    with pytest.raises(DownloadError) as failure:
        download(server.url, str(target_dir / "payload.bin"), DIGEST, "the test file", retries=1)
    assert str(failure.value) == NETWORK_LINE
    assert len(server.ranges) == 2
    assert leftovers(target_dir) == []


def test_refused_connection_is_the_network_line(origin, target_dir):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    url = f"http://127.0.0.1:{port}/payload.bin"
    with pytest.raises(DownloadError) as failure:
        download(url, str(target_dir / "payload.bin"), DIGEST, "the test file", retries=1)
    assert str(failure.value) == NETWORK_LINE
    assert leftovers(target_dir) == []


def test_missing_file_is_not_retried(origin, target_dir):
    server = origin(["404"])
    with pytest.raises(DownloadError) as failure:
        download(server.url, str(target_dir / "payload.bin"), DIGEST, "the test file")
    assert str(failure.value) == "could not download the test file from 127.0.0.1: the server answered 404 Not Found"
    assert len(server.ranges) == 1


# --- certificates ------------------------------------------------------------------------------


@pytest.fixture
def tls(tmp_path):
    """A server context with a self-signed certificate for 127.0.0.1, and that certificate's path."""
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is not installed, so no test certificate can be made")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


def test_untrusted_certificate_has_its_own_line(origin, tls, target_dir, tmp_path, monkeypatch):
    """As python.org's Python for macOS before 'Install Certificates.command': it trusts nobody."""
    empty = tmp_path / "no-certificates.pem"
    empty.write_bytes(b"")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    server = origin(["serve"], tls=tls[0])
    with pytest.raises(DownloadError) as failure:
        download(server.url, str(target_dir / "payload.bin"), DIGEST, "the test file")
    assert str(failure.value) == (
        "could not download the test file: this computer does not trust 127.0.0.1's certificate (on a Mac, run "
        "'Install Certificates.command' in the Python folder; behind a company proxy, set SSL_CERT_FILE to its "
        "certificate)"
    )
    assert leftovers(target_dir) == []


def test_ssl_cert_file_is_trusted(origin, tls, target_dir, monkeypatch):
    """A company proxy's certificate named by SSL_CERT_FILE makes its servers trusted."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls[1]))
    server = origin(["serve"], tls=tls[0])
    target = str(target_dir / "payload.bin")
    download(server.url, target, DIGEST, "the test file")
    assert Path(target).read_bytes() == PAYLOAD


IN_A_PYTHON_WITHOUT_CERTIFICATES = """
import hashlib, ssl, sys
sys.path.insert(0, "/src")
from installer.download import DownloadError, download
print("system certificates:", ssl.create_default_context().cert_store_stats()["x509_ca"])
try:
    download(URL, "/tmp/refused.bin", DIGEST, "the test file")
except DownloadError as error:
    print("without the bundle:", error)
download(URL, "/tmp/payload.bin", DIGEST, "the test file", fallback_cafile="/src/bundle.pem")
print("with the bundle:", hashlib.sha256(open("/tmp/payload.bin", "rb").read()).hexdigest())
"""


def test_a_python_without_certificates_trusts_the_bundle(origin, tls, tmp_path):
    """As python.org's Python for macOS before 'Install Certificates.command': the pristine Debian
    root has no CA certificates at all and no SSL_CERT_FILE. The installer, run by that root's own
    Python, is refused by the server's certificate on its own and trusts it through the fallback
    bundle (certifi's, in the real install; here the test server's certificate)."""
    from tests.gimp_harness import find_gimp, run_in_fresh_root

    found, reason = find_gimp("trixie")
    if reason:
        skip_or_fail(reason)
    server = origin(["serve"], tls=tls[0])
    script = IN_A_PYTHON_WITHOUT_CERTIFICATES.replace("URL", repr(server.url)).replace("DIGEST", repr(DIGEST))
    binds = {os.path.join(ROOT, "installer"): "/src/installer", str(tls[1]): "/src/bundle.pem"}
    done = run_in_fresh_root(found.root, "python3 -", script, str(tmp_path / "scratch"), binds, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "system certificates: 0"
    assert lines[1].startswith("without the bundle: could not download the test file: this computer does not trust")
    assert lines[2] == f"with the bundle: {DIGEST}"


# --- uv ----------------------------------------------------------------------------------------

PLATFORM_TAGS = {
    "linux-x86_64": r"manylinux_\d+_\d+_x86_64",
    "linux-aarch64": r"manylinux_\d+_\d+_aarch64",
    "windows-x86_64": r"win_amd64",
    "macos-arm64": r"macosx_\d+_\d+_arm64",
}


def test_uv_lock_covers_every_platform():
    lock = uv.read_uv_lock()
    assert sorted(lock) == sorted(matrix.PLATFORMS)
    for platform, entry in lock.items():
        assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]), platform
        assert entry["size"] > 1_000_000, platform
        assert entry["url"].startswith("https://") and entry["url"].endswith("/" + entry["filename"]), platform
        tags = entry["filename"].removesuffix(".whl").split("-")[-1].split(".")
        assert entry["filename"].startswith(f"uv-{uv.UV_VERSION}-py3-none-"), platform
        assert any(re.fullmatch(PLATFORM_TAGS[platform], tag) for tag in tags), entry["filename"]
        assert not any(tag.startswith("musllinux") for tag in tags), entry["filename"]


def test_uv_version_is_the_test_environments():
    with open(os.path.join(ROOT, "tests", "requirements.in"), encoding="utf-8") as f:
        assert f"uv=={uv.UV_VERSION}\n" in f.read()


@pytest.fixture(scope="module")
def pypi():
    try:
        with urllib.request.urlopen("https://pypi.org/simple/", timeout=20) as response:
            response.read(1)
    except OSError as error:
        skip_or_fail(f"PyPI cannot be reached: {error}")


@pytest.mark.slow
def test_uv_lock_is_what_pypi_says(pypi):
    assert uv.lock_uv() == uv.read_uv_lock()


@pytest.mark.slow
def test_ensure_uv_from_pypi_runs_and_is_kept(pypi, tmp_path):
    platform = "linux-x86_64"
    if not (sys.platform.startswith("linux") and machine() == "x86_64"):
        pytest.skip(f"this test runs uv, so it needs {matrix.PLATFORMS[platform].label}")
    reports = []
    executable = uv.ensure_uv(str(tmp_path / "tools"), platform, reports.append)
    assert executable == str(tmp_path / "tools" / f"uv-{uv.UV_VERSION}" / "uv")
    assert reports[-1].fraction == 1.0 and reports[-1].step == f"Downloading {uv.WHAT}"
    assert leftovers(os.path.dirname(executable)) == ["uv"]
    printed = subprocess.run([executable, "--version"], capture_output=True, text=True, check=True).stdout
    assert printed.split()[:2] == ["uv", uv.UV_VERSION]
    again = []
    assert uv.ensure_uv(str(tmp_path / "tools"), platform, again.append) == executable
    assert again == []


def fake_uv_wheel(folder, platform="linux-x86_64"):
    """A wheel holding a shell script in uv's place, and its lock, at a made-up URL."""
    name = "uv.exe" if platform == "windows-x86_64" else "uv"
    filename = f"uv-{uv.UV_VERSION}-py3-none-any.whl"
    path = folder / filename
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"uv-{uv.UV_VERSION}.data/scripts/{name}", f"#!/bin/sh\necho uv {uv.UV_VERSION}\n")
        wheel.writestr(f"uv-{uv.UV_VERSION}.dist-info/METADATA", "Name: uv\n")
    data = path.read_bytes()
    entry = {"url": f"https://example.invalid/packages/{filename}", "filename": filename}
    return {platform: dict(entry, sha256=hashlib.sha256(data).hexdigest(), size=len(data))}


def test_ensure_uv_unpacks_only_the_binary_from_a_mirror(tmp_path):
    (tmp_path / "mirror").mkdir()
    lock = fake_uv_wheel(tmp_path / "mirror")
    index = uv.mirror((tmp_path / "mirror").as_uri())
    executable = uv.ensure_uv(str(tmp_path / "tools"), "linux-x86_64", lock=lock, index=index)
    assert leftovers(os.path.dirname(executable)) == ["uv"]
    assert os.stat(executable).st_mode & 0o111 == 0o111
    assert subprocess.run([executable], capture_output=True, text=True).stdout == f"uv {uv.UV_VERSION}\n"


def test_ensure_uv_cancelled_leaves_nothing(tmp_path):
    (tmp_path / "mirror").mkdir()
    lock = fake_uv_wheel(tmp_path / "mirror", "windows-x86_64")
    index = uv.mirror((tmp_path / "mirror").as_uri())
    reports = []
    with pytest.raises(Cancelled):
        uv.ensure_uv(str(tmp_path / "tools"), "windows-x86_64", reports.append, lambda: bool(reports), lock, index)
    assert not (tmp_path / "tools").exists()


def test_platform_without_uv_is_one_line(tmp_path):
    lock = json.loads(json.dumps(uv.read_uv_lock()))
    del lock["macos-arm64"]
    with pytest.raises(InstallError) as failure:
        uv.ensure_uv(str(tmp_path), "macos-arm64", lock=lock)
    assert str(failure.value) == "uv, the package installer, has no package for macOS, Apple silicon"
