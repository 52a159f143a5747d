"""Where the VGG19 weights come from: an explicit file, or Keras' official download, hash-checked.

Order of precedence: the ``path`` argument, then the ``NEURAL_STYLE_WEIGHTS`` environment
variable, then the weights the installer installed beside this engine (``core.installed``), then
the Keras cache (downloading into it when missing). Every failure is a
``WeightsError`` whose text says what to do.
"""

from __future__ import annotations

import os

WEIGHTS_ENV = "NEURAL_STYLE_WEIGHTS"
WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" + WEIGHTS_FILE
WEIGHTS_MD5 = "253f8cb515780f3b799900260a226db6"
CACHE_SUBDIR = "models"
FIX_HINT = f"run the installer again, or pass the file with --weights (or the {WEIGHTS_ENV} environment variable)"


class WeightsError(RuntimeError):
    """The VGG19 weights are missing, unreadable or not the right file."""


def explicit_weights_path(path: str | None = None) -> str | None:
    """The weights file the user named, if any, checked to exist."""
    path = path or os.environ.get(WEIGHTS_ENV) or None
    if path is None:
        return None
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(path):
        raise WeightsError(f"VGG19 weights file {path} does not exist; {FIX_HINT}")
    return path


def keras_cache_dir(cache_dir: str | None = None) -> str:
    """The Keras home that ``keras.utils.get_file`` uses (``KERAS_HOME``, else ~/.keras)."""
    return os.path.expanduser(cache_dir or os.environ.get("KERAS_HOME") or "~/.keras")


def cached_weights_path(cache_dir: str | None = None) -> str:
    """Where ``download_weights`` keeps the file (it may not exist yet)."""
    return os.path.join(keras_cache_dir(cache_dir), CACHE_SUBDIR, WEIGHTS_FILE)


def download_weights(origin: str = WEIGHTS_ORIGIN, file_hash: str = WEIGHTS_MD5, cache_dir: str | None = None) -> str:
    """Fetch the weights into the Keras cache unless a file with the right hash is there."""
    from keras.utils import get_file

    cache_dir = keras_cache_dir(cache_dir)
    os.makedirs(cache_dir, exist_ok=True)  # get_file falls back to /tmp for a missing folder
    try:
        return get_file(
            WEIGHTS_FILE, origin=origin, file_hash=file_hash, cache_subdir=CACHE_SUBDIR, cache_dir=cache_dir
        )
    except ValueError:
        target = cached_weights_path(cache_dir)
        if os.path.exists(target):
            os.remove(target)
        raise WeightsError(
            f"the downloaded VGG19 weights from {origin} are damaged (hash mismatch); try again, or " + FIX_HINT
        ) from None
    except Exception as error:  # get_file reports urllib failures as plain Exception
        raise WeightsError(f"could not download the VGG19 weights from {origin} ({error}); " + FIX_HINT) from None


def resolve_weights(path: str | None = None, download: bool = True) -> str:
    """The weights file to use: the one named, else the installed one, else the cached one,
    fetched if ``download``."""
    from core import installed

    explicit = explicit_weights_path(path) or installed.weights_path()
    if explicit:
        return explicit
    if download:
        return download_weights()
    cached = cached_weights_path()
    if not os.path.isfile(cached):
        raise WeightsError(f"the VGG19 weights are not installed; {FIX_HINT}")
    return cached
