"""Where things go on the artist's machine: our data folder and GIMP 3's user plug-in folders.

GIMP 3.0 keeps its user folder in ``GIMP/3.0``, 3.2 in ``GIMP/3.2`` and so on; Flatpak GIMP
keeps it inside its sandbox. Every function takes the environment and platform as arguments so
that tests can describe any machine.
"""

from __future__ import annotations

import os
import plistlib
import re
import sys
from typing import NamedTuple

APP_FOLDER = "neural-style-gimp"
WINDOWS_APP_FOLDER = "nsg"  # short, as Windows limits paths to 260 characters (installer.environment)
DATA_DIR_ENV = "NEURAL_STYLE_DATA_DIR"  # another data folder, for every part (tests, portable set-ups)
DATA_POINTER = "data-folder.txt"  # beside the plug-in, only when its data folder is not the default
FLATPAK_CONFIG = os.path.join(".var", "app", "org.gimp.GIMP", "config")
FLATPAK_BIN = "/var/lib/flatpak/app/org.gimp.GIMP/current/active/files/bin"  # system-wide Flatpak GIMP


class GimpFolder(NamedTuple):
    plugins: str  # the plug-ins folder to install into
    version: str  # "3.0", "3.2", ... or "custom"
    flatpak: bool


def data_dir(environ=os.environ, platform=sys.platform) -> str:
    """The per-user folder for the engine's environment, code, weights and settings."""
    if environ.get(DATA_DIR_ENV):
        return environ[DATA_DIR_ENV]
    home = environ.get("HOME") or os.path.expanduser("~")
    if platform.startswith("win"):
        base = environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
        return os.path.join(base, WINDOWS_APP_FOLDER)
    if platform == "darwin":
        base = os.path.join(home, "Library", "Application Support")
    else:
        base = environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    return os.path.join(base, APP_FOLDER)


def plugin_data_dir(plugin_dir: str, environ=os.environ, platform=sys.platform) -> str:
    """The data folder the plug-in in ``plugin_dir`` uses: the one its pointer names (written by the
    installer for a data folder chosen with --data-dir, or for Flatpak GIMP, whose own data folder
    lies inside its sandbox), else the default."""
    try:
        with open(os.path.join(plugin_dir, DATA_POINTER), encoding="utf-8") as f:
            named = f.read().strip()
    except OSError:
        named = ""
    return named or data_dir(environ, platform)


def gimp_config_roots(environ=os.environ, platform=sys.platform) -> list:
    """(folder holding ``3.x`` sub-folders, is_flatpak) for each place GIMP 3 may keep its settings."""
    home = environ.get("HOME") or os.path.expanduser("~")
    if platform.startswith("win"):
        return [(os.path.join(environ.get("APPDATA") or os.path.join(home, "AppData", "Roaming"), "GIMP"), False)]
    if platform == "darwin":
        return [(os.path.join(home, "Library", "Application Support", "GIMP"), False)]
    config = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return [(os.path.join(config, "GIMP"), False), (os.path.join(home, FLATPAK_CONFIG, "GIMP"), True)]


def find_gimp_folders(environ=os.environ, platform=sys.platform, installed=()) -> list:
    """The plug-in folders of every GIMP 3.x user folder found, newest first.

    ``GIMP3_DIRECTORY`` (GIMP's own override) wins. When GIMP 3 is installed but was never
    started, its user folder does not exist yet: ``installed`` (``installed_gimps()``) then names
    them, for the installer to say so (``never_started``) rather than to make them.
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
    return sorted(found or list(installed), key=lambda f: (_number(f.version), not f.flatpak), reverse=True)


def never_started(folder: GimpFolder) -> bool:
    """GIMP's user folder is missing: GIMP sets it up (bringing over an older version's settings)
    only when it starts and finds none, so the installer must not make it."""
    return folder.version != "custom" and not os.path.isdir(os.path.dirname(folder.plugins))


def installed_gimps(environ=os.environ, platform=sys.platform, flatpak_bin=FLATPAK_BIN) -> list:
    """The user plug-in folders of the GIMP 3 programs installed here (started or not), found
    without running them: by program name (GIMP calls them ``gimp-3.2`` and so on) on the PATH,
    in Windows' program folders and in Flatpak's, or by a Mac app bundle's version."""
    folders = environ.get("PATH", "").split(os.pathsep)
    if platform.startswith("win"):
        programs = [
            environ.get("ProgramFiles"),
            environ.get("LOCALAPPDATA") and os.path.join(environ["LOCALAPPDATA"], "Programs"),
        ]
        folders += [os.path.join(base, "GIMP 3", "bin") for base in programs if base]
    native = {v for folder in folders for v in _program_versions(folder)}
    if platform == "darwin":
        apps = ("/Applications/GIMP.app", os.path.join(environ.get("HOME", ""), "Applications", "GIMP.app"))
        native |= {v for v in map(_mac_app_version, apps) if v}
    (native_root, _), *rest = gimp_config_roots(environ, platform)
    found = [GimpFolder(os.path.join(native_root, v, "plug-ins"), v, False) for v in native]
    if rest:
        flatpak_root = rest[0][0]
        found += [
            GimpFolder(os.path.join(flatpak_root, v, "plug-ins"), v, True) for v in _program_versions(flatpak_bin)
        ]
    return found


def gimps_without_python(environ=os.environ, platform=sys.platform) -> list:
    """The GIMP 3 installations on Windows whose optional Python support was left out (GIMP's
    installer makes it a component): without ``pygimp.interp`` that GIMP cannot run the plug-in."""
    if not platform.startswith("win"):
        return []
    bases = [
        environ.get("ProgramFiles"),
        environ.get("LOCALAPPDATA") and os.path.join(environ["LOCALAPPDATA"], "Programs"),
    ]
    missing = []
    for base in filter(None, bases):
        gimp = os.path.join(base, "GIMP 3")
        interp = os.path.join(gimp, "lib", "gimp", "3.0", "interpreters", "pygimp.interp")
        if os.path.isdir(os.path.join(gimp, "bin")) and not os.path.isfile(interp):
            missing.append(gimp)
    return missing


def _program_versions(folder):
    if not os.path.isdir(folder):
        return set()
    return {
        m.group(1) for name in os.listdir(folder) if (m := re.fullmatch(r"gimp(?:-console)?-(3\.\d+)(?:\.exe)?", name))
    }


def _mac_app_version(app):
    try:
        with open(os.path.join(app, "Contents", "Info.plist"), "rb") as f:
            version = plistlib.load(f).get("CFBundleShortVersionString", "")
    except (OSError, ValueError, plistlib.InvalidFileException):
        return None
    match = re.match(r"3\.\d+", version)
    return match.group(0) if match else None


def _number(version):
    return tuple(int(p) for p in version.split(".")) if version != "custom" else (0,)
