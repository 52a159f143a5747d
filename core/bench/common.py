"""What the benchmark's parts share: the pictures, the network, timing one call, child processes."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLES = os.path.join(ROOT, "samples")


def parse_size(text: str) -> tuple:
    """ "WIDTHxHEIGHT" -> (height, width)."""
    width, height = (int(v) for v in text.lower().split("x"))
    return height, width


def sample_pictures(shape):
    """Tübingen and The Starry Night at ``shape``, both sides of every comparison, as whole
    0..255 values (Lanczos overshoots clipped), as the engine's uint8 input has them. The style is
    given at the content's size, as the tutorial's batch needs; with style_scale 1 the engine then
    uses it as it is, so both sides compute exactly the same loss."""
    import numpy as np

    from core import images

    def load(name):
        return np.clip(np.rint(images.resize(images.load_image(os.path.join(SAMPLES, name))[..., :3], shape)), 0, 255)

    return load("tubingen.jpg"), load("starry_night.jpg")


def engine_for(weights):
    """The engine on ``weights`` (None: a random network, for trying the benchmark out)."""
    from core.engine import StyleTransfer
    from core.vgg import VGG19Features

    return StyleTransfer(VGG19Features(weights))


def machine() -> dict:
    import keras

    from core.backends import device_name

    return {"cpus": os.cpu_count(), "backend": keras.backend.backend(), "device": device_name()}


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


def weights_options(weights):
    return ["--weights", weights] if weights else ["--random-weights"]


def in_child(weights, options, environment=None):
    """Run the benchmark with ``options`` in a fresh process (clean peak memory, a cold start;
    the Keras backend passes on through ``KERAS_BACKEND``; ``environment`` adds variables); its
    JSON."""
    command = [sys.executable, "-m", "core.bench", *options, *weights_options(weights)]
    completed = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, **(environment or {}))
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(options)} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])
