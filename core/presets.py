"""The quality presets, defined once: Draft, Standard and Fine, for the command line
(``--quality``), the worker's hello and GIMP's dialog.

Each size of the coarse-to-fine pyramid stops when its picture stops changing (``core.stillness``:
seen at ``STILL_SIDE`` px, less than ``still`` levels per iteration over the last few), within a
floor and a ceiling of iterations. ``expected`` iterations are where the rule stopped on the
bundled pairs at 512 px (``python -m core.bench --quality``, figures in docs/performance.md): what
progress bars and time estimates count on before a run knows better. Exact iteration counts
(``--iterations``, the dialog's Custom) bypass the presets.
"""

from __future__ import annotations

from dataclasses import dataclass

STILL_SIDE = 128  # px: the long side at which a picture's change is judged, whatever its own size


@dataclass(frozen=True)
class SizeRule:
    """Iterations at one size: at least ``floor``, at most ``ceiling``, usually ``expected``."""

    floor: int
    ceiling: int
    expected: int


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    coarse: SizeRule  # each size below the full one
    full: SizeRule
    still: float  # levels (0-255) per iteration, at STILL_SIDE px, under which a size is done

    def rule(self, level: int, levels: int) -> SizeRule:
        return self.full if level == levels - 1 else self.coarse

    def describe(self) -> dict:
        """For the worker's hello: plain data."""
        return {
            "label": self.label,
            "coarse": vars(self.coarse),
            "full": vars(self.full),
            "still": self.still,
        }


PRESETS = {
    preset.name: preset
    for preset in (
        Preset("draft", "Draft", SizeRule(10, 25, 20), SizeRule(15, 40, 20), 0.35),
        Preset("standard", "Standard", SizeRule(20, 40, 40), SizeRule(40, 120, 40), 0.2),
        Preset("fine", "Fine", SizeRule(30, 80, 80), SizeRule(50, 250, 70), 0.1),
    )
}
NAMES = tuple(PRESETS)
