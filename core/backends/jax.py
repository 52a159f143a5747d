"""Loss and gradient under JAX, and an L-BFGS that stays on the accelerator.

On a GPU an evaluation takes about a millisecond, less than scipy's L-BFGS-B spends on its own
bookkeeping for a 512 px image; so there the whole iteration runs on the device (optax's L-BFGS
with a zoom line search) in jit-compiled chunks, returning to Python only between chunks.
"""

import functools
import os
import sys

import jax
import keras
import numpy as np
import optax

from core.weights import keras_cache_dir

# Compiling the network takes longer than a whole job on a GPU: keep the compiled programs, in the
# engine's environment (so removing the engine removes them), unless JAX_COMPILATION_CACHE_DIR
# (which JAX reads itself) names a place.
if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
    in_venv = sys.prefix != sys.base_prefix
    jax.config.update(
        "jax_compilation_cache_dir", os.path.join(sys.prefix if in_venv else keras_cache_dir(), "jax-compiled")
    )
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
# One set of programs per new image size: keep the most recently used within 1 GiB.
jax.config.update("jax_compilation_cache_max_size", 2**30)


def _weights_as_argument(fn, variables):
    """``fn(first, *rest)`` as ``(first, weights, *rest)``, reading ``variables`` from ``weights``,
    and the variables' current values to pass. Closed over, the weights would be compiled into
    every program as constants: 80 MB in each, slow to compile, 45-160 MB per cache file."""
    variables = list(variables)

    @functools.wraps(fn)  # compiled programs keep fn's name
    def call(first, weights, *rest):
        with keras.StatelessScope(state_mapping=list(zip(variables, weights))):
            return fn(first, *rest)

    return call, [variable.value for variable in variables]


def value_and_grad(loss_fn, variables):
    loss_fn, weights = _weights_as_argument(loss_fn, variables)
    evaluate = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))

    def call(image: np.ndarray, *args):
        (loss, parts), grad = evaluate(image, weights, *args)
        return float(loss), {name: float(value) for name, value in parts.items()}, np.asarray(grad)

    return call


def device_lbfgs(loss_fn, variables, memory: int = 20):
    """``start(image, args) -> DeviceRun``: L-BFGS on ``loss_fn(image, *args)`` that keeps the
    image, the optimiser's memory and ``args`` on the device. Compiled once per image shape."""
    loss_fn, weights = _weights_as_argument(loss_fn, variables)
    optimiser = optax.lbfgs(memory_size=memory)

    @jax.jit
    def iterate(x, state, args, steps):
        def value(image):
            return loss_fn(image, *args)[0]

        value_and_grad_fn = optax.value_and_grad_from_state(value)

        def step(_, carry):
            x, state, evaluations = carry
            loss, grad = value_and_grad_fn(x, state=state)
            updates, state = optimiser.update(grad, state, x, value=loss, grad=grad, value_fn=value)
            evaluations += optax.tree_utils.tree_get(state, "num_linesearch_steps")
            return optax.apply_updates(x, updates), state, evaluations

        x, state, evaluations = jax.lax.fori_loop(0, steps, step, (x, state, 0))
        loss, parts = loss_fn(x, *args)
        return x, state, evaluations, loss, parts

    def start(image: np.ndarray, args):
        x = jax.device_put(image)
        return DeviceRun(iterate, x, optimiser.init(x), (weights, *jax.device_put(args)))

    return start


def forward(fn, variables):
    fn, weights = _weights_as_argument(fn, variables)
    compiled = jax.jit(fn)
    return lambda first, *rest: jax.tree.map(np.asarray, compiled(first, weights, *rest))


class DeviceRun:
    """One optimisation in progress; ``run(steps)`` advances it, ``image()`` fetches it."""

    def __init__(self, iterate, x, state, args):
        self._iterate, self._x, self._state, self._args = iterate, x, state, args

    def run(self, steps: int):
        """``steps`` more iterations; returns (loss, parts, evaluations) at the new image."""
        self._x, self._state, evaluations, loss, parts = self._iterate(self._x, self._state, self._args, steps)
        return float(loss), {name: float(value) for name, value in parts.items()}, int(evaluations)

    def image(self) -> np.ndarray:
        return np.asarray(self._x)


def device_name() -> str:
    device = jax.devices()[0]
    return "CPU" if device.platform == "cpu" else f"GPU: {device.device_kind}"


def fast_bfloat16() -> bool:
    """GPUs from Ampere on; XLA's CPU convolutions gain nothing from bfloat16."""
    device = jax.devices()[0]
    return device.platform == "gpu" and float(getattr(device, "compute_capability", 0)) >= 8.0


def is_out_of_memory(error) -> bool:
    """XLA reports an allocation that failed as a runtime error whose status is RESOURCE_EXHAUSTED."""
    return isinstance(error, jax.errors.JaxRuntimeError) and "RESOURCE_EXHAUSTED" in str(error)
