"""The command line as a person runs it: a real subprocess, exit codes and one-line errors."""

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import speed
from tests.conftest import ROOT, skip_or_fail

SAMPLES = os.path.join(ROOT, "samples")


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env
    )


@pytest.fixture(scope="module")
def small_images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(3)
    paths = {}
    for name, size in (("content", (48, 64)), ("style", (40, 40)), ("tiny", (8, 8))):
        paths[name] = str(folder / f"{name}.png")
        Image.fromarray(rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)).save(paths[name])
    paths["black-mask"] = str(folder / "black-mask.png")
    Image.new("L", (64, 48)).save(paths["black-mask"])
    paths["empty"] = str(folder / "empty.png")
    Path(paths["empty"]).write_bytes(b"")
    paths["text"] = str(folder / "notes.jpg")
    Path(paths["text"]).write_text("hello")
    return paths


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "not-an-image",
        "tiny",
        "bad-output",
        "bad-number",
        "out-of-range",
        "bad-layer",
        "blend-count",
        "negative-weight",
        "unwritable-output",
        "empty-file",
        "missing-weights",
        "readable-not-writable",
        "content-as-output",
        "style-as-output",
        "too-many-pixels",
        "mask-count",
        "mask-unreadable",
        "mask-all-black",
        "mask-size",
    ],
)
def test_bad_input_gives_one_line_and_exit_2(small_images, tmp_path, case):
    c, s, out = small_images["content"], small_images["style"], str(tmp_path / "out.png")
    args, expected = {
        "missing": ([str(tmp_path / "nope.png"), s, "-o", out], ["no such file"]),
        "not-an-image": ([small_images["text"], s, "-o", out], ["not a readable image"]),
        "tiny": ([c, small_images["tiny"], "-o", out, "--weights", c], ["style image is 8x8"]),
        "bad-output": ([c, s, "-o", str(tmp_path / "no" / "out.png")], ["does not exist"]),
        "bad-number": ([c, s, "-o", out, "--size", "big"], ["invalid int value"]),
        "out-of-range": ([c, s, "-o", out, "--iterations", "0"], ["--iterations must be between"]),
        "negative-weight": ([c, s, "-o", out, "--content-weight", "-1"], ["error: --content-weight must be between"]),
        "unwritable-output": ([c, s, "-o", "/proc/out.png"], ["/proc/out.png: cannot write there"]),
        "empty-file": ([small_images["empty"], s, "-o", out], ["the file is empty (0 bytes)"]),
        "bad-layer": ([c, s, "-o", out, "--style-layers", "block1_conv9"], ["not a VGG19 convolution"]),
        "blend-count": ([c, s, "-o", out, "--style-blend", "1,2"], ["--style-blend has 2 weights for 1 style images"]),
        "missing-weights": ([c, s, "-o", out, "--weights", str(tmp_path / "w.h5")], ["does not exist"]),
        "readable-not-writable": (
            [c, s, "-o", str(tmp_path / "out.psd")],
            ["out.psd: .psd is a type that can be read but not written (PSD); write one of .png, .jpg"],
        ),
        "content-as-output": ([c, s, "-o", c], ["that is one of the input pictures; choose another output file"]),
        "style-as-output": ([c, s, "-o", s], ["that is one of the input pictures"]),
        "too-many-pixels": ([huge_png_header(tmp_path), s, "-o", out], ["larger than 16384x16384 pixels"]),
        "mask-count": ([c, s, "-o", out, "--style-masks", f"{c},{c}"], ["2 style masks for 1 style images"]),
        "mask-unreadable": ([c, s, "-o", out, "--style-masks", small_images["text"]], ["not a readable image"]),
        "mask-all-black": (
            [c, s, "-o", out, "--style-masks", small_images["black-mask"]],
            ["style mask 1 is all black: its style would paint nowhere"],
        ),
        "mask-size": (
            [c, s, "-o", out, "--style-masks", s],
            ["style mask 1 is 40x40 pixels; it must have the content"],
        ),
    }[case]
    inputs = {path: Path(path).read_bytes() for path in (c, s)}
    result = run_cli(*args)
    assert_one_line_error(result, *expected)
    assert "Warning" not in result.stderr
    assert not os.path.exists(out) and all(Path(path).read_bytes() == data for path, data in inputs.items())


def huge_png_header(folder):
    """A PNG that says it is 20000x20000 pixels (400 megapixels): its header alone, all that is read
    before the size is refused."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path = folder / "huge.png"
    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    return str(path)


def test_damaged_weights_file(small_images, tmp_path):
    bad = tmp_path / "weights.h5"
    bad.write_bytes(b"\x89HDF\r\n" + os.urandom(5000))
    out = str(tmp_path / "out.png")
    result = run_cli(small_images["content"], small_images["style"], "-o", out, "--weights", str(bad))
    assert_one_line_error(result, "is damaged or not VGG19's", "run the installer")
    assert not os.path.exists(out)


@pytest.mark.real_weights
def quantile_distance(a, b):
    """How far apart two pictures' colour distributions are: per channel, the mean gap between
    their 2nd to 98th percentiles, in levels."""
    levels = np.linspace(0.02, 0.98, 25)
    return np.mean([np.abs(np.quantile(a[..., c], levels) - np.quantile(b[..., c], levels)).mean() for c in range(3)])


def test_real_run_writes_the_painting(real_weights, tmp_path):
    """The picture written is painted: far from the photo, its colours moved toward the style's."""
    out = str(tmp_path / "result.png")
    content, style = os.path.join(SAMPLES, "tubingen.jpg"), os.path.join(SAMPLES, "starry_night.jpg")
    data = tmp_path / "data"
    result = run_cli(
        content, style, "-o", out, "--size", "96", "--iterations", "30", "--pyramid-levels", "1",
        "--weights", real_weights, env=dict(os.environ, NEURAL_STYLE_DATA_DIR=str(data)),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stderr and "30/30" in result.stderr  # the progress bar reached the end
    plan_line = next(line for line in result.stderr.splitlines() if " whole; " in line)
    assert plan_line.startswith("python -m core: 1 size: 96x72 whole; about ")
    assert plan_line.endswith("(a guess until a first painting here measures it)")  # no run measured yet
    [(kind, [timing])] = json.loads((data / "speed.json").read_text())["kinds"].items()
    assert kind.startswith("CPU tensorflow ") and timing["megapixels"] == 96 * 72 / 1e6  # this run measured
    with Image.open(out) as image, Image.open(content) as photo, Image.open(style) as painting:
        assert image.size == (96, 72)
        painted = np.asarray(image.convert("RGB"), float)
        photo_small = np.asarray(photo.convert("RGB").resize(image.size, Image.Resampling.LANCZOS), float)
        style_colours = np.asarray(painting.convert("RGB"), float)
    assert np.abs(painted - photo_small).mean() > 10
    assert quantile_distance(painted, style_colours) < 0.9 * quantile_distance(photo_small, style_colours)


def test_a_16_bit_grey_picture_is_painted_not_whitened(real_weights, tmp_path, shrunk_samples):
    """Pillow's own conversion clips 16-bit values to white; the painting must keep the picture."""
    with Image.open(shrunk_samples(96, 72)["tubingen"]) as photo:
        grey = np.asarray(photo.convert("L"), np.uint16) * 257
    content, out = tmp_path / "grey16.png", tmp_path / "result.png"
    Image.fromarray(grey).save(content)
    before = content.read_bytes()
    result = run_cli(
        str(content),
        os.path.join(SAMPLES, "starry_night.jpg"),
        "-o",
        str(out),
        "--size",
        "96",
        "--iterations",
        "3",
        "--pyramid-levels",
        "1",
        "--weights",
        real_weights,
    )
    assert result.returncode == 0, result.stderr
    with Image.open(out) as image:
        painted = np.asarray(image.convert("L"))
    assert (painted > 250).mean() < 0.2 and painted.std() > 20  # was 99.6 % white
    assert content.read_bytes() == before


def test_ctrl_c_while_starting_is_one_line_and_exit_130(small_images, tmp_path, real_weights):
    """During the first seconds Keras and TensorFlow are still being imported: no traceback. (The
    weights are given: without them a machine offline fails its download before one second.)"""
    out = tmp_path / "out.png"
    process = subprocess.Popen(
        [sys.executable, "-m", "core", small_images["content"], small_images["style"], "-o", str(out)]
        + ["--weights", real_weights],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # inside the imports, long before the first iteration
    process.send_signal(signal.SIGINT)
    stderr = process.communicate(timeout=120)[1]
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["python -m core: interrupted while starting; nothing was written"]
    assert not out.exists()


def test_ctrl_c_before_the_first_iteration_writes_nothing(small_images, real_weights, tmp_path):
    """Stopped once the run started but before anything was painted: no unpainted photo is written."""
    out = tmp_path / "out.png"
    process = subprocess.Popen(
        [sys.executable, "-m", "core", os.path.join(SAMPLES, "tubingen.jpg"), small_images["style"], "-o", str(out),
         "--size", "1024", "--pyramid-levels", "1", "--weights", real_weights],
        cwd=ROOT, stderr=subprocess.PIPE,
    )  # fmt: skip
    seen = b""
    while b"0/1" not in seen:  # the progress bar is up: the run has started, no iteration is done
        byte = process.stderr.read(1)
        assert byte, seen.decode(errors="replace")
        seen += byte
    process.send_signal(signal.SIGINT)
    stderr = (seen + process.communicate(timeout=300)[1]).decode()
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "python -m core: stopped before anything was painted; nothing was written"
    assert not out.exists()


def test_a_sideways_phone_photo_is_painted_upright(real_weights, tmp_path, shrunk_samples):
    """A JPEG stored landscape with EXIF orientation 6 (as phones write it) is shown portrait by
    every viewer: the painting is portrait too."""
    photo = tmp_path / "phone.jpg"
    with Image.open(shrunk_samples(96, 72)["tubingen"]) as landscape:
        exif = Image.Exif()
        exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to show
        landscape.save(photo, exif=exif)
    before, out = photo.read_bytes(), tmp_path / "out.png"
    result = run_cli(str(photo), shrunk_samples(96, 72)["starry_night"], "-o", str(out), "--size", "96",
                     "--iterations", "2", "--pyramid-levels", "1", "--weights", real_weights)  # fmt: skip
    assert result.returncode == 0, result.stderr
    with Image.open(out) as painted:
        assert painted.size == (72, 96)
    assert photo.read_bytes() == before


def test_an_adobe_rgb_picture_is_read_as_its_colours_not_as_srgb(real_weights, tmp_path, shrunk_samples):
    """The same picture in Adobe RGB and in sRGB, kept as it is (no style, no smoothing, its own
    size), comes out the same in sRGB within rounding; the conversion is said in one line and the
    result is tagged sRGB."""
    from PIL import ImageCms

    from tests.gimp_harness import ROOTS

    adobe = os.path.join(ROOTS["trixie"], "usr", "share", "color", "icc", "ghostscript", "a98.icc")
    if not os.path.exists(adobe):
        skip_or_fail(f"no Adobe RGB (1998) profile at {adobe} (the trixie root's ghostscript brings one)")
    srgb_twin = shrunk_samples(96, 72)["tubingen"]
    in_adobe = tmp_path / "adobe.png"
    with Image.open(srgb_twin) as picture:
        converted = ImageCms.profileToProfile(picture, ImageCms.createProfile("sRGB"), adobe, outputMode="RGB")
        converted.save(in_adobe, icc_profile=ImageCms.ImageCmsProfile(adobe).tobytes())
    kept = ("--size", "0", "--style-weight", "0", "--tv-weight", "0", "--iterations", "1", "--pyramid-levels", "1",
            "--weights", real_weights)  # fmt: skip
    outputs = []
    for source in (in_adobe, srgb_twin):
        outputs.append(tmp_path / f"out-{len(outputs)}.png")
        result = run_cli(str(source), shrunk_samples(96, 72)["starry_night"], "-o", str(outputs[-1]), *kept)
        assert result.returncode == 0, result.stderr
        if source == in_adobe:
            assert f"{in_adobe}: converted from its colour profile (" in result.stderr
    with Image.open(outputs[0]) as from_adobe, Image.open(outputs[1]) as from_srgb:
        assert (
            "srgb"
            in ImageCms.getProfileDescription(
                ImageCms.ImageCmsProfile(io.BytesIO(from_adobe.info["icc_profile"]))
            ).lower()
        )
        difference = np.abs(np.asarray(from_adobe.convert("RGB"), int) - np.asarray(from_srgb.convert("RGB"), int))
    assert difference.mean() < 1.5 and difference.max() <= 8  # 8-bit Adobe RGB rounds coarser than sRGB


def test_size_0_paints_at_the_pictures_own_size_in_the_time_this_computer_measured(
    small_images, real_weights, tmp_path
):
    out, record = tmp_path / "out.png", str(tmp_path / "speed.json")
    with Image.open(small_images["content"]) as photo:
        size = photo.size
    kind = speed.kind("CPU", "tensorflow", "float32")
    speed.remember(kind, [speed.SizeTiming(0.01, 2.0, 1.0), speed.SizeTiming(0.04, 5.0, 4.0)], record)
    measured = speed.estimate(kind, [(3, size[0] * size[1] / 1e6)], record)  # before this run adds its own
    result = run_cli(small_images["content"], small_images["style"], "-o", str(out), "--size", "0",
                     "--iterations", "3", "--pyramid-levels", "1", "--weights", real_weights,
                     "--backend", "tensorflow", "--precision", "float32",
                     env=dict(os.environ, NEURAL_STYLE_DATA_DIR=str(tmp_path)))  # fmt: skip
    assert result.returncode == 0, result.stderr
    with Image.open(out) as painted:
        assert painted.size == size
    assert f"; CPU, float32; {measured.text()}\n" in result.stderr  # from the record, not the guess


def test_an_animated_picture_is_said_to_give_its_first_frame(small_images, tmp_path):
    frames = [Image.open(small_images["content"]).convert("P"), Image.open(small_images["style"]).convert("P")]
    animation = tmp_path / "moving.gif"
    frames[0].save(animation, save_all=True, append_images=frames[1:])
    missing = str(tmp_path / "no-weights.h5")  # stops the run right after the pictures are read
    result = run_cli(str(animation), small_images["style"], "-o", str(tmp_path / "out.png"), "--weights", missing)
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"python -m core: {animation} is an animation of 2 frames; using its first", result.stderr
    assert result.returncode == 2 and "does not exist" in lines[-1]


def striped_texture(path, channel, side, rng) -> str:
    """A style picture of vertical stripes in one colour channel (0 red, 2 blue) over dark noise,
    saved at ``path``; its path."""
    texture = rng.integers(0, 60, size=(side, side, 3), dtype=np.uint8)
    texture[..., channel] = 150 + (np.sin(np.arange(side) / 3.0)[None, :] * 60).astype(np.uint8)
    Image.fromarray(texture).save(path)
    return str(path)


def test_two_styles_paint_their_own_halves_with_a_soft_border(real_weights, tmp_path):
    """A red and a blue texture, masks on the left and the right half: each half takes its style's
    colours, and the colour changes over a few columns, not in one step."""
    rng = np.random.default_rng(0)
    paths = {
        name: striped_texture(tmp_path / f"{name}.png", channel, 128, rng)
        for name, channel in (("red", 0), ("blue", 2))
    }
    photo = os.path.join(SAMPLES, "tubingen.jpg")
    with Image.open(photo) as opened:
        width, height = opened.size
    left = np.zeros((height, width), np.uint8)
    left[:, : width // 2] = 255
    for name, mask in (("left", left), ("right", 255 - left)):
        paths[name] = str(tmp_path / f"{name}.png")
        Image.fromarray(mask).save(paths[name])
    out = str(tmp_path / "result.png")
    result = run_cli(
        photo, paths["red"], paths["blue"], "-o", out, "--style-masks", f"{paths['left']},{paths['right']}",
        "--size", "128", "--iterations", "60", "--pyramid-levels", "1", "--weights", real_weights,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with Image.open(out) as image, Image.open(photo) as opened:
        painted = np.asarray(image.convert("RGB"), float)
        photo_small = np.asarray(opened.convert("RGB").resize(image.size, Image.Resampling.LANCZOS), float)

    def redness(picture):  # per column: how much redder than blue
        return (picture[..., 0] - picture[..., 2]).mean(axis=0)

    change = redness(painted) - redness(photo_small)
    quarter = painted.shape[1] // 4
    assert change[:quarter].mean() > 20 and change[-quarter:].mean() < -20, change  # measured: +38, -40
    middle = painted.shape[1] // 2
    across = redness(painted)[:quarter].mean() - redness(painted)[-quarter:].mean()
    assert np.abs(np.diff(redness(painted)[middle - 8 : middle + 8])).max() < 0.4 * across, redness(painted)
