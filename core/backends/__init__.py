"""The one backend-specific piece of the engine: loss and gradient with respect to the image.

Each backend module offers ``value_and_grad(loss_fn)``. ``loss_fn(image, *args)`` is written in
``keras.ops`` and returns ``(loss, parts)``; the result takes NumPy arrays and returns
``(loss: float, parts: dict of float, gradient: np.ndarray)`` from a single evaluation;
``device_name()`` says what it computes on.
"""
import importlib

import keras


def _module():
    return importlib.import_module(f"core.backends.{keras.backend.backend()}")


def value_and_grad(loss_fn):
    """``value_and_grad`` of the backend Keras runs on (``KERAS_BACKEND``)."""
    return _module().value_and_grad(loss_fn)


def device_name() -> str:
    """What the backend computes on, for people: "CPU" or the accelerator's name."""
    return _module().device_name()
