"""How good a painting is, by a yardstick any tool's pictures can be held to, and what each
quality preset buys: ``python -m core.bench --quality``.

The yardstick, on VGG19 at the result's size: "style" is the relative squared distance of the
Gram matrices of block1_conv1 ... block5_conv1 to the style picture's (resized to the result's
long side), averaged over the layers; "content" that of the block4_conv2 and block5_conv2
features to the photo's. Lower is nearer for both; a painting trades one for the other.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

from core import images

STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
CONTENT_LAYERS = ("block4_conv2", "block5_conv2")


class Yardstick:
    """Scores pictures of one photo and style pair at ``shape`` (height, width)."""

    def __init__(self, network, photo_rgb: np.ndarray, style_rgb: np.ndarray, shape: tuple):
        self.shape = tuple(shape)
        self.extract = network.extractor(STYLE_LAYERS + CONTENT_LAYERS)
        style_shape = images.fit_long_side(style_rgb.shape[:2], max(shape))
        self.style_grams = [_gram(f) for f in self._features(style_rgb, style_shape)[: len(STYLE_LAYERS)]]
        self.photo_features = self._features(photo_rgb, self.shape)[len(STYLE_LAYERS) :]

    def _features(self, rgb, shape):
        batch = images.preprocess(images.resize(rgb[..., :3].astype(np.float32), shape))[None]
        return [np.asarray(f, np.float64)[0] for f in self.extract(batch)]

    def score(self, picture: np.ndarray) -> dict:
        """{"style": ..., "content": ...} of a uint8 RGB(A) picture (resized to the shape)."""
        features = self._features(picture, self.shape)
        style = np.mean([_relative(_gram(f), g) for f, g in zip(features, self.style_grams)])
        content = np.mean([_relative(f, p) for f, p in zip(features[len(STYLE_LAYERS) :], self.photo_features)])
        return {"style": round(float(style), 4), "content": round(float(content), 4)}


def _gram(features: np.ndarray) -> np.ndarray:
    flat = features.reshape(-1, features.shape[-1])
    return flat.T @ flat / flat.shape[0]


def _relative(value: np.ndarray, target: np.ndarray) -> float:
    return float(np.sum((value - target) ** 2) / np.sum(target**2))


PAIRS = (("tubingen.jpg", "starry_night.jpg"), ("tubingen.jpg", "shipwreck.jpg"))  # the bundled pairs
# Before the presets stopped on their own: their fixed counts at the full size (a quarter below it).
FIXED_ITERATIONS = {"draft": 40, "standard": 120, "fine": 250}


def quality_figures(weights, out_dir, side=512, presets=tuple(FIXED_ITERATIONS), pastiche=True) -> dict:
    """Each bundled pair painted with each preset as it stops now and with its fixed counts of
    before, alternating, in this process (ratios of seconds in the same run), and by pastiche
    for the same wall time; every picture scored by the ``Yardstick``; a contact sheet and the
    pictures in ``out_dir``."""
    from core.bench.common import engine_for
    from core.params import StyleParams

    os.makedirs(out_dir, exist_ok=True)
    engine = engine_for(weights)
    report, sheet = {"side": side, "pairs": {}}, []
    for (photo_name, style_name), pair, photo, style in _bundled_pairs(engine, side):
        figures, row = {}, []
        for preset in presets:
            runs = {
                "fixed": StyleParams(size=side, iterations=FIXED_ITERATIONS[preset]),
                "stops": StyleParams(size=side, quality=preset),
            }
            for kind, params in runs.items():
                name = f"{pair.replace(' ', '_')}-{preset}-{kind}.png"
                figures[f"{preset}_{kind}"], picture = _painted(engine, photo, style, params, out_dir, name)
                row.append((f"{preset} {kind}", picture))
            fixed, stops = figures[f"{preset}_fixed"], figures[f"{preset}_stops"]
            figures[f"{preset}_ratios"] = {k: round(stops[k] / fixed[k], 3) for k in ("seconds", "style", "content")}
        if pastiche:
            targets = {preset: figures[f"{preset}_stops"]["seconds"] for preset in presets}
            for preset, (seconds, picture) in _pastiche_at(photo_name, style_name, side, targets, out_dir).items():
                yardstick = Yardstick(engine.network, photo, style, picture.shape[:2])
                figures[f"{preset}_pastiche"] = dict(seconds=round(seconds, 1), **yardstick.score(picture))
                row.append((f"pastiche, {preset}'s time", picture))
        report["pairs"][pair] = figures
        sheet.append(row)
    _contact_sheet(sheet, os.path.join(out_dir, "quality-sheet.jpg"))
    return report


def strength_figures(weights, out_dir, side=512, strengths=(0.5, 1.0, 2.0, 4.0), preset="standard") -> dict:
    """Each bundled pair painted with ``preset`` at each Style strength (a multiple of the
    engine's default style weight, as the dialog's setting is), scored by the ``Yardstick``: the
    trade between style and photo the default strength makes; a contact sheet in ``out_dir``."""
    from core.bench.common import engine_for
    from core.params import StyleParams

    os.makedirs(out_dir, exist_ok=True)
    engine = engine_for(weights)
    default = StyleParams().style_weight
    report, sheet = {"side": side, "preset": preset, "default_style_weight": default, "pairs": {}}, []
    for _, pair, photo, style in _bundled_pairs(engine, side):
        figures, row = {}, []
        for strength in strengths:
            params = StyleParams(size=side, quality=preset, style_weight=default * strength)
            name = f"{pair.replace(' ', '_')}-strength-{strength:g}.png"
            figures[f"{strength:g}"], picture = _painted(engine, photo, style, params, out_dir, name)
            row.append((f"Style strength {strength:g}", picture))
        report["pairs"][pair] = figures
        sheet.append(row)
    _contact_sheet(sheet, os.path.join(out_dir, "strength-sheet.jpg"))
    return report


def _bundled_pairs(engine, side):
    """Each bundled pair: (file names, "tubingen x starry_night", photo, style), the engine
    compiled for it at ``side`` first, so that no timed run pays for that."""
    from core.bench.common import SAMPLES
    from core.params import StyleParams

    for names in PAIRS:
        photo, style = (images.load_image(os.path.join(SAMPLES, name)) for name in names)
        engine.run(photo, [style], StyleParams(size=side, iterations=2, coarse_iterations=2))
        yield names, f"{names[0][:-4]} x {names[1][:-4]}", photo, style


def _painted(engine, photo, style, params, out_dir, name):
    """One timed painting, saved as ``name`` and scored: (figures, its RGB pixels)."""
    started = time.perf_counter()
    result = engine.run(photo, [style], params)
    seconds = time.perf_counter() - started
    picture = result.pixels[..., :3]
    Image.fromarray(picture).save(os.path.join(out_dir, name))
    yardstick = Yardstick(engine.network, photo, style, picture.shape[:2])
    figures = dict(seconds=round(seconds, 1), iterations=list(result.iterations_per_size), **yardstick.score(picture))
    return figures, picture


def _pastiche_at(photo_name, style_name, side, targets, out_dir) -> dict:
    """pastiche's picture at each target wall time (its workspace keeps one every 5 steps; the
    last one saved by then, or its first when it had none yet): {name: (seconds, picture)}."""
    from core.bench.common import SAMPLES

    workspace = tempfile.mkdtemp(prefix="pastiche-", dir=out_dir)
    steps = 5 * math.ceil(max(targets.values()) / 0.9 / 5)  # more than enough: a step takes over a second here
    command = [
        sys.executable, "-m", "pastiche", "--content", os.path.join(SAMPLES, photo_name),
        "--styles", os.path.join(SAMPLES, style_name), "--output", os.path.join(workspace, "last.png"),
        "--size", str(side), "--num-steps", str(steps), "--workspace", workspace, "--workspace-step", "5",
        "--no-verbose",
    ]  # fmt: skip
    started = time.time()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)

    def saved_any():
        return any(name.endswith(".png") for name in os.listdir(workspace))

    deadline = max(targets.values()) + 5
    while process.poll() is None and time.time() - started < deadline + 120:
        if time.time() - started > deadline and saved_any():
            break
        time.sleep(1)
    process.kill()
    process.wait()
    saved = sorted(
        (os.path.getmtime(path) - started, path)
        for path in (os.path.join(workspace, name) for name in os.listdir(workspace))
        if path.endswith(".png")
    )
    chosen = {}
    for preset, seconds in targets.items():
        at, path = max(((t, p) for t, p in saved if t <= seconds), default=saved[0])
        with Image.open(path) as picture:
            chosen[preset] = (at, np.asarray(picture.convert("RGB")))
    shutil.rmtree(workspace)
    return chosen


def _contact_sheet(rows, path):
    """The pictures in a grid, a row per pair, each captioned."""
    from PIL import ImageDraw

    height = max(picture.shape[0] for row in rows for _, picture in row)
    width = max(picture.shape[1] for row in rows for _, picture in row)
    columns = max(len(row) for row in rows)
    sheet = Image.new("RGB", (columns * width, len(rows) * (height + 20)), "white")
    draw = ImageDraw.Draw(sheet)
    for y, row in enumerate(rows):
        for x, (caption, picture) in enumerate(row):
            sheet.paste(Image.fromarray(picture), (x * width, y * (height + 20) + 20))
            draw.text((x * width + 4, y * (height + 20) + 4), caption, fill="black")
    sheet.save(path, quality=90)
