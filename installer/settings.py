"""Where the engine is: the settings the installer writes and the plug-in reads. Standard library only.

``settings.json`` lies in the engine's data folder, so that unzipping a newer plug-in over the old
one loses nothing. Format 2 describes the engine (kind ``local``: its Python, its folder, the
weights, the backend, what it computes on, its version and the log folder; kind ``ssh``: the same
on another computer, ``host``, reached by the ``ssh`` command line; kind ``wsl``: the same in the
WSL distribution ``host`` of this Windows PC; both with the plug-in's log folder here);
``worker_command`` derives how to start it, the one place that knows.
Format 1 (a stored command line, in the plug-in folder as ``neural_style.json``) is read once and
rewritten as format 2.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import NamedTuple

from installer import remote

FILE = "settings.json"
FORMAT = 2
LEGACY_FILE = "neural_style.json"  # format 1, beside the plug-in
REINSTALL = (
    "Repair the engine with Filters > Artistic > Neural Style Engine... (scripts: python-fu-neural-style-install)."
)


class SettingsError(Exception):
    """The settings are missing or broken; the text says what, in one sentence."""


class EngineSettings(NamedTuple):
    python: str  # the engine environment's Python
    engine: str  # the folder holding the engine's ``core`` package (the worker's working folder)
    weights: str
    backend: str
    device: str  # what the self-check found it computes on, for the dialog: "CPU (tensorflow)"
    version: str  # the engine's version, compared with the plug-in's
    logs: str  # the folder of the plug-in's and the worker's logs (an ssh engine's worker logs to its stderr)
    kind: str = "local"  # or SSH, WSL
    host: str = ""  # SSH: user@host or an alias of ~/.ssh/config; WSL: the distribution
    ssh: str = ""  # SSH: the ssh command line ("ssh -p 2222"); empty: plain ssh

    def way(self) -> remote.Way | None:
        """How to reach the engine's shell, for an engine elsewhere; None for one here."""
        return remote.Way(self.kind, self.host, self.ssh) if self.kind in remote.KINDS else None


SSH, WSL = remote.SSH, remote.WSL


def worker_command(settings: EngineSettings, in_flatpak: bool | None = None) -> list:
    """The command line that starts the worker of ``settings``' engine (on its host, by ssh, for
    an ssh engine); from inside Flatpak GIMP's sandbox (``/.flatpak-info`` exists there) it is
    started outside, on the machine itself."""
    command = [settings.python, "-m", "core.worker", "--weights", settings.weights, "--backend", settings.backend]
    if settings.way():
        command = [*settings.way().shell(), remote.remote_command(command, settings.engine)]
    elif settings.logs:
        command += ["--log-file", os.path.join(settings.logs, "worker.log")]
    if in_flatpak is None:
        in_flatpak = os.path.exists("/.flatpak-info")
    return ["flatpak-spawn", "--host", *command] if in_flatpak else command


def worker_folder(settings: EngineSettings) -> str | None:
    """The folder to start the worker's command in: the engine's, or none here for an engine
    elsewhere (its command changes to the engine's folder there)."""
    return None if settings.way() else settings.engine


def write(data: str, settings: EngineSettings) -> str:
    """Written atomically, so a half-written file never reaches the plug-in; returns its path."""
    os.makedirs(data, exist_ok=True)
    path = os.path.join(data, FILE)
    values = {"format": FORMAT, **settings._asdict()}
    temporary = path + ".part"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(values, f, indent=2)
    os.replace(temporary, path)
    return path


def read(data: str, plugin_dir: str | None = None) -> EngineSettings:
    """The settings in ``data``; format 1 beside the plug-in is taken over once. Raises
    ``SettingsError`` when there are none or they are broken."""
    path = os.path.join(data, FILE)
    if not os.path.exists(path) and plugin_dir and os.path.exists(os.path.join(plugin_dir, LEGACY_FILE)):
        _take_over_format_1(os.path.join(plugin_dir, LEGACY_FILE), data)
    try:
        with open(path, encoding="utf-8") as f:
            values = json.load(f)
    except FileNotFoundError:
        raise SettingsError("The Neural Style engine is not installed.") from None
    except (OSError, ValueError) as error:
        raise SettingsError(f"The Neural Style settings file {path} is damaged ({error}).") from None
    if not isinstance(values, dict) or values.get("format") != FORMAT:
        raise SettingsError(f"The Neural Style settings file {path} is from another version.")
    try:
        return EngineSettings(**{k: v for k, v in values.items() if k in EngineSettings._fields})
    except TypeError as error:
        raise SettingsError(f"The Neural Style settings file {path} is incomplete ({error}).") from None


def _take_over_format_1(legacy: str, data: str) -> None:
    """Format 1 stored the worker's command line: ``[flatpak-spawn --host] PYTHON -m core.worker
    --weights W --backend B [--log-file LOG]``; its parts become format 2, and the old file goes."""
    try:
        with open(legacy, encoding="utf-8") as f:
            values = json.load(f)
        command = list(values["worker_command"])
        if command[:2] == ["flatpak-spawn", "--host"]:
            command = command[2:]
        options = dict(zip(command[3::2], command[4::2]))
        log_file = options.get("--log-file", "")
        settings = EngineSettings(
            python=command[0],
            engine=values.get("worker_cwd") or "",
            weights=options["--weights"],
            backend=options.get("--backend", "tensorflow"),
            device=str(values.get("engine_device", "")),
            version=str(values.get("engine_version", "")),
            logs=values.get("log_folder") or (os.path.dirname(log_file) if log_file else ""),
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return  # unreadable: the engine counts as not installed, and Repair makes new settings
    write(data, settings)
    with contextlib.suppress(OSError):
        os.remove(legacy)
