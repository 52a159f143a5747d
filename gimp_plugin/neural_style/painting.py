"""From layers to new layers: what is refused before the engine starts, the jobs the worker
paints, and the new layers, inserted in one undo step only once every layer is done, so a failure
or a cancel leaves the image as it was. GIMP is called on the main thread only: ``prepare`` and
``insert`` there; ``paint`` may run on another thread, reporting through a ``watch``.
"""

from __future__ import annotations

from typing import NamedTuple

import gimp_io
import messages
from gi.repository import Gimp
from job_settings import (
    EXTRA_STYLE_ROWS,
    PARASITE,
    SETTINGS,
    Record,
    UserError,
    engine_params,
    painted_size,
    painting_record,
    placed_styles,
    style_layer_setting,
    style_region_setting,
)
from worker_client import WorkerError

from core.protocol import Pixels


class Job(NamedTuple):
    layer: object  # the Gimp.Layer painted
    area: tuple  # (x, y, width, height) on it: the layer, or the selection's bounds
    content: Pixels
    style_masks: tuple  # per style, where it paints over the area (None: the rest); () for one style


class Plan(NamedTuple):
    jobs: list
    styles: list  # Pixels of each style layer, the first one first
    masked: bool  # a selection: each new layer gets it as its mask
    style_name: str
    record: Record  # how the new layers were painted, each with its own ``source``


def settings_of(config) -> dict:
    """The dialog's settings as plain values, safe to read from any thread."""
    return {name: config.get_property(name) for name in SETTINGS}


def prepare(image, drawables, config) -> Plan:
    """Read and check what will be painted; raises ``UserError`` (or ``gimp_io.LayerError``)."""
    if not drawables:
        raise UserError("Select one or more layers to repaint")
    if image.get_base_type() == Gimp.ImageBaseType.INDEXED:
        raise UserError("Indexed-colour images cannot be repainted: convert the image with Image > Mode > RGB")
    for drawable in drawables:
        gimp_io.check_source(drawable)
    style_layer = config.get_property("style-layer")
    if style_layer is None or not style_layer.is_valid():
        raise UserError("Choose a style layer: the picture whose style to paint with")
    rows = [(1, style_layer, None)] + placed_styles(
        [
            (row, config.get_property(style_layer_setting(row)), config.get_property(style_region_setting(row)))
            for row in EXTRA_STYLE_ROWS
        ]
    )
    styles = [_style_pixels(layer) for _, layer, _ in rows]
    masked = not Gimp.Selection.is_empty(image)
    areas = [gimp_io.source_area(image, layer) for layer in drawables]
    _check_sizes(settings_of(config), drawables, areas, masked, [layer for _, layer, _ in rows], styles)
    jobs = [
        Job(layer, area, gimp_io.read_pixels(layer, area), _regions(rows, layer, area))
        for layer, area in zip(drawables, areas)
    ]
    record = Record(settings_of(config), [_style_record(layer, region, image) for _, layer, region in rows], {})
    return Plan(jobs, styles, masked, " and ".join(style_name(layer, image) for _, layer, _ in rows), record)


def _style_record(layer, region, image) -> dict:
    """A style's entry in the record (``job_settings.Record``): tattoos find a layer or channel of
    this image again, even renamed and after the XCF is saved and opened."""
    here = layer.get_image().get_id() == image.get_id()
    return {
        "layer": layer.get_name(),
        "tattoo": layer.get_tattoo() if here else None,
        "file": _file_name(layer),
        "region": region.get_name() if region else None,
        "region_tattoo": region.get_tattoo() if region else None,
    }


def _style_pixels(style_layer) -> Pixels:
    style = gimp_io.read_pixels(style_layer)
    if gimp_io.is_transparent(style):
        raise UserError(f"The style layer '{style_layer.get_name()}' is empty (fully transparent)")
    return style


def _regions(rows, layer, area) -> tuple:
    """Where each style paints over ``area`` of ``layer`` (None for the first: the rest), or ()
    when there is one style; refuses a region that is black all over the area."""
    if len(rows) == 1:
        return ()
    masks = [None]
    for row, _, region in rows[1:]:
        mask = gimp_io.read_region(region, layer, area)
        if not mask.data.strip(b"\x00"):
            raise UserError(
                f"'{region.get_name()}' is empty over layer '{layer.get_name()}': style layer {row} would "
                "paint nowhere there"
            )
        masks.append(mask)
    return tuple(masks)


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
            error.message = messages.explain(error.code, error.message, job.layer.get_name())
            raise
        if result.pixels is not None:
            painted.append((job, result.pixels))
        if result.cancelled:
            return painted, True
    return painted, False


def insert(image, plan: Plan, painted: list) -> list:
    """The new layers, one undo step; none is left behind if one fails."""
    inserted = []
    image.undo_group_start()
    try:
        for job, pixels in painted:
            name = f"{job.layer.get_name()} in the style{'s' * (len(plan.styles) > 1)} of {plan.style_name}"
            layer = gimp_io.insert_result(image, job.layer, job.area, pixels, name, plan.masked)
            source = {"layer": job.layer.get_name(), "tattoo": job.layer.get_tattoo()}
            gimp_io.keep_record(layer, PARASITE, painting_record(plan.record._replace(source=source)))
            inserted.append(layer)
    except Exception:
        for layer in inserted:
            image.remove_layer(layer)
        raise
    finally:
        image.undo_group_end()
    Gimp.displays_flush()
    return inserted


def _check_sizes(settings, drawables, areas, masked, style_layers, styles):
    """Refuse, before the engine starts, what it could not paint: too small a layer, selection
    or style layer, or a working size that would leave a side too short."""
    for layer, (_, _, width, height) in zip(drawables, areas):
        what = f"The selection on layer '{layer.get_name()}'" if masked else f"Layer '{layer.get_name()}'"
        problem = messages.too_small(what, width, height) or messages.too_small_at(
            layer.get_name(), width, height, painted_size(settings, max(width, height))
        )
        if problem:
            raise UserError(problem)
    for style_layer, style in zip(style_layers, styles):
        problem = messages.too_small(f"The style layer '{style_layer.get_name()}'", style.width, style.height)
        if problem:
            raise UserError(problem)


def style_name(style_layer, image):
    """The style layer's name and, when it lies in another image with a file, that file's name:
    "Starry Night (starry_night.jpg)" (every GIMP names layers this way; a file name alone said
    nothing of which layer)."""
    name, file = style_layer.get_name(), _file_name(style_layer)
    if style_layer.get_image().get_id() != image.get_id() and file is not None:
        return f"{name} ({file})"
    return name


def _file_name(layer):
    """The file name of the image a layer lies in, or None when it has none."""
    image = layer.get_image()
    file = image.get_file() or image.get_imported_file()
    return file.get_basename() if file is not None else None
