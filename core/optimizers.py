"""The two host-side L-BFGS optimisers, one call each with the same signature.

``lbfgs_b``: scipy's L-BFGS-B, the image kept inside the valid pixel box; the default.
``lbfgs_float32``: for pictures whose scipy run would not fit the memory budget. scipy keeps
about 2m + 23 float64 copies of the image (its workspace, bounds and its wrapper's copies; 8.4 GB
at 4000x3000 with m = 3); this one keeps about 2m + 7 float32 copies. The direction comes from
the two-loop recursion (Nocedal & Wright, *Numerical Optimization*, 2nd ed. 2006, Algorithm 7.4),
the step from scipy's strong-Wolfe line search (``scipy.optimize.line_search``) along the path
projected onto the pixel box (as in projected quasi-Newton methods; pixels held at a bound are
left out of the direction).

Both take ``fun(x) -> (loss, gradient)`` on flat arrays, run ``iterations`` iterations or
``evaluations`` evaluations, whichever comes first (no convergence test), and call
``callback()`` after each iteration. ``fun`` may raise to stop the run.

``HOST`` is the registry of both, with their memory models (``core.plan``); ``NAMES`` are the
settings' choices, with "auto" (the plan's choice) and "device" (JAX's L-BFGS on the GPU).
scipy is imported only when an optimiser runs, so the settings can be checked without it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from core import images


def lbfgs_b(fun, x0, iterations, evaluations, callback=None, history=20, rescale=True):
    """scipy's L-BFGS-B; ``fun`` gets and returns float64 arrays.

    scipy's first step has unit length, a millionth of a grey level per value on a picture of a
    million values, and its line search then spends a dozen evaluations growing it (measured at
    512x384: 88 evaluations to a loss plain scipy reaches in 102). With ``rescale`` scipy works on
    the pixels divided by sqrt(size), so that its unit step moves them by one grey level (root
    mean square), as ``lbfgs_float32`` starts; later steps follow the curvature either way.
    """
    import scipy.optimize

    scale = np.sqrt(x0.size) if rescale else 1.0
    low, high = images.vgg_bounds()
    bounds = scipy.optimize.Bounds(
        np.broadcast_to(low / scale, x0.shape).ravel().astype(np.float64),
        np.broadcast_to(high / scale, x0.shape).ravel().astype(np.float64),
    )

    def scaled(u):
        loss, grad = fun(u * scale)
        return loss, grad * scale

    scipy.optimize.minimize(
        scaled,
        x0.ravel().astype(np.float64) / scale,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        callback=callback and (lambda _u: callback()),
        options={"maxiter": iterations, "maxfun": evaluations, "maxcor": history, "ftol": 0.0, "gtol": 0.0},
    )


def lbfgs_float32(fun, x0, iterations, evaluations, callback=None, history=20):
    """L-BFGS in float32, projected onto the pixel box; ``fun`` gets and returns float32 arrays."""
    import scipy.optimize

    low, high = (np.broadcast_to(bound, x0.shape).ravel() for bound in images.vgg_bounds())
    box = _BoxedLoss(fun, low, high, evaluations)
    x = np.clip(x0.ravel().astype(np.float32), low, high)
    memory = _History(history, x.size)
    try:
        loss, grad = box(x)
        for _ in range(iterations):
            held = ((x <= low) & (grad > 0)) | ((x >= high) & (grad < 0))  # pushed against the box
            direction = memory.direction(np.where(held, np.float32(0.0), grad))
            direction[held] = 0.0
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "The line search algorithm", RuntimeWarning)
                alpha, *_, new_loss, _, _ = scipy.optimize.line_search(
                    box.loss, box.slope, x, direction, box.slope(x), loss, c2=0.9
                )
            if alpha is None:
                if not memory.pairs:
                    return  # no descent even along the gradient: nothing left to gain
                memory.clear()  # a stale curvature model: start again from the gradient
                continue
            new_x, new_grad = box.accepted(new_loss, x + np.float32(alpha) * direction)
            memory.add(new_x, x, new_grad, grad)
            loss, x, grad = new_loss, new_x, new_grad
            if callback is not None:
                callback()
    except _OutOfEvaluations:
        return


class _History:
    """The last ``size`` steps s = x' - x and gradient changes y = g' - g, in buffers allocated
    and touched at the start, so that a memory budget too small shows at once, not an hour in."""

    def __init__(self, size, length):
        self.steps = np.zeros((size, length), np.float32)
        self.changes = np.zeros((size, length), np.float32)
        self.steps.fill(0.0)
        self.changes.fill(0.0)
        self.pairs = []  # buffer rows in use, oldest first

    def add(self, new_x, x, new_grad, grad):
        row = self.pairs.pop(0) if len(self.pairs) == len(self.steps) else len(self.pairs)
        np.subtract(new_x, x, out=self.steps[row])
        np.subtract(new_grad, grad, out=self.changes[row])
        self.pairs.append(row)

    def clear(self):
        self.pairs.clear()

    def direction(self, grad):
        """-H g by the two-loop recursion. Without history: the gradient scaled to move pixels by
        one grey level (root mean square), from where the line search doubles the step as needed."""
        if not self.pairs:
            return grad * np.float32(-np.sqrt(grad.size) / max(np.sqrt(_dot(grad, grad)), 1e-12))
        q = -grad
        alphas = []
        for row in reversed(self.pairs):
            s, y = self.steps[row], self.changes[row]
            rho = 1.0 / _dot(y, s)
            alpha = rho * _dot(s, q)
            q -= np.float32(alpha) * y
            alphas.append((rho, alpha))
        newest = self.pairs[-1]
        step, change = self.steps[newest], self.changes[newest]
        q *= np.float32(_dot(step, change) / _dot(change, change))
        for row, (rho, alpha) in zip(self.pairs, reversed(alphas)):
            q += np.float32(alpha - rho * _dot(self.changes[row], q)) * self.steps[row]
        return q


def _dot(a, b):
    """Dot product of float32 vectors summed in float64 (tens of millions of terms)."""
    return float(np.einsum("i,i->", a, b, dtype=np.float64))


class _BoxedLoss:
    """``fun`` of the point projected onto the box, remembering the last evaluation: the line
    search asks for the loss and the slope of one point separately, the optimiser once more.

    The line search moves along x + a d, whose projection is the image actually evaluated; its
    slope leaves out the pixels the projection holds at a bound. The optimiser continues from the
    projected point, where loss and gradient are the ones already computed.
    """

    def __init__(self, fun, low, high, evaluations):
        self.fun, self.low, self.high = fun, low, high
        self.evaluations_left = evaluations
        self.last = None  # (point asked for, its projection, loss, gradient there)

    def __call__(self, x):
        """Loss and gradient at the projection of ``x``."""
        x = x.astype(np.float32, copy=False)
        if self.last is None or not np.array_equal(self.last[0], x):
            if self.evaluations_left <= 0:
                raise _OutOfEvaluations
            self.evaluations_left -= 1
            projected = np.clip(x, self.low, self.high)
            loss, grad = self.fun(projected)
            self.last = (x.copy(), projected, float(loss), grad)
        return self.last[2], self.last[3]

    def loss(self, x):
        return self(x)[0]

    def slope(self, x):
        """The gradient of the loss along the line: zero where the projection holds x."""
        grad = self(x)[1]
        return np.where(self.last[1] == self.last[0], grad, np.float32(0.0))

    def accepted(self, loss, trial):
        """The projected point the line search accepted and its gradient: from its last
        evaluation when that one has the accepted ``loss`` (usual), else ``trial`` evaluated."""
        if self.last is None or self.last[2] != loss:
            self(trial)
        _, projected, loss, grad = self.last
        self.last = (projected, projected, loss, grad)  # the optimiser goes on from here
        return projected, grad


class _OutOfEvaluations(Exception):
    """The evaluation budget is spent."""


class HostOptimizer(NamedTuple):
    """An optimiser on the host and its memory model: besides 2m history vectors, a job keeps
    ``extra_vectors`` image-sized vectors of ``value_bytes`` per value alive (``core.plan``)."""

    name: str
    minimise: Callable
    value_bytes: int
    extra_vectors: int


# In order of preference. scipy's k = 37 is calibrated on whole 4000x3000 jobs (peaks of 15.5 and
# 16.3 GB at m = 3 with 794 and 980 px tiles); lbfgs_float32's k = 20 is counted from its arrays
# with room to spare (the 4000x3000 job planned for 8 GB, 7.2 GB planned, peaked at 5.7 GB).
HOST = {
    optimizer.name: optimizer
    for optimizer in (HostOptimizer("lbfgs-b", lbfgs_b, 8, 37), HostOptimizer("lbfgs-float32", lbfgs_float32, 4, 20))
}
NAMES = ("auto", *HOST, "device")
