"""Deliberate mistakes in the engine, for the mutation check (tests/test_mutants.py).

Each mutant is a few exact text edits to the engine's source, made in a copy of the repository,
never here, and the tests (one per tier) that claim the behaviour it breaks: each of them must
fail under it. An edit whose text is no longer found once, exactly, fails the check, so a mutant
is kept up to date with the code it mutates. To add one: name the mistake an artist would see,
write the smallest edit that makes it, and list the test of every tier that should catch it.
"""

from __future__ import annotations

import os
from typing import NamedTuple

GIMP_SCRIPTED = "tests/test_gimp_plugin.py::test_a_layer_becomes_a_new_stylised_layer_above_it[trixie]"
WORKER_PAINTING = "tests/test_worker.py::test_the_workers_painting_is_the_engines"
GIMP_WINDOWS = "tests/test_gimp_gui.py::test_preview_then_ok_then_stop_and_keep[trixie]"


class Mutant(NamedTuple):
    name: str
    edits: tuple  # (file, text, replacement)
    catchers: tuple  # pytest node ids, one per tier that claims the behaviour


MUTANTS = (
    Mutant(
        "returns the unpainted content",  # losses, progress and timings as before
        (
            (
                "core/engine.py",
                "x, stopped = run.optimise(level, x, level_objective)",
                "_, stopped = run.optimise(level, x, level_objective)",
            ),
        ),
        (
            "tests/test_engine.py::test_the_result_is_the_best_image_it_evaluated",
            "tests/test_cli.py::test_real_run_writes_the_painting",
            WORKER_PAINTING,
            "tests/test_real_weights.py::test_the_returned_picture_has_a_tenth_of_the_style_loss",
            GIMP_SCRIPTED,
            GIMP_WINDOWS,
        ),
    ),
    Mutant(
        "ignores Keep original colours",
        (
            ("core/engine.py", "        if params.preserve_colors:\n", "        if False:\n"),
            (
                "core/engine.py",
                "images.compose(x, out_shape, content, params.preserve_colors)",
                "images.compose(x, out_shape, content, False)",
            ),
        ),
        ("tests/test_engine.py::test_preserve_colors_keeps_the_content_colours",),
    ),
    Mutant(
        "sends black previews",
        (
            (
                "core/reporting.py",
                "images.compose(best_image(), self.shape, self.content, self.params.preserve_colors),",
                "images.compose(best_image(), self.shape, self.content, self.params.preserve_colors)"
                " * (images.np.arange(self.content.shape[-1]) > 2).astype(images.np.uint8),",
            ),
        ),
        ("tests/test_worker.py::test_previews_come_only_when_asked_small_and_with_the_contents_channels", GIMP_WINDOWS),
    ),
    Mutant(
        "swaps red and blue in the worker's result",
        (
            (
                "core/worker.py",
                "out = _pixels(result.pixels if mask is None else images.apply_mask(result.pixels, mask))",
                "out = _pixels((result.pixels if mask is None else images.apply_mask(result.pixels, mask))"
                "[..., [2, 1, 0, *range(3, result.pixels.shape[-1])]])",
            ),
        ),
        (WORKER_PAINTING, GIMP_SCRIPTED),
    ),
)


def apply(mutant: Mutant, root: str) -> None:
    """Make the mutant's edits in the copy of the repository at ``root``."""
    for relative, text, replacement in mutant.edits:
        path = os.path.join(root, relative)
        with open(path, encoding="utf-8") as f:
            source = f.read()
        if source.count(text) != 1:
            raise AssertionError(f"mutant {mutant.name!r}: {text!r} is not in {relative} exactly once; update it")
        with open(path, "w", encoding="utf-8") as f:
            f.write(source.replace(text, replacement))
