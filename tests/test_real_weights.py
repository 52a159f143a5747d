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


def test_style_loss_falls_tenfold_on_the_sample_images(real_weights):
    content = images.load_image(os.path.join(ROOT, "samples", "tubingen.jpg"))
    style = images.load_image(os.path.join(ROOT, "samples", "starry_night.jpg"))
    params = StyleParams(size=128, iterations=40, pyramid_levels=1)
    engine = StyleTransfer(VGG19Features(real_weights))
    shape = images.fit_long_side(content.shape, params.size)
    content_rgb = content[..., :3].astype(np.float32)
    start = images.preprocess(images.resize(content_rgb, shape))[None]
    _, initial, _ = engine.objective(content_rgb, [style[..., :3].astype(np.float32)], params, shape)(start)
    result = engine.run(content, [style], params)
    assert result.losses["style"] * 10 <= initial["style"]
    assert result.pixels.shape == (*shape, 4)
    assert result.pixels[..., :3].std() > 20  # a picture, not a flat field
