"""What a job runs on and how, decided once per job and passed down: the device, the network's
precision, and for each size of the coarse-to-fine pyramid whether it is evaluated whole or in
tiles, and by which optimiser with how long a memory, within the job's memory budget.

Memory model, measured on the project's CPU machine (TensorFlow 2.21, 2026-11-23): one 794 px
tile forward and backward takes 1.2 KB per input pixel in bfloat16, 2.1 KB in float32 (3 KB
kept, for the allocator's slack across tile shapes). Beyond that, a job over an image of n pixels
keeps, with L-BFGS memory m, 2m + k vectors of 3n values of the optimiser's type alive: its
history, its own working copies and the job's copies around each evaluation (k and the value
size per optimiser: ``core.optimizers.HOST``). See docs/memory-and-tiles.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import psutil

from core import backends, optimizers, speed, tiles
from core.params import ParamError
from core.protocol import MIN_SIDE

BYTES_PER_PIXEL_EVALUATED = 3000
BYTES_FIXED = 1.5e9  # the framework, VGG19 in two precisions, content targets
MIN_HISTORY = 3
MAX_HISTORY = 20
PLANNED_SHARE = 0.9  # slack for what the figures above leave out
DEFAULT_SHARE = 0.75  # of the machine's memory, when the job names no budget


@dataclass(frozen=True)
class SizePlan:
    """One size of the pyramid: evaluated whole (``tile_side`` None) or in tiles, by which
    optimiser (a name of ``core.optimizers.HOST``, or "device") with how long a memory."""

    shape: tuple
    tile_side: int | None
    optimizer: str
    history: int


@dataclass(frozen=True)
class JobPlan:
    device: str  # what the backend computes on, for people ("CPU", "GPU: ...")
    backend: str  # Keras' backend: "tensorflow", "jax" or "torch"
    precision: str  # the network's arithmetic: "float32" or "bfloat16"
    budget_bytes: float
    sizes: tuple  # SizePlan per level, coarse to fine
    tile_border: int  # px around a tile's interior (``core.tiles.halo`` of the job's layers)

    def summary(self) -> str:
        """What the job will do, in one line for people, before it starts: "2 sizes: 3000x2250
        whole, 6000x4500 in 24 tiles of 1200 px; about 9.6 GB of memory (of 18 GB); CPU, bfloat16"."""
        parts = []
        for size in self.sizes:
            height, width = size.shape
            if size.tile_side:
                count = len(tiles.plan_tiles(size.shape, size.tile_side, self.tile_border))
                parts.append(f"{width}x{height} in {count} tiles of {size.tile_side} px")
            else:
                parts.append(f"{width}x{height} whole")
        peak = max(planned_bytes(size) for size in self.sizes)
        count = len(self.sizes)
        return (
            f"{count} size{'s' * (count > 1)}: {', '.join(parts)}; about {peak / 1e9:.1f} GB of memory "
            f"(of {self.budget_bytes / 1e9:.0f} GB); {self.device}, {self.precision}"
        )

    def work(self, params) -> list:
        """(iterations, megapixels evaluated per iteration) per size: what ``core.speed`` times
        (a quality preset's expected iterations)."""
        count = len(self.sizes)
        return [
            (params.level_rule(level, count).expected, evaluated_megapixels(size, self.tile_border))
            for level, size in enumerate(self.sizes)
        ]

    def speed_kind(self) -> str:
        return speed.kind(self.device, self.backend, self.precision)


def plan_job(params, out_shape: tuple) -> JobPlan:
    """The plan for stylising at ``out_shape``; an impossible choice or a budget too small for
    the full size raises ``ParamError`` here, before any work."""
    device = backends.device_name()
    on_device = _on_device(params, device)
    budget = memory_budget_bytes(params)
    shapes = [out_shape] if params.tutorial_loss else pyramid_shapes(out_shape, params.pyramid_levels)
    chosen = (params.optimizer,) if params.optimizer in optimizers.HOST else tuple(optimizers.HOST)
    border = tiles.halo(params.content_layers + params.style_layers)
    sizes = []
    for shape in shapes:
        tile_side, name, history = plan_memory(shape, budget, chosen, border)
        if on_device and tile_side is None:
            name, history = "device", MAX_HISTORY
        sizes.append(SizePlan(tuple(shape), tile_side, name, history))
    return JobPlan(device, keras.backend.backend(), _precision(params), budget, tuple(sizes), border)


def evaluated_megapixels(size: SizePlan, border: int) -> float:
    """What one evaluation of ``size`` runs through the network, in megapixels: the picture, or
    its tiles with their borders."""
    if not size.tile_side:
        return size.shape[0] * size.shape[1] / 1e6
    windows = tiles.plan_tiles(size.shape, size.tile_side, border)
    return sum((t.bottom - t.top) * (t.right - t.left) for t in windows) / 1e6


def memory_budget_bytes(params) -> float:
    """The job's budget: the one named, else three quarters of this machine's memory."""
    return params.memory_budget * 1e9 if params.memory_budget else DEFAULT_SHARE * psutil.virtual_memory().total


def pyramid_shapes(shape: tuple, levels: int) -> list:
    """(h, w) per level, coarse to fine, each half the next; too-small levels are dropped."""
    height, width = shape
    shapes = [(round(height / 2**k), round(width / 2**k)) for k in reversed(range(levels))]
    return [s for s in shapes if min(s) >= MIN_SIDE] or [shape]


def plan_memory(shape: tuple, budget_bytes: float, names: tuple, border: int) -> tuple:
    """(tile side or None, host optimiser, L-BFGS memory) for ``budget_bytes``, of the optimisers
    ``names``, with tiles that need a ``border`` (``core.tiles.halo``).

    Of ``names``, the optimiser that remembers the most steps within the budget, the first on a
    tie: scipy's L-BFGS-B wherever it keeps its full memory. The optimiser's vectors get up to 60%
    of what is left beyond the framework (at least memory 3), the network the rest. Raises
    ``ParamError`` when none fits with the smallest memory and tile, saying how much would.
    """
    budget = PLANNED_SHARE * budget_bytes
    pixels = shape[0] * shape[1]
    smallest_tile = (2 * border + tiles.MIN_INTERIOR) ** 2 * BYTES_PER_PIXEL_EVALUATED
    plans, needed = [], []
    for name in names:
        optimizer = optimizers.HOST[name]
        vector = pixels * 3 * optimizer.value_bytes
        share = 0.6 * (budget - BYTES_FIXED) / vector
        history = int(min(MAX_HISTORY, max(MIN_HISTORY, (share - optimizer.extra_vectors) // 2)))
        left = budget - BYTES_FIXED - (2 * history + optimizer.extra_vectors) * vector
        needed.append(BYTES_FIXED + (2 * MIN_HISTORY + optimizer.extra_vectors) * vector + smallest_tile)
        if left >= smallest_tile:
            whole = pixels * BYTES_PER_PIXEL_EVALUATED <= left
            plans.append((None if whole else int(math.sqrt(left / BYTES_PER_PIXEL_EVALUATED)), name, history))
    if not plans:
        raise ParamError(
            f"a {shape[1]}x{shape[0]} picture needs about {math.ceil(min(needed) / PLANNED_SHARE / 1e9)} "
            f"GB of memory, more than the budget of {budget_bytes / 1e9:g} GB: raise the memory budget "
            "or paint at a smaller size"
        )
    return max(plans, key=lambda plan: plan[2])  # max() keeps the first of equals


def planned_bytes(plan: SizePlan) -> float:
    """What the memory model expects a size's evaluation and optimiser to keep alive."""
    pixels = plan.shape[0] * plan.shape[1]
    optimizer = optimizers.HOST.get(plan.optimizer)
    vectors = (2 * plan.history + optimizer.extra_vectors) * pixels * 3 * optimizer.value_bytes if optimizer else 0
    return BYTES_FIXED + vectors + (plan.tile_side**2 if plan.tile_side else pixels) * BYTES_PER_PIXEL_EVALUATED


def _precision(params) -> str:
    """ "auto" means bfloat16 where the device is faster with it; the tutorial's formula always
    runs in float32, as the tutorial does."""
    if params.precision != "auto":
        return params.precision
    return "bfloat16" if backends.fast_bfloat16() and not params.tutorial_loss else "float32"


def _on_device(params, device) -> bool:
    """Whether L-BFGS runs on the accelerator: asked for, or "auto" on a GPU whose backend has it."""
    if params.optimizer == "device" and not backends.has_device_lbfgs():
        raise ParamError("optimizer device needs the JAX backend (KERAS_BACKEND=jax); use lbfgs-b")
    if params.optimizer != "auto":
        return params.optimizer == "device"
    return backends.has_device_lbfgs() and device != "CPU"
