"""What a running job tells its caller: progress per iteration, the stage it is in, previews.

Plain data for the engine's callbacks (``core.engine.StyleTransfer.run``); the worker turns them
into ``core.protocol`` messages, the command line into a progress bar.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from core import images


@dataclass(frozen=True)
class Progress:
    """One finished L-BFGS iteration. ``losses`` are weighted parts and their total."""

    iteration: int
    total: int
    level: int
    levels: int
    losses: dict
    seconds_left: float | None


@dataclass(frozen=True)
class Stage:
    """A part of a job that may take a while: ``name`` one of ``core.protocol``'s stage names,
    ``text`` for people; ``tile``/``tiles`` while a size is computed in tiles."""

    name: str
    text: str
    level: int
    levels: int
    tile: int | None = None
    tiles: int | None = None


@dataclass(frozen=True)
class Previews:
    """A job's request for previews: ``send(pixels, iteration, level)`` gets the best picture so
    far, long side at most ``long_side``, the content's channels, at most once per
    ``every_seconds`` and once more as each level ends."""

    long_side: int
    every_seconds: float
    send: Callable


class PreviewSender:
    """Sends the previews a job asked for (``Previews``), timed from the job's start."""

    def __init__(self, request: Previews, content, params, out_shape):
        self.request, self.content, self.params = request, content, params
        self.shape = images.fit_long_side(out_shape, min(request.long_side, max(out_shape)))
        self.last = time.monotonic()
        self.last_sent = None  # (level, iteration) of the latest preview

    def maybe(self, best_image, iteration, level, level_ended=False):
        """Send one if it is due (or the level ended, unless its last iteration was just sent);
        ``best_image()`` gives the image."""
        due = level_ended or time.monotonic() - self.last >= self.request.every_seconds
        if due and self.last_sent != (level, iteration):
            self.request.send(
                images.compose(best_image(), self.shape, self.content, self.params.preserve_colors),
                iteration,
                level + 1,
            )
            self.last, self.last_sent = time.monotonic(), (level, iteration)
