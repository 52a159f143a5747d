"""Running an installation step's command: its output is streamed line by line into the install
log, a cancel stops it within a fraction of a second, and a failure becomes an ``InstallError``,
one line for people. Standard library only.

Children start with a clean environment: without the ``PYTHON*`` settings of the Python that runs
the installer (GIMP's, when installing from GIMP), in UTF-8 mode, and without a console window on
Windows; ``HTTPS_PROXY`` and ``SSL_CERT_FILE`` pass through.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading

from installer.progress import Cancelled, never_cancelled

CANCEL_POLL_SECONDS = 0.2


class InstallError(Exception):
    """A step failed; the text is one line saying what happened and what to do."""


def child_environment(environ=None, **extra) -> dict:
    """The environment for the installer's children (see the module's docstring)."""
    environ = os.environ if environ is None else environ
    clean = {k: v for k, v in environ.items() if not k.startswith("PYTHON")}
    clean["PYTHONUTF8"] = "1"
    clean.update({k: v for k, v in extra.items() if v})
    return clean


def popen_options(platform=sys.platform) -> dict:
    """On Windows, no console window for a child: GIMP has none to lend, so one would pop up."""
    return {"creationflags": 0x08000000} if platform == "win32" else {}  # CREATE_NO_WINDOW


class StepLog:
    """Runs a step's command with its output kept in the install log; a failure becomes one line."""

    def __init__(self, path, keras_home=None, cancelled=never_cancelled):
        """``keras_home``: where the engine's steps let Keras keep its own files (keras.json)."""
        self.path = path
        self.keras_home = keras_home
        self.cancelled = cancelled
        with open(path, "w", encoding="utf-8"):
            pass

    def write(self, text: str) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(text)

    def run(self, command, what, backend=None, on_line=None, env=None):
        """The command's output; on failure an ``InstallError`` naming ``what`` (or, with
        ``what=None``, the output itself for the caller to explain). ``on_line(line)`` sees each
        line as it comes. Raises ``Cancelled`` (the child stopped) when the install is cancelled."""
        environment = child_environment(
            env, KERAS_BACKEND=backend, KERAS_HOME=self.keras_home, PYTHONIOENCODING="utf-8"
        )
        self.write(f"$ {' '.join(command)}\n")
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=environment,
                **popen_options(),
            )
        except OSError as error:
            raise InstallError(f"{what or command[0]} failed: {error}") from None
        lines = queue.Queue()
        reader = threading.Thread(target=self._read, args=(process, lines), daemon=True)
        reader.start()
        output = []
        while reader.is_alive() or not lines.empty():
            if self.cancelled():
                _stop(process)
                reader.join()
                self.write("(cancelled)\n")
                raise Cancelled()
            try:
                line = lines.get(timeout=CANCEL_POLL_SECONDS)
            except queue.Empty:
                continue
            output.append(line)
            if on_line is not None:  # on the caller's thread: it may call GIMP
                on_line(line.rstrip())
        process.wait()
        if process.returncode == 0:
            return "".join(output) if what else None
        if what is None:
            return "".join(output)
        last = next((line.strip() for line in reversed(output) if line.strip()), f"exit code {process.returncode}")
        raise InstallError(f"{what} failed: {last} (details in {self.path})")

    def _read(self, process, lines):
        """Copies the child's output into the log as it comes, and hands each line on."""
        with open(self.path, "a", encoding="utf-8") as log:
            for raw in iter(process.stdout.readline, b""):
                line = raw.decode("utf-8", "replace")
                log.write(line)
                log.flush()
                lines.put(line)
        process.stdout.close()


def _stop(process, grace=3.0):
    """Ask a child to stop, then make it."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
