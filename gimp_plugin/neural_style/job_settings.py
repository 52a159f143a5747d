"""From the dialog's settings to the engine's: the quality choices, the size painted at and the
engine's parameters. No ``gi`` here: tested without GIMP."""

from __future__ import annotations

import json
from typing import NamedTuple

from core.protocol import Hello

# The dialog's Quality choices: the engine's presets by name (what each does, its rule, comes in
# the worker's hello: core/presets.py), and Custom, exact iteration counts.
QUALITY = {"draft": "Draft", "standard": "Standard", "fine": "Fine", "custom": "Custom: use Iterations below"}
CUSTOM = "custom"
SETTINGS = (
    "quality",
    "iterations",
    "style-strength",
    "content-keep",
    "smoothness",
    "keep-colors",
    "stroke-size",
    "working-size",
    "seed",
)


# The dialog's rows of more styles below the first style layer, each "Style layer N" and the
# channel (a saved selection or a layer mask) it paints where; the first style paints the rest.
EXTRA_STYLE_ROWS = (2, 3, 4)


def style_layer_setting(row: int) -> str:
    return f"style-layer-{row}"


def style_region_setting(row: int) -> str:
    return f"style-region-{row}"


PARASITE = "neural-style-painting"  # on each new layer: what it was painted with (``painting_record``)
RECORD_FORMAT = 1


class Record(NamedTuple):
    """How a painting was made: ``settings`` (the dialog's, by name), ``styles`` (per style: its
    layer's ``layer`` name and ``tattoo`` (None when in another image), its image's ``file`` name
    (or None), its region's ``region`` name and ``region_tattoo`` (None: the rest)) and
    ``source``, the layer painted (``layer`` name and ``tattoo``)."""

    settings: dict
    styles: list
    source: dict


def painting_record(record: Record) -> bytes:
    """A record as the new layer keeps it: JSON."""
    return json.dumps({"format": RECORD_FORMAT, **record._asdict()}, sort_keys=True).encode()


def read_record(data: bytes) -> Record | None:
    """The record a layer keeps, or None for one this plug-in cannot read (damaged, or of another
    format); only the settings the dialog has are taken."""
    try:
        kept = json.loads(bytes(data).decode("utf-8"))
        if kept.get("format") != RECORD_FORMAT:
            return None
        settings = {name: value for name, value in kept["settings"].items() if name in SETTINGS}
        styles = [dict(style) for style in kept["styles"]]
        source = dict(kept["source"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return Record(settings, styles, source) if styles and "layer" in source else None


class UserError(Exception):
    """Something the artist can fix; the text says what."""


def placed_styles(rows: list) -> list:
    """The extra style rows that paint, from (row, layer or None, region or None) each: a row
    without a layer is unused; a layer without a region is refused, as it could paint nowhere."""
    for row, layer, region in rows:
        if layer is not None and region is None:
            raise UserError(
                f"Style layer {row} needs a region: choose under 'Style {row} paints where' a saved "
                "selection or a layer mask (white where it paints)"
            )
    return [(row, layer, region) for row, layer, region in rows if layer is not None]


def painted_size(settings: dict, area_long_side: int) -> int:
    """The long side the engine paints at: the working size, never above the layer's own."""
    working = settings["working-size"]
    return min(working, area_long_side) if working else area_long_side


def engine_params(settings: dict, hello: Hello, area_long_side: int) -> dict:
    """The engine's settings from the dialog's, scaling the engine's own defaults (``hello``'s):
    a quality preset the engine knows, or Custom's exact iterations."""
    quality, defaults = settings["quality"], hello.defaults
    if quality != CUSTOM and quality not in hello.presets:
        raise UserError(
            f"The engine has no '{quality}' quality: update it with Filters > Artistic > Neural Style Engine..."
        )
    counts = {"iterations": settings["iterations"]} if quality == CUSTOM else {"quality": quality}
    return {
        "size": painted_size(settings, area_long_side),
        **counts,
        "style_weight": defaults["style_weight"] * settings["style-strength"],
        "content_weight": defaults["content_weight"] * settings["content-keep"],
        "tv_weight": defaults["tv_weight"] * settings["smoothness"],
        "preserve_colors": bool(settings["keep-colors"]),
        "style_scale": settings["stroke-size"],
        "seed": settings["seed"],
        "init": "content",
    }


def estimated_qualities(current: str) -> list:
    """The qualities the dialog says the time of: every preset, and Custom when it is chosen."""
    return [name for name in QUALITY if name != CUSTOM or current == CUSTOM]


def time_line(current: str, qualities: list, answers: list) -> str:
    """The dialog's line on how long a painting takes here, from the worker's ``estimates`` (one
    per quality): "Standard: about 40 s on this computer (Draft 15 s, Fine 1 min 30 s)"."""
    times = dict(zip(qualities, answers))
    chosen = times[current]
    where = "on this computer" if chosen.measured else "(a guess until a first painting here measures it)"
    others = ", ".join(f"{QUALITY[name]} {times[name].duration}" for name in qualities if name not in (current, CUSTOM))
    label = "Custom" if current == CUSTOM else QUALITY[current]
    return f"{label}: about {chosen.duration} {where} ({others})"
