"""The loss at one size, ready to evaluate: ``f(image (1, h, w, 3)) -> (loss, parts, gradient)``,
whole or in tiles as the size's plan says, with its fixed inputs (content features, each style
region's Gram matrices and weights at each layer, weights) computed once when it is built.

The network's functions are traced and compiled once per layer set and precision (``Compiled``):
tracing and compiling are slow, and a job's sizes and jobs of a session share them.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from core import backends, images, losses, regions, tiles
from core.protocol import MIN_SIDE


class Objective:
    """The whole-image loss at one size. ``on_device(image)`` starts the backend's on-device
    L-BFGS from that image; ``plan`` is the size's ``core.plan.SizePlan``."""

    runs_on_device = True

    def __init__(self, evaluate, device_lbfgs, args, plan):
        self._evaluate, self._device_lbfgs, self.args, self.plan = evaluate, device_lbfgs, args, plan

    def __call__(self, image):
        return self._evaluate(image, *self.args)

    def on_device(self, image):
        return self._device_lbfgs(image, self.args)


class Compiled:
    """The network's compiled functions for each layer set and precision, made on first use."""

    def __init__(self, network):
        self.network = network
        self._cache = {}

    def whole(self, params, precision):
        """(loss and gradient, on-device L-BFGS or None, ``targets(image) -> (content
        activations, style Gram sums)``)."""
        key = ("whole", params.content_layers, params.style_layers, precision)
        if key not in self._cache:
            extractor = self._extractor(params, precision)
            n_content = len(params.content_layers)
            loss = _loss_function(extractor, n_content)
            self._cache[key] = (
                backends.value_and_grad(loss, extractor.weights),
                backends.device_lbfgs(loss, extractor.weights),
                backends.forward(_targets_function(extractor, n_content), extractor.weights),
            )
        return self._cache[key]

    def tiled(self, params, precision) -> tiles.TiledNetwork:
        key = ("tiled", params.content_layers, params.style_layers, precision)
        if key not in self._cache:
            self._cache[key] = tiles.TiledNetwork(self._extractor(params, precision), len(params.content_layers))
        return self._cache[key]

    def _extractor(self, params, precision):
        return self.network.extractor(params.content_layers + params.style_layers, precision)


def build(compiled: Compiled, content_rgb, style_rgbs, params, size_plan, precision, before_tile=None, where=None):
    """The objective at ``size_plan.shape`` for float32 RGB ``content_rgb`` and ``style_rgbs``,
    the styles painting where ``where`` (``core.regions.Regions``, None: all of them
    everywhere) says. A size planned in tiles is evaluated by ``core.tiles``, calling
    ``before_tile(part, k, n)`` before each tile (its targets too)."""
    shape = size_plan.shape
    content_in = images.preprocess(images.resize(content_rgb, shape))
    styles_in = [images.preprocess(images.resize(rgb, style_shape(rgb.shape, shape, params))) for rgb in style_rgbs]
    guide = Guide(params, shape, len(style_rgbs), where)
    if size_plan.tile_side is not None:
        return tiles.TiledObjective(
            compiled.tiled(params, precision), params, size_plan, content_in, styles_in, guide, before_tile
        )
    evaluate, device_lbfgs, targets = compiled.whole(params, precision)
    each = [(targets(style_in[None])[1], _divisors(style_in.shape[:2], params)) for style_in in styles_in]
    args = (
        targets(content_in[None])[0],
        losses.style_targets(each, guide.region_styles),
        losses.weights_of(params),
        guide.divisors,
        [regions.gathered(weights) for weights in guide.weights],
    )
    return Objective(evaluate, device_lbfgs, args, size_plan)


class Guide:
    """Where each style paints at one size: the regions' weights at each style layer (empty for
    one region everywhere), which styles each region blends, and the size's divisors."""

    def __init__(self, params, shape, n_styles, where=None):
        if where is None:
            self.weights, self.region_styles = [], losses.one_region(n_styles, params.blend_weights(n_styles))
        else:
            self.weights, self.region_styles = where.at_layers(shape, params.style_layers), where.styles
        self.divisors = losses.divisors(
            shape, params.content_layers, params.style_layers, params.tutorial_loss, self.weights or None
        )


def style_shape(style_shape, content_shape, params):
    """The tutorial resizes styles to the content's size; otherwise the long side follows
    ``style_scale`` x the output's long side, never below the network's minimum."""
    if params.tutorial_loss:
        return content_shape[:2]
    long_side = params.style_scale * max(content_shape[:2])
    long_side = max(long_side, MIN_SIDE * max(style_shape[:2]) / min(style_shape[:2]))
    return images.fit_long_side(style_shape, round(long_side))


def _divisors(shape, params):
    return losses.divisors(shape, params.content_layers, params.style_layers, params.tutorial_loss)


def _targets_function(extractor, n_content):
    """``image -> (activations at the content layers, Gram sums at the style layers)``: what the
    loss compares with, from the content image and from each style image, once per size."""

    def targets(image):
        features = _features(extractor, image)
        return features[:n_content], [losses.gram_sum(f) for f in features[n_content:]]

    return targets


def _loss_function(extractor, n_content):
    def loss(image, content_targets, style_targets, weights, divisors, regions):
        features = _features(extractor, image)
        sums = losses.region_sums(features[:n_content], content_targets, features[n_content:], image, regions=regions)
        return losses.loss(sums, style_targets, weights, divisors)

    return loss


def _features(extractor, image):
    """Activations of a (1, h, w, 3) image as a float32 list (losses stay float32 whatever the
    network computes in)."""
    out = extractor(image)
    return [ops.cast(f, "float32") for f in (out if isinstance(out, (list, tuple)) else [out])]


def noise(shape, seed):
    return np.random.default_rng(seed).normal(0.0, 40.0, (*shape, 3)).astype(np.float32)
