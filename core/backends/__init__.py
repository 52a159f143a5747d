"""The backend-specific pieces of the engine, one small module per Keras backend.

Each module offers:

* ``value_and_grad(loss_fn, variables)``: ``loss_fn(image, *args)`` is written in ``keras.ops``
  and returns ``(loss, parts)``; the result takes NumPy arrays and returns ``(loss: float, parts:
  dict of float, gradient: np.ndarray)`` from a single evaluation;
* ``forward(fn, variables)``: ``fn`` compiled for forward use only (no gradient), NumPy out;
* ``device_name()``: what it computes on, for people: "CPU" or "GPU: <name>";
* ``is_out_of_memory(error)``: whether an exception is the backend's own "out of memory";
* ``fast_bfloat16()``: whether bfloat16 arithmetic is faster than float32 on that device;
* optionally ``device_lbfgs(loss_fn, variables)``: an L-BFGS that runs on the accelerator (see
  jax.py);
* optionally ``convolution(inputs, kernel)`` and ``max_pool(inputs)``: VGG19's layers, where the
  backend does them better than Keras does (see torch.py).

``variables`` are the Keras variables the function reads (the network's weights, e.g.
``model.weights``): a compiler that would otherwise bake them into the program as constants
gets them as arguments instead.
"""

import functools
import importlib

import keras
from keras import ops


def _module():
    return importlib.import_module(f"core.backends.{keras.backend.backend()}")


def value_and_grad(loss_fn, variables):
    """``value_and_grad`` of the backend Keras runs on (``KERAS_BACKEND``)."""
    return _module().value_and_grad(loss_fn, variables)


def forward(fn, variables):
    """``fn(*args)`` compiled without gradients; its (nested) results come back as NumPy."""
    return _module().forward(fn, variables)


def has_device_lbfgs() -> bool:
    return hasattr(_module(), "device_lbfgs")


def device_lbfgs(loss_fn, variables):
    """The backend's on-device L-BFGS for ``loss_fn``, or None where it has none."""
    return _module().device_lbfgs(loss_fn, variables) if has_device_lbfgs() else None


def convolution(inputs, kernel):
    """VGG19's convolution: 3x3 kernel (height, width, in, out), stride 1, "same" padding, on
    (batch, height, width, channels) inputs: the backend's own where it has one, else Keras'."""
    if hasattr(_module(), "convolution"):
        return _module().convolution(inputs, kernel)
    return ops.conv(inputs, kernel, padding="same")


def max_pool(inputs):
    """VGG19's 2x2 max pooling with stride 2: the backend's own where it has one, else Keras'."""
    if hasattr(_module(), "max_pool"):
        return _module().max_pool(inputs)
    return ops.max_pool(inputs, 2, 2, padding="valid")


def device_name() -> str:
    return _module().device_name()


def is_out_of_memory(error: BaseException) -> bool:
    """Whether the host (``MemoryError``) or the backend's device ran out of memory."""
    return isinstance(error, MemoryError) or _module().is_out_of_memory(error)


@functools.cache
def fast_bfloat16() -> bool:
    return _module().fast_bfloat16()


def cpu_has_bfloat16() -> bool:
    """True on x86 processors with bfloat16 instructions (AVX-512 BF16 or AMX), read on Linux."""
    try:
        with open("/proc/cpuinfo") as info:
            flags = next((line for line in info if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
