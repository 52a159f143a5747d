"""Loss and gradient under PyTorch: eager autograd on the device Keras placed the network on.

Eager code reads the network's variables as it goes, so ``variables`` needs no handling here."""

import numpy as np
import torch
import torch.nn.functional as F
from keras import ops


def value_and_grad(loss_fn, variables):
    def call(image: np.ndarray, *args):
        image = ops.convert_to_tensor(image).detach().requires_grad_(True)
        args = [_to_tensors(arg) for arg in args]
        loss, parts = loss_fn(image, *args)
        (grad,) = torch.autograd.grad(loss, image)
        return (
            float(loss.detach()),
            {name: float(value.detach()) for name, value in parts.items()},
            grad.detach().cpu().numpy(),
        )

    return call


def forward(fn, variables):
    def call(*args):
        with torch.no_grad():
            out = fn(*[_to_tensors(arg) for arg in args])
        return _to_numpy(out)

    return call


def _to_numpy(value):
    return _map(lambda v: v.detach().cpu().numpy(), value)


def _to_tensors(value):
    return _map(ops.convert_to_tensor, value)


def _map(function, value):
    """``function`` on every leaf of nested lists, tuples and named tuples, keeping their types."""
    if hasattr(value, "_fields"):
        return type(value)(*(_map(function, v) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_map(function, v) for v in value)
    return function(value)


def convolution(inputs, kernel):
    """Keras' torch convolution copies a (batch, height, width, channels) input twice per call, to
    a contiguous NCHW tensor and back to a channels-last layout, and its gradient twice more. The
    permuted view already is the channels-last NCHW tensor PyTorch convolves, with no copy."""
    kernel = ops.convert_to_tensor(kernel).permute(3, 2, 0, 1)
    return F.conv2d(inputs.permute(0, 3, 1, 2), kernel, padding="same").permute(0, 2, 3, 1)


def max_pool(inputs):
    """2x2 max pooling on the channels-last view, without Keras' copy to NCHW."""
    return F.max_pool2d(inputs.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)


def device_name() -> str:
    if torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name(0)}"
    if torch.backends.mps.is_available():
        return "GPU: Apple (MPS)"
    return "CPU"


def fast_bfloat16() -> bool:
    """Measured on an H100: Keras' eager casts make bfloat16 slower here (19 ms against 15 ms per
    evaluation at 512 px), so float32 stays the default; bfloat16 remains a choice."""
    return False


def is_out_of_memory(error) -> bool:
    """CUDA's out of memory has its own type; the Apple GPU's (MPS) is a RuntimeError that says so."""
    return isinstance(error, torch.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "MPS backend out of memory" in str(error)
    )
