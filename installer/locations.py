"""Where things go on the artist's machine: our data folder and GIMP 3's user plug-in folders.

GIMP 3.0 keeps its user folder in ``GIMP/3.0``, 3.2 in ``GIMP/3.2`` and so on; Flatpak GIMP
keeps it inside its sandbox. Every function takes the environment and platform as arguments so
that tests can describe any machine.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
from typing import NamedTuple

APP_FOLDER = "neural-style-gimp"
FLATPAK_CONFIG = os.path.join(".var", "app", "org.gimp.GIMP", "config")


class GimpFolder(NamedTuple):
    plugins: str   # the plug-ins folder to install into
    version: str   # "3.0", "3.2", ... or "custom"
    flatpak: bool


def data_dir(environ=os.environ, platform=sys.platform) -> str:
    """The per-user folder for the engine's environment, code and weights."""
    home = environ.get("HOME") or os.path.expanduser("~")
    if platform.startswith("win"):
        base = environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
    elif platform == "darwin":
        base = os.path.join(home, "Library", "Application Support")
    else:
        base = environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    return os.path.join(base, APP_FOLDER)


def gimp_config_roots(environ=os.environ, platform=sys.platform) -> list:
    """(folder holding ``3.x`` sub-folders, is_flatpak) for each place GIMP 3 may keep its settings."""
    home = environ.get("HOME") or os.path.expanduser("~")
    if platform.startswith("win"):
        return [(os.path.join(environ.get("APPDATA") or os.path.join(home, "AppData", "Roaming"), "GIMP"), False)]
    if platform == "darwin":
        return [(os.path.join(home, "Library", "Application Support", "GIMP"), False)]
    config = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return [(os.path.join(config, "GIMP"), False), (os.path.join(home, FLATPAK_CONFIG, "GIMP"), True)]


def find_gimp_folders(environ=os.environ, platform=sys.platform, installed_version=None) -> list:
    """The plug-in folders of every GIMP 3.x user folder found, newest first.

    ``GIMP3_DIRECTORY`` (GIMP's own override) wins. When GIMP 3 is installed but was never
    started, its user folder does not exist yet: ``installed_version`` (from ``gimp --version``)
    then names the one to create.
    """
    if environ.get("GIMP3_DIRECTORY"):
        return [GimpFolder(os.path.join(environ["GIMP3_DIRECTORY"], "plug-ins"), "custom", False)]
    found = []
    for root, flatpak in gimp_config_roots(environ, platform):
        if not os.path.isdir(root):
            continue
        for name in os.listdir(root):
            if re.fullmatch(r"3\.\d+", name) and os.path.isdir(os.path.join(root, name)):
                found.append(GimpFolder(os.path.join(root, name, "plug-ins"), name, flatpak))
    if not found and installed_version:
        root, _ = gimp_config_roots(environ, platform)[0]
        found.append(GimpFolder(os.path.join(root, installed_version, "plug-ins"), installed_version, False))
    return sorted(found, key=lambda f: (tuple(int(p) for p in f.version.split(".")), not f.flatpak),
                  reverse=True)


def installed_gimp_version(which=shutil.which) -> str | None:
    """"3.0", "3.2", ... of a GIMP 3 on the PATH, if any (by program name, without running it)."""
    for program in ("gimp-3.2", "gimp-3.0", "gimp-console-3.2", "gimp-console-3.0"):
        if which(program):
            return program.rsplit("-", 1)[1]
    return None
