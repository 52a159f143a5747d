"""The installer's settings file, read by the plug-in. Standard library only, no ``gi``.

``settings.json`` lies beside the plug-in (the installer writes it; ``NEURAL_STYLE_SETTINGS``
names another file). It says how to start the worker:
``{"format": 1, "worker_command": [...], "worker_cwd": "..." or null, "engine_version": "...",
"engine_device": "...", "log_folder": "..."}``; what the engine computes on (from the installer's
self-check) is shown in the dialog, the log folder holds the plug-in's and the worker's logs; both
may be missing.
"""

from __future__ import annotations

import json
import os
from typing import NamedTuple

SETTINGS_FILE = "settings.json"  # never neural_style.*: GIMP on Windows could run it as the plug-in
SETTINGS_ENV = "NEURAL_STYLE_SETTINGS"
SETTINGS_FORMAT = 1
REINSTALL = "Run the Neural Style installer (python3 -m installer) again."


class SettingsError(Exception):
    """The settings are missing or broken; the text says what to do."""


class Settings(NamedTuple):
    worker_command: list
    worker_cwd: str | None
    engine_version: str
    engine_device: str = ""
    log_folder: str = ""


def settings_path(plugin_dir: str) -> str:
    return os.environ.get(SETTINGS_ENV) or os.path.join(plugin_dir, SETTINGS_FILE)


def load_settings(plugin_dir: str) -> Settings:
    path = settings_path(plugin_dir)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise SettingsError(f"The Neural Style engine is not installed (no {path}). {REINSTALL}") from None
    except (OSError, ValueError) as error:
        raise SettingsError(f"The Neural Style settings file {path} is damaged ({error}). {REINSTALL}") from None
    if not isinstance(data, dict) or data.get("format") != SETTINGS_FORMAT:
        raise SettingsError(f"The Neural Style settings file {path} is from another version. {REINSTALL}")
    command = data.get("worker_command")
    if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
        raise SettingsError(f"The Neural Style settings file {path} has no worker command. {REINSTALL}")
    cwd = data.get("worker_cwd")
    if cwd is not None and not os.path.isdir(cwd):
        raise SettingsError(f"The Neural Style engine folder {cwd} is missing. {REINSTALL}")
    return Settings(
        command,
        cwd,
        str(data.get("engine_version", "")),
        str(data.get("engine_device", "")),
        str(data.get("log_folder", "")),
    )


def write_settings(
    path: str,
    worker_command: list,
    worker_cwd: str | None,
    engine_version: str,
    engine_device: str = "",
    log_folder: str = "",
) -> None:
    """Written atomically, so a half-written file never reaches the plug-in."""
    data = {
        "format": SETTINGS_FORMAT,
        "worker_command": list(worker_command),
        "worker_cwd": worker_cwd,
        "engine_version": engine_version,
        "engine_device": engine_device,
        "log_folder": log_folder,
    }
    temporary = path + ".part"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    os.replace(temporary, path)
