"""What each style chooser of the dialog holds, shown beside it: the layer's (or region's)
thumbnail and name, "Starry Night (starry_night.jpg)". GIMP 3.0's chooser says only "Browse..."
and draws its thumbnail before it has a size, so it stays empty (libgimp's GimpDrawableChooser),
and a chooser inside a closed expander draws none in 3.2 either."""

from __future__ import annotations

import painting
import plugin_log
from gi.repository import Gimp, GObject, Gtk, Pango

THUMBNAIL_SIDE = 40


def show_choice(dialog, config, image, name: str, unchosen: str, width_chars: int = 0) -> None:
    """A thumbnail and the name of the layer or channel the setting ``name`` holds (``unchosen``
    when none), kept up to date as the artist chooses another (and logged). ``width_chars``:
    a fixed width, so that rows of choosers line up (longer names are cut short with "...")."""
    picture, label = Gtk.Image(), Gtk.Label(xalign=0)
    if width_chars:
        label.set_width_chars(width_chars)
        label.set_max_width_chars(width_chars)
        label.set_ellipsize(Pango.EllipsizeMode.END)
    picture.set_size_request(THUMBNAIL_SIDE, -1)
    row = Gtk.Box(spacing=6)
    row.pack_start(picture, False, False, 0)
    row.pack_start(label, False, False, 0)

    def update(*_):
        chosen = config.get_property(name)
        if chosen is None or not chosen.is_valid():
            picture.clear()
            label.set_text(unchosen)
        else:
            thumbnail = chosen.get_thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE, Gimp.PixbufTransparency.SMALL_CHECKS)
            picture.set_from_pixbuf(thumbnail)
            label.set_text(painting.style_name(chosen, image))
        plugin_log.log.info("dialog: %s shows %r", name, label.get_text())

    config.connect(f"notify::{name}", update)
    update()
    chooser = dialog.get_widget(name, GObject.TYPE_NONE)
    place = chooser if isinstance(chooser, Gtk.Box) else dialog.get_content_area()
    place.pack_start(row, False, False, 0)
    row.show_all()
