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

Style regions (``core.regions``) generalise the style term to guided Gram matrices (Gatys et al.
2017): per style layer, each region's Gram sum weights every feature position by the region's
weight there, is divided by the region's weight in all, matched to the region's own target, and
its difference counts by the region's share of the image. Without regions there is one, of
weight 1 everywhere: the same loss.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from keras import ops

from core import vgg_layers


class Sums(NamedTuple):
    """The additive parts of the loss over an image or a region of it."""

    content: list  # per content layer: squared difference to its target, summed
    grams: list  # per style layer: each style region's Gram sum F^T F, (regions, channels, channels)
    variation: object  # the smoothness terms, summed


class Divisors(NamedTuple):
    """What each sum is divided by, for one image size and formula (float32 arrays)."""

    content: np.ndarray  # per content layer
    grams: np.ndarray  # per style layer and region: Gram sum -> Gram matrix
    style: np.ndarray  # per style layer: squared Gram difference -> style loss
    variation: np.ndarray
    shares: np.ndarray  # per style layer and region: how much its difference counts


def divisors(
    shape: tuple, content_layers: tuple, style_layers: tuple, tutorial: bool = False, regions=None
) -> Divisors:
    """The divisors for an image of ``shape`` (height, width): feature maps of a layer of stride
    s are (height // s) x (width // s), as VGG19's poolings round down. ``regions``: the style
    regions' weights per style layer (``core.regions.Regions.at_layers``), or None for one."""
    height, width = shape

    def positions(layer):
        s = vgg_layers.stride(layer)
        return (height // s) * (width // s)

    def array(values):
        return np.array(values, dtype=np.float32)

    if regions is None:
        weights = [np.array([positions(layer)], np.float64) for layer in style_layers]
    else:
        weights = [r.reshape(len(r), -1).sum(axis=1, dtype=np.float64) for r in regions]
    shares = array([w / positions(layer) for w, layer in zip(weights, style_layers)])
    if tutorial:
        return Divisors(
            array([1.0] * len(content_layers)),
            np.ones_like(shares),
            array([4.0 * 3**2 * float(height * width) ** 2] * len(style_layers)),
            array(1.0),
            shares,
        )
    return Divisors(
        array([positions(layer) * vgg_layers.channels(layer) for layer in content_layers]),
        array([np.maximum(w, 1e-6) * vgg_layers.channels(layer) for w, layer in zip(weights, style_layers)]),
        array([vgg_layers.channels(layer) ** 2 for layer in style_layers]),
        array((height - 1) * (width - 1) * 3),
        shares,
    )


def gram_sum(features, mask=None):
    """Channel-by-channel inner products summed over the feature positions (weighted by
    ``mask``), as (1, channels, channels)."""
    channels = ops.shape(features)[-1]
    flat = ops.reshape(features, (-1, channels))
    masked = flat if mask is None else ops.reshape(features * mask, (-1, channels))
    return ops.matmul(ops.transpose(masked), flat)[None]


def guided_gram_sums(features, regions):
    """One Gram sum per style region, (regions, channels, channels): ``regions`` holds, per
    region, the flat feature positions where it weighs and its weights there
    (``core.regions.gathered``). Only those positions are multiplied, so regions that share an
    image out cost about one Gram sum in all, not one each."""
    channels = ops.shape(features)[-1]
    flat = ops.reshape(features, (-1, channels))
    grams = []
    for positions, weights in regions:
        rows = ops.take(flat, positions, axis=0)
        grams.append(ops.matmul(ops.transpose(rows * weights[:, None]), rows))
    return ops.stack(grams)


def variation(image):
    """(dx^2 + dy^2)^1.25 at every pixel that has a right and a lower neighbour
    (Mahendran & Vedaldi 2015), shape (1, height - 1, width - 1, channels)."""
    down = ops.square(image[:, :-1, :-1, :] - image[:, 1:, :-1, :])
    right = ops.square(image[:, :-1, :-1, :] - image[:, :-1, 1:, :])
    return ops.power(down + right, 1.25)


def region_sums(
    content_features, content_targets, style_features, image, masks=None, pixel_mask=None, regions=None
) -> Sums:
    """The sums over the whole image, or over a region given by ``masks`` (one per content, then
    style layer) and ``pixel_mask`` (the smoothness terms the region owns); ``regions``: per style
    layer, the style regions' positions and weights (``core.regions.gathered``, within the
    region of ``masks`` already), or empty or None for one region."""
    masks = masks or [None] * (len(content_features) + len(style_features))
    regions = regions or [None] * len(style_features)
    content = [ops.sum(_masked(ops.square(f - t), m)) for f, t, m in zip(content_features, content_targets, masks)]
    grams = [
        gram_sum(f, m) if r is None else guided_gram_sums(f, r)
        for f, m, r in zip(style_features, masks[len(content_features) :], regions)
    ]
    return Sums(content, grams, ops.sum(_masked(variation(image), pixel_mask)))


def loss(sums: Sums, style_targets, weights, divisors: Divisors):
    """``(total, parts)`` from the sums: ``weights`` are (content, style, smoothness, then one per
    style layer, summing to 1); ``style_targets`` are the Gram matrices to match, per style layer
    (regions, channels, channels)."""
    content = sum(s / divisors.content[i] for i, s in enumerate(sums.content)) / len(sums.content)
    style = sum(
        weights[3 + i]
        * ops.sum(divisors.shares[i] * ops.sum(ops.square(gram / divisors.grams[i][:, None, None] - target), (1, 2)))
        / divisors.style[i]
        for i, (gram, target) in enumerate(zip(sums.grams, style_targets))
    )
    parts = {
        "content": weights[0] * content,
        "style": weights[1] * style,
        "tv": weights[2] * sums.variation / divisors.variation,
    }
    return parts["content"] + parts["style"] + parts["tv"], parts


def style_targets(styles, region_styles) -> list:
    """The Gram matrices to match, per style layer (regions, channels, channels): each region's
    blend of its styles' Gram matrices. ``styles``: (Gram sums per style layer, that image's
    Divisors) per style image; ``region_styles``: per region, (style index, weight) pairs."""
    grams = [
        [np.asarray(g, np.float64)[0] / d[0] for g, d in zip(style_grams, image_divisors.grams)]
        for style_grams, image_divisors in styles
    ]
    return [
        np.stack([sum(weight * grams[i][layer] for i, weight in pairs) for pairs in region_styles]).astype(np.float32)
        for layer in range(len(grams[0]))
    ]


def one_region(n_styles: int, blend: tuple) -> tuple:
    """``region_styles`` of a job without style masks: one region, the blend of all styles."""
    return (tuple((i, blend[i]) for i in range(n_styles)),)


def _masked(values, mask):
    return values if mask is None else values * mask


def weights_of(params) -> np.ndarray:
    """The ``weights`` argument of ``loss`` for a job's settings."""
    return np.array(
        [params.content_weight, params.style_weight, params.tv_weight, *params.layer_weights()], dtype=np.float32
    )
