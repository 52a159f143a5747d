"""What placing styles by masks costs: seconds per evaluation with two and four style regions
(guided Gram matrices, ``core.regions``) against one style everywhere, in the same run."""

from __future__ import annotations

import os
import statistics

from core.bench.common import SAMPLES, engine_for, sample_pictures, seconds_per_evaluation


def region_figures(weights, shape, rounds=3) -> dict:
    """Median seconds per evaluation at ``shape`` of one style, two styles on the left and right
    halves and four on the quarters, the cases alternating ``rounds`` times; ratios to one style."""
    import numpy as np

    from core import images
    from core.params import StyleParams

    engine = engine_for(weights)
    params = StyleParams(size=max(shape))
    content, starry = sample_pictures(shape)
    shipwreck = images.resize(images.load_image(os.path.join(SAMPLES, "shipwreck.jpg"))[..., :3], shape)
    height, width = shape

    def quarters(count):
        masks = []
        for k in range(count):
            mask = np.zeros(shape, np.uint8)
            mask[:, k * width // count : (k + 1) * width // count] = 255
            masks.append(mask)
        return masks

    cases = {
        "one_style": engine.objective(content, [starry], params, shape),
        "two_regions": engine.objective(content, [starry, shipwreck], params, shape, quarters(2)),
        "four_regions": engine.objective(content, [starry, shipwreck] * 2, params, shape, quarters(4)),
    }
    x0 = images.preprocess(content)
    seconds = {name: [] for name in cases}
    for _ in range(rounds):
        for name, objective in cases.items():
            seconds[name].append(seconds_per_evaluation(objective, x0))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    return {
        "size": f"{width}x{height}",
        "seconds_per_evaluation": medians,
        "ratio_to_one_style": {name: round(value / medians["one_style"], 3) for name, value in medians.items()},
    }
