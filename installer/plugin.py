"""Lays out the plug-in folder GIMP loads: ``plug-ins/neural_style/neural_style.py`` (executable),
its helper modules, the shared protocol module and the settings file, all or nothing."""

from __future__ import annotations

import os
import shutil
import stat

from gimp_plugin.neural_style.settings import SETTINGS_FILE, write_settings

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PLUGIN_NAME = "neural_style"
PLUGIN_SOURCE = os.path.join(REPO, "gimp_plugin", PLUGIN_NAME)
SHARED_MODULES = ("core/__init__.py", "core/protocol.py")


def install_plugin(
    plugins_dir: str,
    worker_command: list,
    worker_cwd: str | None,
    engine_version: str,
    engine_device: str = "",
    log_folder: str = "",
) -> str:
    """Install (or replace) the plug-in in ``plugins_dir``; returns its folder.

    Built beside the target and renamed into place, so GIMP never sees a half-copied plug-in.
    """
    target = os.path.join(plugins_dir, PLUGIN_NAME)
    staging = target + ".installing"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(os.path.join(staging, "core"))
    for name in sorted(n for n in os.listdir(PLUGIN_SOURCE) if n.endswith(".py")):
        shutil.copy2(os.path.join(PLUGIN_SOURCE, name), os.path.join(staging, name))
    for name in SHARED_MODULES:
        shutil.copy2(os.path.join(REPO, name), os.path.join(staging, name))
    entry = os.path.join(staging, "neural_style.py")
    os.chmod(entry, os.stat(entry).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    write_settings(
        os.path.join(staging, SETTINGS_FILE), worker_command, worker_cwd, engine_version, engine_device, log_folder
    )
    remove_plugin(plugins_dir)
    os.rename(staging, target)
    return target


def remove_plugin(plugins_dir: str) -> bool:
    target = os.path.join(plugins_dir, PLUGIN_NAME)
    if not os.path.isdir(target):
        return False
    shutil.rmtree(target)
    return True
