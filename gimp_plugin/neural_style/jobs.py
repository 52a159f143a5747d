"""What a run paints and how: the jobs (one per layer), what is refused before the engine
starts, each job on the worker, and the new layers' names. No ``gi`` here (``painting`` reads
the layers from GIMP and inserts the results): tested with a real worker, without GIMP."""

from __future__ import annotations

from typing import NamedTuple

import messages
from job_settings import Record, UserError, engine_params, painted_size
from worker_client import WorkerError

from core.protocol import Pixels


class Job(NamedTuple):
    layer: object  # the GIMP layer painted; only ``painting`` touches it
    name: str  # its name, for messages and the new layer's name
    area: tuple  # (x, y, width, height) on it: the layer, or the selection's bounds
    content: Pixels
    style_masks: tuple  # per style, where it paints over the area (None: the rest); () for one style


class Plan(NamedTuple):
    jobs: list
    styles: list  # Pixels of each style layer, the first one first
    masked: bool  # a selection: each new layer gets it as its mask
    style_name: str  # "Starry Night and Shipwreck"
    record: Record  # how the new layers were painted, each with its own ``source``


def new_layer_name(plan: Plan, job: Job) -> str:
    return f"{job.name} in the style{'s' * (len(plan.styles) > 1)} of {plan.style_name}"


def check_sizes(settings: dict, jobs: list, masked: bool, styles: list) -> None:
    """Refuse, before the engine starts, what it could not paint: too small a layer, selection
    or style layer (``styles``: (name, Pixels) each), or a working size that would leave a side
    too short. ``jobs``: (layer name, area) each."""
    for name, (_, _, width, height) in jobs:
        what = f"The selection on layer '{name}'" if masked else f"Layer '{name}'"
        problem = messages.too_small(what, width, height) or messages.too_small_at(
            name, width, height, painted_size(settings, max(width, height))
        )
        if problem:
            raise UserError(problem)
    for name, style in styles:
        problem = messages.too_small(f"The style layer '{name}'", style.width, style.height)
        if problem:
            raise UserError(problem)


def check_region(mask: Pixels, row: int, region: str, layer: str) -> Pixels:
    """A style's region over a layer, refused when it is black all over: the style would paint
    nowhere there."""
    if not mask.data.strip(b"\x00"):
        raise UserError(f"'{region}' is empty over layer '{layer}': style layer {row} would paint nowhere there")
    return mask


def paint(worker, plan: Plan, settings: dict, watch) -> tuple:
    """Each job on ``worker``; returns ([(job, pixels)], stopped). ``watch`` hears stages,
    progress and previews by job index, and says when to stop (``watch.stopping()``): the layer
    being painted then keeps its best picture so far and the rest are not started."""
    painted = []
    for index, job in enumerate(plan.jobs):
        if watch.stopping():
            return painted, True
        params = engine_params(settings, worker.hello, max(job.area[2:]))
        try:
            result = worker.run_job(
                params,
                job.content,
                plan.styles,
                on_progress=lambda message, i=index: watch.on_progress(i, message),
                should_cancel=watch.stopping,
                on_stage=lambda message, i=index: watch.on_stage(i, message),
                on_preview=lambda message, i=index: watch.on_preview(i, message),
                preview=watch.preview,
                style_masks=job.style_masks,
            )
        except WorkerError as error:
            error.message = messages.explain(error.code, error.message, job.name)
            raise
        if result.pixels is not None:
            painted.append((job, result.pixels))
        if result.cancelled:
            return painted, True
    return painted, False
