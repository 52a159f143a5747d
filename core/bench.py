"""``python -m core.bench``: speed of the engine against the Keras tutorial's way, in one run.

The baseline does what the tutorial does: content, style and the generated image go through the
whole VGG19 as a batch of three at every evaluation, in float32, and scipy's L-BFGS-B is called
plainly. Both sides use the same loss (the engine's normalised formula, same weights) and the same
L-BFGS-B settings; the engine rescales the pixels for scipy (``core.optimizers.lbfgs_b``) and uses
its default precision. Prints JSON:

* seconds per evaluation, each side (the engine in float32 and at its default precision);
* the loss the baseline reaches in 100 evaluations, and the seconds the engine needs to reach it,
  one scale and coarse to fine, judged by the baseline's float32 arithmetic;
* peak memory by image size: a fresh process per size runs a real one-scale job (targets, network,
  optimiser, tiles where the memory plan says so) for a few evaluations;
* the protocol alone: a 4000x3000 RGBA picture to a child process and back through pipes;
* the worker's start-up time until its hello.

``--quick`` measures only the last two. Per backend and precision (``core.bench_backends``):
``--precisions`` (float32 against bfloat16 here), ``--gpu`` (the GPU targets), ``--pastiche``
(end to end against pastiche, where it is installed), ``--startup`` (a job's start-up step by
step); ``--backend`` picks the Keras backend.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

from core.params import BACKENDS
from core.quiet import import_keras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "samples")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="VGG19 weights (default: NEURAL_STYLE_WEIGHTS or the Keras cache)")
    parser.add_argument("--size", default="512x384", help="WIDTHxHEIGHT of the speed runs")
    parser.add_argument("--evaluations", type=int, default=100, help="the baseline's budget")
    parser.add_argument("--memory-sizes", default="512x384,1024x768,2048x1536",
                        help="WIDTHxHEIGHT,... of the peak-memory runs")
    parser.add_argument("--memory-job", metavar="WIDTHxHEIGHT", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="only the protocol and start-up figures")
    parser.add_argument("--backend", choices=BACKENDS, help="Keras backend (default: KERAS_BACKEND)")
    parser.add_argument("--precisions", action="store_true", help="float32 against bfloat16 at 512x512")
    parser.add_argument("--gpu", action="store_true", help="the GPU figures (per evaluation, 500 iterations)")
    parser.add_argument("--pastiche", action="store_true", help="end to end against pastiche (needs it)")
    parser.add_argument("--startup", action="store_true", help="where a job's start-up goes, step by step")
    parser.add_argument("--startup-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help="folder for the pictures the runs make")
    parser.add_argument("--full-resolution", action="store_true",
                        help="peak memory of a 4000x3000 job (a few evaluations) within --memory-budget")
    parser.add_argument("--memory-budget", type=float, default=0.0,
                        help="GB (default: the engine's, three quarters of this machine's memory)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    import_keras(args.backend)
    import_seconds = time.perf_counter() - started
    from core.weights import resolve_weights

    weights = resolve_weights(args.weights, download=False)
    if args.startup_only:
        from core.bench_backends import startup_steps_here

        print(json.dumps(startup_steps_here(weights, _shape(args.size), import_seconds)))
        return 0
    if args.memory_job:
        print(json.dumps(_memory_job_here(weights, _shape(args.memory_job), args.memory_budget)))
        return 0
    if args.full_resolution:
        report = _peak_memory(weights, ["4000x3000"], args.memory_budget)[0]
        print(json.dumps({"machine": _machine(), "full_resolution": report}, indent=2))
        return 0
    report = {}
    if args.precisions or args.gpu or args.pastiche or args.startup:
        from core import bench_backends

        # These two first, while this process holds no GPU memory the programs they start need.
        if args.startup:
            report["startup"] = bench_backends.startup_figures(weights)
        if args.pastiche:
            report["pastiche"] = bench_backends.pastiche_comparison(weights, args.out or ".")
        if args.precisions:
            report["precisions"] = bench_backends.precision_figures(weights, out_dir=args.out)
        if args.gpu:
            report["gpu"] = bench_backends.gpu_figures(weights, out_dir=args.out)
        print(json.dumps(dict(machine=_machine(), **report), indent=2))
        return 0
    report["machine"] = _machine()
    report.update({"protocol_round_trip_4000x3000_rgba_seconds": _protocol_round_trip(),
                   "worker_start_to_hello_seconds": _worker_start(weights)})
    if not args.quick:
        report.update(_speed(weights, _shape(args.size), args.evaluations))
        report["memory"] = _peak_memory(weights, args.memory_sizes.split(","), args.memory_budget)
    print(json.dumps(report, indent=2))
    return 0


def _shape(text):
    width, height = (int(v) for v in text.lower().split("x"))
    return height, width


def _machine():
    import keras

    from core.backends import device_name

    return {"cpus": os.cpu_count(), "backend": keras.backend.backend(), "device": device_name()}


def sample_pictures(shape):
    """Tübingen and The Starry Night at ``shape``, both sides of every comparison."""
    import numpy as np

    from core import images

    def load(name):  # whole 0..255 values (Lanczos overshoots), as the engine's uint8 input has
        return np.clip(np.rint(images.resize(images.load_image(os.path.join(SAMPLES, name))[..., :3], shape)), 0, 255)

    # The style is given at the content's size, as the tutorial's batch needs; with style_scale 1
    # the engine then uses it as it is, so both sides compute exactly the same loss.
    return load("tubingen.jpg"), load("starry_night.jpg")


def _speed(weights, shape, budget):
    from core import images
    from core.engine import StyleTransfer, precision
    from core.params import StyleParams
    from core.vgg import VGG19Features

    network = VGG19Features(weights)
    engine = StyleTransfer(network)
    params = StyleParams(size=max(shape))
    float32 = params.replace(precision="float32")  # as the baseline computes
    content, style = sample_pictures(shape)
    x0 = images.preprocess(content)

    ours = engine.objective(content, [style], float32, shape)
    baseline = _tutorial_objective(weights, content, style, float32, shape)
    per_eval = {name: seconds_per_evaluation(f, x0) for name, f in (("engine", ours), ("baseline", baseline))}
    per_eval[f"engine_{precision(params)}"] = seconds_per_evaluation(engine.objective(content, [style], params, shape), x0)

    target, baseline_seconds = _minimise(baseline, x0, budget)
    runs = {"one_scale_float32": float32.replace(pyramid_levels=1),
            f"one_scale_{precision(params)}": params.replace(pyramid_levels=1),
            f"default_{params.pyramid_levels}_levels_{precision(params)}": params,
            f"3_levels_{precision(params)}": params.replace(pyramid_levels=3)}
    reached = {name: _time_to_loss(engine, content, style, settings, target, ours) for name, settings in runs.items()}
    return {
        "size": f"{shape[1]}x{shape[0]}",
        "seconds_per_evaluation": per_eval,
        "evaluation_speedup": {name: per_eval["baseline"] / seconds for name, seconds in per_eval.items()},
        "baseline_loss_after_evaluations": {"evaluations": budget, "loss": target, "seconds": baseline_seconds},
        "engine_to_that_loss": reached,
        "time_to_loss_speedup": {name: baseline_seconds / run["seconds"] if run["seconds"] else None
                                 for name, run in reached.items()},
    }


def _tutorial_objective(weights, content, style, params, shape):
    """The tutorial's evaluation: [content, style, image] through Keras' own full VGG19 every time."""
    import keras
    import numpy as np
    from keras import ops

    from core import images, losses
    from core.backends import value_and_grad

    network = keras.applications.VGG19(include_top=False, weights=weights, input_shape=(None, None, 3))
    full = keras.Model(network.input, {layer.name: layer.output for layer in network.layers[1:]})
    fixed = np.stack([images.preprocess(content), images.preprocess(style)])
    layer_weights = params.layer_weights()

    def loss(image, fixed_images):
        features = full(ops.concatenate([fixed_images, image], axis=0))
        content_part = sum(losses.content_loss(features[name][2:], features[name][0:1])
                           for name in params.content_layers) / len(params.content_layers)
        style_part = sum(w * losses.style_loss(losses.gram_matrix(features[name][2:]),
                                               losses.gram_matrix(features[name][1:2]))
                         for w, name in zip(layer_weights, params.style_layers))
        tv = losses.total_variation_loss(image)
        parts = {"content": params.content_weight * content_part, "style": params.style_weight * style_part,
                 "tv": params.tv_weight * tv}
        return parts["content"] + parts["style"] + parts["tv"], parts

    compiled = value_and_grad(loss, full.weights)
    return lambda image: compiled(image, fixed)


def seconds_per_evaluation(objective, x0, repeats=5):
    """Median seconds of one call of ``objective`` on ``x0`` after a warm-up call."""
    image = x0[None]
    objective(image)  # trace and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        objective(image)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
    the smaller scales keep the iterations ``params`` gives them).

    A bfloat16 network sees a slightly different loss than the baseline's, so its own figure is
    not the judge: images whose own loss is within ``slack`` of the target are scored in float32,
    with the clock stopped while they are.
    """
    import numpy as np

    watch = {"scoring": 0.0, "scored": 0}
    start = time.perf_counter()

    def check(image, own_loss):
        if "seconds" in watch or own_loss > slack * target:
            return
        scoring = time.perf_counter()
        loss = float(float32_objective(image)[0])
        watch["scored"] += 1
        if loss <= target:
            watch.update(seconds=scoring - start - watch["scoring"], float32_loss=loss, own_loss=float(own_loss))
        watch["scoring"] += time.perf_counter() - scoring

    build = engine.objective  # watch the objectives the engine builds at the full size

    def watched(content_rgb, style_rgbs, settings, shape, cancel_check=None):
        objective = build(content_rgb, style_rgbs, settings, shape, cancel_check)
        return _Watched(objective, check) if tuple(shape) == content.shape[:2] else objective

    long_run = params.replace(iterations=300, coarse_iterations=params.level_iterations(0, params.pyramid_levels))
    engine.objective = watched
    try:
        result = engine.run(content.astype(np.uint8), [style.astype(np.uint8)], long_run,
                            should_stop=lambda: "seconds" in watch)
    finally:
        del engine.objective
    return {"seconds": watch.get("seconds"), "evaluations": result.evaluations,
            "float32_loss": watch.get("float32_loss"), "own_loss": watch.get("own_loss"),
            "images_scored": watch["scored"]}


class _Watched:
    """An objective that shows each image it evaluates, and its loss, to ``check``."""

    def __init__(self, objective, check):
        self._objective, self._check = objective, check

    def __getattr__(self, name):
        return getattr(self._objective, name)

    def __call__(self, image):
        loss, parts, grad = self._objective(image)
        self._check(image, loss)
        return loss, parts, grad


_ECHO = ("import sys; from core import protocol\n"
         "while (m := protocol.read_message(sys.stdin.buffer)) is not None:\n"
         "    protocol.write_message(sys.stdout.buffer, *m)\n")


def _protocol_round_trip(repeats=5):
    """Median seconds to send a 4000x3000 RGBA job to a child process and read it back."""
    from core import protocol

    pixels = protocol.Pixels(4000, 3000, 4, os.urandom(4000 * 3000 * 4))
    child = subprocess.Popen([sys.executable, "-c", _ECHO], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        protocol.write_message(child.stdin, protocol.job("bench", {}, pixels.info(), []), pixels.data)
        header, payload = protocol.read_message(child.stdout)
        times.append(time.perf_counter() - start)
        assert len(payload) == len(pixels.data)
    child.stdin.close()
    child.wait()
    return statistics.median(times)


def _worker_start(weights):
    """Seconds from starting ``python -m core.worker`` to its hello (model loaded)."""
    from core import protocol

    start = time.perf_counter()
    worker = subprocess.Popen([sys.executable, "-m", "core.worker", "--weights", weights], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    protocol.read_message(worker.stdout)
    seconds = time.perf_counter() - start
    worker.stdin.close()
    worker.wait()
    return seconds


def _peak_memory(weights, sizes, budget_gb):
    """A job's peak resident memory at each of ``sizes``, each in a fresh process."""
    return [in_child(weights, ["--memory-job", size, "--memory-budget", str(budget_gb)]) for size in sizes]


def in_child(weights, options, environment=None):
    """Run this benchmark with ``options`` in a fresh process (clean peak memory, a cold start;
    the Keras backend passes on through ``KERAS_BACKEND``; ``environment`` adds variables); its
    JSON."""
    command = [sys.executable, "-m", "core.bench", *options, "--weights", weights]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True,
                               env=dict(os.environ, **(environment or {})))
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _memory_job_here(weights, shape, budget_gb, evaluations=3):
    """A real one-scale job at ``shape`` within ``budget_gb`` (0: the engine's default), stopped
    after ``evaluations`` evaluations: its memory plan, time and this process's peak memory."""
    import numpy as np

    from core import images, tiles
    from core.engine import StyleTransfer, memory_plan
    from core.params import StyleParams
    from core.vgg import VGG19Features

    content = images.resize(images.load_image(os.path.join(SAMPLES, "tubingen.jpg"))[..., :3], shape)
    style = images.load_image(os.path.join(SAMPLES, "starry_night.jpg"))
    params = StyleParams(size=max(shape), iterations=100, pyramid_levels=1, memory_budget=budget_gb)
    plan = memory_plan(shape, params)
    polls = []
    start = time.perf_counter()
    result = StyleTransfer(VGG19Features(weights)).run(
        np.clip(content, 0, 255).astype(np.uint8), [style], params,
        should_stop=lambda: polls.append(1) or len(polls) > evaluations)
    return {"size": f"{shape[1]}x{shape[0]}", "budget_gb": params.memory_budget_bytes() / 1e9,
            "tile_side": plan.tile_side,
            "tiles": len(tiles.plan_tiles(shape, plan.tile_side)) if plan.tile_side else 1,
            "optimizer": plan.optimizer, "lbfgs_history": plan.history, "evaluations": result.evaluations,
            "seconds": time.perf_counter() - start, "peak_gib": _peak_gib()}


def _peak_gib() -> float:
    """This process's own peak resident memory, GiB. Not ``ru_maxrss``: Linux carries it across
    exec, so a child of the benchmark reported the benchmark's own peak when that was higher.
    /proc's VmHWM belongs to the program now running."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 2**20
    except (OSError, StopIteration):
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB; bytes on macOS
        return maxrss / (2**30 if sys.platform == "darwin" else 2**20)


if __name__ == "__main__":
    sys.exit(main())
