"""Figures per backend and precision, on a GPU, and against pastiche (PyPI), and a job's
start-up step by step. They run on the Keras backend of the process (``--backend``). Everything
here is measured in this run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from core.bench.common import ROOT, SAMPLES, engine_for, in_child, sample_pictures, seconds_per_evaluation

PRECISIONS = ("float32", "bfloat16")


def _inputs(side):
    """The main benchmark's pictures at side x side (rounded and clipped once), as the uint8 a
    job receives."""
    return [picture.astype("uint8") for picture in sample_pictures((side, side))]


def evaluation_seconds(engine, side, precision):
    """Median seconds of one loss-and-gradient call (host arrays in and out) at side x side."""
    import numpy as np

    from core import images
    from core.params import StyleParams

    content, style = _inputs(side)
    params = StyleParams(size=side, precision=precision)
    objective = engine.objective(content.astype(np.float32), [style.astype(np.float32)], params, (side, side))
    return seconds_per_evaluation(objective, images.preprocess(content.astype(np.float32)))


def timed_run(engine, side, precision, iterations, optimizer="auto"):
    """One single-scale job: (seconds, final weighted losses, evaluations, pixels)."""
    from core.params import StyleParams

    content, style = _inputs(side)
    params = StyleParams(size=side, iterations=iterations, pyramid_levels=1, precision=precision, optimizer=optimizer)
    start = time.perf_counter()
    result = engine.run(content, [style], params)
    return time.perf_counter() - start, result.losses, result.evaluations, result.pixels


def precision_figures(weights, side=512, iterations=100, out_dir=None):
    """float32 against bfloat16 here: seconds per evaluation and the losses after a full run."""
    engine = engine_for(weights)
    report = {"size": f"{side}x{side}", "iterations": iterations}
    for precision in PRECISIONS:
        seconds, losses, evaluations, pixels = timed_run(engine, side, precision, iterations)
        report[precision] = {
            "seconds_per_evaluation": evaluation_seconds(engine, side, precision),
            "run_seconds": seconds,
            "evaluations": evaluations,
            "final_losses": losses,
        }
        if out_dir:
            _save(pixels, out_dir, f"precision_{precision}.png")
    f32, b16 = report["float32"], report["bfloat16"]
    report["bfloat16_speedup_per_evaluation"] = f32["seconds_per_evaluation"] / b16["seconds_per_evaluation"]
    report["bfloat16_loss_difference"] = {
        part: b16["final_losses"][part] / f32["final_losses"][part] - 1 for part in ("style", "content", "total")
    }
    return report


def gpu_figures(weights, side=512, iterations=500, out_dir=None):
    """The GPU targets: seconds per evaluation at 512 and 1024 px (``side`` and twice it), and 500
    iterations at 512 px after warm-up (the compile of the first job is reported apart)."""
    engine = engine_for(weights)
    report = {}
    for precision in PRECISIONS:
        report[precision] = {
            f"seconds_per_evaluation_{s}": evaluation_seconds(engine, s, precision) for s in (side, 2 * side)
        }
        first, *_ = timed_run(engine, side, precision, iterations)
        seconds, losses, evaluations, pixels = timed_run(engine, side, precision, iterations)
        report[precision].update(
            first_job_seconds_with_compile=first,
            seconds_for_the_iterations=seconds,
            evaluations=evaluations,
            seconds_per_evaluation_in_run=seconds / evaluations,
            final_losses=losses,
        )
        if out_dir:
            _save(pixels, out_dir, f"gpu_500_{precision}.png")
    return report


def pastiche_comparison(weights, out_dir, iterations=500, side=512):
    """Both programs end to end from the command line, same pictures, size and iteration count,
    same GPU: pastiche (its own copy of the same Keras VGG19 weights) and ``python -m core``,
    twice (the second finds its compiled programs cached), and once for a single iteration (the
    start-up cost: imports, network, compiling)."""
    content = os.path.join(SAMPLES, "tubingen.jpg")
    style = os.path.join(SAMPLES, "starry_night.jpg")
    ours = [
        sys.executable,
        "-m",
        "core",
        content,
        style,
        "-o",
        os.path.join(out_dir, "ours.png"),
        "--size",
        str(side),
        "--iterations",
        str(iterations),
        "--pyramid-levels",
        "1",
        "--weights",
        weights,
        "--backend",
        _backend(),
        "--quiet",
    ]
    theirs = [
        sys.executable,
        "-m",
        "pastiche",
        "-c",
        content,
        "-s",
        style,
        "-o",
        os.path.join(out_dir, "pastiche.png"),
        "--size",
        str(side),
        "--num-steps",
        str(iterations),
        "--no-verbose",
    ]
    one_iteration = ours[: ours.index("--iterations") + 1] + ["1"] + ours[ours.index("--iterations") + 2 :]
    report = {"iterations": iterations, "size": side}
    runs = (("pastiche", theirs), ("engine", ours), ("engine_again", ours), ("engine_one_iteration", one_iteration))
    for name, command in runs:
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        report[f"{name}_seconds"] = time.perf_counter() - start
    report["speedup_end_to_end"] = report["pastiche_seconds"] / report["engine_seconds"]
    report["speedup_end_to_end_second_run"] = report["pastiche_seconds"] / report["engine_again_seconds"]
    return report


def startup_figures(weights, side=512):
    """Where a job's start-up goes: a fresh process of this backend times each step up to a second
    evaluation at side x side (one scale, the default precision and optimiser); the whole
    process's wall time includes the interpreter's own start. Twice: with an empty compile cache
    (an artist's first job at a new size, under JAX, the one backend that keeps one), then with the
    cache that run filled."""
    report = {}
    with tempfile.TemporaryDirectory() as cache:
        for run in ("empty_compile_cache", "filled_compile_cache"):
            start = time.perf_counter()
            report[run] = in_child(
                weights, ["--startup-only", "--side", str(side)], {"JAX_COMPILATION_CACHE_DIR": cache}
            )
            report[run]["process_seconds"] = time.perf_counter() - start
        report["compile_cache_bytes"] = sum(entry.stat().st_size for entry in os.scandir(cache))
    return report


def startup_steps_here(weights, shape, import_seconds):
    """The steps of ``startup_figures``, in this (fresh) process; Keras was imported already,
    in ``import_seconds``."""
    steps = {"import_keras_and_backend": import_seconds}
    clock = time.perf_counter()

    def step(name):
        nonlocal clock
        now = time.perf_counter()
        steps[name] = now - clock
        clock = now

    from core.backends import device_name

    steps["device"] = device_name()
    step("find_device")
    import numpy as np

    from core import images
    from core.params import StyleParams

    step("import_engine")
    engine = engine_for(weights)
    step("network_with_weights")
    content, style = _inputs(max(shape))
    params = StyleParams(size=max(shape), pyramid_levels=1)
    objective = engine.objective(content.astype(np.float32), [style.astype(np.float32)], params, shape)
    on_device = objective.plan.optimizer == "device"
    steps.update(precision=engine.plan(content, [style], params).precision, optimizer="device" if on_device else "host")
    step("targets")
    image = images.preprocess(content.astype(np.float32))[None]
    evaluate = objective.on_device(image).run if on_device else lambda _: objective(image)
    evaluate(1)
    step("first_evaluation_with_compile")
    evaluate(1)
    step("second_evaluation")
    return steps


def _save(pixels, out_dir, name):
    from core import images

    images.save_image(pixels, os.path.join(out_dir, name))


def _backend():
    import keras

    return keras.backend.backend()
