"""The VGG19 feature extractor, cut after the deepest layer a job uses.

The full convolutional VGG19 (ImageNet weights, no classifier head) is built once; each set of
layers gets a small functional model over it, so nothing past the deepest layer in use runs.
A mixed-precision copy (bfloat16 arithmetic, float32 weights and outputs' consumers) is built on
first use from the same weights.
"""
from __future__ import annotations

import keras

from core.weights import FIX_HINT, WeightsError


class VGG19Features:
    """Maps a preprocessed (1, h, w, 3) batch to the activations of the requested layers."""

    def __init__(self, weights_path: str | None, seed: int = 0):
        """``weights_path=None`` gives a randomly initialised network (seeded), for tests."""
        if weights_path is None:
            keras.utils.set_random_seed(seed)
        try:
            self.base = keras.applications.VGG19(include_top=False, weights=weights_path,
                                                 input_shape=(None, None, 3))
        except (OSError, ValueError, KeyError) as error:
            reason = str(error).splitlines()[0] if str(error) else error.__class__.__name__
            raise WeightsError(f"the VGG19 weights file {weights_path} cannot be used ({reason}); "
                               + FIX_HINT) from None
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
            previous = keras.config.dtype_policy()
            keras.config.set_dtype_policy("mixed_bfloat16")
            try:
                base = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
            finally:
                keras.config.set_dtype_policy(previous)
            base.set_weights(self.base.get_weights())
            self._bases[precision] = base
        return self._bases[precision]
