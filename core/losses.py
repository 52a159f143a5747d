"""The loss of Gatys et al. 2015 (arXiv 1508.06576), written once in ``keras.ops``, for a whole
image and for tiles of it alike.

Every term is made of sums over the image that add up over any split of it into regions
(``Sums``): per content layer the squared difference to its target, per style layer the Gram sum
F^T F, and the smoothness sum. ``loss`` turns the sums into the weighted loss. What each sum is
divided by (``Divisors``) is where the two formulas differ:

* normalised (default): every term is a mean over its feature map and Gram matrices are divided
  by height x width x channels (as jcjohnson/neural-style does), so a weight means the same at
  any image size;
* tutorial: the Keras tutorial's sums: raw Gram matrices, style differences divided by
  4 x 3^2 x (image pixels)^2, content and total variation summed.

Feature maps come as (1, height, width, channels), images as (1, height, width, 3), masks (1 in
the region, 0 outside) broadcast against them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from keras import ops

from core import vgg_layers


class Sums(NamedTuple):
    """The additive parts of the loss over an image or a region of it."""

    content: list  # per content layer: squared difference to its target, summed
    grams: list  # per style layer: the Gram sum F^T F, (channels, channels)
    variation: object  # the smoothness terms, summed


class Divisors(NamedTuple):
    """What each sum is divided by, for one image size and formula (float32 arrays)."""

    content: np.ndarray  # per content layer
    grams: np.ndarray  # per style layer: Gram sum -> Gram matrix
    style: np.ndarray  # per style layer: squared Gram difference -> style loss
    variation: np.ndarray


def divisors(shape: tuple, content_layers: tuple, style_layers: tuple, tutorial: bool = False) -> Divisors:
    """The divisors for an image of ``shape`` (height, width): feature maps of a layer of stride
    s are (height // s) x (width // s), as VGG19's poolings round down."""
    height, width = shape

    def size(layer):  # positions x channels of the layer's feature map
        s = vgg_layers.stride(layer)
        return (height // s) * (width // s) * vgg_layers.channels(layer)

    def array(values):
        return np.array(values, dtype=np.float32)

    if tutorial:
        return Divisors(
            array([1.0] * len(content_layers)),
            array([1.0] * len(style_layers)),
            array([4.0 * 3**2 * float(height * width) ** 2] * len(style_layers)),
            array(1.0),
        )
    return Divisors(
        array([size(layer) for layer in content_layers]),
        array([size(layer) for layer in style_layers]),
        array([vgg_layers.channels(layer) ** 2 for layer in style_layers]),
        array((height - 1) * (width - 1) * 3),
    )


def gram_sum(features, mask=None):
    """Channel-by-channel inner products summed over the feature positions (in the mask)."""
    channels = ops.shape(features)[-1]
    flat = ops.reshape(features, (-1, channels))
    masked = flat if mask is None else ops.reshape(features * mask, (-1, channels))
    return ops.matmul(ops.transpose(masked), flat)


def variation(image):
    """(dx^2 + dy^2)^1.25 at every pixel that has a right and a lower neighbour
    (Mahendran & Vedaldi 2015), shape (1, height - 1, width - 1, channels)."""
    down = ops.square(image[:, :-1, :-1, :] - image[:, 1:, :-1, :])
    right = ops.square(image[:, :-1, :-1, :] - image[:, :-1, 1:, :])
    return ops.power(down + right, 1.25)


def region_sums(content_features, content_targets, style_features, image, masks=None, pixel_mask=None) -> Sums:
    """The sums over the whole image, or over a region given by ``masks`` (one per content, then
    style layer) and ``pixel_mask`` (the smoothness terms the region owns)."""
    masks = masks or [None] * (len(content_features) + len(style_features))
    content = [ops.sum(_masked(ops.square(f - t), m)) for f, t, m in zip(content_features, content_targets, masks)]
    grams = [gram_sum(f, m) for f, m in zip(style_features, masks[len(content_features) :])]
    return Sums(content, grams, ops.sum(_masked(variation(image), pixel_mask)))


def loss(sums: Sums, style_targets, weights, divisors: Divisors):
    """``(total, parts)`` from the sums: ``weights`` are (content, style, smoothness, then one per
    style layer, summing to 1); ``style_targets`` are the Gram matrices to match."""
    content = sum(s / divisors.content[i] for i, s in enumerate(sums.content)) / len(sums.content)
    style = sum(
        weights[3 + i] * ops.sum(ops.square(gram / divisors.grams[i] - target)) / divisors.style[i]
        for i, (gram, target) in enumerate(zip(sums.grams, style_targets))
    )
    parts = {
        "content": weights[0] * content,
        "style": weights[1] * style,
        "tv": weights[2] * sums.variation / divisors.variation,
    }
    return parts["content"] + parts["style"] + parts["tv"], parts


def style_targets(styles) -> list:
    """The Gram matrices to match: each style image's Gram sums over its own divisors, blended.
    ``styles``: (Gram sums per style layer, that image's Divisors, blend weight) per image."""
    blended = None
    for grams, image_divisors, blend in styles:
        targets = [
            (blend * np.asarray(g, np.float64) / d).astype(np.float32) for g, d in zip(grams, image_divisors.grams)
        ]
        blended = targets if blended is None else [b + t for b, t in zip(blended, targets)]
    return blended


def _masked(values, mask):
    return values if mask is None else values * mask


def weights_of(params) -> np.ndarray:
    """The ``weights`` argument of ``loss`` for a job's settings."""
    return np.array(
        [params.content_weight, params.style_weight, params.tv_weight, *params.layer_weights()], dtype=np.float32
    )
