import os

import numpy as np
import pytest

from core import images

rng = np.random.default_rng(1)


def test_preprocess_deprocess_round_trip():
    rgb = rng.uniform(0, 255, size=(8, 6, 3)).astype(np.float32)
    bgr = images.preprocess(rgb)
    np.testing.assert_allclose(bgr[..., 0], rgb[..., 2] - images.VGG_MEAN_BGR[0], atol=1e-4)
    np.testing.assert_allclose(images.deprocess(bgr), rgb, atol=1e-4)


def test_bounds_are_the_valid_pixel_box():
    low, high = images.vgg_bounds()
    np.testing.assert_allclose(images.deprocess(np.broadcast_to(low, (1, 1, 3))), 0, atol=1e-4)
    np.testing.assert_allclose(images.deprocess(np.broadcast_to(high, (1, 1, 3))), 255, atol=1e-4)


def test_fit_long_side_keeps_aspect():
    assert images.fit_long_side((300, 400), 200) == (150, 200)
    assert images.fit_long_side((1000, 500), 100) == (100, 50)


def test_resize_handles_float_and_any_channel_count():
    pixels = rng.normal(size=(20, 30, 5)).astype(np.float32) * 100
    out = images.resize(pixels, (10, 15))
    assert out.shape == (10, 15, 5) and out.dtype == np.float32
    assert abs(out.mean() - pixels.mean()) < 5


def test_keep_colors_takes_luminance_from_result_and_colour_from_content():
    content = rng.uniform(0, 255, size=(4, 4, 3)).astype(np.float32)
    result = rng.uniform(60, 200, size=(4, 4, 3)).astype(np.float32)
    mixed = images.keep_colors(result, content)
    y_mixed, y_result = images.to_yiq(mixed)[..., 0], images.to_yiq(result)[..., 0]
    inside = (mixed > 0.5).all(-1) & (mixed < 254.5).all(-1)  # clipping may move the rest
    np.testing.assert_allclose(y_mixed[inside], y_result[inside], atol=0.05)
    np.testing.assert_allclose(
        images.to_yiq(mixed)[..., 1:][inside], images.to_yiq(content)[..., 1:][inside], atol=0.05
    )


def test_luminance_image_matches_mean_and_spread_of_the_reference():
    style = rng.uniform(0, 100, size=(16, 16, 3)).astype(np.float32)
    content = rng.uniform(100, 200, size=(16, 16, 3)).astype(np.float32)
    grey = images.luminance_image(style, like=content)
    assert np.allclose(grey[..., 0], grey[..., 1])
    y = images.to_yiq(content)[..., 0]
    assert grey[..., 0].mean() == pytest.approx(y.mean(), rel=1e-3)
    assert grey[..., 0].std() == pytest.approx(y.std(), rel=1e-2)


def test_load_and_save_rgba(tmp_path):
    pixels = rng.integers(0, 256, size=(12, 10, 4), dtype=np.uint8)
    path = str(tmp_path / "a.png")
    images.save_image(pixels, path)
    np.testing.assert_array_equal(images.load_image(path), pixels)


def test_load_errors_are_one_line(tmp_path):
    with pytest.raises(images.ImageError, match="no such file"):
        images.load_image(str(tmp_path / "missing.png"))
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(images.ImageError, match="not a readable image"):
        images.load_image(str(text))


def test_check_writable(tmp_path):
    images.check_writable(str(tmp_path / "out.png"))
    with pytest.raises(images.ImageError, match="unknown image type"):
        images.check_writable(str(tmp_path / "out.xyz"))
    with pytest.raises(images.ImageError, match="does not exist"):
        images.check_writable(str(tmp_path / "nowhere" / "out.png"))
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(images.ImageError, match="permission denied"):
            images.check_writable(str(locked / "out.png"))


def test_check_size_refuses_tiny_images():
    with pytest.raises(images.ImageError, match="at least 32 pixels"):
        images.check_size(np.zeros((31, 100, 3), np.uint8), "content image")
