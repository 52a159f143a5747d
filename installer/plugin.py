"""The plug-in folder GIMP loads, ``plug-ins/neural_style/``: what it holds, and laying it out.

It holds everything an artist needs to install from inside GIMP: the plug-in's modules (the entry
file ``neural_style.py`` executable), the engine's source ``core/`` (without its benchmark), this
installer with its lock files, and the sample pictures of the self-check. The release archive is
this folder zipped (``installer.release``); the terminal installer lays out the same folder.

In a checkout the plug-in's modules lie in ``gimp_plugin/neural_style/``; in the plug-in folder
(or an unpacked release) they lie at its top, beside ``core/`` and ``installer/``.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys

from installer import fs
from installer.locations import DATA_POINTER

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGIN_NAME = "neural_style"
ENTRY = PLUGIN_NAME + ".py"
CHECKOUT_PLUGIN = os.path.join(REPO, "gimp_plugin", PLUGIN_NAME)
PLUGIN_SOURCE = CHECKOUT_PLUGIN if os.path.isdir(CHECKOUT_PLUGIN) else REPO  # the plug-in's own modules
PACKAGES = ("core", "installer", "samples")  # copied whole, beside the plug-in's modules
LEFT_OUT = {"__pycache__", "bench", ".pytest_cache"}  # core/bench: the benchmark stays with developers


def plugin_files(repo: str = REPO) -> list:
    """(source path, path inside the plug-in folder) of every file the plug-in folder holds."""
    modules = os.path.join(repo, "gimp_plugin", PLUGIN_NAME)
    if not os.path.isdir(modules):
        modules = repo
    files = [(os.path.join(modules, n), n) for n in sorted(os.listdir(modules)) if n.endswith(".py")]
    for package in PACKAGES:
        for base, folders, names in os.walk(os.path.join(repo, package)):
            folders[:] = sorted(f for f in folders if f not in LEFT_OUT)
            for name in sorted(names):
                if not name.endswith((".pyc", ".part")):
                    source = os.path.join(base, name)
                    files.append((source, os.path.relpath(source, repo).replace(os.sep, "/")))
    return files


def install_plugin(plugins_dir: str, data_dir: str | None = None) -> str:
    """Install (or replace) the plug-in in ``plugins_dir``; returns its folder. ``data_dir``: the
    engine's data folder, named in a pointer beside the plug-in when it is not the default one.

    Built beside the target and renamed into place, so GIMP never sees a half-copied plug-in.
    The plug-in folder this installer runs from is left as it is.
    """
    target = os.path.join(plugins_dir, PLUGIN_NAME)
    if os.path.abspath(target) == os.path.abspath(REPO):
        return target
    staging = target + ".installing"
    shutil.rmtree(staging, ignore_errors=True)
    for source, inside in plugin_files():
        os.makedirs(os.path.dirname(os.path.join(staging, inside)), exist_ok=True)
        shutil.copy2(source, os.path.join(staging, inside))
    entry = os.path.join(staging, ENTRY)
    os.chmod(entry, os.stat(entry).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    if data_dir:
        with open(os.path.join(staging, DATA_POINTER), "w", encoding="utf-8") as f:
            f.write(data_dir + "\n")
    fs.swap_in(staging, target)
    return target


def remove_plugin(plugins_dir: str) -> bool:
    target = os.path.join(plugins_dir, PLUGIN_NAME)
    if not os.path.isdir(target) or os.path.abspath(target) == os.path.abspath(REPO):
        return False
    fs.remove_tree(target)
    return True


def worker_client():
    """The plug-in's worker client module (standard library only), which the installer's
    self-check shakes hands with the engine through, wherever the plug-in's modules lie."""
    if PLUGIN_SOURCE not in sys.path:
        sys.path.append(PLUGIN_SOURCE)
    import worker_client

    return worker_client
