"""From GIMP's layers to the jobs (``jobs``) and back: ``prepare`` reads the layers, the styles and
their regions and refuses what cannot be painted before the engine starts; ``insert`` adds the new
layers in one undo step only once every layer is done, so a failure or a cancel leaves the image
as it was. Both run on GIMP's main thread; ``jobs.paint`` may run on another.
"""

from __future__ import annotations

import gimp_io
from gi.repository import Gimp
from job_settings import (
    EXTRA_STYLE_ROWS,
    PARASITE,
    SETTINGS,
    Record,
    UserError,
    painting_record,
    placed_styles,
    style_layer_setting,
    style_region_setting,
)
from jobs import Job, Plan, check_region, check_sizes, new_layer_name

from core.protocol import Pixels


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
    check_sizes(
        settings_of(config),
        [(layer.get_name(), area) for layer, area in zip(drawables, areas)],
        masked,
        [(layer.get_name(), style) for (_, layer, _), style in zip(rows, styles)],
    )
    jobs = [
        Job(layer, layer.get_name(), area, gimp_io.read_pixels(layer, area), _regions(rows, layer, area))
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
    when there is one style."""
    if len(rows) == 1:
        return ()
    return (None,) + tuple(
        check_region(gimp_io.read_region(region, layer, area), row, region.get_name(), layer.get_name())
        for row, _, region in rows[1:]
    )


def insert(image, plan: Plan, painted: list) -> list:
    """The new layers, one undo step; none is left behind if one fails."""
    inserted = []
    image.undo_group_start()
    try:
        for job, pixels in painted:
            layer = gimp_io.insert_result(image, job.layer, job.area, pixels, new_layer_name(plan, job), plan.masked)
            source = {"layer": job.name, "tattoo": job.layer.get_tattoo()}
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
