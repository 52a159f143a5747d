"""A painting's own settings, offered again. Each new layer keeps how it was painted
(``job_settings.Record``, in a parasite). When the filter opens on such a layer, the dialog offers
"Use the settings of this painting": it puts back every setting, the style layers and their
regions, and paints the layer the painting was made from (not the painting itself), so an artist
can change one setting and paint again."""

from __future__ import annotations

import gimp_io
import plugin_log
from gi.repository import Gimp, Gtk
from job_settings import EXTRA_STYLE_ROWS, PARASITE, Record, read_record, style_layer_setting, style_region_setting


def recorded(image, drawables) -> tuple | None:
    """(record, source layer) when the one selected layer is a painting whose source is still
    in the image; otherwise None."""
    if len(drawables) != 1 or not drawables[0].is_layer():
        return None
    data = gimp_io.kept_record(drawables[0], PARASITE)
    record = read_record(data) if data is not None else None
    source = _layer(image, record.source) if record is not None else None
    return (record, source) if source is not None else None


def restore(config, image, record: Record) -> list:
    """Put a record's settings, style layers and regions into ``config`` (the dialog follows);
    returns the names of the style layers and regions no longer found (their rows are left empty)."""
    for name, value in record.settings.items():
        config.set_property(name, value)
    missing = []
    for index, row in enumerate(EXTRA_STYLE_ROWS, start=1):
        style = record.styles[index] if index < len(record.styles) else None
        layer = _style_layer(image, style) if style else None
        region = _region(image, style) if style else None
        if style and (layer is None or region is None):
            missing.append(style["layer"] if layer is None else style["region"])
            layer = region = None
        config.set_property(style_layer_setting(row), layer)
        config.set_property(style_region_setting(row), region)
    first = _style_layer(image, record.styles[0])
    if first is None:
        missing.insert(0, record.styles[0]["layer"])
    else:
        config.set_property("style-layer", first)
    return missing


def offer(dialog, image, drawables, config, paint_instead) -> None:
    """When the selected layer is a painting, a row at the top of the dialog: its button restores
    the painting's settings and calls ``paint_instead(source layer)``."""
    found = recorded(image, drawables)
    if found is None:
        return
    record, source = found
    row = Gtk.Box(spacing=6, margin=6)
    button = Gtk.Button.new_with_mnemonic("Use the settin_gs of this painting")
    label = Gtk.Label(label=f"'{drawables[0].get_name()}' is a painting of '{source.get_name()}'", xalign=0)
    label.set_line_wrap(True)
    label.set_max_width_chars(50)

    def use(_button):
        missing = restore(config, image, record)
        paint_instead(source)
        said = f"Paints '{source.get_name()}' again, with the settings of this painting"
        if missing:
            said += f"; not found: {', '.join(missing)} (choose again)"
        label.set_text(said)
        plugin_log.log.info("dialog: %s", said)
        expander = dialog.get_widget("more-styles", Gtk.Expander.__gtype__)
        if isinstance(expander, Gtk.Expander) and len(record.styles) > 1:
            expander.set_expanded(True)

    button.connect("clicked", use)
    row.pack_start(button, False, False, 0)
    row.pack_start(label, True, True, 0)
    area = dialog.get_content_area()
    area.pack_start(row, False, False, 0)
    area.reorder_child(row, 0)
    row.show_all()
    plugin_log.log.info("dialog: offers the settings of the painting of '%s'", source.get_name())


def _layer(image, entry: dict):
    """A layer of ``image`` by its tattoo, else by its name; None when gone."""
    layer = image.get_layer_by_tattoo(entry["tattoo"]) if entry.get("tattoo") else None
    return layer or image.get_layer_by_name(entry["layer"])


def _style_layer(image, style: dict):
    """A style layer: in this image (by tattoo), else in the open image of its file, by name."""
    if style.get("tattoo"):
        return _layer(image, style)
    for other in Gimp.get_images():
        file = other.get_file() or other.get_imported_file()
        if file is not None and file.get_basename() == style.get("file"):
            return other.get_layer_by_name(style["layer"])
    return None


def _region(image, style: dict):
    """A region: a saved selection (by tattoo, else name) or the mask of a top-level layer."""
    tattoo, name = style.get("region_tattoo"), style.get("region")
    channel = (image.get_channel_by_tattoo(tattoo) if tattoo else None) or image.get_channel_by_name(name)
    if channel is not None:
        return channel
    masks = [layer.get_mask() for layer in image.get_layers() if layer.get_mask() is not None]
    return next((mask for mask in masks if mask.get_tattoo() == tattoo), None) or next(
        (mask for mask in masks if mask.get_name() == name), None
    )
