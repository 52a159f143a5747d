"""Where the installer put this engine's things, when this is the installed copy of the engine
(``<data>/engine/core``, beside ``<data>/envs`` and ``<data>/weights``; see ``installer.install``).
Standard library only: read before Keras is imported."""

from __future__ import annotations

import os

WEIGHTS_NAMES = ("vgg19_notop.weights.h5", "vgg19_notop.h5")  # as the installer names them


def data_folder() -> str | None:
    """The installer's data folder, or None when this engine runs from a checkout."""
    engine = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data = os.path.dirname(engine)
    installed = os.path.basename(engine) in ("engine", "engine.installing")
    return data if installed and os.path.isdir(os.path.join(data, "envs")) else None


def weights_path() -> str | None:
    """The VGG19 weights the installer installed, if this is an installed engine that has them."""
    data = data_folder()
    paths = [os.path.join(data, "weights", name) for name in WEIGHTS_NAMES] if data else []
    return next((path for path in paths if os.path.isfile(path)), None)


def keras_home() -> str | None:
    """Where Keras keeps its own files (keras.json) for an installed engine: inside the data
    folder, so that uninstalling removes them too."""
    data = data_folder()
    return os.path.join(data, "keras") if data else None
