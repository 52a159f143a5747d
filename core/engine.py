"""The optimisation: Gatys et al. 2015 by L-BFGS (scipy's L-BFGS-B by default), coarse to fine.

No file or network I/O here: pixels in, pixels out. Content features and blended style Gram
matrices are computed once per pyramid level; each evaluation runs only the image being
optimised through the network and returns loss and gradient together. Progress goes to a
callback once per iteration; ``should_stop`` is polled before every evaluation (and, in tiles,
before every tile), so a cancel takes effect within one evaluation or tile and returns the best
image so far.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from keras import ops

from core import backends, images, losses, optimizers, tiles
from core.params import MIN_SIDE, ParamError, StyleParams
from core.vgg import VGG19Features


@dataclass(frozen=True)
class Progress:
    """One finished L-BFGS iteration. ``losses`` are weighted parts and their total."""

    iteration: int
    total: int
    level: int
    levels: int
    losses: dict
    seconds_left: float | None


@dataclass
class Result:
    pixels: np.ndarray  # uint8, the content's channel count (alpha passed through)
    losses: dict
    iterations: int
    evaluations: int
    cancelled: bool


DEVICE_CHUNK = 10  # on-device iterations between progress reports and cancel checks


class _Stop(Exception):
    """Raised inside the objective to leave scipy's loop when the caller cancels."""


def pyramid_shapes(shape: tuple, levels: int) -> list:
    """(h, w) per level, coarse to fine, each half the next; too-small levels are dropped."""
    height, width = shape
    shapes = [(round(height / 2**k), round(width / 2**k)) for k in reversed(range(levels))]
    return [s for s in shapes if min(s) >= MIN_SIDE] or [shape]


class StyleTransfer:
    """Runs stylisations on one loaded network; reusable across jobs."""

    def __init__(self, network: VGG19Features):
        self.network = network
        self._compiled = {}

    def run(self, content: np.ndarray, styles: list, params: StyleParams,
            on_progress=None, should_stop=None) -> Result:
        """Stylise uint8 RGB(A) ``content`` with uint8 RGB(A) ``styles`` (alpha of styles ignored)."""
        out_shape = images.check_inputs(content, styles, params)
        on_device(params)  # an impossible choice fails here, before any work
        memory_plan(out_shape, params)  # so does a budget too small
        content_rgb = content[..., :3].astype(np.float32)
        style_rgbs = [style[..., :3].astype(np.float32) for style in styles]
        if params.preserve_colors:
            style_rgbs = [images.luminance_image(s, like=content_rgb) for s in style_rgbs]
            content_rgb = images.luminance_image(content_rgb)

        shapes = [out_shape] if params.seed_compatible else pyramid_shapes(out_shape, params.pyramid_levels)
        run = _Run(params, shapes, on_progress, should_stop)
        x = None
        for level, shape in enumerate(shapes):
            if x is None:
                x = (images.preprocess(images.resize(content_rgb, shape)) if params.init == "content"
                     else _noise(shape, params.seed))
            else:
                x = images.resize(x, shape)
            try:
                objective = self.objective(content_rgb, style_rgbs, params, shape, run.cancel_check)
            except _Stop:  # while computing this size's targets: the image so far is the result
                stopped = True
                break
            x, stopped = run.optimise(level, x, objective)
            if stopped:
                break

        rgb = images.resize(images.deprocess(x), out_shape)
        if params.preserve_colors:
            rgb = images.keep_colors(rgb, images.resize(content[..., :3], out_shape))
        pixels = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
        if content.shape[2] == 4:
            alpha = content[..., 3:] if content.shape[:2] == out_shape else np.clip(
                np.rint(images.resize(content[..., 3:], out_shape)), 0, 255).astype(np.uint8)
            pixels = np.concatenate([pixels, alpha], axis=-1)
        return Result(pixels, run.losses, run.iteration, run.evaluations, stopped)

    def objective(self, content_rgb, style_rgbs, params, shape, cancel_check=None):
        """Loss and gradient at one size: ``f(image (1, h, w, 3)) -> (loss, parts, gradient)``.

        Content activations and blended style Gram matrices are computed here, once. A size whose
        evaluation would not fit ``params.memory_budget`` is evaluated in tiles (``core.tiles``),
        calling ``cancel_check`` before each tile.
        """
        content_in = images.preprocess(images.resize(content_rgb, shape))
        plan = memory_plan(shape, params)
        if plan.tile_side is not None and not params.seed_compatible:
            styles = [(images.preprocess(images.resize(style_rgb, _style_shape(style_rgb.shape, shape, params))), blend)
                      for style_rgb, blend in zip(style_rgbs, params.blend_weights(len(style_rgbs)))]
            return tiles.TiledObjective(self._tiled_network(params), params, shape, plan, content_in, styles,
                                        cancel_check)
        evaluate, device_lbfgs, targets = self._compiled_functions(params)
        content_targets = targets(content_in[None])[0]
        style_targets = [0.0] * len(params.style_layers)
        for style_rgb, blend in zip(style_rgbs, params.blend_weights(len(style_rgbs))):
            style_shape = _style_shape(style_rgb.shape, shape, params)
            grams = targets(images.preprocess(images.resize(style_rgb, style_shape))[None])[1]
            style_targets = [target + blend * gram for target, gram in zip(style_targets, grams)]
        weights = np.array([params.content_weight, params.style_weight, params.tv_weight,
                            *params.layer_weights()], dtype=np.float32)
        return Objective(evaluate, device_lbfgs, (content_targets, style_targets, weights), plan)

    def _tiled_network(self, params):
        key = ("tiled", params.content_layers, params.style_layers, precision(params))
        if key not in self._compiled:
            extractor = self.network.extractor(params.content_layers + params.style_layers, key[-1])
            self._compiled[key] = tiles.TiledNetwork(extractor, len(params.content_layers))
        return self._compiled[key]

    def _compiled_functions(self, params):
        """For this layer set, formula and precision: the loss and gradient, the on-device L-BFGS
        (or None), and ``targets(image) -> (content activations, style Gram matrices)``, each
        traced and compiled once (cached: tracing and compiling are slow)."""
        key = (params.content_layers, params.style_layers, params.seed_compatible, precision(params))
        if key not in self._compiled:
            extractor = self.network.extractor(params.content_layers + params.style_layers, key[-1])
            n_content, normalise = len(params.content_layers), not params.seed_compatible
            loss = _loss_function(extractor, n_content, normalise)
            self._compiled[key] = (backends.value_and_grad(loss, extractor.weights),
                                   backends.device_lbfgs(loss, extractor.weights),
                                   backends.forward(_targets_function(extractor, n_content, normalise),
                                                    extractor.weights))
        return self._compiled[key]


class Objective:
    """The loss at one size with its fixed inputs (content features, style Gram matrices, weights).

    Calling it on a (1, h, w, 3) image gives ``(loss, parts, gradient)``; ``on_device(image)``
    starts the backend's on-device L-BFGS from that image. ``plan``: the host optimiser and its
    memory that fit the memory budget at this size.
    """

    runs_on_device = True

    def __init__(self, evaluate, device_lbfgs, args, plan):
        self._evaluate, self._device_lbfgs, self.args, self.plan = evaluate, device_lbfgs, args, plan

    def __call__(self, image):
        return self._evaluate(image, *self.args)

    def on_device(self, image):
        return self._device_lbfgs(image, self.args)


def _targets_function(extractor, n_content, normalise):
    """``image -> (activations at the content layers, Gram matrices at the style layers)``: what
    the loss compares with, from the content image and from each style image, once per size."""
    def targets(image):
        features = _features(extractor, image)
        return features[:n_content], [losses.gram_matrix(f, normalise) for f in features[n_content:]]

    return targets


def _loss_function(extractor, n_content, normalise):
    def loss(image, content_targets, style_targets, weights):
        features = _features(extractor, image)
        content = sum(losses.content_loss(f, t, normalise)
                      for f, t in zip(features[:n_content], content_targets)) / n_content
        pixels = None if normalise else ops.shape(image)[1] * ops.shape(image)[2]
        style = sum(weights[3 + i] * losses.style_loss(losses.gram_matrix(f, normalise), t, pixels)
                    for i, (f, t) in enumerate(zip(features[n_content:], style_targets)))
        tv = losses.total_variation_loss(image, normalise)
        parts = {"content": weights[0] * content, "style": weights[1] * style, "tv": weights[2] * tv}
        total = parts["content"] + parts["style"] + parts["tv"]
        return total, parts

    return loss


def precision(params) -> str:
    """The network's arithmetic for a job: "auto" means bfloat16 where the device is faster with
    it; the tutorial's formula always runs in float32, as the tutorial does."""
    if params.precision != "auto":
        return params.precision
    return "bfloat16" if backends.fast_bfloat16() and not params.seed_compatible else "float32"


def on_device(params) -> bool:
    """Whether L-BFGS runs on the accelerator: asked for, or "auto" on a GPU whose backend has it."""
    if params.optimizer == "device" and not backends.has_device_lbfgs():
        raise ParamError("optimizer device needs the JAX backend (KERAS_BACKEND=jax); use lbfgs-b")
    if params.optimizer != "auto":
        return params.optimizer == "device"
    return backends.has_device_lbfgs() and backends.device_name() != "CPU"


def memory_plan(shape, params):
    """Tiles, host optimiser and its memory for one size: the one asked for, else the best fit."""
    chosen = params.optimizer in tiles.HOST_OPTIMIZERS
    return tiles.plan_memory(shape, params.memory_budget_bytes(),
                             (params.optimizer,) if chosen else tiles.HOST_OPTIMIZERS)


def _features(extractor, image):
    """Activations of a (1, h, w, 3) image as a float32 list (losses stay float32 whatever the
    network computes in)."""
    out = extractor(image)
    return [ops.cast(f, "float32") for f in (out if isinstance(out, (list, tuple)) else [out])]


def _style_shape(style_shape, content_shape, params):
    """The tutorial resizes styles to the content's size; otherwise the long side follows
    ``style_scale`` x the output's long side, never below the network's minimum."""
    if params.seed_compatible:
        return content_shape[:2]
    long_side = params.style_scale * max(content_shape[:2])
    long_side = max(long_side, MIN_SIDE * max(style_shape[:2]) / min(style_shape[:2]))
    return images.fit_long_side(style_shape, round(long_side))


def _noise(shape, seed):
    return np.random.default_rng(seed).normal(0.0, 40.0, (*shape, 3)).astype(np.float32)


class _Run:
    """Bookkeeping of one job across levels: counts, timing, best image, progress reports."""

    def __init__(self, params, shapes, on_progress, should_stop):
        self.params = params
        self.shapes = shapes
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.total = sum(self.iterations_at(level) for level in range(len(shapes)))
        self.iteration = 0
        self.evaluations = 0
        self.losses = {}
        self.work_done = 0.0  # iterations x pixels, for the time estimate
        self.seconds_spent = 0.0

    def optimise(self, level, x0, objective):
        """L-BFGS at one level; returns (best image, whether the caller stopped us)."""
        start = time.perf_counter()
        first_iteration = self.iteration
        x0 = np.clip(x0, *images.vgg_bounds())
        if on_device(self.params) and objective.runs_on_device:
            x, stopped = self._on_device(level, x0, objective, start)
        else:
            x, stopped = self._on_host(level, x0, objective, start)
        self.work_done += (self.iteration - first_iteration) * x0.shape[0] * x0.shape[1]
        self.seconds_spent += time.perf_counter() - start
        if not stopped:
            self.iteration = first_iteration + self.iterations_at(level)
        return x, stopped

    def cancel_check(self):
        """Raises ``_Stop`` once the caller wants to stop."""
        if self.should_stop is not None and self.should_stop():
            raise _Stop

    def iterations_at(self, level):
        return self.params.level_iterations(level, len(self.shapes))

    def _on_device(self, level, x0, objective, start):
        """Chunks of iterations on the accelerator, reporting and polling for a cancel between
        chunks (each a few hundredths of a second on a GPU). Wolfe line searches only accept
        descending steps, so the latest image is the best one."""
        run = objective.on_device(x0[None])
        first_iteration = self.iteration
        done = 0
        while done < self.iterations_at(level):
            if self.should_stop is not None and self.should_stop():
                return run.image()[0], True
            steps = min(DEVICE_CHUNK, self.iterations_at(level) - done)
            loss, parts, evaluations = run.run(steps)
            done += steps
            self.iteration += steps
            self.evaluations += evaluations
            self.losses = dict(parts, total=loss)
            self._report(level, start, first_iteration)
        return run.image()[0], False

    def _on_host(self, level, x0, objective, start):
        """The planned host optimiser (``core.optimizers``), the image kept in the pixel box."""
        shape = x0.shape
        best = {"loss": np.inf, "x": x0}
        first_iteration = self.iteration

        def fun(x):
            self.cancel_check()
            image = x.astype(np.float32, copy=False).reshape(1, *shape)
            loss, parts, grad = objective(image)
            self.evaluations += 1
            self.losses = dict(parts, total=loss)
            if loss < best["loss"]:
                best.update(loss=loss, x=image[0])
            return loss, grad.ravel().astype(x.dtype, copy=False)

        def callback():
            self.iteration += 1
            self._report(level, start, first_iteration)

        try:
            iterations = self.iterations_at(level)
            optimizers.BY_NAME[objective.plan.optimizer](fun, x0, iterations, 4 * iterations, callback,
                                                         objective.plan.history)
        except _Stop:
            return best["x"], True
        return best["x"], False

    def _report(self, level, start, first_iteration):
        if self.on_progress is None:
            return
        height, width = self.shapes[level]
        done_here = self.iteration - first_iteration
        work = self.work_done + done_here * height * width
        seconds = self.seconds_spent + time.perf_counter() - start
        remaining = (self.iterations_at(level) - done_here) * height * width + sum(
            self.iterations_at(later) * h * w for later, (h, w) in enumerate(self.shapes) if later > level)
        self.on_progress(Progress(self.iteration, self.total, level + 1, len(self.shapes),
                                  dict(self.losses), seconds / work * remaining if work else None))
