"""Peak memory by image size: each size in a fresh process, a real one-scale job (targets,
network, optimiser, tiles where the memory plan says so) stopped after a few evaluations."""

from __future__ import annotations

import os
import resource
import sys
import time

from core.bench.common import SAMPLES, engine_for, in_child


def peak_memory(weights, sizes, budget_gb):
    """A job's peak resident memory at each of ``sizes`` ("WIDTHxHEIGHT"), each in a fresh process."""
    return [in_child(weights, ["--memory-job", size, "--memory-budget", str(budget_gb)]) for size in sizes]


def memory_job_here(weights, shape, budget_gb, evaluations=3):
    """A real one-scale job at ``shape`` within ``budget_gb`` (0: the engine's default), stopped
    after ``evaluations`` evaluations: its memory plan, time and this process's peak memory."""
    import numpy as np

    from core import images, plan, tiles
    from core.params import StyleParams

    content = images.resize(images.load_image(os.path.join(SAMPLES, "tubingen.jpg"))[..., :3], shape)
    content = np.clip(content, 0, 255).astype(np.uint8)
    style = images.load_image(os.path.join(SAMPLES, "starry_night.jpg"))
    params = StyleParams(size=max(shape), iterations=100, pyramid_levels=1, memory_budget=budget_gb)
    engine = engine_for(weights)
    job = engine.plan(content, [style], params)
    size = job.sizes[-1]
    done = []  # one entry per evaluation: the stop is polled before each tile too, so polls are no count
    start = time.perf_counter()
    result = engine.run(
        content,
        [style],
        params,
        should_stop=lambda: len(done) >= evaluations,
        on_evaluation=lambda image, loss: done.append(loss),
    )
    border = tiles.halo(params.content_layers + params.style_layers)
    return {
        "size": f"{shape[1]}x{shape[0]}",
        "budget_gb": job.budget_bytes / 1e9,
        "tile_side": size.tile_side,
        "tiles": len(tiles.plan_tiles(size.shape, size.tile_side, border)) if size.tile_side else 1,
        "optimizer": size.optimizer,
        "lbfgs_history": size.history,
        "evaluations": result.evaluations,
        "seconds": time.perf_counter() - start,
        "peak_gib": peak_gib(),
        "planned_gib": plan.planned_bytes(size) / 2**30,
    }


def peak_gib() -> float:
    """This process's own peak resident memory, GiB. Not ``ru_maxrss``: Linux carries it across
    exec, so a child of the benchmark reported the benchmark's own peak when that was higher.
    /proc's VmHWM belongs to the program now running."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 2**20
    except (OSError, StopIteration):
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB; bytes on macOS
        return maxrss / (2**30 if sys.platform == "darwin" else 2**20)
