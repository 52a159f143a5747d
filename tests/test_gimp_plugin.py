"""The plug-in end to end in a real GIMP 3 with the real worker and the real weights."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import __version__
from installer import settings
from installer.plugin import install_plugin
from tests.conftest import ROOT
from tests.gimp_harness import ENGINE_PYTHON, decode_pixels, python_script, run_gimp
from tests.test_cli import run_cli, striped_texture

pytestmark = pytest.mark.gimp
FAST = "quality='custom', iterations=4, working_size=64"
AT_LAYER_SIZE = "quality='custom', iterations=4, working_size=0"  # no scaling: pixels compare one to one


@pytest.fixture(scope="module")
def pictures(shrunk_samples, tmp_path_factory):
    """Small copies of the samples (fast runs), an RGBA picture with a transparent corner and a grey one."""
    folder = tmp_path_factory.mktemp("pictures")
    paths = dict(shrunk_samples(96, 72))
    empty = np.zeros((64, 64, 4), np.uint8)
    Image.fromarray(empty).save(folder / "empty.png")
    paths["empty"] = str(folder / "empty.png")
    with Image.open(paths["tubingen"]) as image:
        image.convert("L").save(folder / "grey.png")
    paths["grey"] = str(folder / "grey.png")
    return paths


def install(gimp, tmp_path, weights, python=ENGINE_PYTHON, over_ssh=("", "")):
    """A fresh GIMP profile with the plug-in installed as the installer lays it out, and settings
    that name this checkout's engine, ``python`` (the test environment's, or a script standing in
    for it) and ``weights``; its data folder and logs lie in ``tmp_path``. ``over_ssh``: (host,
    ssh command line) to reach that engine by ssh, as on another computer."""
    config = tmp_path / "config"
    plugins = config / gimp.plugins
    plugins.mkdir(parents=True)
    data = str(tmp_path / "data")
    install_plugin(str(plugins), data)
    engine = settings.EngineSettings(python, ROOT, weights, "tensorflow", "", __version__, str(tmp_path / "logs"))
    if over_ssh[0]:
        engine = engine._replace(kind=settings.SSH, host=over_ssh[0], ssh=over_ssh[1], device=f"CPU on {over_ssh[0]}")
    settings.write(data, engine)
    return str(config)


def engine_painting(folder, weights, *pictures_and_options):
    """The command line's painting of the 96x72 photo with 4 iterations at its own size, as the
    tests' plug-in runs paint it (``AT_LAYER_SIZE``): RGB ints."""
    reference = folder / "reference.png"
    done = run_cli(
        *pictures_and_options,
        "-o",
        str(reference),
        "--size",
        "96",
        "--iterations",
        "4",
        "--weights",
        weights,
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    with Image.open(reference) as picture:
        return np.asarray(picture.convert("RGB"), int)


def run(gimp, config, script):
    process, reports = run_gimp(script, config, gimp)
    assert reports, f"GIMP reported nothing:\n{process.stdout}\n{process.stderr[-3000:]}"
    assert reports[0]["gimp"].startswith(gimp.version + "."), reports[0]["gimp"]  # the GIMP meant
    return reports[0], process


def test_a_layer_becomes_a_new_stylised_layer_above_it(gimp, pictures, tmp_path, real_weights):
    config = install(gimp, tmp_path, real_weights)
    report, process = run(
        gimp,
        config,
        f"""
image = load({pictures["tubingen"]!r})
style_image = load({pictures["starry_night"]!r})
style_image.get_layers()[0].set_name("Starry Night")
style_file = style_image.get_file()  # GIMP 3.0 gives batch-loaded images no file, 3.2 does
layer = image.get_layers()[0]
layer.set_offsets(10, 20)
before = describe(image)
ok, error = run_neural_style(image, [layer], style_image.get_layers()[0], {AT_LAYER_SIZE})
procedure = Gimp.get_pdb().lookup_procedure("python-fu-neural-style")
report(ok=ok, error=error, before=before, after=describe(image), painted=layer_pixels(image.get_layers()[0]),
       style_file=style_file.get_basename() if style_file else None,
       menu=[procedure.get_menu_label(), procedure.get_menu_paths()])
""",
    )
    assert report["ok"], report["error"]
    new, source = report["after"]
    assert report["after"][1] == report["before"][0]  # the source is untouched
    assert report["menu"] == ["_Neural Style Transfer...", ["<Image>/Filters/Artistic"]]  # as the README says
    style_file = f" ({report['style_file']})" if report["style_file"] else ""  # its image's file, when known
    assert new["name"] == f"{source['name']} in the style of Starry Night{style_file}"
    assert (new["width"], new["height"], new["x"], new["y"]) == (96, 72, 10, 20)
    assert not new["mask"]
    # the painting is the engine's: the command line on the same pixels with the same settings
    expected = engine_painting(tmp_path, real_weights, pictures["tubingen"], pictures["starry_night"])
    painted = decode_pixels(report["painted"], 96, 72)[..., :3].astype(int)
    with Image.open(pictures["tubingen"]) as photo:
        original = np.asarray(photo.convert("RGB"), int)
    assert np.abs(painted - expected).max() <= 2  # the same within rounding (equal, on one machine)
    assert np.abs(painted - original).mean() > 10  # and painted


def test_a_second_style_layer_paints_where_a_saved_selection_says(gimp, pictures, tmp_path, real_weights):
    """The Starry Night paints the rest, a blue texture the saved selection (the left half): the
    same painting as the command line's with that mask, and refused without a region."""
    blue = striped_texture(tmp_path / "blue.png", 2, 64, np.random.default_rng(0))
    config = install(gimp, tmp_path, real_weights)
    report, _ = run(
        gimp,
        config,
        f"""
image = load({pictures["tubingen"]!r})
image.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, 48, 72)
left = Gimp.Selection.save(image)
left.set_name("Left half")
Gimp.Selection.none(image)
starry = load({pictures["starry_night"]!r}).get_layers()[0]
starry.set_name("Starry Night")
blue = load({blue!r}).get_layers()[0]
blue.set_name("Blue")
layer = image.get_layers()[0]
without, refusal = run_neural_style(image, [layer], starry, style_layer_2=blue, {AT_LAYER_SIZE})
ok, error = run_neural_style(image, [layer], starry, style_layer_2=blue, style_region_2=left, {AT_LAYER_SIZE})
kept = image.get_layers()[0].get_parasite("neural-style-painting")
report(ok=ok, error=error, without=without, refusal=refusal, after=describe(image),
       painted=layer_pixels(image.get_layers()[0]), record=bytes(kept.get_data()).decode() if kept else None)
""",
    )
    assert not report["without"] and "Style layer 2 needs a region" in report["refusal"]
    assert report["ok"], report["error"]
    assert (
        report["after"][0]["name"].startswith("Background in the styles of Starry Night")
        and " and Blue" in (report["after"][0]["name"])
    )
    mask = np.zeros((72, 96), np.uint8)
    mask[:, :48] = 255
    Image.fromarray(mask).save(tmp_path / "left.png")
    expected = engine_painting(
        tmp_path, real_weights, pictures["tubingen"], pictures["starry_night"], blue,
        "--style-masks", f",{tmp_path / 'left.png'}",
    )  # fmt: skip
    painted = decode_pixels(report["painted"], 96, 72)[..., :3].astype(int)
    assert np.abs(painted - expected).max() <= 2  # the engine's painting with that mask
    blueness = (painted[..., 2] - painted[..., 0]).mean(axis=0)
    assert blueness[:24].mean() > blueness[-24:].mean() + 10  # the blue texture's half is the bluer
    record = json.loads(report["record"])  # the new layer remembers how it was painted
    assert record["source"]["layer"] == "Background"  # the layer painted, to paint again
    assert record["format"] == 1 and [(s["layer"], s["region"]) for s in record["styles"]] == [
        ("Starry Night", None),
        ("Blue", "Left half"),
    ]
    assert (record["settings"]["quality"], record["settings"]["iterations"], record["settings"]["working-size"]) == (
        "custom",
        4,
        0,
    )


def test_two_layers_from_one_worker_session(gimp, pictures, tmp_path, real_weights, counting_python):
    python, starts = counting_python
    config = install(gimp, tmp_path, real_weights, python)
    report, _ = run(
        gimp,
        config,
        f"""
image = load({pictures["tubingen"]!r})
first = image.get_layers()[0]
second = Gimp.Layer.new_from_drawable(first, image)
second.set_name("copy")
image.insert_layer(second, None, 0)
second.set_offsets(30, 5)
ok, error = run_neural_style(image, [first, second], load({pictures["starry_night"]!r}).get_layers()[0], {FAST})
report(ok=ok, error=error, after=describe(image), pixels=[layer_pixels(layer) for layer in image.get_layers()])
""",
    )
    assert report["ok"], report["error"]
    names = [layer["name"] for layer in report["after"]]
    assert names[0].startswith("copy in the style of") and names[1] == "copy"
    assert names[2].startswith("Background in the style of ") and len(names) == 4  # names: the test above
    assert (report["after"][0]["x"], report["after"][0]["y"]) == (30, 5)
    assert starts() == 1
    new_copy, copy, new_background, background = (decode_pixels(p, 96, 72)[..., :3] for p in report["pixels"])
    for new, source in ((new_copy, copy), (new_background, background)):  # each new layer is painted
        assert np.abs(new.astype(int) - source).mean() > 10


def test_a_selection_gives_a_masked_layer_over_its_bounds(gimp, pictures, tmp_path, real_weights):
    config = install(gimp, tmp_path, real_weights)
    report, _ = run(
        gimp,
        config,
        f"""
image = load({pictures["tubingen"]!r})
image.select_ellipse(Gimp.ChannelOps.REPLACE, 20, 10, 50, 40)
ok, error = run_neural_style(image, [image.get_layers()[0]], load({pictures["starry_night"]!r}).get_layers()[0], {FAST})
report(ok=ok, error=error, after=describe(image))
""",
    )
    assert report["ok"], report["error"]
    new = report["after"][0]
    assert new["mask"] and (new["x"], new["y"], new["width"], new["height"]) == (20, 10, 50, 40)


MASKED = """
def masked_picture(select):
    image = load({photo!r})
    layer = image.get_layers()[0]
    below = Gimp.Layer.new(image, "below", 96, 72, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
    image.insert_layer(below, None, 1)
    below.fill(Gimp.FillType.WHITE)
    mask = layer.create_mask(Gimp.AddMaskType.WHITE)
    layer.add_mask(mask)
    mask.get_buffer().set(Gegl.Rectangle.new(0, 0, 48, 72), "Y u8", bytes(48 * 72))  # hides the left half
    mask.get_buffer().flush()
    if select:
        image.select_rectangle(Gimp.ChannelOps.REPLACE, 24, 12, 60, 48)
    return image, layer
def composite(image):
    copy = image.duplicate()
    flat = copy.flatten()
    pixels = layer_pixels(flat)
    copy.delete()
    return pixels
for select in (False, True):
    image, layer = masked_picture(select)
    before = composite(image)
    ok, error = run_neural_style(image, [layer], load({style!r}).get_layers()[0], {options})
    new = image.get_layers()[0]
    report(ok=ok, error=error, before=before, after=composite(image), new_mask=new.get_mask() is not None,
           box=[*new.get_offsets()[1:], new.get_width(), new.get_height()])
"""


def test_a_layer_mask_hides_in_the_result_what_it_hid_in_the_source(gimp, pictures, tmp_path, real_weights):
    """A mask hiding the layer's left half: the new layer hides it too (the picture there is as
    before), alone and combined with a selection's mask; the right half is painted."""
    config = install(gimp, tmp_path, real_weights)
    script = MASKED.format(photo=pictures["tubingen"], style=pictures["starry_night"], options=FAST)
    process, reports = run_gimp(script, config, gimp)
    assert len(reports) == 2, process.stderr[-3000:]
    for report, selected in zip(reports, (False, True)):
        assert report["ok"], report["error"]
        assert report["new_mask"] and report["box"] == ([24, 12, 60, 48] if selected else [0, 0, 96, 72])
        before, after = (decode_pixels(report[key], 96, 72).astype(int) for key in ("before", "after"))
        assert np.abs(after[:, :48] - before[:, :48]).max() <= 1  # hidden before, hidden now
        painted = (slice(12, 60), slice(48, 84)) if selected else (slice(None), slice(48, None))
        assert np.abs(after[painted] - before[painted]).mean() > 10
        if selected:  # outside the selection, nothing changed either
            assert np.abs(after[:12] - before[:12]).max() <= 1 and np.abs(after[60:] - before[60:]).max() <= 1


def test_grey_image_gets_a_grey_result_layer(gimp, pictures, tmp_path, real_weights):
    config = install(gimp, tmp_path, real_weights)
    report, _ = run(
        gimp,
        config,
        f"""
image = load({pictures["grey"]!r})
ok, error = run_neural_style(image, image.get_layers(), load({pictures["starry_night"]!r}).get_layers()[0], {FAST})
report(ok=ok, error=error, after=describe(image), pixels=[layer_pixels(layer) for layer in image.get_layers()])
""",
    )
    assert report["ok"], report["error"]
    assert report["after"][0]["gray"] and len(report["after"]) == 2
    painted, grey = (decode_pixels(p, 96, 72)[..., 0].astype(int) for p in report["pixels"])
    assert (painted > 250).mean() < 0.2 and painted.std() > 20  # painted, not whitened
    assert np.abs(painted - grey).mean() > 10


# Runs the worker (its arguments) and passes its messages on until the first progress message:
# then the worker, and this stand-in with it, die by SIGKILL, as a crash mid-job would.
KILL_ON_FIRST_PROGRESS = """
import os, signal, subprocess, sys
worker = subprocess.Popen([sys.executable, *sys.argv[1:]], stdout=subprocess.PIPE)
while chunk := os.read(worker.stdout.fileno(), 1 << 16):
    os.write(1, chunk)
    if b'"type":"progress"' in chunk:
        worker.kill()
        worker.wait()
        os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing-engine", "not installed"),
        ("empty-style", "is empty (fully transparent)"),
        ("no-style", "Choose a style layer"),
        ("killed-worker", "The Neural Style engine stopped unexpectedly"),
        ("layer-group", "is a layer group"),
        ("tiny-layer", "Layer 'tiny' is 1x1 px; Neural Style needs at least 32x32"),
        (
            "damaged-weights",
            f"The VGG19 weights Neural Style paints with are missing or damaged. {settings.REINSTALL} Details are in ",
        ),
    ],
)
def test_failures_return_an_error_status_and_leave_the_image_as_it_was(
    gimp, pictures, tmp_path, real_weights, counting_python, case, expected
):
    python, starts = counting_python
    weights = real_weights
    options = "quality='custom', iterations=5, working_size=64"
    if case == "killed-worker":  # the worker dies by SIGKILL mid-job, right after its first progress
        relay = tmp_path / "kill_on_first_progress.py"
        relay.write_text(KILL_ON_FIRST_PROGRESS)
        python = python_script(tmp_path, "killed-python", f'exec "$PYTHON" \'{relay}\' "$@"')
        options = "quality='custom', iterations=5000, working_size=64"
    if case == "damaged-weights":  # the first megabyte of the real file
        weights = str(tmp_path / "damaged.h5")
        with open(real_weights, "rb") as f:
            Path(weights).write_bytes(f.read(1_000_000))
    config = install(gimp, tmp_path, weights, python)
    if case == "missing-engine":
        os.remove(tmp_path / "data" / settings.FILE)
    style = {"empty-style": f"load({pictures['empty']!r}).get_layers()[0]", "no-style": "None"}.get(
        case, f"load({pictures['starry_night']!r}).get_layers()[0]"
    )
    target = {"layer-group": "group", "tiny-layer": "tiny"}.get(case, "picture")
    report, process = run(
        gimp,
        config,
        f"""
image = load({pictures["tubingen"]!r})
picture = image.get_layers()[0]
group = Gimp.GroupLayer.new(image, "group")
image.insert_layer(group, None, 0)
tiny = Gimp.Layer.new(image, "tiny", 1, 1, Gimp.ImageType.RGBA_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
image.insert_layer(tiny, None, 0)
before = describe(image)
ok, error = run_neural_style(image, [{target}], {style}, {options})
report(ok=ok, error=error, before=before, after=describe(image))
""",
    )
    assert not report["ok"]
    assert expected in report["error"] and "Traceback" not in report["error"]
    assert report["after"] == report["before"]
    assert "Traceback" not in process.stderr or case == "unexpected"
    if case in ("tiny-layer", "empty-style", "no-style", "layer-group"):
        assert starts() == 0  # refused before the engine started
    if case == "damaged-weights":  # the artist is pointed at the log, which has the engine's words
        log_file = report["error"].split("Details are in ")[1]
        assert log_file == str(tmp_path / "logs" / "plugin.log")
        assert "is damaged or not VGG19's" in Path(log_file).read_text(encoding="utf-8")
        assert "damaged.h5" in (tmp_path / "logs" / "worker.log").read_text(encoding="utf-8")
