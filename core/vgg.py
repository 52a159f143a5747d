"""The VGG19 feature extractor, cut after the deepest layer a job uses.

The full convolutional VGG19 (ImageNet weights, no classifier head) is built once; each set of
layers gets a small functional model over it, so nothing past the deepest layer in use runs.
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
        self._models = {}

    def extractor(self, layers: tuple) -> keras.Model:
        """A model returning one activation per name in ``layers``, in that order."""
        if layers not in self._models:
            outputs = [self.base.get_layer(name).output for name in layers]
            self._models[layers] = keras.Model(self.base.input, outputs)
        return self._models[layers]
