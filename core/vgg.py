"""The VGG19 feature extractor, cut after the deepest layer a job uses, and its weights files.

The convolutional part of VGG19 (Simonyan & Zisserman 2014, ImageNet weights, no classifier
head) is built once; each set of layers gets a small functional model over it, so nothing past
the deepest layer in use runs. A mixed-precision copy (bfloat16 arithmetic, float32 weights) is
built on first use from the same weights.
"""

from __future__ import annotations

import logging
import os

import keras
import numpy as np

from core import backends, vgg_layers
from core.weights import FIX_HINT, WeightsError

log = logging.getLogger(__name__)


class _Unset(keras.initializers.Initializer):
    """Zeros made by NumPy, for weights that are about to be loaded. Keras' default random
    initialisers compile a program per kernel shape under JAX (4.5 s of a CPU start-up)."""

    def __call__(self, shape, dtype=None):
        return np.zeros(shape, dtype=keras.backend.standardize_dtype(dtype or "float32"))


# Keras' layers, computing by ``core.backends``. Their class names are Keras' own on purpose:
# ``.weights.h5`` files address each layer by its class name, so ours read and write the same files.
class Conv2D(keras.layers.Conv2D):
    """Keras' Conv2D, convolving by ``core.backends.convolution``."""

    def convolution_op(self, inputs, kernel):
        return backends.convolution(inputs, kernel)


class MaxPooling2D(keras.layers.MaxPooling2D):
    """Keras' 2x2 MaxPooling2D, pooling by ``core.backends.max_pool``."""

    def call(self, inputs):
        return backends.max_pool(inputs)


def vgg19_network(dtype: str | None = None, random: bool = False) -> keras.Model:
    """VGG19's convolutional layers, with zero weights for the caller to load (``random``: Keras'
    random initialisation, which ``keras.utils.set_random_seed`` decides). ``dtype``: a Keras
    dtype policy such as "mixed_bfloat16"."""
    initializer = {} if random else {"kernel_initializer": _Unset(), "bias_initializer": _Unset()}
    image = x = keras.Input((None, None, 3), name="input_layer")
    for block, (filters, convolutions) in enumerate(vgg_layers.BLOCKS, start=1):  # Keras' layer names
        for i in range(1, convolutions + 1):
            x = Conv2D(
                filters, 3, padding="same", activation="relu", name=f"block{block}_conv{i}", dtype=dtype, **initializer
            )(x)
        x = MaxPooling2D(2, name=f"block{block}_pool", dtype=dtype)(x)
    return keras.Model(image, x, name="vgg19")


class VGG19Features:
    """Maps a preprocessed (1, h, w, 3) batch to the activations of the requested layers."""

    def __init__(self, weights_path: str | None, seed: int = 0):
        """``weights_path=None`` gives a randomly initialised network (seeded), for tests."""
        if weights_path is None:
            keras.utils.set_random_seed(seed)
        self.base = vgg19_network(random=weights_path is None)
        try:
            if weights_path is not None:
                self.base.load_weights(weights_path)
        except (OSError, ValueError, KeyError) as error:
            log.info("cannot load the VGG19 weights from %s: %s: %s", weights_path, type(error).__name__, error)
            raise WeightsError(
                f"the VGG19 weights file {weights_path} is damaged or not VGG19's; " + FIX_HINT
            ) from None
        self.pretrained = weights_path is not None
        self._bases = {"float32": self.base}
        self._models = {}

    def extractor(self, layers: tuple, precision: str = "float32") -> keras.Model:
        """A model returning one activation per name in ``layers``, in that order.

        ``precision`` is "float32" or "bfloat16" (mixed: the activations come out in bfloat16).
        """
        key = (layers, precision)
        if key not in self._models:
            base = self._base(precision)
            outputs = [base.get_layer(name).output for name in layers]
            self._models[key] = keras.Model(base.input, outputs)
        return self._models[key]

    def _base(self, precision):
        if precision not in self._bases:
            base = vgg19_network(dtype="mixed_bfloat16")
            base.set_weights(self.base.get_weights())
            self._bases[precision] = base
        return self._bases[precision]


def expand_compact_weights(npz_path: str, out_path: str) -> str:
    """Turn the compact 8-bit copy of the weights into a Keras weights file (``*.weights.h5``).

    The compact form (18 MB instead of 80 MB) stores each convolution kernel as uint8 indices
    ``<layer>_kernel_index`` into 256 float values ``<layer>_kernel_table``, plus ``<layer>_bias``.
    """
    if not out_path.endswith(".weights.h5"):
        raise ValueError("the expanded weights file must end in .weights.h5")
    try:
        packed = np.load(npz_path)
    except (OSError, ValueError) as error:
        raise WeightsError(f"{npz_path} is not a compact VGG19 weights file ({error})") from None
    model = vgg19_network()
    for layer in model.layers:
        if not layer.weights:
            continue
        try:
            kernel = packed[layer.name + "_kernel_table"][packed[layer.name + "_kernel_index"]]
            layer.set_weights([kernel, packed[layer.name + "_bias"]])
        except (KeyError, ValueError) as error:
            raise WeightsError(f"{npz_path} lacks usable weights for {layer.name} ({error})") from None
    temporary = out_path[: -len(".weights.h5")] + ".part.weights.h5"
    model.save_weights(temporary)
    os.replace(temporary, out_path)
    return out_path
