"""The settings dialog's engine: how long the chosen quality takes here, and the Preview, a small,
quick painting (long side ``PREVIEW_SIDE``, Draft) of the first selected layer, or the selection
on it, with the dialog's current settings, shown in the dialog as it grows.

The worker starts as the dialog opens: it says how long each quality would take at the working
size, at the pace this computer has shown (the protocol's ``estimate``), serves every Preview and,
after OK, paints the real job; closing the dialog otherwise ends it. Starting, estimates and
Previews run on threads, one at a time on the worker (``worker_lock``); GTK and GIMP calls stay on
the main thread.
"""

from __future__ import annotations

import threading
import time

import engine_setup
import gimp_io
import job_settings
import jobs
import messages
import painting
import plugin_log
from gi.repository import Gtk
from gtk_util import in_background, on_main_thread, picture_frame, pixbuf_of, sentence
from worker_client import WorkerError

from core import protocol
from installer.settings import SettingsError

PREVIEW_SIDE = 256
PREVIEW_SECONDS = 1.0


class PreviewPanel:
    def __init__(self, place, image, drawables, config, plugin_dir):
        """``place``: the box of the dialog the panel goes in."""
        self.image, self.drawables, self.config, self.plugin_dir = image, drawables[:1], config, plugin_dir
        self.preview = protocol.preview_request(PREVIEW_SIDE, PREVIEW_SECONDS)
        self.worker = None
        self.thread = None
        self.closed = False  # the dialog is gone: late updates are dropped
        self._stop = threading.Event()
        self.worker_lock = threading.Lock()  # one user of the worker at a time
        self.state_lock = threading.Lock()  # the worker kept or ended as the dialog closes
        self.times_asked = 0  # the latest estimate request; older answers are dropped
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6, margin=6)
        self.times = Gtk.Label(label="Starting the engine", xalign=0)
        self.times.set_line_wrap(True)
        self.times.set_max_width_chars(50)
        box.pack_start(self.times, False, False, 0)
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
        place.pack_start(box, False, False, 0)
        box.show_all()
        for name in ("quality", "iterations", "working-size"):
            config.connect(f"notify::{name}", lambda *_: self._ask_times())
        self.starting = in_background(self._start, self._started)

    def use_layers(self, drawables):
        """Preview, and time, these layers from now on (the dialog chose others to paint)."""
        self.drawables = drawables[:1]
        self._ask_times()

    def finish(self, keep_worker: bool):
        """After the dialog: end a Preview still painting; the worker for the real job (once it
        has started), or None (then no worker is left running, or will be once it has started)."""
        with self.state_lock:
            self.closed = True
        self._stop.set()
        if self.thread is not None:
            self.thread.join()
        if keep_worker:
            self.starting.join()
        with self.state_lock:
            worker, self.worker = self.worker, None
        if worker is not None and not keep_worker:
            worker.close()
            worker = None
        return worker

    def _start(self):
        with self.worker_lock:
            return self._started_worker()

    def _started_worker(self):
        """The worker, started if it is not (``worker_lock`` held); None when the dialog closed
        meanwhile (the worker is then ended)."""
        if self.worker is None:
            settings = engine_setup.ready_settings(self.plugin_dir)
            worker = engine_setup.worker_for(settings)
            worker.start(on_starting=lambda stage: self._later(self.times.set_text, sentence(stage.text)))
            with self.state_lock:
                if self.closed:
                    worker.close()
                    return None
                self.worker = worker
        return self.worker

    def _started(self, worker, error):
        if self.closed:
            return
        if error is not None:
            self.times.set_text(_problem(error))
            plugin_log.log.warning("dialog: the engine did not start: %s", _problem(error))
        else:
            self._ask_times()

    def _ask_times(self):
        """Ask the worker how long the dialog's qualities take at its working size (on a thread,
        after any Preview); the latest request's answer is shown."""
        if self.worker is None or self.closed or not self.drawables:
            return
        self.times_asked += 1
        asked, values = self.times_asked, painting.settings_of(self.config)
        _, _, width, height = gimp_io.source_area(self.image, self.drawables[0])
        hello = self.worker.hello

        def work():
            with self.worker_lock:
                if asked != self.times_asked or self.closed or self.worker is None:
                    return None
                qualities = job_settings.estimated_qualities(values["quality"])
                params = [
                    job_settings.engine_params(dict(values, quality=q), hello, max(width, height)) for q in qualities
                ]
                return job_settings.time_line(values["quality"], qualities, self.worker.estimate(params, width, height))

        def finished(line, error):
            if self.closed or asked != self.times_asked:
                return
            if error is not None:
                self.times.set_text(_problem(error))
            elif line is not None:
                self.times.set_text(line)
                plugin_log.log.info("dialog: %s", line)

        in_background(work, finished)

    def _clicked(self, _button):
        try:
            engine_setup.ready_settings(self.plugin_dir)  # said at once when the engine is gone
            plan = painting.prepare(self.image, self.drawables, self.config)
        except (job_settings.UserError, gimp_io.LayerError, SettingsError) as error:
            self.label.set_text(str(error))
            return
        values = painting.settings_of(self.config)
        long_side = job_settings.painted_size(values, max(plan.jobs[0].area[2:]))
        values.update({"quality": "draft", "working-size": min(PREVIEW_SIDE, long_side)})
        self.button.set_sensitive(False)
        self._stop.clear()
        self.label.set_text("Starting the engine" if self.worker is None else "Painting a draft")
        started = time.monotonic()

        def work():
            with self.worker_lock:
                worker = self._started_worker()
                return jobs.paint(worker, plan, values, self) if worker is not None else ([], True)

        def finished(outcome, error):
            self.thread = None
            if self.closed:
                return
            self.button.set_sensitive(True)
            if isinstance(error, WorkerError):
                self.label.set_text(_problem(error))
                if self.worker is not None:  # a worker that failed is not trusted with the next Preview
                    self.worker.close()
                    self.worker = None
            elif error is not None:
                self.label.set_text(_problem(error))
            elif outcome[0]:
                self.picture.set_from_pixbuf(pixbuf_of(outcome[0][0][1], PREVIEW_SIDE))
                self.label.set_text(f"Draft preview, painted in {time.monotonic() - started:.0f} s")
                plugin_log.log.info("draft preview shown, painted in %.1f s", time.monotonic() - started)
                self._ask_times()  # the Preview's own timing now counts too

        self.thread = in_background(work, finished)

    # The watch of ``jobs.paint``: called on the painting thread.

    def stopping(self) -> bool:
        return self._stop.is_set()

    def on_stage(self, index, stage):
        self._later(self.label.set_text, sentence(stage.text))

    def on_progress(self, index, progress):
        self._later(self.label.set_text, f"Draft: iteration {progress.iteration} of {progress.total}")

    def on_preview(self, index, preview):
        self._later(lambda: self.picture.set_from_pixbuf(pixbuf_of(preview.image, PREVIEW_SIDE)))

    def _later(self, function, *args):
        """``function(*args)`` on the main thread, unless the dialog has closed by then."""
        on_main_thread(lambda: None if self.closed else function(*args))()


def _problem(error) -> str:
    """What went wrong, in one line for the dialog."""
    if isinstance(error, WorkerError):
        return messages.explain(error.code, error.user_text())
    if isinstance(error, (job_settings.UserError, SettingsError)):
        return str(error)
    return f"The engine failed ({type(error).__name__}: {error})"
