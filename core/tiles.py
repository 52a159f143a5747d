"""Full-resolution evaluation in bounded memory: the network runs tile by tile, on the same loss.

Each tile is evaluated with a border (``halo``) wider than the receptive field of the deepest
layer in use wherever the image has one, so the features of its interior equal those of the
whole image; tile corners lie on a 16 px grid so the pooling windows line up. Every part of the
loss is a sum over feature positions or pixels (``core.losses.Sums``), so the tiles' interiors add
up to the whole image's sums exactly. An evaluation is two passes. The first runs the network
forward over all tiles and adds up their sums; ``losses.loss`` of the totals is the loss. The
second gives each tile ``losses.loss`` of the totals with its own sums in them, live: the gradient
of that is exactly the tile's share of the whole image's gradient. The result equals the untiled
evaluation up to float rounding, so there are no seams to hide. See docs/memory-and-tiles.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from keras import ops

from core import backends, losses, vgg_layers
from core import regions as regions_module

GRID = 2**vgg_layers.POOLINGS  # tiles start on multiples of this, so poolings line up
MIN_INTERIOR = 64  # below this the borders cost more than ten times the interior


def halo(layers: tuple) -> int:
    """The border a tile needs for these layers: past their receptive field, on the grid
    (block5_conv2, the default's deepest: 101 px -> 112)."""
    return (max(vgg_layers.reach(layer) for layer in layers) // GRID + 1) * GRID


@dataclass(frozen=True)
class Tile:
    """Interior ``[y0, y1) x [x0, x1)`` and the input window around it, in image pixels."""

    y0: int
    y1: int
    x0: int
    x1: int
    top: int
    bottom: int
    left: int
    right: int


def plan_tiles(shape: tuple, tile_side: int, border: int) -> list:
    """Tiles covering ``shape``: interiors on the grid, windows ``border`` wider where possible."""
    height, width = shape
    step = max(MIN_INTERIOR, (tile_side - 2 * border) // GRID * GRID)
    tiles = []
    for y0 in range(0, height, step):
        for x0 in range(0, width, step):
            y1, x1 = min(y0 + step, height), min(x0 + step, width)
            tiles.append(
                Tile(
                    y0,
                    y1,
                    x0,
                    x1,
                    max(0, y0 - border),
                    min(height, y1 + border),
                    max(0, x0 - border),
                    min(width, x1 + border),
                )
            )
    return tiles


def _interior_bounds(tile: Tile, shape: tuple, layers: tuple) -> np.ndarray:
    """Per layer: the interior's rows and columns in the tile's feature map, (first, end) each."""
    rows = []
    for layer in layers:
        s = vgg_layers.stride(layer)
        end_y = tile.bottom if tile.y1 == shape[0] else tile.y1
        end_x = tile.right if tile.x1 == shape[1] else tile.x1
        rows.append(
            [(tile.y0 - tile.top) // s, (end_y - tile.top) // s, (tile.x0 - tile.left) // s, (end_x - tile.left) // s]
        )
    return np.array(rows, dtype=np.int32)


def _pixel_bounds(tile: Tile, shape: tuple) -> np.ndarray:
    """The smoothness terms this tile owns: pixels of its interior that have a right and lower
    neighbour in the image, in tile coordinates."""
    return np.array(
        [
            tile.y0 - tile.top,
            min(tile.y1, shape[0] - 1) - tile.top,
            tile.x0 - tile.left,
            min(tile.x1, shape[1] - 1) - tile.left,
        ],
        dtype=np.int32,
    )


def _mask(values, bounds):
    """1 inside ``bounds`` (first row, end row, first column, end column) of a (1, h, w, c) map."""
    bounds = ops.cast(bounds, "int32")
    rows = ops.arange(ops.shape(values)[1], dtype="int32")
    cols = ops.arange(ops.shape(values)[2], dtype="int32")
    inside_rows = ops.logical_and(rows >= bounds[0], rows < bounds[1])
    inside_cols = ops.logical_and(cols >= bounds[2], cols < bounds[3])
    return ops.cast(ops.logical_and(inside_rows[:, None], inside_cols[None, :]), "float32")[None, :, :, None]


class TiledNetwork:
    """The two per-tile functions, compiled once per layer set and precision."""

    def __init__(self, extractor, n_content):
        self.n_content = n_content
        self.extractor = extractor
        self.forward = backends.forward(self._sums, extractor.weights)
        self.backward = backends.value_and_grad(self._share, extractor.weights)

    def _sums(self, tile, bounds, pixel_bounds, content_targets, regions):
        """A tile's sums over its interior, and its content-layer features (for the targets);
        ``regions``: the style regions within its interior (``TiledImage._tile_regions``)."""
        features = [ops.cast(f, "float32") for f in _as_list(self.extractor(tile))]
        masks = [_mask(f, bounds[i]) for i, f in enumerate(features)]
        pixel_mask = _mask(tile[:, :-1, :-1, :], pixel_bounds)  # shaped as losses.variation's terms
        n = self.n_content
        sums = losses.region_sums(features[:n], content_targets, features[n:], tile, masks, pixel_mask, regions)
        return sums, features[:n]

    def _share(self, tile, bounds, pixel_bounds, content_targets, regions, totals, style_targets, weights, divisors):
        """The whole image's loss with this tile's own sums live in the totals: its gradient is
        the tile's share of the whole image's gradient."""
        sums, _ = self._sums(tile, bounds, pixel_bounds, content_targets, regions)
        live = losses.Sums(
            *([t - ops.stop_gradient(s) + s for t, s in zip(total, own)] for total, own in zip(totals[:2], sums[:2])),
            totals.variation - ops.stop_gradient(sums.variation) + sums.variation,
        )
        return losses.loss(live, style_targets, weights, divisors)


def _float32(sums):
    return losses.Sums(
        [np.float32(s) for s in sums.content],
        [np.asarray(g, np.float32) for g in sums.grams],
        np.float32(sums.variation),
    )


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


class TiledImage:
    """One image size cut into tiles, for a layer set: whole-image sums from tile passes."""

    def __init__(
        self, network: TiledNetwork, layers: tuple, shape: tuple, tile_side: int, before_tile=None, regions=()
    ):
        """``regions``: the style regions' weights per style layer over the whole image (empty: one
        region everywhere)."""
        self.network, self.layers, self.shape = network, layers, shape
        self.before_tile = before_tile
        self.tiles = plan_tiles(shape, tile_side, halo(layers))
        self.bounds = [_interior_bounds(t, shape, layers) for t in self.tiles]
        self.pixel_bounds = [_pixel_bounds(t, shape) for t in self.tiles]
        self.tile_regions = [self._tile_regions(list(regions), t, b) for t, b in zip(self.tiles, self.bounds)]
        self.feature_shapes = [
            (shape[0] // vgg_layers.stride(name), shape[1] // vgg_layers.stride(name)) for name in layers
        ]

    def _each_tile(self, part):
        """(tile, feature bounds, pixel bounds, style regions), calling ``before_tile(part, k, n)`` before the
        k-th of n tiles: a tile takes seconds where a whole evaluation at full resolution takes
        minutes, so that is where a job says how far it is, and where a cancel may raise."""
        count = len(self.tiles)
        for index, tile in enumerate(self.tiles):
            if self.before_tile is not None:
                self.before_tile(part, index + 1, count)
            yield tile, self.bounds[index], self.pixel_bounds[index], self.tile_regions[index]

    def _window(self, image, tile):
        return image[None, tile.top : tile.bottom, tile.left : tile.right, :]

    def content_features(self, image):
        """The whole image's content-layer activations, assembled from the tiles' interiors."""
        out = None
        for tile, bounds, pixel_bounds, regions in self._each_tile("content targets"):
            _, features = self.network.forward(
                self._window(image, tile), bounds, pixel_bounds, self._tile_targets(None, tile), regions
            )
            if out is None:
                out = [np.zeros((1, *self.feature_shapes[i], f.shape[-1]), np.float32) for i, f in enumerate(features)]
            for i, feature in enumerate(features):
                a, b, c, d = bounds[i]
                s = vgg_layers.stride(self.layers[i])
                out[i][:, tile.top // s + a : tile.top // s + b, tile.left // s + c : tile.left // s + d] = feature[
                    :, a:b, c:d
                ]
        return out

    def sums(self, image, content_targets=None, part="evaluation") -> losses.Sums:
        """The whole image's sums, added up over the tiles in float64."""
        total = None
        for tile, bounds, pixel_bounds, regions in self._each_tile(part):
            sums, _ = self.network.forward(
                self._window(image, tile), bounds, pixel_bounds, self._tile_targets(content_targets, tile), regions
            )
            sums = losses.Sums(
                [np.float64(s) for s in sums.content],
                [np.asarray(g, np.float64) for g in sums.grams],
                np.float64(sums.variation),
            )
            total = (
                sums
                if total is None
                else losses.Sums(
                    [t + s for t, s in zip(total.content, sums.content)],
                    [t + g for t, g in zip(total.grams, sums.grams)],
                    total.variation + sums.variation,
                )
            )
        return total

    def gradient(self, image, content_targets, totals, style_targets, weights, divisors):
        """The whole image's gradient, tile by tile."""
        grad = np.zeros_like(image)
        for tile, bounds, pixel_bounds, regions in self._each_tile("gradient"):
            _, _, tile_grad = self.network.backward(
                self._window(image, tile),
                bounds,
                pixel_bounds,
                self._tile_targets(content_targets, tile),
                regions,
                totals,
                style_targets,
                weights,
                divisors,
            )
            grad[tile.top : tile.bottom, tile.left : tile.right] += tile_grad[0]
        return grad

    def _tile_regions(self, regions, tile, bounds):
        """The style regions under the tile's feature windows, within its interior, as
        ``losses.guided_gram_sums`` takes them (empty for one region everywhere)."""
        out = []
        n = self.network.n_content
        for index, (weights, layer) in enumerate(zip(regions, self.layers[n:])):
            s = vgg_layers.stride(layer)
            h, w = (tile.bottom - tile.top) // s, (tile.right - tile.left) // s
            window = np.zeros((weights.shape[0], h, w, 1), np.float32)
            part = weights[:, tile.top // s : tile.top // s + h, tile.left // s : tile.left // s + w]
            window[:, : part.shape[1], : part.shape[2]] = part
            first_row, end_row, first_column, end_column = bounds[n + index]
            inside = np.zeros((h, w), np.float32)
            inside[first_row:end_row, first_column:end_column] = 1.0
            out.append(regions_module.gathered(window, inside))
        return out

    def _tile_targets(self, content_targets, tile):
        """The content targets under the tile's feature window (zero where it sticks out, or
        everywhere when there are none yet)."""
        out = []
        for i in range(self.network.n_content):
            s = vgg_layers.stride(self.layers[i])
            h, w = (tile.bottom - tile.top) // s, (tile.right - tile.left) // s
            channels = content_targets[i].shape[-1] if content_targets else 1
            window = np.zeros((1, h, w, channels), np.float32)
            if content_targets:
                part = content_targets[i][:, tile.top // s : tile.top // s + h, tile.left // s : tile.left // s + w]
                window[:, : part.shape[1], : part.shape[2]] = part
            out.append(window)
        return out


class TiledObjective:
    """The engine's loss at one size, evaluated in tiles: ``f(image (1, h, w, 3)) -> (loss,
    parts, gradient)``, equal to the untiled ``core.objective.Objective`` up to float rounding.

    ``content_in``: the preprocessed content at this size; ``styles_in``: the preprocessed style
    images; ``guide``: where each paints (``core.objective.Guide``). Targets are computed here, in
    tiles too. ``before_tile`` is called before every tile (``TiledImage``) and may raise to
    abandon the work.
    """

    runs_on_device = False

    def __init__(self, network: TiledNetwork, params, size_plan, content_in, styles_in, guide, before_tile=None):
        layers = params.content_layers + params.style_layers
        self.plan = size_plan
        self.image = TiledImage(network, layers, size_plan.shape, size_plan.tile_side, before_tile, guide.weights)
        self.content_targets = self.image.content_features(content_in)
        each = []
        for style_in in styles_in:
            style = TiledImage(network, layers, style_in.shape[:2], size_plan.tile_side, before_tile)
            divisors = losses.divisors(
                style_in.shape[:2], params.content_layers, params.style_layers, params.tutorial_loss
            )
            each.append((style.sums(style_in, part="style targets").grams, divisors))
        self.style_targets = losses.style_targets(each, guide.region_styles)
        self.divisors = guide.divisors
        self.weights = losses.weights_of(params)

    def __call__(self, image):
        totals = _float32(self.image.sums(image[0], self.content_targets))
        loss, parts = losses.loss(totals, self.style_targets, self.weights, self.divisors)
        grad = self.image.gradient(
            image[0], self.content_targets, totals, self.style_targets, self.weights, self.divisors
        )
        return float(loss), {name: float(value) for name, value in parts.items()}, grad[None]
