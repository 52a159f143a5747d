"""A small real stylisation with the ImageNet VGG19 weights."""

import os

import numpy as np
import pytest

from core import images
from core.engine import StyleTransfer
from core.params import StyleParams
from core.vgg import VGG19Features
from tests.conftest import ROOT

pytestmark = pytest.mark.real_weights


def test_the_returned_picture_has_a_tenth_of_the_style_loss(real_weights):
    content = images.load_image(os.path.join(ROOT, "samples", "tubingen.jpg"))
    style = images.load_image(os.path.join(ROOT, "samples", "starry_night.jpg"))
    params = StyleParams(size=128, iterations=40, pyramid_levels=1)
    engine = StyleTransfer(VGG19Features(real_weights))
    shape = images.fit_long_side(content.shape, params.size)
    content_rgb = content[..., :3].astype(np.float32)
    start = images.preprocess(images.resize(content_rgb, shape))[None]
    objective = engine.objective(content_rgb, [style[..., :3].astype(np.float32)], params, shape)
    _, initial, _ = objective(start)
    result = engine.run(content, [style], params)
    assert result.pixels.shape == (*shape, 4)
    # the returned picture itself, scored again: not the last evaluation's loss
    _, painted, _ = objective(images.preprocess(result.pixels[..., :3].astype(np.float32))[None])
    assert painted["style"] * 10 <= initial["style"]
