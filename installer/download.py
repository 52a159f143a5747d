"""Downloading one file whose SHA-256 is known in advance, for an artist's connection: a stalled or
dropped transfer is retried, resuming where it stopped when the server allows; the file appears
under its name only once its hash matches; and a failure is one line saying what to do.
Standard library only (it runs in GIMP's own Python too)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

from installer.progress import Cancelled, Progress, never_cancelled, no_progress
from installer.steps import InstallError

REPORTS_PER_SECOND = 10
RETRY_PAUSE = 1.0  # seconds before the first retry, one more before each next
TRANSIENT_HTTP = (408, 429, 500, 502, 503, 504)


class DownloadError(InstallError):
    """A download failed; the text is one line saying what to do."""


class CertificateError(DownloadError):
    """The server's certificate is not trusted here; the text says how to fix the trust store."""


def ssl_context(fallback_cafile: str | None = None) -> ssl.SSLContext:
    """Trusts SSL_CERT_FILE when it is set, on every platform (OpenSSL alone reads it only on some),
    else the system's certificates, else (a Python with none, as python.org's on a Mac until
    "Install Certificates.command" has run) ``fallback_cafile``, such as certifi's bundle. A
    file with no readable certificate trusts nothing, so the server's certificate fails as it
    would with none installed."""
    try:
        named = os.environ.get("SSL_CERT_FILE") or None
        context = ssl.create_default_context(cafile=named)
        if not named and fallback_cafile and not context.cert_store_stats()["x509_ca"]:
            context = ssl.create_default_context(cafile=fallback_cafile)
        return context
    except (ssl.SSLError, OSError):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def download(
    url: str,
    target: str,
    sha256: str,
    what: str,
    progress=no_progress,
    cancelled=never_cancelled,
    retries: int = 3,
    stall_seconds: float = 30.0,
    chunk: int = 1 << 16,
    size: int | None = None,
    algorithm: str = "sha256",
    fallback_cafile: str | None = None,
) -> str:
    """Downloads ``url`` to ``target`` (returned) through ``target + ".part"``; ``what`` names it
    for people; ``size``, when known, stands in for a missing Content-Length. ``sha256`` is the
    file's digest, by ``algorithm`` when its publisher gives another (Keras' weights: MD5).
    Raises ``DownloadError`` or ``Cancelled``, and then leaves neither file behind."""
    part = target + ".part"
    report = _Reporter(f"Downloading {what}", progress)
    with contextlib.suppress(OSError):
        os.remove(part)  # left by a run that crashed: its origin is unknown
    try:
        _fetch(url, part, what, report, cancelled, retries, stall_seconds, chunk, size, fallback_cafile)
        if _digest_of(part, algorithm) != sha256.lower():
            raise DownloadError(
                f"{what} was damaged in transit (its {algorithm.upper()} does not match): run the installer again"
            )
        with local_errors(part):
            os.replace(part, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(part)
        raise
    return target


class _Reporter:
    """Passes progress on at most REPORTS_PER_SECOND times a second, and always at the end."""

    def __init__(self, what, progress):
        self.what = what
        self.progress = progress
        self.last = None

    def __call__(self, done: int, total: int, final: bool = False) -> None:
        now = time.monotonic()
        if final or self.last is None or now - self.last >= 1 / REPORTS_PER_SECOND:
            self.last = now
            self.progress(Progress(self.what, done / total if total else None, done, total))


def _fetch(url, part, what, report, cancelled, retries, stall_seconds, chunk, size, fallback_cafile) -> None:
    """Tries up to ``retries`` more times after a network error; other errors end at once."""
    host = urllib.parse.urlsplit(url).hostname or url
    context = None if url.startswith("file:") else ssl_context(fallback_cafile)
    for attempt in range(retries + 1):
        if attempt:
            _pause(RETRY_PAUSE * attempt, cancelled)
        try:
            _attempt(url, part, context, report, cancelled, stall_seconds, chunk, size)
            return
        except (OSError, http.client.HTTPException) as error:
            _give_up_early(error, what, host, part)
            last = error
    raise DownloadError(
        f"could not download {what} from {host}: check the internet connection (behind a proxy, set HTTPS_PROXY)"
    ) from last


def _give_up_early(error, what, host, part) -> None:
    """Raises for the network errors a retry cannot mend."""
    if isinstance(error, ssl.SSLCertVerificationError) or isinstance(
        getattr(error, "reason", None), ssl.SSLCertVerificationError
    ):
        raise CertificateError(
            f"could not download {what}: this computer does not trust {host}'s certificate (on a Mac, run "
            "'Install Certificates.command' in the Python folder; behind a company proxy, set SSL_CERT_FILE "
            "to its certificate)"
        ) from None
    if isinstance(error, urllib.error.HTTPError):
        error.close()
        if error.code == 416:  # the part already held more than the server would resume after
            with local_errors(part), open(part, "wb"):
                pass
        elif error.code not in TRANSIENT_HTTP:
            raise DownloadError(
                f"could not download {what} from {host}: the server answered {error.code} {error.reason}"
            ) from None


def _attempt(url, part, context, report, cancelled, stall_seconds, chunk, size) -> None:
    """One request, appending to the part already downloaded when the server resumes there."""
    offset = os.path.getsize(part) if os.path.exists(part) else 0
    if cancelled():
        raise Cancelled("cancelled")
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=stall_seconds, context=context) as response:
        partial = getattr(response, "status", None) == 206
        resumed = offset > 0 and partial and _range_start(response) == offset
        if partial and not resumed:
            with local_errors(part), open(part, "wb"):
                pass
            raise ConnectionError("the server resumed elsewhere than asked: start again")
        done = offset if resumed else 0
        total = _total(response, done) or size or 0
        report(done, total)
        with local_errors(part), open(part, "ab" if resumed else "wb") as f:
            done, error = _copy(response, f, done, total, report, cancelled, chunk)
    if error:
        raise error
    if total and done < total:
        raise ConnectionError(f"the connection closed after {done} of {total} bytes")
    report(done, total or done, final=True)


def _copy(response, f, done, total, report, cancelled, chunk) -> tuple:
    """Appends the answer to ``f``: (bytes done, the network error that stopped it or None), so
    that only errors of the file itself reach ``local_errors``."""
    while True:
        if cancelled():
            raise Cancelled("cancelled")
        try:
            data = response.read1(chunk)
        except (OSError, http.client.HTTPException) as error:
            return done, error
        if not data:
            return done, None
        f.write(data)
        done += len(data)
        report(done, total)


def _range_start(response) -> int | None:
    """Where a 206 answer's Content-Range starts ("bytes 100-999/1000")."""
    value = response.headers.get("Content-Range", "")
    unit, _, spec = value.partition(" ")
    start = spec.split("-", 1)[0]
    return int(start) if unit == "bytes" and start.isdigit() else None


def _total(response, done: int) -> int:
    """The whole file's size from the answer's headers, 0 when it does not say."""
    whole = response.headers.get("Content-Range", "").rpartition("/")[2]
    if done and whole.isdigit():
        return int(whole)
    length = response.headers.get("Content-Length", "")
    return done + int(length) if length.isdigit() else 0


@contextlib.contextmanager
def local_errors(path):
    """A failure to write here is no network error: it is not retried, and a full disk says so."""
    try:
        yield
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise DownloadError(
                f"the disk is full: free some space on the disk that holds {os.path.dirname(path)} and try again"
            ) from None
        raise DownloadError(f"could not write {path}: {error.strerror or error}") from None


def _pause(seconds: float, cancelled) -> None:
    """Waits before a retry, still answering a cancel."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cancelled():
            raise Cancelled("cancelled")
        time.sleep(min(0.1, max(0.0, end - time.monotonic())))


def _digest_of(path: str, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
