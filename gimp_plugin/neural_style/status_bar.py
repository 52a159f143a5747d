"""GIMP's own progress bar during a run: how far, how long, and what the engine runs on.

A ``watch`` for ``jobs.paint`` in scripted runs (no previews, no stopping), and the part of
the progress window that keeps GIMP's bar moving. Call it on the main thread only.
"""

from __future__ import annotations

import time

from gi.repository import Gimp


class StatusBar:
    preview = None  # scripted runs ask for no previews

    def __init__(self, layer_names: list, device: str):
        self.names, self.device = layer_names, device
        self.last_text = 0.0

    def stopping(self) -> bool:
        return False

    def started(self, device: str):
        self.device = device

    def on_stage(self, index, stage):
        Gimp.progress_set_text(f"Neural style: '{self.names[index]}': {stage.text} ({self.device})")

    def on_progress(self, index, progress):
        done = progress.iteration / max(1, progress.total)
        Gimp.progress_update((index + done) / len(self.names))
        now = time.monotonic()
        if now - self.last_text > 0.5:
            self.last_text = now
            Gimp.progress_set_text(f"Neural style: {progress_text(self.names, index, progress)} ({self.device})")

    def on_preview(self, index, preview):
        pass


def progress_text(names, index, progress) -> str:
    """ "'Background' (1/2), iteration 12/50, about 40 s left"."""
    left = progress.seconds_left
    eta = f", about {duration(left)} left" if left is not None else ""
    return f"'{names[index]}' ({index + 1}/{len(names)}), iteration {progress.iteration}/{progress.total}{eta}"


def duration(seconds) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{max(1, round(seconds))} s"
