"""The host optimisers on problems with known answers, and against each other on the real loss."""

import numpy as np
import pytest

from core import images, optimizers
from core.engine import StyleTransfer
from core.params import StyleParams

LOW, HIGH = (np.broadcast_to(bound, (6, 5, 3)).ravel() for bound in images.vgg_bounds())


def _quadratic(dtype):
    """An ill-conditioned bowl whose centre lies partly outside the pixel box: the answer is the
    centre clipped to the box. Returns (fun, answer, evaluations seen)."""
    rng = np.random.default_rng(0)
    centre = rng.uniform(-250, 250, LOW.size)
    curvature = np.logspace(-2, 1, LOW.size)
    seen = []

    def fun(x):
        assert x.dtype == dtype
        seen.append(1)
        return float(0.5 * np.sum(curvature * (x - centre) ** 2)), (curvature * (x - centre)).astype(dtype)

    return fun, np.clip(centre, LOW, HIGH), seen


@pytest.mark.parametrize("name, dtype", [("lbfgs-b", np.float64), ("lbfgs-float32", np.float32)])
def test_each_optimiser_finds_the_box_constrained_minimum(name, dtype):
    fun, answer, _ = _quadratic(dtype)
    x0 = np.zeros((6, 5, 3), np.float32)
    result = []
    optimizers.HOST[name].minimise(lambda x: (result.append(x.copy()), fun(x))[1], x0, 200, 400, history=10)
    assert np.abs(np.clip(result[-1], LOW, HIGH) - answer).max() < 0.05


def test_float32_optimiser_keeps_to_its_iteration_and_evaluation_budgets():
    fun, _, seen = _quadratic(np.float32)
    iterations = []
    optimizers.lbfgs_float32(fun, np.zeros((6, 5, 3), np.float32), 7, 100, lambda: iterations.append(1))
    assert len(iterations) == 7
    fun, _, seen = _quadratic(np.float32)
    optimizers.lbfgs_float32(fun, np.zeros((6, 5, 3), np.float32), 100, 12)
    assert len(seen) == 12


def test_float32_optimiser_lowers_the_style_loss_as_far_as_scipys(random_network):
    rng = np.random.default_rng(3)
    content = rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
    style = rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8)
    engine = StyleTransfer(random_network)
    final = {
        name: engine.run(
            content, [style], StyleParams(size=64, iterations=30, pyramid_levels=1, precision="float32", optimizer=name)
        ).losses["total"]
        for name in ("lbfgs-b", "lbfgs-float32")
    }
    start = engine.run(content, [style], StyleParams(size=64, iterations=1, pyramid_levels=1)).losses["total"]
    assert final["lbfgs-float32"] < 0.2 * start
    assert final["lbfgs-float32"] < 1.1 * final["lbfgs-b"]
