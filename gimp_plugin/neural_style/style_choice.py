"""Which layer of which image will be the style, shown beside GIMP's layer chooser in the dialog,
with its thumbnail: GIMP 3.0's chooser says only "Browse..." and draws its thumbnail before it has
a size, so it stays empty (libgimp's GimpDrawableChooser)."""

from __future__ import annotations

import painting
from gi.repository import Gimp, GObject, Gtk

THUMBNAIL_SIDE = 40


def show_style_choice(dialog, config, image) -> Gtk.Label:
    """A thumbnail and the name ("Starry Night (starry_night.jpg)") of the chosen style layer,
    kept up to date as the artist chooses another; returns the label."""
    picture, label = Gtk.Image(), Gtk.Label(xalign=0)
    row = Gtk.Box(spacing=6)
    row.pack_start(picture, False, False, 0)
    row.pack_start(label, False, False, 0)

    def update(*_):
        layer = config.get_property("style-layer")
        if layer is None or not layer.is_valid():
            picture.clear()
            label.set_text("No style layer chosen yet")
            return
        thumbnail = layer.get_thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE, Gimp.PixbufTransparency.SMALL_CHECKS)
        picture.set_from_pixbuf(thumbnail)
        label.set_text(painting.style_name(layer, image))

    config.connect("notify::style-layer", update)
    update()
    chooser = dialog.get_widget("style-layer", GObject.TYPE_NONE)
    place = chooser if isinstance(chooser, Gtk.Box) else dialog.get_content_area()
    place.pack_start(row, False, False, 0)
    row.show_all()
    return label
