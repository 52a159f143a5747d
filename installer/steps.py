"""Running an installation step's command: its output goes to the install log, and a failure
becomes an ``InstallError``, one line for people. Standard library only."""

from __future__ import annotations

import os
import subprocess


class InstallError(Exception):
    """A step failed; the text is one line saying what happened and what to do."""


class StepLog:
    """Runs a step's command with its output kept in the install log; a failure becomes one line."""

    def __init__(self, path, keras_home=None):
        """``keras_home``: where the engine's steps let Keras keep its own files (keras.json)."""
        self.path = path
        self.keras_home = keras_home
        with open(path, "w", encoding="utf-8"):
            pass

    def run(self, command, what, backend=None):
        """The command's output; on failure an ``InstallError`` naming ``what`` (or, with
        ``what=None``, the output itself for the caller to explain)."""
        env = dict(os.environ, **({"KERAS_BACKEND": backend} if backend else {}))
        if self.keras_home:
            env["KERAS_HOME"] = self.keras_home
        try:
            completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        except OSError as error:
            raise InstallError(f"{what or command[0]} failed: {error}") from None
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(f"$ {' '.join(command)}\n{completed.stdout}\n")
        if completed.returncode == 0:
            return completed.stdout if what else None
        if what is None:
            return completed.stdout
        lines = [line.strip() for line in completed.stdout.splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit code {completed.returncode}"
        raise InstallError(f"{what} failed: {last} (details in {self.path})")
