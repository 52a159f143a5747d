"""Speed against the Keras tutorial's way of doing the same thing.

The baseline does what the tutorial does: content, style and the generated image go through
Keras' own whole VGG19 as a batch of three at every evaluation, in float32, and scipy's L-BFGS-B
is called plainly. Both sides use the same loss (``core.losses``, the engine's normalised formula,
same weights) and the same L-BFGS-B settings; the engine rescales the pixels for scipy
(``core.optimizers.lbfgs_b``) and uses its default precision.
"""

from __future__ import annotations

import time

from core.bench.common import engine_for, sample_pictures, seconds_per_evaluation


def speed_figures(weights, shape, budget):
    """Seconds per evaluation each side; the loss the baseline reaches in ``budget`` evaluations,
    and how long the engine takes to reach it, one scale and coarse to fine."""
    from core import images, plan
    from core.params import StyleParams

    engine = engine_for(weights)
    params = StyleParams(size=max(shape))
    precision = plan.plan_job(params, shape).precision
    float32 = params.replace(precision="float32")  # as the baseline computes
    content, style = sample_pictures(shape)
    x0 = images.preprocess(content)

    ours = engine.objective(content, [style], float32, shape)
    baseline = tutorial_objective(weights, content, style, float32, shape)
    per_eval = {name: seconds_per_evaluation(f, x0) for name, f in (("engine", ours), ("baseline", baseline))}
    per_eval[f"engine_{precision}"] = seconds_per_evaluation(engine.objective(content, [style], params, shape), x0)

    target, baseline_seconds = _minimise(baseline, x0, budget)
    runs = {
        "one_scale_float32": float32.replace(pyramid_levels=1),
        f"one_scale_{precision}": params.replace(pyramid_levels=1),
        f"default_{params.pyramid_levels}_levels_{precision}": params,
        f"3_levels_{precision}": params.replace(pyramid_levels=3),
    }
    reached = {name: _time_to_loss(engine, content, style, settings, target, ours) for name, settings in runs.items()}
    return {
        "size": f"{shape[1]}x{shape[0]}",
        "seconds_per_evaluation": per_eval,
        "evaluation_speedup": {name: per_eval["baseline"] / seconds for name, seconds in per_eval.items()},
        "baseline_loss_after_evaluations": {"evaluations": budget, "loss": target, "seconds": baseline_seconds},
        "engine_to_that_loss": reached,
        "time_to_loss_speedup": {
            name: baseline_seconds / run["seconds"] if run["seconds"] else None for name, run in reached.items()
        },
    }


def tutorial_objective(weights, content, style, params, shape):
    """The tutorial's evaluation: [content, style, image] through Keras' own full VGG19 every time."""
    import keras
    import numpy as np
    from keras import ops

    from core import images, losses
    from core.backends import value_and_grad

    network = keras.applications.VGG19(include_top=False, weights=weights, input_shape=(None, None, 3))
    full = keras.Model(network.input, {layer.name: layer.output for layer in network.layers[1:]})
    fixed = np.stack([images.preprocess(content), images.preprocess(style)])
    divisors = losses.divisors(shape, params.content_layers, params.style_layers, params.tutorial_loss)
    weights_array = losses.weights_of(params)

    def loss(image, fixed_images):
        features = full(ops.concatenate([fixed_images, image], axis=0))
        style_targets = [
            losses.gram_sum(features[name][1:2]) / divisors.grams[i][:, None, None]
            for i, name in enumerate(params.style_layers)
        ]
        sums = losses.region_sums(
            [features[name][2:] for name in params.content_layers],
            [features[name][0:1] for name in params.content_layers],
            [features[name][2:] for name in params.style_layers],
            image,
        )
        return losses.loss(sums, style_targets, weights_array, divisors)

    compiled = value_and_grad(loss, full.weights)
    return lambda image: compiled(image, fixed)


def _minimise(objective, x0, evaluations):
    """The baseline's L-BFGS-B run, with the engine's optimiser settings: (best loss, seconds)."""
    import numpy as np

    from core.optimizers import lbfgs_b

    best = [np.inf]

    def fun(x):
        loss, _, grad = objective(x.astype(np.float32).reshape(1, *x0.shape))
        best[0] = min(best[0], loss)
        return loss, grad.ravel().astype(np.float64)

    start = time.perf_counter()
    lbfgs_b(fun, x0, evaluations, evaluations, rescale=False)  # scipy as called plainly
    return best[0], time.perf_counter() - start


def _time_to_loss(engine, content, style, params, target, float32_objective, slack=1.03):
    """Seconds until the engine first evaluates a full-size image whose float32 loss, the
    baseline's arithmetic, is at or below ``target`` (None if never in 300 full-size iterations;
    the smaller scales keep the iterations ``params`` gives them). The engine shows each image it
    evaluates to ``on_evaluation``.

    A bfloat16 network sees a slightly different loss than the baseline's, so its own figure is
    not the judge: images whose own loss is within ``slack`` of the target are scored in float32,
    with the clock stopped while they are.
    """
    import numpy as np

    watch = {"scoring": 0.0, "scored": 0}
    start = time.perf_counter()

    def check(image, own_loss):
        if "seconds" in watch or image.shape[1:3] != content.shape[:2] or own_loss > slack * target:
            return
        scoring = time.perf_counter()
        loss = float(float32_objective(image)[0])
        watch["scored"] += 1
        if loss <= target:
            watch.update(seconds=scoring - start - watch["scoring"], float32_loss=loss, own_loss=float(own_loss))
        watch["scoring"] += time.perf_counter() - scoring

    long_run = params.replace(iterations=300, coarse_iterations=params.level_iterations(0, params.pyramid_levels))
    result = engine.run(
        content.astype(np.uint8),
        [style.astype(np.uint8)],
        long_run,
        should_stop=lambda: "seconds" in watch,
        on_evaluation=check,
    )
    return {
        "seconds": watch.get("seconds"),
        "evaluations": result.evaluations,
        "float32_loss": watch.get("float32_loss"),
        "own_loss": watch.get("own_loss"),
        "images_scored": watch["scored"],
    }
