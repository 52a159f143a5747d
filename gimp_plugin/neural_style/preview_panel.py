"""The settings dialog's Preview: a small, quick painting (long side ``PREVIEW_SIDE``, Draft
iterations) of the first selected layer, or the selection on it, with the dialog's current
settings, shown in the dialog as it grows.

The worker it starts stays for the next Preview (no second start-up) and, after OK, paints the
real job; closing the dialog otherwise ends it. The painting runs on a thread; GTK and GIMP calls
stay on the main thread.
"""

from __future__ import annotations

import threading
import time

import engine_setup
import gimp_io
import messages
import painting
import plugin_log
from gi.repository import Gtk
from gtk_util import in_background, on_main_thread, picture_frame, pixbuf_of, sentence
from worker_client import WorkerClient, WorkerError

from core import protocol
from installer.settings import SettingsError, worker_command

PREVIEW_SIDE = 256
PREVIEW_SECONDS = 1.0


class PreviewPanel:
    def __init__(self, dialog, image, drawables, config, plugin_dir):
        self.image, self.drawables, self.config, self.plugin_dir = image, drawables[:1], config, plugin_dir
        self.preview = protocol.preview_request(PREVIEW_SIDE, PREVIEW_SECONDS)
        self.worker = None
        self.thread = None
        self.closed = False  # the dialog is gone: late updates are dropped
        self._stop = threading.Event()
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6, margin=6)
        row = Gtk.Box(spacing=6)
        self.button = Gtk.Button.new_with_mnemonic("_Preview")
        self.button.connect("clicked", self._clicked)
        self.label = Gtk.Label(label="A small draft with these settings", xalign=0)
        self.label.set_line_wrap(True)
        self.label.set_max_width_chars(40)
        row.pack_start(self.button, False, False, 0)
        row.pack_start(self.label, True, True, 0)
        frame, self.picture = picture_frame(PREVIEW_SIDE)
        box.pack_start(row, False, False, 0)
        box.pack_start(frame, False, False, 0)
        dialog.get_content_area().pack_start(box, False, False, 0)
        box.show_all()

    def finish(self, keep_worker: bool):
        """After the dialog: end a Preview still painting; the worker for the real job, or None
        (then no worker is left running)."""
        self.closed = True
        self._stop.set()
        if self.thread is not None:
            self.thread.join()
        worker, self.worker = self.worker, None
        if worker is not None and not keep_worker:
            worker.close()
            worker = None
        return worker

    def _clicked(self, _button):
        try:
            settings = engine_setup.ready_settings(self.plugin_dir)
            plan = painting.prepare(self.image, self.drawables, self.config)
        except (painting.UserError, gimp_io.LayerError, SettingsError) as error:
            self.label.set_text(str(error))
            return
        values = painting.settings_of(self.config)
        long_side = painting.painted_size(values, max(plan.jobs[0].area[2:]))
        values.update({"quality": "draft", "working-size": min(PREVIEW_SIDE, long_side)})
        self.button.set_sensitive(False)
        self._stop.clear()
        self.label.set_text("Starting the engine" if self.worker is None else "Painting a draft")
        started = time.monotonic()

        def work():
            if self.worker is None:
                worker = WorkerClient(worker_command(settings), settings.engine)
                worker.start(on_starting=lambda header: self.on_stage(0, header))
                self.worker = worker
            return painting.paint(self.worker, plan, values, self)

        def finished(outcome, error):
            self.thread = None
            if self.closed:
                return
            self.button.set_sensitive(True)
            if isinstance(error, WorkerError):
                self.label.set_text(messages.explain(error.code, error.user_text()))
                if self.worker is not None:  # a worker that failed is not trusted with the next Preview
                    self.worker.close()
                    self.worker = None
            elif error is not None:
                self.label.set_text(f"The preview failed ({type(error).__name__}: {error})")
            elif outcome[0]:
                self.picture.set_from_pixbuf(pixbuf_of(outcome[0][0][1], PREVIEW_SIDE))
                self.label.set_text(f"Draft preview, painted in {time.monotonic() - started:.0f} s")
                plugin_log.log.info("draft preview shown, painted in %.1f s", time.monotonic() - started)

        self.thread = in_background(work, finished)

    # The watch of ``painting.paint``: called on the painting thread.

    def stopping(self) -> bool:
        return self._stop.is_set()

    def on_stage(self, index, header):
        self._later(self.label.set_text, sentence(header["text"]))

    def on_progress(self, index, header):
        self._later(self.label.set_text, f"Draft: iteration {header['iteration']} of {header['total']}")

    def on_preview(self, index, header, pixels):
        self._later(lambda: self.picture.set_from_pixbuf(pixbuf_of(pixels, PREVIEW_SIDE)))

    def _later(self, function, *args):
        """``function(*args)`` on the main thread, unless the dialog has closed by then."""
        on_main_thread(lambda: None if self.closed else function(*args))()
