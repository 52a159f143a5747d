"""Whether the engine is ready for this plug-in, and installing it from inside GIMP. No ``gi``.

The plug-in folder carries the installer (``installer/``, standard library only), which GIMP's
own Python can run: it finds or downloads a Python for the engine and builds the engine's
environment in the data folder. What the plug-in needs to know is one ``EngineState``: ready, or
the one sentence saying what is wrong and the button that fixes it (Install, Update or Repair).
"""

from __future__ import annotations

import os
from typing import NamedTuple

from core import __version__
from installer import install, locations, machine, matrix, settings
from installer.progress import never_cancelled, no_progress

INSTALL, UPDATE, REPAIR = "Install", "Update", "Repair"


class EngineState(NamedTuple):
    settings: settings.EngineSettings | None  # None when not ready
    problem: str  # one sentence; "" when ready
    action: str  # INSTALL, UPDATE, REPAIR, or "" when ready


def engine_state(plugin_dir: str) -> EngineState:
    """What this plug-in's engine is like: ready, missing, broken or older than the plug-in."""
    data = locations.plugin_data_dir(plugin_dir)
    try:
        found = settings.read(data, plugin_dir)
    except settings.SettingsError as error:
        missing = not os.path.exists(os.path.join(data, settings.FILE))
        return EngineState(None, str(error), INSTALL if missing else REPAIR)
    way = found.way()
    here = way is None  # elsewhere, its worker's hello says whether it works
    if here and not os.path.isfile(found.python):
        return EngineState(None, "The Neural Style engine is damaged: its Python environment is missing.", REPAIR)
    if here and not os.path.isdir(os.path.join(found.engine, "core")):
        return EngineState(None, f"The Neural Style engine is damaged: its folder {found.engine} is missing.", REPAIR)
    if here and not os.path.isfile(found.weights):
        return EngineState(None, "The VGG19 weights Neural Style paints with are missing.", REPAIR)
    if found.version != __version__ and not here:  # only a terminal reaches the other computer
        return EngineState(
            None,
            f"The Neural Style engine {way.where()} is version {found.version}; this plug-in is {__version__}. "
            f"Update it with python3 -m installer {way.installer_option()} in a terminal, or install one here.",
            INSTALL,
        )
    if found.version != __version__:
        return EngineState(
            None,
            f"The Neural Style engine installed is version {found.version}; this plug-in is {__version__}.",
            UPDATE,
        )
    return EngineState(found, "", "")


def ready_settings(plugin_dir: str) -> settings.EngineSettings:
    """The settings of a ready engine; raises ``SettingsError`` with the sentence and the way out."""
    state = engine_state(plugin_dir)
    if state.settings is None:
        raise settings.SettingsError(f"{state.problem} {settings.REINSTALL}")
    return state.settings


def worker_for(engine: settings.EngineSettings):
    """A client for the engine's worker, here or on another computer (``install.worker_for``)."""
    return install.worker_for(engine)


def choose(backend: str = "") -> matrix.Choice:
    """What installing would put on this machine; raises ``matrix.Unsupported`` with one line."""
    return matrix.choose(machine.interpreters(), machine.has_nvidia_gpu(), backend or None)


def plan_text(choice: matrix.Choice) -> str:
    """What will be installed, for the install window: backend, device, download size, disk space."""
    device = matrix.expected_device(choice.interpreter.platform, choice.variant, machine.has_nvidia_gpu())
    return (
        f"{choice.describe()}, computing on the {device}. About {matrix.download_mb(choice)} MB to download "
        f"(and 80 MB of VGG19 weights), {matrix.disk_needed_gb(choice.interpreter.platform, choice.variant):.1f} GB "
        "of free disk space while installing."
    )


def install_engine(
    plugin_dir: str,
    choice: matrix.Choice,
    weights: str = "",
    progress=no_progress,
    cancelled=never_cancelled,
    echo=None,
) -> settings.EngineSettings:
    """Install (or update, or repair) the engine for this plug-in; its settings once ready.
    Raises ``InstallError`` or ``Cancelled``; either leaves the previous installation as it was."""
    data = locations.plugin_data_dir(plugin_dir)
    echo = echo or (lambda text: None)
    install.install(data, [], weights or None, choice, echo=echo, progress=progress, cancelled=cancelled)
    return ready_settings(plugin_dir)
