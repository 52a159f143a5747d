"""The GIMP program itself, under Xvfb, driven from outside as an artist would: the dialog's
Preview, the progress window with its live picture, Stop and keep, Cancel (``tests.gimp_gui``).

Each test runs the procedure interactively from a python-fu script that then reports what the
image holds; the buttons are pressed with xdotool (their mnemonics) and the windows are judged
by screenshots. The real worker and the real weights paint small pictures quickly.
"""

import json
import re
import subprocess
import time

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT
from tests.gimp_gui import GuiSession
from tests.gimp_harness import decode_pixels
from tests.screen_pictures import closest_match, edge_correlation, picture_at, picture_place, shrunk
from tests.test_gimp_plugin import install

pytestmark = pytest.mark.gimp
SUCCESS, CANCEL = 3, 4  # Gimp.PDBStatusType
SCRIPT = """
image = load({content!r})
style = load({style!r})
layer = image.get_layers()[0]
before = describe(image)
procedure = Gimp.get_pdb().lookup_procedure("python-fu-neural-style")
config = procedure.create_config()
config.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
config.set_property("image", image)
config.set_core_object_array("drawables", [layer])
config.set_property("style-layer", style.get_layers()[0])
config.set_property("quality", {quality!r})
config.set_property("working-size", 256)
style_file = style.get_file()
report(stage="dialog", before=before, style_file=style_file.get_basename() if style_file else None)
result = procedure.run(config)
report(stage="done", status=int(result.index(0)), before=before, after=describe(image),
       painted=layer_pixels(image.get_layers()[0]))
"""


@pytest.fixture
def artist(gimp, tmp_path, real_weights, shrunk_samples, counting_python):
    """Start GIMP with the plug-in, a 320x240 picture and a style; yields a ``Session``."""
    samples = shrunk_samples(320, 240)
    log = tmp_path / "logs" / "worker.log"  # in the worker's command line: pgrep finds the worker by it
    python, starts = counting_python
    sessions = []

    def start(quality):
        script = SCRIPT.format(content=samples["tubingen"], style=samples["starry_night"], quality=quality)
        gui = GuiSession(gimp, install(gimp, tmp_path, real_weights, python), script).__enter__()
        sessions.append(gui)
        gui.wait_for_reports(1, timeout=300)
        return Session(gui, tmp_path, str(log), starts, samples["tubingen"], samples["starry_night"])

    yield start
    for gui in sessions:
        gui.__exit__(None, None, None)


class Session:
    def __init__(self, gui, folder, worker_tag, worker_starts, photo, style):
        self.gui, self.folder, self.worker_tag, self.worker_starts, self.photo, self.style = (
            gui, folder, worker_tag, worker_starts, photo, style,
        )  # fmt: skip
        self.shots = 0

    def shot(self, window) -> np.ndarray:
        self.shots += 1
        path = self.gui.screenshot(str(self.folder / f"shot-{self.shots:02d}.png"), window)
        with Image.open(path) as picture:
            return np.asarray(picture.convert("RGB"), np.int16)

    def wait_for_log(self, text, count, timeout=180) -> None:
        """Until the plug-in's log holds ``count`` lines with ``text``: the plug-in writes them
        as it shows a picture, so a screenshot taken after shows it."""
        log = self.folder / "logs" / "plugin.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if log.exists() and log.read_text().count(text) >= count:
                time.sleep(1)  # the picture is drawn on GTK's next idle
                return
            time.sleep(0.5)
        raise AssertionError(
            f"the plug-in did not log {text!r} {count} times within {timeout} s:\n{self.gui.log()[-3000:]}"
        )

    def wait_for_picture(self, iteration, timeout=180) -> int:
        """Until the progress window has shown a picture of ``iteration`` or later (the plug-in
        logs each); returns the iteration shown."""
        log = self.folder / "logs" / "plugin.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = [int(n) for n in re.findall(r"shown at iteration (\d+)", log.read_text() if log.exists() else "")]
            if shown and max(shown) >= iteration:
                time.sleep(1)  # the picture is drawn on GTK's next idle
                return max(shown)
            time.sleep(0.5)
        raise AssertionError(f"no picture of iteration {iteration} within {timeout} s:\n{self.gui.log()[-3000:]}")

    def done(self) -> dict:
        return self.gui.wait_for_reports(2, timeout=180)[-1]

    def workers_running(self) -> list:
        """The worker processes of this test (its log file is in the command line), after a
        grace period for one that is ending."""
        for _ in range(20):
            found = subprocess.run(["pgrep", "-f", self.worker_tag], capture_output=True, text=True).stdout.split()
            if not found:
                return []
            time.sleep(0.5)
        return found


def test_preview_then_ok_then_stop_and_keep(artist):
    session = artist("standard")
    size = (256, 192)  # the Preview's picture
    photo = shrunk(session.photo, size)
    dialog = session.gui.window("Neural Style Transfer")
    blank = session.shot(dialog)
    # which layer of which image is the style: its name and its thumbnail beside the chooser
    style_file = session.gui.wait_for_reports(1)[0]["style_file"]
    named = "Background" + (f" ({style_file})" if style_file else "")  # 3.0 gives batch-loaded images no file
    assert f"dialog: style layer shown as {named!r}" in (session.folder / "logs" / "plugin.log").read_text()
    assert closest_match(blank, shrunk(session.style, (40, 30))) < 20  # the thumbnail is there
    # the worker, started with the dialog, says how long each quality takes at the working size
    session.wait_for_log("dialog: Standard: about ", 1, timeout=120)
    session.gui.key(dialog, "alt+p")
    session.wait_for_log("draft preview shown", 1)
    shown = session.shot(dialog)
    place = picture_place(blank, shown, size)
    draft = picture_at(shown, place, size)
    assert edge_correlation(draft, photo) > 0.4  # the Preview shows the photo's shapes...
    assert np.abs(draft - photo).mean() > 10  # ...painted
    session.gui.key(dialog, "alt+u", "alt+p")  # Keep original colours, then Preview: the same worker paints it
    session.wait_for_log("draft preview shown", 2)
    kept_colours = picture_at(session.shot(dialog), place, size)
    assert edge_correlation(kept_colours, photo) > 0.4 and np.abs(kept_colours - draft).mean() > 3  # repainted
    session.gui.key(dialog, "Return")  # OK
    window = session.gui.window("painting", timeout=60)
    blank = session.shot(window)
    size = (320, 240)  # the progress window's picture
    photo = shrunk(session.photo, size)
    first_iteration = session.wait_for_picture(1)
    shown = session.shot(window)
    place = picture_place(blank, shown, size)
    first = picture_at(shown, place, size)
    assert edge_correlation(first, photo) > 0.4
    session.wait_for_picture(first_iteration + 10)  # ten iterations on
    later = picture_at(session.shot(window), place, size)
    assert np.abs(later - first).mean() > 1  # the painting grows
    session.gui.key(window, "alt+s")  # Stop and keep
    report = session.done()
    assert report["status"] == SUCCESS
    before, after = report["before"], report["after"]
    assert len(after) == 2 and after[1] == before[0]  # a new layer; the picture under it untouched
    assert after[0]["name"].startswith("Background in the style of")
    assert (after[0]["width"], after[0]["height"]) == (320, 240)
    kept = decode_pixels(report["painted"], 320, 240)[..., :3].astype(np.int16)
    assert np.abs(later - kept).mean() < 4  # what was kept is what was last shown
    assert "stopped by the artist" in (session.folder / "logs" / "plugin.log").read_text()
    assert session.worker_starts() == 1  # two Previews and the run: one worker
    assert session.workers_running() == []


def test_cancel_in_the_progress_window_leaves_the_image_as_it_was(artist):
    session = artist("standard")
    dialog = session.gui.window("Neural Style Transfer")
    session.gui.key(dialog, "Return")
    session.gui.window("painting", timeout=60)
    session.wait_for_log("picture of 'Background' shown", 1)
    session.gui.key(session.gui.window("painting"), "alt+c")
    report = session.done()
    assert report["status"] == CANCEL and report["after"] == report["before"]
    assert session.workers_running() == []


def test_closing_the_dialog_after_a_preview_ends_the_worker(artist):
    session = artist("draft")
    dialog = session.gui.window("Neural Style Transfer")
    session.gui.key(dialog, "alt+p")
    session.wait_for_log("draft preview shown", 1)
    session.gui.key(dialog, "Escape")
    report = session.done()
    assert report["status"] == CANCEL and report["after"] == report["before"]
    assert session.worker_starts() == 1 and session.workers_running() == []


AGAIN_SCRIPT = """
image = load({content!r})
photo = image.get_layers()[0]
for path, name in (({starry!r}, "Starry Night"), ({shipwreck!r}, "Shipwreck")):
    style = Gimp.Layer.new_from_drawable(load(path).get_layers()[0], image)
    style.set_name(name)
    style.set_visible(False)
    image.insert_layer(style, None, len(image.get_layers()))
image.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, {half}, {height})
left = Gimp.Selection.save(image)
left.set_name("Left half")
Gimp.Selection.none(image)
ok, error = run_neural_style(
    image, [photo], image.get_layer_by_name("Starry Night"), style_layer_2=image.get_layer_by_name("Shipwreck"),
    style_region_2=left, quality="custom", iterations=6, working_size=0, style_strength=2.0, keep_colors=True, seed=5,
)
painting = image.get_layers()[0]
first = layer_pixels(painting)
record = lambda layer: bytes(layer.get_parasite("neural-style-painting").get_data()).decode()
procedure = Gimp.get_pdb().lookup_procedure("python-fu-neural-style")
config = procedure.create_config()
config.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
config.set_property("image", image)
config.set_core_object_array("drawables", [painting])
before = describe(image)
report(stage="dialog", ok=ok, error=error)
result = procedure.run(config)
after = image.get_layers()
report(stage="done", status=int(result.index(0)), before=before, after=describe(image), first=first,
       second=layer_pixels(after[1]), records=[record(after[0]), record(after[1])])
"""


def test_the_settings_of_a_painting_paint_its_photo_again_with_both_styles_in_their_regions(
    gimp, tmp_path, real_weights, shrunk_samples
):
    """A painting with two styles (the second in a saved selection) and settings far from the
    defaults; the filter opened on it offers its settings: the button fills the dialog (the
    second style row and its channel too), Preview paints with them, and OK paints the photo
    (not the painting) again, as it was painted the first time."""
    width, height = 160, 120
    samples = shrunk_samples(width, height)
    shipwreck = tmp_path / "shipwreck.png"
    with Image.open(f"{ROOT}/samples/shipwreck.jpg") as picture:
        picture.convert("RGB").resize((width, height)).save(shipwreck)
    script = AGAIN_SCRIPT.format(
        content=samples["tubingen"], starry=samples["starry_night"], shipwreck=str(shipwreck), half=width // 2,
        height=height,
    )  # fmt: skip
    with GuiSession(gimp, install(gimp, tmp_path, real_weights), script) as gui:
        opened = gui.wait_for_reports(1, timeout=300)[0]
        assert opened["ok"], opened["error"]
        session = Session(gui, tmp_path, "", lambda: 0, samples["tubingen"], samples["starry_night"])
        dialog = gui.window("Neural Style Transfer")
        session.wait_for_log("dialog: offers the settings of the painting of 'Background'", 1)
        session.shot(dialog)
        gui.key(dialog, "alt+g")  # Use the settin_gs of this painting
        session.wait_for_log("dialog: Paints 'Background' again, with the settings of this painting", 1)
        blank = session.shot(dialog)  # the dialog filled in: README's picture of it with regions
        gui.key(dialog, "alt+p")
        session.wait_for_log("draft preview shown", 1)
        shown = session.shot(dialog)
        size = (256, 192)  # the Preview's picture
        preview = picture_at(shown, picture_place(blank, shown, size), size)
        photo = shrunk(samples["tubingen"], size)
        assert edge_correlation(preview, photo) > 0.4 and np.abs(preview - photo).mean() > 10  # painted
        gui.key(dialog, "Return")
        report = gui.wait_for_reports(2, timeout=300)[-1]
    print(f"GIMP {report['gimp']}, Python {report['python']}")
    assert report["status"] == SUCCESS, gui.log()[-3000:]
    before, after = report["before"], report["after"]
    assert len(after) == len(before) + 1 and after[0] == before[0]  # the first painting untouched...
    assert after[2] == before[1] and after[2]["name"] == "Background"  # ...above the photo, and the photo
    first, second = (json.loads(record) for record in report["records"])
    assert second == first and first["source"]["layer"] == "Background"
    assert [(style["layer"], style["region"]) for style in first["styles"]] == [
        ("Starry Night", None),
        ("Shipwreck", "Left half"),
    ]
    assert (first["settings"]["style-strength"], first["settings"]["keep-colors"]) == (2.0, True)
    again = decode_pixels(report["second"], width, height)[..., :3].astype(int)
    painted = decode_pixels(report["first"], width, height)[..., :3].astype(int)
    assert np.abs(again - painted).max() <= 2  # the same painting: every setting and both regions came back
