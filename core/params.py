"""The one parameter object of the engine: defaults, ranges and validation.

Light to import (no Keras), so the command line and the worker can validate settings before
anything heavy is imported. Every error is a ``ParamError`` whose text is one line a user can
act on. What a job then runs on and how is decided from these by ``core.plan``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from core.optimizers import NAMES as OPTIMIZERS
from core.presets import PRESETS, SizeRule
from core.protocol import MAX_SIDE, MIN_SIDE
from core.vgg_layers import CONV_LAYERS

INITS = ("content", "noise")
PRECISIONS = ("auto", "float32", "bfloat16")  # auto: bfloat16 where the device computes it fast

# Numeric settings: (minimum, maximum), both inclusive.
RANGES = {
    "size": (MIN_SIDE, MAX_SIDE),
    "iterations": (1, 10000),
    "coarse_iterations": (0, 10000),
    "content_weight": (0.0, 1e9),
    "style_weight": (0.0, 1e9),
    "tv_weight": (0.0, 1e9),
    "style_scale": (0.05, 8.0),
    "pyramid_levels": (1, 6),
    "seed": (0, 2**31 - 1),
    "memory_budget": (0.0, 4096.0),
}

INTEGER_SETTINGS = {"size", "iterations", "coarse_iterations", "pyramid_levels", "seed"}

# The weights of the Keras tutorial this engine started from (keras.io "Neural style transfer").
TUTORIAL_WEIGHTS = {"content_weight": 2.5e-8, "style_weight": 1e-6, "tv_weight": 1e-6}


class ParamError(ValueError):
    """A setting is out of range or unknown; the text says which and what is allowed."""


@dataclass(frozen=True)
class StyleParams:
    """Settings of one stylisation.

    With ``tutorial_loss=False`` (the default) every loss is normalised by the size of the
    feature map it is computed on, so the same weights give the same look at any output size.
    ``tutorial_loss=True`` uses the tutorial's own loss formula (sums, Gram matrices divided
    by the image's pixel count) for comparisons with it; see ``StyleParams.tutorial``.
    """

    size: int = 512
    quality: str = ""  # a preset of core.presets (its stop rule and limits), or "": the counts below
    iterations: int = 200
    coarse_iterations: int = 0  # at each level below the full size (0: a quarter of ``iterations``)
    content_weight: float = 1.0
    style_weight: float = 1.0  # chosen by its trade-off on the bundled pairs: docs/performance.md
    tv_weight: float = 1e-2
    content_layers: tuple = ("block5_conv2",)
    style_layers: tuple = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
    style_layer_weights: tuple | None = None
    style_blend: tuple | None = None
    style_scale: float = 1.0
    preserve_colors: bool = False
    pyramid_levels: int = 2
    init: str = "content"
    seed: int = 0
    tutorial_loss: bool = False
    precision: str = "auto"
    optimizer: str = "auto"
    memory_budget: float = 0.0  # GB for the whole job (0: 3/4 of this machine's memory, core.plan);
    # sizes whose evaluation would not fit are computed in tiles

    def __post_init__(self):
        for name in ("content_layers", "style_layers", "style_layer_weights", "style_blend"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        self._validate()

    @classmethod
    def tutorial(cls, **overrides) -> StyleParams:
        """The Keras tutorial's setup: its loss formula and weights, one scale."""
        settings = dict(TUTORIAL_WEIGHTS, tutorial_loss=True, pyramid_levels=1)
        settings.update(overrides)
        return cls(**settings)

    @classmethod
    def from_dict(cls, values: dict) -> StyleParams:
        """Build from plain data (the protocol's JSON, the command line); unknown names are errors."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ParamError(f"unknown setting {unknown[0]!r}; known settings: {', '.join(sorted(known))}")
        return cls(**values)

    def to_dict(self) -> dict:
        return {
            f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in dataclasses.fields(self)
        }

    def replace(self, **changes) -> StyleParams:
        return dataclasses.replace(self, **changes)

    def level_rule(self, level: int, levels: int) -> SizeRule:
        """Iterations at pyramid level ``level`` (0 the coarsest) of ``levels``: the quality
        preset's, or exactly the counts given (floor, ceiling and expected all equal). Smaller
        scales lay out the large strokes cheaply; by default they get a quarter of the full size's."""
        if self.quality:
            return PRESETS[self.quality].rule(level, levels)
        count = self.iterations if level == levels - 1 else self.coarse_iterations or max(1, round(self.iterations / 4))
        return SizeRule(count, count, count)

    def level_iterations(self, level: int, levels: int) -> int:
        """The most iterations level ``level`` of ``levels`` may take."""
        return self.level_rule(level, levels).ceiling

    def layer_weights(self) -> tuple:
        """Style layer weights, normalised to sum to 1 (equal when not given)."""
        weights = self.style_layer_weights or (1.0,) * len(self.style_layers)
        total = float(sum(weights))
        return tuple(float(w) / total for w in weights)

    def blend_weights(self, n_styles: int) -> tuple:
        """Weights of the style images, normalised to sum to 1 (equal when not given)."""
        if self.style_blend is None:
            return (1.0 / n_styles,) * n_styles
        if len(self.style_blend) != n_styles:
            raise ParamError(f"style_blend has {len(self.style_blend)} weights for {n_styles} style images")
        total = float(sum(self.style_blend))
        return tuple(float(w) / total for w in self.style_blend)

    def _validate(self):
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            integral = name in INTEGER_SETTINGS
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or (integral and not isinstance(value, int))
            ):
                kind = "a whole number" if integral else "a number"
                raise ParamError(f"{name} must be {kind}, got {value!r}")
            if not low <= value <= high:
                raise ParamError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
        for name in ("preserve_colors", "tutorial_loss"):
            if not isinstance(getattr(self, name), bool):
                raise ParamError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.quality and self.quality not in PRESETS:
            raise ParamError(f"quality must be one of {', '.join(PRESETS)}, got {self.quality!r}")
        for name, allowed in (("init", INITS), ("precision", PRECISIONS), ("optimizer", OPTIMIZERS)):
            if getattr(self, name) not in allowed:
                raise ParamError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        for name in ("content_layers", "style_layers"):
            layers = getattr(self, name)
            if not isinstance(layers, tuple) or not layers:
                raise ParamError(f"{name} must name at least one VGG19 layer")
            for layer in layers:
                if layer not in CONV_LAYERS:
                    raise ParamError(f"{layer!r} is not a VGG19 convolution layer (use block1_conv1 ... block5_conv4)")
        _check_weights("style_layer_weights", self.style_layer_weights, len(self.style_layers))
        _check_weights("style_blend", self.style_blend, None)


def _check_weights(name, weights, expected_count):
    if weights is None:
        return
    if not isinstance(weights, tuple) or not weights:
        raise ParamError(f"{name} must be a list of numbers")
    if expected_count is not None and len(weights) != expected_count:
        raise ParamError(f"{name} has {len(weights)} values, but there are {expected_count} style layers")
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
            raise ParamError(f"{name} values must be numbers of 0 or more, got {w!r}")
    if sum(weights) <= 0:
        raise ParamError(f"{name} must have at least one value above 0")
