"""The optimisation: Gatys et al. 2015 by L-BFGS (scipy's L-BFGS-B by default), coarse to fine.

No file or network I/O here: pixels in, pixels out. The job's plan (``core.plan``) is made once,
first, so an impossible request fails before any work. Content features and blended style Gram
matrices are computed once per pyramid level; each evaluation runs only the image being
optimised through the network and returns loss and gradient together. Progress goes to a
callback once per iteration, the stages that take a while (targets, tiles) to ``on_stage``,
small pictures of the best image so far to a ``Previews`` request, and every evaluated image to
``on_evaluation`` (for measurements); ``should_stop`` is polled before every evaluation (and, in
tiles, before every tile), so a cancel takes effect within one evaluation or tile and returns the
best image so far.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from core import images, objective, optimizers, plan, regions, speed, stillness
from core.presets import PRESETS
from core.protocol import PAINTING, STARTING, TARGETS, TILES
from core.reporting import Previews, PreviewSender, Progress, Stage
from core.vgg import VGG19Features


@dataclass
class Result:
    pixels: np.ndarray  # uint8, the content's channel count (alpha passed through)
    losses: dict
    iterations: int
    evaluations: int
    cancelled: bool
    job: plan.JobPlan
    iterations_per_size: tuple  # of each size that ended, coarse to fine
    timings: tuple  # core.speed.SizeTiming of each size that ran long enough to be timed


DEVICE_CHUNK = 10  # on-device iterations between progress reports and cancel checks


class _Stop(Exception):
    """Raised inside the objective to leave the optimiser's loop when the caller cancels."""


class _Still(Exception):
    """Raised after an iteration to leave the optimiser's loop when the picture stopped changing."""


class StyleTransfer:
    """Runs stylisations on one loaded network; reusable across jobs."""

    def __init__(self, network: VGG19Features):
        self.network = network
        self.compiled = objective.Compiled(network)

    def plan(self, content: np.ndarray, styles: list, params, style_masks=None) -> plan.JobPlan:
        """What a job will run on and how; raises ``ParamError`` or ``ImageError`` for a job that
        cannot run."""
        out_shape = images.check_inputs(content, styles, params)
        if style_masks is not None:
            regions.check_masks(style_masks, len(styles), content.shape[:2])
        return plan.plan_job(params, out_shape)

    def run(
        self,
        content: np.ndarray,
        styles: list,
        params,
        on_progress=None,
        should_stop=None,
        on_evaluation=None,
        on_stage=None,
        previews: Previews | None = None,
        pace_of=None,
        style_masks=None,
    ) -> Result:
        """Stylise uint8 RGB(A) ``content`` with uint8 RGB(A) ``styles`` (alpha of styles ignored).
        ``style_masks``: per style, where it paints (uint8 (h, w) at the content's size, or None:
        what the masks leave; ``core.regions``), or None: every style everywhere.
        ``on_evaluation(image, loss)`` sees every image evaluated on the host (on a device: the
        image after each chunk of iterations); ``on_stage(Stage)`` hears what the job is doing;
        ``pace_of(kind)`` gives this computer's measured ``core.speed.Pace``, for time left that
        is true from the first report."""
        job = self.plan(content, styles, params, style_masks)
        where = _regions(style_masks, params, len(styles))
        out_shape = job.sizes[-1].shape
        run = _Run(params, job, on_progress, should_stop, on_evaluation, on_stage)
        run.pace = pace_of(job.speed_kind()) if pace_of is not None else None
        sizes = len(job.sizes)
        run.stage(STARTING, f"starting: {out_shape[1]}x{out_shape[0]} in {sizes} size{'s' * (sizes > 1)}", 0)
        if previews is not None:
            run.previews = PreviewSender(previews, content, params, out_shape)
        content_rgb = content[..., :3].astype(np.float32)
        style_rgbs = [style[..., :3].astype(np.float32) for style in styles]
        if params.preserve_colors:
            style_rgbs = [images.luminance_image(s, like=content_rgb) for s in style_rgbs]
            content_rgb = images.luminance_image(content_rgb)

        x, stopped = None, False
        for level, size in enumerate(job.sizes):
            if x is None:
                x = (
                    images.preprocess(images.resize(content_rgb, size.shape))
                    if params.init == "content"
                    else objective.noise(size.shape, params.seed)
                )
            else:
                x = images.resize(x, size.shape)
            run.size_stage(TARGETS, level, "the content and style targets")
            run.clock = speed.SizeClock(run.megapixels[level])
            try:
                level_objective = objective.build(
                    self.compiled, content_rgb, style_rgbs, params, size, job.precision, run.before_tile, where
                )
            except _Stop:  # while computing this size's targets: the image so far is the result
                stopped = True
                break
            run.size_stage(PAINTING, level, "painting")
            x, stopped = run.optimise(level, x, level_objective)
            if stopped:
                break
        return Result(
            images.compose(x, out_shape, content, params.preserve_colors),
            run.losses,
            run.iteration,
            run.evaluations,
            stopped,
            job,
            tuple(run.done_at),
            tuple(run.timings),
        )

    def objective(self, content_rgb, style_rgbs, params, shape, style_masks=None):
        """The loss at one size, planned as a one-size job would be (``core.objective.build``): for
        measuring and testing evaluations on their own."""
        job = plan.plan_job(params.replace(pyramid_levels=1), tuple(shape))
        where = _regions(style_masks, params, len(style_rgbs))
        return objective.build(
            self.compiled, content_rgb, style_rgbs, params, job.sizes[-1], job.precision, where=where
        )


def _regions(style_masks, params, n_styles):
    """Where each style paints (``core.regions.Regions``), or None: all of them everywhere."""
    if style_masks is None:
        return None
    return regions.regions_of(style_masks, params.blend_weights(n_styles))


class _Run:
    """Bookkeeping of one job across levels: counts, timing, best image, progress reports.

    A level with a quality preset's rule ends when its picture stops changing (``core.stillness``);
    the progress total counts each level's iterations as done where it is done, else as expected
    (at least one more than so far), so the bar moves steadily, completes when the job ends and
    its time left does not leap."""

    def __init__(self, params, job, on_progress, should_stop, on_evaluation, on_stage):
        self.params = params
        self.shapes = [size.shape for size in job.sizes]
        self.rules = [params.level_rule(level, len(self.shapes)) for level in range(len(self.shapes))]
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.on_evaluation = on_evaluation
        self.on_stage = on_stage
        self.previews = None  # a PreviewSender when the job asked for previews
        self.level, self.where = 0, ""  # the size being computed, for its tiles' stages
        self.last_tile_stage = 0.0
        self.done_at = []  # iterations each finished level took
        self.reported = None  # (iteration, total) of the latest progress report
        self.iteration = 0
        self.evaluations = 0
        self.losses = {}
        self.work_done = 0.0  # iterations x pixels, for the time estimate
        self.seconds_spent = 0.0
        self.clock = None  # the current size's speed.SizeClock
        self.timings = []
        self.pace = None  # this computer's speed.Pace, when the caller knows it
        self.megapixels = [plan.evaluated_megapixels(size, job.tile_border) for size in job.sizes]
        self.started = time.perf_counter()

    def optimise(self, level, x0, level_objective):
        """L-BFGS at one level; returns (best image, whether the caller stopped us)."""
        start = time.perf_counter()
        first_iteration = self.iteration
        x0 = np.clip(x0, *images.vgg_bounds())
        rule = self.rules[level]
        still = stillness.Stillness(PRESETS[self.params.quality].still, rule.floor) if self.params.quality else None
        if level_objective.plan.optimizer == "device":
            x, stopped = self._on_device(level, x0, level_objective, start, still)
        else:
            x, stopped = self._on_host(level, x0, level_objective, start, still)
        self.work_done += (self.iteration - first_iteration) * x0.shape[0] * x0.shape[1]
        self.seconds_spent += time.perf_counter() - start
        if (timing := self.clock.timing()) is not None:
            self.timings.append(timing)
        if not stopped:
            self.done_at.append(self.iteration - first_iteration)
            if self.previews is not None:
                self.previews.maybe(lambda: x, self.iteration, level, level_ended=True)
            if level == len(self.shapes) - 1 and self.reported != (self.iteration, self.iteration):
                self._report(level, start, self.iteration)  # ended before its planned count: the bar completes
        return x, stopped

    def stage(self, name, text, level, tile=None, tiles=None):
        if self.on_stage is not None:
            self.on_stage(Stage(name, text, level + 1, len(self.shapes), tile, tiles))

    def size_stage(self, name, level, doing):
        """A stage of one size of the pyramid: "size 1 of 2 (256x192): painting"."""
        height, width = self.shapes[level]
        self.level, self.where = level, f"size {level + 1} of {len(self.shapes)} ({width}x{height})"
        self.stage(name, f"{self.where}: {doing}", level)

    def cancel_check(self):
        """Raises ``_Stop`` once the caller wants to stop."""
        if self.should_stop is not None and self.should_stop():
            raise _Stop

    def before_tile(self, part, index, count):
        """Before each tile: stop if asked; say which tile, at most once a second after the first."""
        self.cancel_check()
        now = time.monotonic()
        if self.on_stage is None or (index > 1 and now - self.last_tile_stage < 1.0):
            return
        self.last_tile_stage = now
        self.stage(TILES, f"{self.where}: {part}, tile {index} of {count}", self.level, index, count)

    def planned(self, level, done_here):
        """Iterations level ``level`` counts for in the progress total, ``done_here`` so far at
        the current level: as done, exactly as asked, or as expected."""
        if level < len(self.done_at):
            return self.done_at[level]
        rule = self.rules[level]
        if level > len(self.done_at):
            return rule.expected
        return rule.ceiling if rule.floor == rule.ceiling else min(rule.ceiling, max(rule.expected, done_here + 1))

    def _on_device(self, level, x0, level_objective, start, still):
        """Chunks of iterations on the accelerator, reporting and polling for a cancel between
        chunks (each a few hundredths of a second on a GPU). Wolfe line searches only accept
        descending steps, so the latest image is the best one."""
        run = level_objective.on_device(x0[None])
        first_iteration = self.iteration
        ceiling = self.rules[level].ceiling
        done = 0
        while done < ceiling:
            if self.should_stop is not None and self.should_stop():
                return run.image()[0], True
            steps = min(DEVICE_CHUNK, ceiling - done)
            loss, parts, evaluations = run.run(steps)
            done += steps
            self.iteration += steps
            self.clock.tick(steps)
            self.evaluations += evaluations
            self.losses = dict(parts, total=loss)
            if self.on_evaluation is not None:
                self.on_evaluation(run.image(), loss)
            if still is not None and still.done(run.image()[0], steps):
                break
            self._report(level, start, first_iteration)
            if self.previews is not None:
                self.previews.maybe(lambda: run.image()[0], self.iteration, level)
        return run.image()[0], False

    def _on_host(self, level, x0, level_objective, start, still):
        """The planned host optimiser (``core.optimizers.HOST``), the image kept in the pixel box."""
        shape = x0.shape
        best = {"loss": np.inf, "x": x0}
        first_iteration = self.iteration

        def fun(x):
            self.cancel_check()
            image = x.astype(np.float32, copy=False).reshape(1, *shape)
            loss, parts, grad = level_objective(image)
            self.evaluations += 1
            self.losses = dict(parts, total=loss)
            if self.on_evaluation is not None:
                self.on_evaluation(image, loss)
            if loss < best["loss"]:
                best.update(loss=loss, x=image[0])
            return loss, grad.ravel().astype(x.dtype, copy=False)

        def callback():
            self.iteration += 1
            self.clock.tick()
            if still is not None and still.done(best["x"]):
                raise _Still
            self._report(level, start, first_iteration)
            if self.previews is not None:
                self.previews.maybe(lambda: best["x"], self.iteration, level)

        size = level_objective.plan
        try:
            iterations = self.rules[level].ceiling
            optimizers.HOST[size.optimizer].minimise(fun, x0, iterations, 4 * iterations, callback, size.history)
        except _Stop:
            return best["x"], True
        except _Still:
            pass
        return best["x"], False

    def _report(self, level, start, first_iteration):
        if self.on_progress is None:
            return
        height, width = self.shapes[level]
        done_here = self.iteration - first_iteration
        work = self.work_done + done_here * height * width
        seconds = self.seconds_spent + time.perf_counter() - start
        remaining = sum(
            (self.planned(later, done_here) - (done_here if later == level else 0)) * h * w
            for later, (h, w) in enumerate(self.shapes)
            if later >= len(self.done_at)
        )
        total = sum(self.planned(any_level, done_here) for any_level in range(len(self.shapes)))
        self.reported = (self.iteration, total)
        if self.pace is not None:
            left = self._time_left(level, done_here)
        else:
            left = seconds / work * remaining if work else None
        self.on_progress(
            Progress(
                self.iteration,
                total,
                level + 1,
                len(self.shapes),
                dict(self.losses),
                left,
            )
        )

    def _time_left(self, level, done_here):
        """Seconds left at this computer's pace, scaled by how this job has kept to it so far
        (within a factor of three: a first iteration says little)."""
        pace, megapixels = self.pace, self.megapixels
        foretold = sum(pace.first_extra(megapixels[done]) + n * pace.per_iteration(megapixels[done])
                       for done, n in enumerate(self.done_at))  # fmt: skip
        left = 0.0
        for later in range(len(self.done_at), len(megapixels)):
            planned, per_iteration = self.planned(later, done_here), pace.per_iteration(megapixels[later])
            if later == level:
                foretold += pace.first_extra(megapixels[later]) + done_here * per_iteration
                left += (planned - done_here) * per_iteration
            else:
                left += pace.first_extra(megapixels[later]) + planned * per_iteration
        if foretold <= 0:
            return left
        return left * min(3.0, max(1 / 3, (time.perf_counter() - self.started) / foretold))
