"""The one backend-specific piece of the engine: loss and gradient with respect to the image.

Each backend module offers ``value_and_grad(loss_fn)``. ``loss_fn(image, *args)`` is written in
``keras.ops`` and returns ``(loss, parts)``; the result takes NumPy arrays and returns
``(loss: float, parts: dict of float, gradient: np.ndarray)`` from a single evaluation.
"""
import importlib

import keras


def value_and_grad(loss_fn):
    """``value_and_grad`` of the backend Keras runs on (``KERAS_BACKEND``)."""
    module = importlib.import_module(f"core.backends.{keras.backend.backend()}")
    return module.value_and_grad(loss_fn)
