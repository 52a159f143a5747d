"""What is installed, and taking it away: ``--check`` and ``--uninstall``. Standard library only."""

from __future__ import annotations

import json
import os
import shutil

from installer import locations, matrix, remote, remote_install, settings
from installer.environment import env_python
from installer.install import MARKER, engine_version, handshake, log_folder, unwritable
from installer.plugin import PLUGIN_NAME, remove_plugin
from installer.steps import InstallError


def uninstall(data: str, folders: list, echo=print) -> None:
    """Remove what we added: our plug-in folders (recorded and found) and our data folder; and,
    for an engine on another computer, the engine there (when it can be reached)."""
    marker = _marker(data)
    if marker.get("remote"):
        way = remote.Way(marker.get("kind", remote.SSH), marker["remote"], marker.get("ssh", ""))
        try:
            remote_install.uninstall(way, echo)
        except InstallError as error:
            echo(f"WARNING: the engine {way.where()} was left in place ({error})")
    recorded = marker.get("plugins", [])
    plugin_dirs = {os.path.dirname(p) for p in recorded} | {f.plugins for f in folders}
    for plugins in sorted(plugin_dirs):
        if remove_plugin(plugins):
            echo(f"Removed {os.path.join(plugins, PLUGIN_NAME)}")
    if os.path.isdir(data):
        shutil.rmtree(data)
        echo(f"Removed {data}")


def check(data: str, folders: list) -> tuple:
    """(what is installed, in one line or "", problems in plain words); no problems means all is well."""
    marker = _marker(data)
    problem = unwritable(data)
    if not marker:
        return "", [
            problem
            or f"Neural Style is not installed (or its installation did not finish) in {data}: run the installer"
        ]
    problems = [problem] if problem else []  # an installed engine that can no longer be updated or log
    if marker.get("version") != engine_version():
        problems.append(
            f"the installed engine is version {marker.get('version')}, this installer is "
            f"{engine_version()}: run the installer to upgrade"
        )
    for path in marker.get("plugins", []):
        entry = os.path.join(path, "neural_style.py")
        if not os.path.isfile(entry):
            problems.append(f"the plug-in is missing from {path}: run the installer again")
        elif not os.access(entry, os.X_OK):
            problems.append(f"{entry} is not executable, so GIMP ignores it: run the installer again")
    if marker.get("remote"):
        way = remote.Way(marker.get("kind", remote.SSH), marker["remote"])
        summary = f"engine {marker.get('version')} {way.where()}, computing on {marker.get('device', '?')}"
        engine = _settings(data, problems)
    else:
        label = matrix.VARIANTS.get(marker.get("variant", ""), matrix.VARIANTS["tensorflow"]).label
        python = env_python(marker.get("env", ""))
        summary = (
            f"engine {marker.get('version')}: {label} for Python {marker.get('python', '?')}, computing "
            f"on {marker.get('device', '?')}, in {marker.get('env', data)} (the command line: "
            f"{python} -m core); logs in {log_folder(data)}"
        )
        engine = settings.EngineSettings(
            python, os.path.join(data, "engine"), marker.get("weights", ""), marker.get("backend", "tensorflow"),
            "", "", "",
        )  # fmt: skip
        if not os.path.exists(python):
            problems.append("the engine's Python environment is missing: run the installer again")
    if engine is not None and not problems:
        try:
            handshake(engine)  # the worker starts (there, by ssh, for a remote engine) and can use its weights
        except InstallError as error:
            problems.append(str(error))
    for gimp in locations.gimps_without_python():
        problems.append(
            f"GIMP in {gimp} was installed without its Python support, so it cannot run the plug-in: run "
            "GIMP's installer again and choose its Python component"
        )
    if not folders and not marker.get("plugins"):
        problems.append("no GIMP 3 user folder found: install GIMP 3 and run the installer again")
    return summary, problems


def _settings(data, problems):
    try:
        return settings.read(data)
    except settings.SettingsError as error:
        problems.append(f"{error} Run the installer again.")
        return None


def _marker(data):
    try:
        with open(os.path.join(data, MARKER), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
