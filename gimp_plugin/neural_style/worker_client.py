"""Talks to the engine's worker process. Standard library only, no ``gi``: testable anywhere.

Starts ``python -m core.worker`` (or any command speaking ``core.protocol``, such as one over
ssh) with an environment cleaned of GIMP's Python settings (and of an AppImage GIMP's bundled
libraries), without a console window on Windows, checks its hello, sends jobs,
passes progress, stages and previews on, cancels, and stops it. A worker silent for many
heartbeats during a job is taken for stuck. Every failure is a ``WorkerError`` whose text an
artist can act on, with the tail of the worker's stderr for the details.
"""

from __future__ import annotations

import collections
import itertools
import os
import queue
import re
import subprocess
import sys
import threading
import time
from typing import NamedTuple

from core import protocol
from core.protocol import Pixels, ProtocolError

STDERR_TAIL_LINES = 40
CANCEL_POLL_SECONDS = 0.2
_END = object()


class WorkerError(Exception):
    """A failure to show the user: ``message`` and ``hint`` in plain words, ``log_tail`` for experts."""

    def __init__(self, message, hint="", code="", log_tail=""):
        super().__init__(message)
        self.message, self.hint, self.code, self.log_tail = message, hint, code, log_tail

    def user_text(self) -> str:
        return f"{self.message}. {self.hint}".strip() if self.hint else self.message


class JobResult(NamedTuple):
    pixels: Pixels | None  # None when a job was cancelled before it started
    losses: dict
    cancelled: bool


# The dynamic loader's search lists, how they are split, and how they are joined.
LOADER_LISTS = {"LD_LIBRARY_PATH": (r"[:;]", ":"), "LD_PRELOAD": (r"[:\s]", " ")}


def clean_environment(environ=None) -> dict:
    """The environment for the worker: without the PYTHON* settings GIMP makes for its own
    interpreter, and, in an AppImage GIMP (``APPDIR`` set), without its bundled libraries in the
    loader's lists, which would shadow the libraries the engine was built against."""
    environ = os.environ if environ is None else environ
    clean = {k: v for k, v in environ.items() if not k.startswith("PYTHON")}
    if environ.get("APPDIR"):
        bundle = os.path.join(os.path.abspath(environ["APPDIR"]), "")
        for name, (split, join) in LOADER_LISTS.items():
            kept = [
                entry
                for entry in re.split(split, clean.get(name, ""))
                if entry and not os.path.abspath(entry).startswith(bundle)
            ]
            if kept:
                clean[name] = join.join(kept)
            else:
                clean.pop(name, None)
    return clean


def popen_options(platform=sys.platform) -> dict:
    """On Windows, no console window for the worker: GIMP has none to lend, so one would pop up."""
    return {"creationflags": 0x08000000} if platform == "win32" else {}  # CREATE_NO_WINDOW


def forget_gimps_dll_folder(platform=sys.platform) -> None:
    """On Windows GIMP sets its own DLL folder (``SetDllDirectoryW``), which children inherit and
    which would put GIMP's DLLs before the engine's own: reset it to the default search order."""
    if platform == "win32":
        import ctypes

        ctypes.windll.kernel32.SetDllDirectoryW(None)


class WorkerClient:
    """One worker session: ``with WorkerClient(command) as worker: worker.run_job(...)``."""

    def __init__(
        self, command, cwd=None, start_timeout=60.0, silence_timeout=12 * protocol.HEARTBEAT_SECONDS, explain=None
    ):
        """``explain(stderr)``: the artist's sentence for a worker that ended, from what the way to
        it wrote (ssh's complaints: ``installer.remote.Way.explain``), or None."""
        self.command = list(command)
        self.cwd = cwd
        self.explain = explain
        self.start_timeout = start_timeout
        self.silence_timeout = silence_timeout
        self.hello = None
        self._process = None
        self._messages = queue.Queue()
        self._stderr_tail = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._ids = itertools.count(1)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self, on_starting=None) -> protocol.Hello:
        """Start the worker and wait for its hello; returns the hello. Until then the worker says
        what it is loading at least every ``HEARTBEAT_SECONDS`` (``on_starting(Stage)`` hears
        it), so a slow cold start is waited for and only ``start_timeout`` seconds of silence end
        the wait."""
        forget_gimps_dll_folder()
        try:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=clean_environment(),
                cwd=self.cwd,
                **popen_options(),
            )
        except OSError as error:
            raise WorkerError(
                f"the Neural Style engine could not be started ({error.strerror}: {self.command[0]})",
                "Run the Neural Style installer again.",
            ) from None
        threading.Thread(target=self._drain_stderr, args=(self._process.stderr,), daemon=True).start()
        threading.Thread(target=self._read_messages, args=(self._process.stdout,), daemon=True).start()
        while True:
            message = self._next(self.start_timeout)
            if message is None:
                raise self._timed_out("did not start", self.start_timeout)
            if isinstance(message, protocol.Hello):
                self.hello = message
                return message
            if not (isinstance(message, protocol.Stage) and message.is_starting()):
                self.close()
                raise WorkerError(
                    f"expected a hello from the engine, got {message.TYPE!r}", code=protocol.UNREADABLE
                ) from None
            if on_starting is not None:
                on_starting(message)

    def run_job(
        self,
        params: dict,
        content: Pixels,
        styles: list,
        mask: Pixels | None = None,
        on_progress=None,
        should_cancel=None,
        on_stage=None,
        on_preview=None,
        preview: dict | None = None,
        style_masks: tuple = (),
    ) -> JobResult:
        """Send one job and wait for its answer, passing its ``Progress`` and ``Stage`` messages on
        to ``on_progress`` and ``on_stage``, and, when ``preview`` (``protocol.preview_request``)
        asks for them, its ``Preview`` messages to ``on_preview``; raises ``WorkerError``.
        ``style_masks``: where each style paints (``protocol.Job``); ``mask``: the selection.
        ``should_cancel()`` true: the answer is the best picture so far, ``cancelled`` set."""
        job_id = f"job-{next(self._ids)}"
        self._send(protocol.Job(job_id, params, content, tuple(styles), tuple(style_masks), mask, preview))
        listeners = {protocol.Progress: on_progress, protocol.Stage: on_stage, protocol.Preview: on_preview}
        cancel_sent = False
        last_heard = time.monotonic()
        while True:
            if should_cancel is not None and not cancel_sent and should_cancel():
                self._send(protocol.Cancel(job_id))
                cancel_sent = True
            message = self._next(CANCEL_POLL_SECONDS)
            if message is None:
                if time.monotonic() - last_heard > self.silence_timeout:
                    raise self._timed_out("stopped answering", self.silence_timeout)
                continue
            last_heard = time.monotonic()
            if getattr(message, "id", None) not in (job_id, None):
                continue
            if listeners.get(type(message)) is not None:
                listeners[type(message)](message)
            elif isinstance(message, (protocol.Result, protocol.Cancelled)):
                return JobResult(message.image, message.losses, isinstance(message, protocol.Cancelled))
            elif isinstance(message, protocol.Error):
                raise WorkerError(message.message, message.hint, message.code, self.log_tail())

    def estimate(self, params: list, width: int, height: int, timeout=30.0) -> tuple:
        """How long a job of each of ``params`` would take on a ``width`` x ``height`` picture,
        at this computer's pace: one ``protocol.Foretold`` each; raises ``WorkerError``. Not
        while a job runs on another thread (both would read the worker's answers)."""
        request_id = f"estimate-{next(self._ids)}"
        self._send(protocol.Estimate(request_id, width, height, params))
        deadline = time.monotonic() + timeout
        while (message := self._next(max(0.0, deadline - time.monotonic()))) is not None:
            if getattr(message, "id", None) != request_id:
                continue
            if isinstance(message, protocol.Error):
                raise WorkerError(message.message, message.hint, message.code)
            return message.estimates
        raise self._timed_out("did not answer", timeout)

    def close(self, timeout=5.0) -> None:
        """Ask the worker to stop; kill it if it has not within ``timeout`` seconds."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            protocol.send(process.stdin, protocol.Shutdown())
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self) -> str:
        return "".join(self._stderr_tail)

    def _send(self, message):
        try:
            protocol.send(self._process.stdin, message)
        except (OSError, ValueError):
            raise self._died() from None

    def _next(self, timeout):
        """The next message, or ``None`` if none came within ``timeout`` seconds."""
        try:
            item = self._messages.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is _END:
            raise self._died()
        if isinstance(item, protocol.VersionError):
            self.close(timeout=0)
            raise WorkerError(str(item), code=protocol.VERSION, log_tail=self.log_tail())
        if isinstance(item, ProtocolError):
            self.close(timeout=0)
            raise WorkerError(
                f"the engine sent something unreadable ({item})", code=protocol.UNREADABLE, log_tail=self.log_tail()
            )
        return item

    def _timed_out(self, what, seconds):
        self.close(timeout=0)
        return WorkerError(
            f"the Neural Style engine {what}: it was silent for {seconds:.0f} s",
            "Try again; if it keeps happening, run the installer with --check.",
            protocol.TIMEOUT,
            self.log_tail(),
        )

    def _died(self) -> WorkerError:
        process = self._process
        code = None
        if process is not None:
            try:
                code = process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
        self._process = None
        time.sleep(0.1)  # the last of stderr, read on its own thread
        # Before its hello anything can be the way there failing; after it only ssh's own exit code is.
        on_the_way = self.hello is None or code == 255
        explained = self.explain(self.log_tail()) if self.explain is not None and on_the_way else None
        if explained:
            return WorkerError(explained, "", protocol.REMOTE, self.log_tail())
        return WorkerError(
            f"the Neural Style engine stopped unexpectedly (exit code {code})",
            "Try again with a smaller image; run the installer's --check if it persists.",
            protocol.CRASHED,
            self.log_tail(),
        )

    def _read_messages(self, stream):
        """Typed messages onto the queue; a message of a type this client does not know is
        passed over (a newer engine may say more)."""
        while True:
            try:
                raw = protocol.read_message(stream)
                if raw is not None and raw[0]["type"] not in protocol.MESSAGES:
                    continue
                message = None if raw is None else protocol.decode(*raw)
            except ProtocolError as error:
                self._messages.put(error)
                return
            if message is None:
                self._messages.put(_END)
                return
            self._messages.put(message)

    def _drain_stderr(self, stream):
        for line in iter(stream.readline, b""):
            self._stderr_tail.append(line.decode("utf-8", "replace"))
