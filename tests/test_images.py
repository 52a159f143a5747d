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
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(images.ImageError, match=r"empty.png: the file is empty \(0 bytes\)$"):
        images.load_image(str(empty))


def _png_16_bit_rgb(path, rgb16):
    """A 16-bit-per-channel RGB PNG (Pillow writes none), chunk by chunk as the PNG standard says."""
    import struct
    import zlib

    height, width, _ = rgb16.shape
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in rgb16)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


GREY = (np.arange(48 * 64).reshape(48, 64) * 7 % 256).astype(np.uint8)  # every grey level, shuffled
RGB = np.dstack([GREY, np.roll(GREY, 5, axis=1), 255 - GREY])


def _deep_greys():
    from PIL import Image

    return {
        "I;16 PNG": (Image.fromarray(GREY.astype(np.uint16) * 257), "png"),
        "I;16 TIFF": (Image.fromarray(GREY.astype(np.uint16) * 257), "tif"),
        "I (32-bit integer, 16-bit range) TIFF": (Image.fromarray(GREY.astype(np.int32) * 257, "I"), "tif"),
        "I (32-bit integer, 8-bit range) TIFF": (Image.fromarray(GREY.astype(np.int32), "I"), "tif"),
        "F (float, 0 to 1) TIFF": (Image.fromarray(GREY.astype(np.float32) / 255, "F"), "tif"),
        "F (float, 0 to 255) TIFF": (Image.fromarray(GREY.astype(np.float32), "F"), "tif"),
    }


@pytest.mark.parametrize("kind", list(_deep_greys()))
def test_deep_greys_load_as_their_8_bit_version(tmp_path, kind):
    picture, extension = _deep_greys()[kind]
    path = tmp_path / f"picture.{extension}"
    picture.save(path)
    loaded = images.load_image(str(path))
    expected = np.dstack([GREY, GREY, GREY, np.full_like(GREY, 255)])
    assert np.abs(loaded.astype(int) - expected).max() <= 1, kind


def test_every_other_mode_loads_as_its_8_bit_rgb_version(tmp_path):
    from PIL import Image

    rgb = Image.fromarray(RGB)
    opaque = np.dstack([RGB, np.full_like(GREY, 255)])
    grey = np.dstack([GREY, GREY, GREY, np.full_like(GREY, 255)])
    alpha = np.where(GREY > 128, 255, 0).astype(np.uint8)
    palette = rgb.quantize(64)
    cases = {
        "16-bit RGB PNG": (None, np.dstack([RGB, np.full_like(GREY, 255)]), 1),
        "L": (Image.fromarray(GREY), grey, 0),
        "LA": (Image.fromarray(np.dstack([GREY, alpha]), "LA"), np.dstack([GREY, GREY, GREY, alpha]), 0),
        "1": (
            Image.fromarray(GREY > 128),
            np.dstack([np.where(GREY > 128, 255, 0)] * 3 + [np.full_like(GREY, 255)]),
            0,
        ),
        "P with transparency": (palette, np.asarray(palette.convert("RGBA")), 0),
        "CMYK": (rgb.convert("CMYK"), opaque, 2),
        "RGBA": (Image.fromarray(np.dstack([RGB, alpha])), np.dstack([RGB, alpha]), 0),
    }
    palette.info["transparency"] = 0
    cases["P with transparency"] = (palette, np.asarray(palette.convert("RGBA")), 0)
    for kind, (picture, expected, tolerance) in cases.items():
        path = tmp_path / f"{kind.replace(' ', '_')}.{'tif' if kind == 'CMYK' else 'png'}"
        if picture is None:
            _png_16_bit_rgb(path, RGB.astype(np.uint16) * 257)
        else:
            picture.save(path)
        loaded = images.load_image(str(path))
        assert loaded.shape == expected.shape and np.abs(loaded.astype(int) - expected).max() <= tolerance, kind


def test_a_32_bit_picture_beyond_16_bits_is_refused_in_one_line(tmp_path):
    from PIL import Image

    path = tmp_path / "wide.tif"
    Image.fromarray(GREY.astype(np.int32) * 100000, "I").save(path)
    with pytest.raises(
        images.ImageError, match=r"wide.tif: a 32-bit picture with values up to \d+; save it as 8 or 16 bits$"
    ):
        images.load_image(str(path))


def test_check_writable(tmp_path):
    images.check_writable(str(tmp_path / "out.png"))
    assert not (tmp_path / "out.png").exists()  # tried, and nothing left behind
    kept = tmp_path / "kept.png"
    kept.write_bytes(b"an earlier result")
    images.check_writable(str(kept))
    assert kept.read_bytes() == b"an earlier result"
    with pytest.raises(images.ImageError, match=r"/proc/out.png: cannot write there \("):
        images.check_writable("/proc/out.png")  # permissions say yes to root; writing says no
    with pytest.raises(images.ImageError, match="unknown image type"):
        images.check_writable(str(tmp_path / "out.xyz"))
    with pytest.raises(images.ImageError, match="does not exist"):
        images.check_writable(str(tmp_path / "nowhere" / "out.png"))
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(images.ImageError, match="(?i)permission denied"):
            images.check_writable(str(locked / "out.png"))


def test_check_size_refuses_tiny_images():
    with pytest.raises(images.ImageError, match="at least 32 pixels"):
        images.check_size(np.zeros((31, 100, 3), np.uint8), "content image")
