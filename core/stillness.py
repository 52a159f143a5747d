"""When a picture has stopped changing: the stop rule of the quality presets (``core.presets``).

After each iteration the best picture so far is seen small (block means down to about
``STILL_SIDE`` px on its long side, where a few levels' change is what an eye would notice of the
whole); the size is done once, past its floor, it changed less than ``still`` levels per
iteration on average over the last ``WINDOW`` iterations. Measured on the optimiser's picture
itself, not its loss, so that the rule means the same for every weight setting.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from core.presets import STILL_SIDE

WINDOW = 5  # iterations: L-BFGS's steps vary; their mean over a few says how fast it still moves


class Stillness:
    def __init__(self, still: float, floor: int):
        self.still, self.floor = still, floor
        self.seen = deque(maxlen=WINDOW + 1)
        self.iterations = 0

    def done(self, picture: np.ndarray, iterations: int = 1) -> bool:
        """After ``iterations`` more iterations (one, or an accelerator's chunk), with ``picture``
        (h, w, 3, in levels) the best so far: whether this size is done."""
        self.iterations += iterations
        self.seen.append((self.iterations, small(picture)))
        first, oldest = self.seen[0]
        if self.iterations < self.floor or self.iterations - first < WINDOW:
            return False
        change = float(np.abs(self.seen[-1][1] - oldest).mean()) / (self.iterations - first)
        return change < self.still


def small(picture: np.ndarray) -> np.ndarray:
    """Block means of ``picture`` down to about ``STILL_SIDE`` px on its long side."""
    factor = max(1, round(max(picture.shape[:2]) / STILL_SIDE))
    height, width = picture.shape[0] // factor * factor, picture.shape[1] // factor * factor
    blocks = picture[:height, :width].reshape(height // factor, factor, width // factor, factor, -1)
    return blocks.mean(axis=(1, 3), dtype=np.float32)
