"""What the plug-in's two windows share: the worker's pixels as a GTK picture, and calls from the
painting thread onto GTK's main loop (GTK and GIMP are called on the main thread only)."""

from __future__ import annotations

import threading

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("GdkPixbuf", "2.0")
gi.require_version("Pango", "1.0")
from gi.repository import GdkPixbuf, GLib, Gtk  # noqa: E402


def box_of(side: int) -> tuple:
    """(width, height) of a preview picture's place on the screen: 4:3, ``side`` wide."""
    return side, side * 3 // 4


def pixbuf_of(pixels, side: int) -> GdkPixbuf.Pixbuf:
    """A picture of 8-bit RGB or RGBA ``Pixels``, scaled to fill the place ``box_of(side)``."""
    box = box_of(side)
    pixbuf = GdkPixbuf.Pixbuf.new_from_bytes(
        GLib.Bytes.new(pixels.data),
        GdkPixbuf.Colorspace.RGB,
        pixels.channels == 4,
        8,
        pixels.width,
        pixels.height,
        pixels.width * pixels.channels,
    )
    scale = min(box[0] / pixels.width, box[1] / pixels.height)
    width, height = max(1, round(pixels.width * scale)), max(1, round(pixels.height * scale))
    return pixbuf.scale_simple(width, height, GdkPixbuf.InterpType.BILINEAR)


def on_main_thread(function):
    """``function``, callable from any thread: it runs soon on the main loop, in call order."""

    def call(*args):
        def once():
            function(*args)
            return False

        GLib.idle_add(once)

    return call


def in_background(work, finished):
    """Run ``work()`` on a thread; then ``finished(value, error)`` on the main loop."""

    def target():
        try:
            value, error = work(), None
        except Exception as caught:  # handed to the main thread, which shows it
            value, error = None, caught
        on_main_thread(finished)(value, error)

    thread = threading.Thread(target=target, name="neural-style-painting", daemon=True)
    thread.start()
    return thread


def picture_frame(side: int) -> tuple:
    """(frame, image): a frame around ``box_of(side)`` for a preview picture, so the window
    keeps its size."""
    box = box_of(side)
    frame = Gtk.Frame()
    frame.set_size_request(box[0] + 8, box[1] + 8)
    image = Gtk.Image()
    frame.add(image)
    return frame, image


def sentence(text: str) -> str:
    """A stage's text ("size 1 of 2 ...: painting") as a label shows it, capitalised."""
    return text[:1].upper() + text[1:]
