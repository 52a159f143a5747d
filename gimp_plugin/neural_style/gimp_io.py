"""Layer pixels in and out of GIMP: the only module besides the plug-in itself that uses ``gi``.

Pixels travel as 8-bit sRGB RGBA (``R'G'B'A u8``); babl converts from and to the image's own
mode and precision, so grey and high-bit-depth images work too.
"""

from __future__ import annotations

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp  # noqa: E402

from core.protocol import Pixels  # noqa: E402

RGBA_U8 = "R'G'B'A u8"
MASK_U8 = "Y u8"  # masks and selections: their values as stored, no gamma


class LayerError(Exception):
    """A layer cannot be used; the text says which and why, for the artist."""


def check_source(drawable) -> None:
    """Refuse what cannot be repainted, before any work starts."""
    name = drawable.get_name()
    if not drawable.is_layer():
        raise LayerError(f"'{name}' is a mask or channel; select layers to repaint")
    if drawable.is_group_layer():
        raise LayerError(f"'{name}' is a layer group; select the layers inside it, or merge the group first")


def source_area(image, layer):
    """(x, y, width, height) in layer coordinates: the whole layer, or the selection's bounds on it."""
    if Gimp.Selection.is_empty(image):
        return 0, 0, layer.get_width(), layer.get_height()
    touches, x, y, width, height = layer.mask_intersect()
    if not touches or width == 0 or height == 0:
        raise LayerError(f"the selection does not cover any of layer '{layer.get_name()}'")
    return x, y, width, height


def read_pixels(drawable, area=None) -> Pixels:
    x, y, width, height = area or (0, 0, drawable.get_width(), drawable.get_height())
    raw = drawable.get_buffer().get(Gegl.Rectangle.new(x, y, width, height), 1.0, RGBA_U8, Gegl.AbyssPolicy.CLAMP)
    return Pixels(width, height, 4, bytes(raw))


def read_region(channel, layer, area) -> Pixels:
    """Where a style paints over ``area`` of ``layer``: the channel's values there (a saved
    selection's or a layer mask's, black beyond its edges), one byte per pixel."""
    x, y, width, height = area
    _, layer_x, layer_y = layer.get_offsets()
    _, channel_x, channel_y = channel.get_offsets()
    rectangle = Gegl.Rectangle.new(layer_x + x - channel_x, layer_y + y - channel_y, width, height)
    raw = channel.get_buffer().get(rectangle, 1.0, MASK_U8, Gegl.AbyssPolicy.NONE)
    return Pixels(width, height, 1, bytes(raw))


def is_transparent(pixels: Pixels) -> bool:
    return not pixels.data[3::4].strip(b"\x00")


def insert_result(image, source, area, pixels: Pixels, name: str, masked: bool):
    """A new layer right above ``source`` covering ``area``, scaled up from the result's size."""
    x, y, width, height = area
    layer_type = Gimp.ImageType.GRAYA_IMAGE if source.is_gray() else Gimp.ImageType.RGBA_IMAGE
    layer = Gimp.Layer.new(image, name, pixels.width, pixels.height, layer_type, 100.0, Gimp.LayerMode.NORMAL)
    image.insert_layer(layer, source.get_parent(), image.get_item_position(source))
    buffer = layer.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, pixels.width, pixels.height), RGBA_U8, pixels.data)
    buffer.flush()
    if (pixels.width, pixels.height) != (width, height):
        layer.scale(width, height, True)
    _, source_x, source_y = source.get_offsets()
    layer.set_offsets(source_x + x, source_y + y)
    if masked:
        layer.add_mask(layer.create_mask(Gimp.AddMaskType.SELECTION))
    if source.get_mask() is not None:
        _carry_mask(layer, source.get_mask(), area)
    layer.update(0, 0, width, height)
    return layer


def keep_record(layer, name: str, data: bytes) -> None:
    """Attach ``data`` to ``layer`` as the parasite ``name``, kept in the XCF file."""
    layer.attach_parasite(Gimp.Parasite.new(name, Gimp.PARASITE_PERSISTENT, list(data)))


def kept_record(layer, name: str) -> bytes | None:
    """The data of ``layer``'s parasite ``name``, or None when it has none."""
    parasite = layer.get_parasite(name)
    return bytes(parasite.get_data()) if parasite is not None else None


def _carry_mask(layer, source_mask, area) -> None:
    """Give the new layer what the source's mask hides, over ``area``: the source's mask itself, or
    its product with the selection's mask the new layer already has."""
    x, y, width, height = area
    if layer.get_mask() is None:
        layer.add_mask(layer.create_mask(Gimp.AddMaskType.WHITE))
    rectangle = Gegl.Rectangle.new(0, 0, width, height)
    hides = bytes(
        source_mask.get_buffer().get(Gegl.Rectangle.new(x, y, width, height), 1.0, MASK_U8, Gegl.AbyssPolicy.NONE)
    )
    buffer = layer.get_mask().get_buffer()
    kept = bytes(buffer.get(rectangle, 1.0, MASK_U8, Gegl.AbyssPolicy.NONE))
    buffer.set(rectangle, MASK_U8, bytes(a * b // 255 for a, b in zip(hides, kept)))
    buffer.flush()
