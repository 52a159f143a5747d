"""The window that installs the engine from inside GIMP, shown when the engine is missing, broken
or older than the plug-in: one sentence saying so, what will be installed, an optional weights
file for offline machines, and Install (or Update, or Repair) and Cancel.

The installation runs on a thread (``engine_setup.install_engine``); its progress reaches the
window on the main thread. Cancel stops it within seconds, leaving the previous state as it was.
"""

from __future__ import annotations

import threading

import engine_setup
from gi.repository import GimpUi, GLib, Gtk, Pango
from gtk_util import in_background, on_main_thread

from installer.matrix import Unsupported
from installer.progress import Cancelled, Progress
from installer.steps import InstallError

INSTALL, DONE = 1, 2  # the window's own responses
WIDTH = 460  # px: the texts wrap within it, so the window keeps its size as they change
PULSE_MS = 150  # how often the bar moves during a step that cannot say how far it is


class InstallWindow:
    def __init__(self, state: engine_setup.EngineState, plugin_dir: str):
        self.state, self.plugin_dir = state, plugin_dir
        self._cancel = threading.Event()
        self._pulsing = False
        self.dialog = GimpUi.Dialog(title="Neural Style Transfer: install the engine", role="neural-style-install")
        self.dialog.add_button("_Cancel", Gtk.ResponseType.CANCEL)
        self.dialog.add_button(f"_{state.action}", INSTALL)
        box = self.dialog.get_content_area()
        box.set_spacing(8)
        box.set_border_width(12)
        self.problem = _label(f"<b>{_escape(state.problem)}</b>", markup=True)
        self.plan = _label("")
        self.weights = Gtk.FileChooserButton(title="The VGG19 weights file", action=Gtk.FileChooserAction.OPEN)
        weights_row = Gtk.Box(spacing=6)
        weights_label = Gtk.Label.new_with_mnemonic("I have the _weights file (optional):")
        weights_label.set_mnemonic_widget(self.weights)
        weights_row.pack_start(weights_label, False, False, 0)
        weights_row.pack_start(self.weights, True, True, 0)
        self.step = _label("")
        self.bar = Gtk.ProgressBar(show_text=True)
        self.bar.set_ellipsize(Pango.EllipsizeMode.END)
        self.bar.set_no_show_all(True)
        for widget in (self.problem, self.plan, weights_row, self.step, self.bar):
            box.pack_start(widget, False, False, 0)
        self.dialog.set_resizable(False)
        try:
            self.choice = engine_setup.choose()
            self.plan.set_text(f"{engine_setup.plan_text(self.choice)}")
        except Unsupported as error:
            self.choice = None
            self.plan.set_text(str(error))
            self.dialog.set_response_sensitive(INSTALL, False)
        self.dialog.show_all()

    def run(self):
        """The new engine's settings once installed, or None when the artist cancelled."""
        while True:
            response = self.dialog.run()
            if response != INSTALL:
                self.dialog.destroy()
                return None
            installed = self._install()
            if installed is not None:
                self.dialog.destroy()
                return installed

    def _install(self):
        """One try: the settings, or None after a failure or a cancel (the window says which)."""
        self._cancel.clear()
        self.dialog.set_response_sensitive(INSTALL, False)
        self.weights.set_sensitive(False)
        self.bar.show()
        outcome = {}

        def pulse():
            if self._pulsing:
                self.bar.pulse()
            return "error" not in outcome  # until the install ends

        def finished(value, error):
            outcome.update(value=value, error=error)
            self.dialog.response(DONE)

        GLib.timeout_add(PULSE_MS, pulse)
        weights = self.weights.get_filename() or ""
        in_background(
            lambda: engine_setup.install_engine(
                self.plugin_dir, self.choice, weights, on_main_thread(self._show), self._cancel.is_set
            ),
            finished,
        )
        while self.dialog.run() != DONE:  # Cancel (or the window closed) while installing
            self._cancel.set()
            self.dialog.set_response_sensitive(Gtk.ResponseType.CANCEL, False)
            self.step.set_text("Cancelling: removing what this install made")
        self.dialog.set_response_sensitive(Gtk.ResponseType.CANCEL, True)
        self.dialog.set_response_sensitive(INSTALL, True)
        self.weights.set_sensitive(True)
        self.bar.hide()
        error = outcome["error"]
        if error is None:
            return outcome["value"]
        if isinstance(error, Cancelled):
            self.step.set_text("Cancelled: nothing was changed.")
        elif isinstance(error, InstallError):
            self.step.set_text(f"Installation failed: {error}")
        else:
            raise error
        return None

    def _show(self, progress: Progress):
        self.step.set_text(progress.step)
        self._pulsing = not progress.total_bytes and progress.fraction is None
        if progress.total_bytes:
            self.bar.set_fraction(progress.done_bytes / progress.total_bytes)
            self.bar.set_text(f"{progress.done_bytes / 1e6:.1f} of {progress.total_bytes / 1e6:.1f} MB")
        elif progress.fraction is not None:
            self.bar.set_fraction(progress.fraction)
            self.bar.set_text(f"{progress.fraction:.0%}")
        else:
            self.bar.set_text("")


def _label(text, markup=False):
    label = Gtk.Label(xalign=0)
    label.set_line_wrap(True)
    label.set_size_request(WIDTH, -1)
    label.set_max_width_chars(60)
    if markup:
        label.set_markup(text)
    else:
        label.set_text(text)
    return label


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
