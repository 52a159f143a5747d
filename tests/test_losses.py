"""The loss terms against plain NumPy on small random arrays."""
import numpy as np
import pytest
from keras import ops

from core import losses

rng = np.random.default_rng(0)
FEATURES = rng.normal(size=(1, 5, 7, 4)).astype(np.float32)
TARGET = rng.normal(size=(1, 5, 7, 4)).astype(np.float32)
IMAGE = rng.uniform(-100, 100, size=(1, 6, 9, 3)).astype(np.float32)


def numpy_gram(features):
    flat = features.reshape(-1, features.shape[-1]).astype(np.float64)
    return flat.T @ flat


def value(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)


def test_gram_matrix_raw_and_normalised():
    raw = numpy_gram(FEATURES)
    np.testing.assert_allclose(value(losses.gram_matrix(FEATURES, normalise=False)), raw, rtol=1e-5)
    np.testing.assert_allclose(value(losses.gram_matrix(FEATURES)), raw / (5 * 7 * 4), rtol=1e-5)


def test_normalised_gram_does_not_depend_on_image_size():
    tiled = np.tile(FEATURES, (1, 3, 2, 1))  # the same statistics over six times the area
    np.testing.assert_allclose(value(losses.gram_matrix(tiled)), value(losses.gram_matrix(FEATURES)),
                               rtol=1e-5)


def test_content_loss_mean_and_sum():
    squared = (FEATURES.astype(np.float64) - TARGET) ** 2
    assert value(losses.content_loss(FEATURES, TARGET)) == pytest.approx(squared.mean(), rel=1e-5)
    assert value(losses.content_loss(FEATURES, TARGET, normalise=False)) == pytest.approx(
        squared.sum(), rel=1e-5)


def test_style_loss_mean_and_tutorial_formula():
    a, b = numpy_gram(FEATURES), numpy_gram(TARGET)
    assert value(losses.style_loss(a.astype(np.float32), b.astype(np.float32))) == pytest.approx(
        ((a - b) ** 2).mean(), rel=1e-5)
    pixels = 40 * 30
    expected = ((a - b) ** 2).sum() / (4.0 * 9 * pixels**2)
    assert value(losses.style_loss(a.astype(np.float32), b.astype(np.float32), pixels)) == pytest.approx(
        expected, rel=1e-5)


def test_total_variation_matches_the_tutorial_definition():
    x = IMAGE.astype(np.float64)
    a = (x[:, :-1, :-1, :] - x[:, 1:, :-1, :]) ** 2
    b = (x[:, :-1, :-1, :] - x[:, :-1, 1:, :]) ** 2
    expected = (a + b) ** 1.25
    assert value(losses.total_variation_loss(IMAGE, normalise=False)) == pytest.approx(
        expected.sum(), rel=1e-5)
    assert value(losses.total_variation_loss(IMAGE)) == pytest.approx(expected.mean(), rel=1e-5)
