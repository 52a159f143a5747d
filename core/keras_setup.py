"""Choose the Keras backend and import Keras on it, without the C++ start-up notices TensorFlow
prints on stderr.

Keras reads its backend once, at its first import, so this runs before anything else imports
it. TensorFlow's notices (oneDNN, CPU features) are written below Python, before any logging
setting can apply, so the process's stderr is pointed at the null device while the import runs.
"""

import contextlib
import importlib.util
import os
import sys

from core import installed

BACKENDS = ("tensorflow", "jax", "torch")  # Keras backends the engine has a module for


@contextlib.contextmanager
def _stderr_silenced():
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_keras(backend: str | None = None):
    """Import keras (and its backend) once, quietly; later imports are free.

    ``backend`` (tensorflow, jax, torch) overrides ``KERAS_BACKEND``; it must come before the
    first import, since Keras reads it once. Without either, the backend is the one installed
    (an installed engine's environment holds one), TensorFlow first where there are several.
    """
    if backend:
        os.environ["KERAS_BACKEND"] = backend
    elif not os.environ.get("KERAS_BACKEND"):
        present = [name for name in BACKENDS if importlib.util.find_spec(name) is not None]
        os.environ["KERAS_BACKEND"] = present[0] if present else "tensorflow"
    keras_home = installed.keras_home()
    if keras_home:  # keras.json inside the data folder, not in the user's home
        os.environ.setdefault("KERAS_HOME", keras_home)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's later notices
    with _stderr_silenced():
        import keras  # noqa: F401

        keras.backend.backend()
