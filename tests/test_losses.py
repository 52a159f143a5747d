"""The loss against plain NumPy on small random arrays, and its sums adding up over any split."""

import numpy as np
import pytest
from keras import ops

from core import losses
from core.regions import gathered

rng = np.random.default_rng(0)
LAYERS = ("block1_conv1",), ("block1_conv2", "block2_conv1")  # content, style: 64 channels each
IMAGE = rng.uniform(-100, 100, size=(1, 6, 8, 3)).astype(np.float32)
CONTENT = [rng.normal(size=(1, 6, 8, 64)).astype(np.float32)]
TARGETS = [rng.normal(size=(1, 6, 8, 64)).astype(np.float32)]
STYLE = [rng.normal(size=(1, 6, 8, 64)).astype(np.float32), rng.normal(size=(1, 3, 4, 128)).astype(np.float32)]
GRAM_TARGETS = [rng.normal(size=(1, 64, 64)).astype(np.float32), rng.normal(size=(1, 128, 128)).astype(np.float32)]
WEIGHTS = np.array([2.0, 3.0, 0.5, 0.25, 0.75], np.float32)


def value(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)


def numpy_gram(features):
    flat = features.reshape(-1, features.shape[-1]).astype(np.float64)
    return flat.T @ flat


def numpy_variation(image):
    x = image.astype(np.float64)
    return ((x[:, :-1, :-1] - x[:, 1:, :-1]) ** 2 + (x[:, :-1, :-1] - x[:, :-1, 1:]) ** 2) ** 1.25


def test_the_normalised_loss_is_means_over_each_feature_map():
    sums = losses.region_sums(CONTENT, TARGETS, STYLE, IMAGE)
    divisors = losses.divisors((6, 8), *LAYERS)
    total, parts = losses.loss(sums, GRAM_TARGETS, WEIGHTS, divisors)
    content = ((CONTENT[0].astype(np.float64) - TARGETS[0]) ** 2).mean()
    style = sum(w * ((numpy_gram(f) / f[0].size - t) ** 2).mean() for w, f, t in zip((0.25, 0.75), STYLE, GRAM_TARGETS))
    tv = numpy_variation(IMAGE).mean()
    assert value(parts["content"]) == pytest.approx(2.0 * content, rel=1e-5)
    assert value(parts["style"]) == pytest.approx(3.0 * style, rel=1e-5)
    assert value(parts["tv"]) == pytest.approx(0.5 * tv, rel=1e-5)
    assert value(total) == pytest.approx(2.0 * content + 3.0 * style + 0.5 * tv, rel=1e-5)


def test_the_tutorial_loss_is_sums_with_grams_over_36_pixels_squared():
    sums = losses.region_sums(CONTENT, TARGETS, STYLE, IMAGE)
    _, parts = losses.loss(sums, GRAM_TARGETS, WEIGHTS, losses.divisors((6, 8), *LAYERS, tutorial=True))
    style = sum(
        w * ((numpy_gram(f) - t) ** 2).sum() / (4.0 * 9 * 48**2) for w, f, t in zip((0.25, 0.75), STYLE, GRAM_TARGETS)
    )
    content = ((CONTENT[0].astype(np.float64) - TARGETS[0]) ** 2).sum()
    assert value(parts["content"]) == pytest.approx(2.0 * content, rel=1e-5)
    assert value(parts["style"]) == pytest.approx(3.0 * style, rel=1e-5)
    assert value(parts["tv"]) == pytest.approx(0.5 * numpy_variation(IMAGE).sum(), rel=1e-5)


def test_the_sums_of_two_halves_add_up_to_the_whole_images():
    def half(rows, feature):  # 1 on the given rows of a feature map or of the smoothness terms
        mask = np.zeros((1, feature.shape[1], feature.shape[2], 1), np.float32)
        mask[:, rows] = 1.0
        return mask

    whole = losses.region_sums(CONTENT, TARGETS, STYLE, IMAGE)
    terms = IMAGE[:, :-1, :-1]
    parts = []
    for top in (True, False):
        masks = [half(slice(0, f.shape[1] // 2) if top else slice(f.shape[1] // 2, None), f) for f in CONTENT + STYLE]
        pixel = half(slice(0, 2) if top else slice(2, None), terms)
        parts.append(losses.region_sums(CONTENT, TARGETS, STYLE, IMAGE, masks, pixel))
    for name in ("content", "grams"):
        for w, a, b in zip(getattr(whole, name), *(getattr(p, name) for p in parts)):
            np.testing.assert_allclose(value(a) + value(b), value(w), rtol=1e-5, atol=1e-3)
    assert value(parts[0].variation) + value(parts[1].variation) == pytest.approx(value(whole.variation), rel=1e-5)


def test_style_targets_blend_each_images_gram_matrix():
    a, b = (rng.normal(size=(64, 64)) for _ in range(2))
    divisors = [losses.divisors((8, 8), *LAYERS), losses.divisors((16, 16), *LAYERS)]
    blended = losses.style_targets(
        [([a[None], a[None]], divisors[0]), ([b[None], b[None]], divisors[1])], losses.one_region(2, (0.25, 0.75))
    )
    assert blended[0].shape == (1, 64, 64)
    np.testing.assert_allclose(blended[0][0], 0.25 * a / (8 * 8 * 64) + 0.75 * b / (16 * 16 * 64), rtol=1e-5, atol=1e-9)


def test_each_style_region_matches_its_own_targets_gram_matrix_over_its_own_positions():
    left = [np.zeros((1, f.shape[1], f.shape[2], 1), np.float32) for f in STYLE]
    for mask in left:
        mask[:, :, : mask.shape[2] // 2] = 1.0
        mask[:, :, mask.shape[2] // 2] = 0.25  # a soft border column
    regions = [np.concatenate([m, 1.0 - m]) for m in left]  # (2, h, w, 1): left, the rest
    targets = [np.concatenate([t, 2 * t]) for t in GRAM_TARGETS]
    sums = losses.region_sums(CONTENT, TARGETS, STYLE, IMAGE, regions=[gathered(r) for r in regions])
    divisors = losses.divisors((6, 8), *LAYERS, regions=regions)
    _, parts = losses.loss(sums, targets, WEIGHTS, divisors)
    style = 0.0
    for w, f, t, r in zip((0.25, 0.75), STYLE, targets, regions):
        flat = f.reshape(-1, f.shape[-1]).astype(np.float64)
        for k in range(2):
            weight = r[k].reshape(-1, 1).astype(np.float64)
            gram = (flat * weight).T @ flat / (weight.sum() * f.shape[-1])
            style += w * weight.sum() / weight.size * ((gram - t[k]) ** 2).mean()
    assert value(parts["style"]) == pytest.approx(3.0 * style, rel=1e-5)


def test_one_region_of_weight_one_everywhere_is_the_loss_without_regions():
    regions = [np.ones((1, f.shape[1], f.shape[2], 1), np.float32) for f in STYLE]
    plain = losses.loss(
        losses.region_sums(CONTENT, TARGETS, STYLE, IMAGE), GRAM_TARGETS, WEIGHTS, losses.divisors((6, 8), *LAYERS)
    )
    guided = losses.loss(
        losses.region_sums(CONTENT, TARGETS, STYLE, IMAGE, regions=[gathered(r) for r in regions]),
        GRAM_TARGETS,
        WEIGHTS,
        losses.divisors((6, 8), *LAYERS, regions=regions),
    )
    assert value(guided[0]) == pytest.approx(value(plain[0]), rel=1e-6)
