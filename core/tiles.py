"""Full-resolution evaluation in bounded memory: the network runs tile by tile.

Each tile is evaluated with a border of ``HALO`` pixels wherever the image has them, wider than
the reach of VGG19's receptive field up to block5_conv2 (101 px), so the features of its interior
equal those of the whole image; tile corners lie on a 16 px grid so the pooling windows line up.
Every loss term is a sum over feature positions: Gram matrices, content differences and total
variation all add up exactly over the tiles' interiors. An evaluation is two passes. The first
runs the network forward over all tiles and sums the Gram matrices; the second gives each tile the
loss <dL/dGram (now fixed), its own Gram sums> + its content and smoothness terms, whose gradient
is exactly that tile's share of the whole image's gradient. The result equals the untiled
evaluation up to float rounding, so there are no seams to hide.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from keras import ops

from core import backends, losses
from core.params import ParamError

HALO = 112  # > 101 px, the reach of block5_conv2's receptive field, and a multiple of GRID
GRID = 16  # VGG19 pools four times before block5: tiles start on multiples of 2**4
MIN_INTERIOR = 64  # below this the borders cost more than ten times the interior
LAYER_STRIDE = {"block1": 1, "block2": 2, "block3": 4, "block4": 8, "block5": 16}


def stride(layer: str) -> int:
    """Input pixels per feature position of a VGG19 layer ("block3_conv1" -> 4)."""
    return LAYER_STRIDE[layer.split("_")[0]]


# Memory model, measured on the project's CPU machine (TensorFlow 2.21, 2026-11-23):
# one 794 px tile forward and backward takes 1.2 KB per input pixel in bfloat16, 2.1 KB in float32
# (3 KB kept, for the allocator's slack across tile shapes). Beyond that, a job over an image of n
# pixels keeps, with L-BFGS memory m, 2m + k vectors of 3n values of the optimiser's type alive:
# its history, its own working copies and the job's copies around each evaluation. scipy's
# L-BFGS-B (float64): k = 37, calibrated on whole 4000x3000 jobs (peaks of 15.5 and 16.3 GB at
# m = 3 with 794 and 980 px tiles). core.optimizers.lbfgs_float32 (float32): k = 20, counted from
# its arrays with room to spare: the whole 4000x3000 job planned for 8 GB (7.2 GB planned: 42
# tiles of 807 px, m = 3) peaked at 5.7 GB.
BYTES_PER_PIXEL_EVALUATED = 3000
BYTES_FIXED = 1.5e9  # the framework, VGG19 in two precisions, content targets
OPTIMIZER_VECTORS = {"lbfgs-b": (8, 37), "lbfgs-float32": (4, 20)}  # bytes per value, vectors beyond 2m
HOST_OPTIMIZERS = tuple(OPTIMIZER_VECTORS)  # in order of preference
MIN_HISTORY = 3
PLANNED_SHARE = 0.9  # slack for what the figures above leave out


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


@dataclass(frozen=True)
class MemoryPlan:
    """How one size is evaluated within a budget: whole (``tile_side`` None) or in tiles, by which
    host optimiser with how long a memory (pairs of image-sized vectors)."""

    tile_side: int | None
    history: int
    optimizer: str = HOST_OPTIMIZERS[0]


def plan_memory(shape: tuple, budget_bytes: float, optimizers: tuple = HOST_OPTIMIZERS,
                max_history: int = 20) -> MemoryPlan:
    """The tile (whole if the image fits), host optimiser and L-BFGS memory for ``budget_bytes``.

    Of ``optimizers``, the one that remembers the most steps within the budget, the first on a
    tie: scipy's L-BFGS-B wherever it keeps its full memory. The optimiser's vectors get up to 60%
    of what is left beyond the framework (at least memory 3), the network the rest. Raises
    ``ParamError`` when none fits with the smallest memory and tile, saying how much would.
    """
    budget = PLANNED_SHARE * budget_bytes
    pixels = shape[0] * shape[1]
    smallest_tile = (2 * HALO + MIN_INTERIOR) ** 2 * BYTES_PER_PIXEL_EVALUATED
    plans, needed = [], []
    for name in optimizers:
        value_bytes, extra_vectors = OPTIMIZER_VECTORS[name]
        vector = pixels * 3 * value_bytes
        share = 0.6 * (budget - BYTES_FIXED) / vector
        history = int(min(max_history, max(MIN_HISTORY, (share - extra_vectors) // 2)))
        left = budget - BYTES_FIXED - (2 * history + extra_vectors) * vector
        needed.append(BYTES_FIXED + (2 * MIN_HISTORY + extra_vectors) * vector + smallest_tile)
        if left >= smallest_tile:
            side = None if pixels * BYTES_PER_PIXEL_EVALUATED <= left else int(math.sqrt(left / BYTES_PER_PIXEL_EVALUATED))
            plans.append(MemoryPlan(side, history, name))
    if not plans:
        raise ParamError(f"a {shape[1]}x{shape[0]} picture needs about {math.ceil(min(needed) / PLANNED_SHARE / 1e9)} "
                         f"GB of memory, more than the budget of {budget_bytes / 1e9:g} GB: raise the memory budget "
                         "or paint at a smaller size")
    return max(plans, key=lambda plan: plan.history)  # max() keeps the first of equals


def plan_tiles(shape: tuple, tile_side: int) -> list:
    """Tiles covering ``shape``: interiors on the 16 px grid, windows ``HALO`` wider where possible."""
    height, width = shape
    step = max(MIN_INTERIOR, (tile_side - 2 * HALO) // GRID * GRID)
    tiles = []
    for y0 in range(0, height, step):
        for x0 in range(0, width, step):
            y1, x1 = min(y0 + step, height), min(x0 + step, width)
            tiles.append(Tile(y0, y1, x0, x1, max(0, y0 - HALO), min(height, y1 + HALO),
                              max(0, x0 - HALO), min(width, x1 + HALO)))
    return tiles


def _interior_bounds(tile: Tile, shape: tuple, layers: tuple) -> np.ndarray:
    """Per layer: the interior's rows and columns in the tile's feature map, (first, end) each."""
    rows = []
    for layer in layers:
        s = stride(layer)
        end_y = tile.bottom if tile.y1 == shape[0] else tile.y1
        end_x = tile.right if tile.x1 == shape[1] else tile.x1
        rows.append([(tile.y0 - tile.top) // s, (end_y - tile.top) // s,
                     (tile.x0 - tile.left) // s, (end_x - tile.left) // s])
    return np.array(rows, dtype=np.int32)


def _pixel_bounds(tile: Tile, shape: tuple) -> np.ndarray:
    """The smoothness terms this tile owns: pixels of its interior that have a right and lower
    neighbour in the image, in tile coordinates."""
    return np.array([tile.y0 - tile.top, min(tile.y1, shape[0] - 1) - tile.top,
                     tile.x0 - tile.left, min(tile.x1, shape[1] - 1) - tile.left], dtype=np.int32)


def _mask(height, width, bounds):
    """1 inside ``bounds`` (first row, end row, first column, end column), 0 outside."""
    bounds = ops.cast(bounds, "int32")
    rows = ops.arange(height, dtype="int32")
    cols = ops.arange(width, dtype="int32")
    inside_rows = ops.logical_and(rows >= bounds[0], rows < bounds[1])
    inside_cols = ops.logical_and(cols >= bounds[2], cols < bounds[3])
    return ops.cast(ops.logical_and(inside_rows[:, None], inside_cols[None, :]), "float32")[None, :, :, None]


class TiledNetwork:
    """The two per-tile functions, compiled once per layer set and precision."""

    def __init__(self, extractor, n_content):
        self.n_content = n_content
        self.extractor = extractor
        self.forward = backends.forward(self._sums, extractor.weights)
        self.backward = backends.value_and_grad(self._tile_loss, extractor.weights)

    def _sums(self, tile, bounds, pixel_bounds, content_targets):
        """Per tile: Gram sums over the interior (style layers), content features (whole tile),
        squared content differences and smoothness summed over the interior."""
        features = [ops.cast(f, "float32") for f in _as_list(self.extractor(tile))]
        grams, content_squares = [], []
        for i, f in enumerate(features):
            mask = _mask(ops.shape(f)[1], ops.shape(f)[2], bounds[i])
            masked = f * mask
            if i < self.n_content:
                content_squares.append(ops.sum(ops.square(masked - content_targets[i] * mask)))
            else:
                flat = ops.reshape(f, (-1, f.shape[-1]))
                grams.append(ops.matmul(ops.transpose(ops.reshape(masked, (-1, f.shape[-1]))), flat))
        return grams, features[:self.n_content], content_squares, _tv_sum(tile, pixel_bounds)

    def _tile_loss(self, tile, bounds, pixel_bounds, content_targets, gram_gradients, weights):
        """A loss whose gradient is this tile's share of the whole image's gradient."""
        grams, _, content_squares, tv = self._sums(tile, bounds, pixel_bounds, content_targets)
        loss = weights[-1] * tv
        for i, square in enumerate(content_squares):
            loss = loss + weights[i] * square
        for gram, gradient in zip(grams, gram_gradients):
            loss = loss + ops.sum(gram * gradient)
        return loss, {}


def _tv_sum(tile, bounds):
    terms = losses.variation(tile)
    return ops.sum(terms * _mask(ops.shape(terms)[1], ops.shape(terms)[2], bounds))


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


class TiledImage:
    """One image size cut into tiles, for a layer set: whole-image sums from tile passes."""

    def __init__(self, network: TiledNetwork, layers: tuple, shape: tuple, tile_side: int, cancel_check=None):
        self.network, self.layers, self.shape = network, layers, shape
        self.cancel_check = cancel_check
        self.tiles = plan_tiles(shape, tile_side)
        self.bounds = [_interior_bounds(t, shape, layers) for t in self.tiles]
        self.pixel_bounds = [_pixel_bounds(t, shape) for t in self.tiles]
        self.feature_shapes = [(shape[0] // stride(name), shape[1] // stride(name)) for name in layers]

    def _each_tile(self):
        """(tile, feature bounds, pixel bounds), calling ``cancel_check`` before each tile: a tile
        takes seconds where a whole evaluation at full resolution takes minutes."""
        for tile, bounds, pixel_bounds in zip(self.tiles, self.bounds, self.pixel_bounds):
            if self.cancel_check is not None:
                self.cancel_check()
            yield tile, bounds, pixel_bounds

    def _window(self, image, tile):
        return image[None, tile.top:tile.bottom, tile.left:tile.right, :]

    def content_features(self, image):
        """The whole image's content-layer activations, assembled from the tiles' interiors."""
        n = self.network.n_content
        out = None
        for tile, bounds, pixel_bounds in self._each_tile():
            _, features, _, _ = self.network.forward(self._window(image, tile), bounds, pixel_bounds,
                                                     self._zero_targets(tile))
            if out is None:
                out = [np.zeros((1, *self.feature_shapes[i], f.shape[-1]), np.float32) for i, f in enumerate(features)]
            for i in range(n):
                a, b, c, d = bounds[i]
                s = stride(self.layers[i])
                out[i][:, tile.top // s + a:tile.top // s + b, tile.left // s + c:tile.left // s + d] = \
                    features[i][:, a:b, c:d]
        return out

    def gram_sums(self, image, content_targets=None):
        """Whole-image Gram sums per style layer, squared content differences, smoothness sum."""
        grams, squares, tv = None, None, 0.0
        for tile, bounds, pixel_bounds in self._each_tile():
            targets = self._tile_targets(content_targets, tile) if content_targets else \
                self._zero_targets(tile)
            tile_grams, _, tile_squares, tile_tv = self.network.forward(
                self._window(image, tile), bounds, pixel_bounds, targets)
            grams = tile_grams if grams is None else [g + t for g, t in zip(grams, tile_grams)]
            squares = tile_squares if squares is None else [s + t for s, t in zip(squares, tile_squares)]
            tv += float(tile_tv)
        return [np.asarray(g, np.float64) for g in grams], [float(s) for s in squares], tv

    def gradient(self, image, content_targets, gram_gradients, weights):
        """The whole image's gradient, tile by tile."""
        grad = np.zeros_like(image)
        for tile, bounds, pixel_bounds in self._each_tile():
            _, _, tile_grad = self.network.backward(
                self._window(image, tile), bounds, pixel_bounds,
                self._tile_targets(content_targets, tile), gram_gradients, weights)
            grad[tile.top:tile.bottom, tile.left:tile.right] += tile_grad[0]
        return grad

    def _tile_feature_shape(self, tile, i):
        s = stride(self.layers[i])
        return (tile.bottom - tile.top) // s, (tile.right - tile.left) // s

    def _zero_targets(self, tile):
        return [np.zeros((1, *self._tile_feature_shape(tile, i), 1), np.float32)
                for i in range(self.network.n_content)]

    def _tile_targets(self, content_targets, tile):
        """The content targets under the tile's feature window (zero where it sticks out)."""
        out = []
        for i, target in enumerate(content_targets):
            s = stride(self.layers[i])
            h, w = self._tile_feature_shape(tile, i)
            window = np.zeros((1, h, w, target.shape[-1]), np.float32)
            part = target[:, tile.top // s:tile.top // s + h, tile.left // s:tile.left // s + w]
            window[:, :part.shape[1], :part.shape[2]] = part
            out.append(window)
        return out


class TiledObjective:
    """The engine's loss at one size, evaluated in tiles: ``f(image (1, h, w, 3)) -> (loss,
    parts, gradient)``, equal to the untiled ``engine.Objective`` up to float rounding.

    ``content_in``: the preprocessed content at this size; ``styles``: (preprocessed style image,
    blend weight) pairs. Targets are computed here, in tiles too. ``cancel_check`` is called before
    every tile and raises to abandon the work.
    """

    runs_on_device = False

    def __init__(self, network: TiledNetwork, params, shape, plan: MemoryPlan, content_in, styles,
                 cancel_check=None):
        layers = params.content_layers + params.style_layers
        self.params, self.plan = params, plan
        self.image = TiledImage(network, layers, shape, plan.tile_side, cancel_check)
        self.content_targets = self.image.content_features(content_in)
        self.style_targets = [0.0] * len(params.style_layers)
        for style_in, blend in styles:
            style = TiledImage(network, layers, style_in.shape[:2], plan.tile_side, cancel_check)
            grams, _, _ = style.gram_sums(style_in)
            for i, gram in enumerate(grams):
                h, w = style.feature_shapes[len(params.content_layers) + i]
                self.style_targets[i] = self.style_targets[i] + blend * gram / (h * w * gram.shape[0])

    def __call__(self, image):
        p = self.params
        n_content = len(p.content_layers)
        height, width = self.image.shape
        grams, squares, tv = self.image.gram_sums(image[0], self.content_targets)
        style, gram_gradients = 0.0, []
        for i, (gram, target, layer_weight) in enumerate(zip(grams, self.style_targets, p.layer_weights())):
            h, w = self.image.feature_shapes[n_content + i]
            channels = gram.shape[0]
            difference = gram / (h * w * channels) - target
            style += layer_weight * float(np.mean(difference ** 2))
            gram_gradients.append((p.style_weight * layer_weight * 2 * difference / channels ** 2
                                   / (h * w * channels)).astype(np.float32))
        sizes = [h * w * target.shape[-1] for (h, w), target in
                 zip(self.image.feature_shapes[:n_content], self.content_targets)]
        content = sum(square / size for square, size in zip(squares, sizes)) / n_content
        tv_terms = (height - 1) * (width - 1) * 3
        parts = {"content": p.content_weight * content, "style": p.style_weight * style,
                 "tv": p.tv_weight * tv / tv_terms}
        weights = np.array([p.content_weight / (n_content * size) for size in sizes] + [p.tv_weight / tv_terms],
                           dtype=np.float32)
        grad = self.image.gradient(image[0], self.content_targets, gram_gradients, weights)
        return sum(parts.values()), parts, grad[None]
