"""The run in interactive mode: a window showing the painting as it grows, what the engine is
doing, the iteration and the time left, with Stop and keep and Cancel.

The painting runs on a thread (``jobs.paint`` with this window as its ``watch``); every GTK
and GIMP call is made on the main thread, which loops on the window's ``run``. GIMP's own
progress bar keeps moving too (``status_bar.StatusBar``).
"""

from __future__ import annotations

import threading

import plugin_log
from gi.repository import GimpUi, Gtk, Pango
from gtk_util import in_background, on_main_thread, picture_frame, pixbuf_of, sentence
from status_bar import StatusBar, progress_text

from core import protocol

PREVIEW_SIDE = 320  # px, the picture's long side in the window
PREVIEW_SECONDS = 2.0  # at most one preview this often
STOP, DONE = 1, 2  # the window's own responses


class ProgressWindow:
    def __init__(self, layer_names: list, device: str):
        self.names = layer_names
        self.status = StatusBar(layer_names, device)
        self.preview = protocol.preview_request(PREVIEW_SIDE, PREVIEW_SECONDS)
        self.cancelled = False
        self._stop = threading.Event()
        self.dialog = GimpUi.Dialog(title="Neural Style Transfer: painting", role="neural-style-progress")
        self.dialog.add_button("_Stop and keep", STOP)
        self.dialog.add_button("_Cancel", Gtk.ResponseType.CANCEL)
        self.dialog.set_response_sensitive(STOP, False)  # until there is a picture to keep
        box = self.dialog.get_content_area()
        box.set_spacing(6)
        box.set_border_width(12)
        self.layer = Gtk.Label(label=f"Painting '{layer_names[0]}'", xalign=0)
        frame, self.picture = picture_frame(PREVIEW_SIDE)
        self.stage = Gtk.Label(label="Starting the engine", xalign=0)
        self.bar = Gtk.ProgressBar(show_text=True)
        self.device = Gtk.Label(label=f"Computes on: {device}" if device else "", xalign=0)
        for label in (self.layer, self.stage, self.device):
            label.set_ellipsize(Pango.EllipsizeMode.END)
        self.bar.set_ellipsize(Pango.EllipsizeMode.END)
        for widget in (self.layer, frame, self.stage, self.bar, self.device):
            box.pack_start(widget, False, False, 0)
        self.dialog.set_resizable(False)  # as wide as the picture, whatever the texts say
        self.dialog.show_all()

    def run(self, work):
        """``work(self)`` on a thread while the window answers; what it returns, or raises.
        ``cancelled`` then says whether the artist pressed Cancel (or closed the window)."""
        outcome = {}

        def finished(value, error):
            outcome.update(value=value, error=error)
            self.dialog.response(DONE)

        in_background(lambda: work(self), finished)
        while (response := self.dialog.run()) != DONE:
            self._stop.set()
            self.dialog.set_response_sensitive(STOP, False)
            if response == STOP:
                self.stage.set_text("Stopping: keeping the picture so far")
            else:
                self.cancelled = True
                self.dialog.set_response_sensitive(Gtk.ResponseType.CANCEL, False)
                self.stage.set_text("Cancelling")
        self.dialog.destroy()
        if outcome["error"] is not None:
            raise outcome["error"]
        return outcome["value"]

    # The watch: called on the painting thread.

    def stopping(self) -> bool:
        return self._stop.is_set()

    def started(self, device: str):
        on_main_thread(self.device.set_text)(f"Computes on: {device}")

    def on_stage(self, index, stage):
        on_main_thread(self._show_stage)(index, stage)

    def on_progress(self, index, progress):
        on_main_thread(self._show_progress)(index, progress)

    def on_preview(self, index, preview):
        on_main_thread(self._show_preview)(index, preview)

    # On the main thread.

    def _show_stage(self, index, stage):
        if not self._stop.is_set():
            self.stage.set_text(sentence(stage.text))
        self.status.on_stage(index, stage)

    def _show_progress(self, index, progress):
        self.bar.set_fraction((index + progress.iteration / max(1, progress.total)) / len(self.names))
        self.bar.set_text(progress_text(self.names, index, progress))
        self.status.on_progress(index, progress)

    def _show_preview(self, index, preview):
        self.picture.set_from_pixbuf(pixbuf_of(preview.image, PREVIEW_SIDE))
        plugin_log.log.info("picture of '%s' shown at iteration %d", self.names[index], preview.iteration)
        self.layer.set_text(f"Painting '{self.names[index]}' ({index + 1}/{len(self.names)})")
        if not self._stop.is_set():
            self.dialog.set_response_sensitive(STOP, True)
