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
    assert f"dialog: style-layer shows {named!r}" in (session.folder / "logs" / "plugin.log").read_text()
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
    assert np.abs(later - kept).mean() < 6  # what was kept is what was last shown (a few iterations may pass
    # between the screenshot and the key press: 4.03 was seen under load)
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


REGIONS_SCRIPT = """
image = load({content!r})
photo = image.get_layers()[0]
for path, name in (({starry!r}, "Starry Night"), ({shipwreck!r}, "Shipwreck")):
    other = load(path)
    style = Gimp.Layer.new_from_drawable(other.get_layers()[0], image)
    other.delete()  # one image open: the choosers list its layers
    style.set_name(name)
    style.set_visible(False)
    image.insert_layer(style, None, len(image.get_layers()))
image.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, {half}, {height})
Gimp.Selection.save(image).set_name("Left half")
Gimp.Selection.none(image)
procedure = Gimp.get_pdb().lookup_procedure("python-fu-neural-style")
record = lambda layer: bytes(layer.get_parasite("neural-style-painting").get_data()).decode()


def paint_interactively(layer, **settings):
    config = procedure.create_config()
    for name, value in dict(settings, run_mode=Gimp.RunMode.INTERACTIVE, image=image).items():
        config.set_property(name.replace("_", "-"), value)
    config.set_core_object_array("drawables", [layer])
    return int(procedure.run(config).index(0))


report(stage="first dialog")
first = paint_interactively(photo, style_layer=image.get_layer_by_name("Starry Night"), quality="custom", iterations=6,
                            working_size=0, style_strength=2.0, seed=5)
painting = image.get_layers()[0]
report(stage="second dialog", status=first, layers=describe(image), painted=layer_pixels(painting),
       record=record(painting))
second = paint_interactively(painting)
after = image.get_layers()
report(stage="done", status=second, layers=describe(image), again=layer_pixels(after[1]), record=record(after[1]))
"""
# Where the dialog's choosers of the second style row are, and the first row of a chooser's list
# and its OK, in each GIMP (their screenshots: the expander's title, then "Browse..." of "Style layer
# 2" and of "Style 2 paints where").
EXPANDER, POPUP_FIRST_ROW, POPUP_ROW_HEIGHT, POPUP_OK = (100, 71), (330, 80), 40, (297, 296)
ROW_TWO_BROWSE = {"3.0": ((215, 105), (656, 105)), "3.2": ((200, 105), (600, 105))}


def choose(gui, session, dialog, browse, title, down):
    """Press a chooser's Browse..., pick the row ``down`` rows below the first of the one image's
    list, and OK; the plug-in logs what the chooser now holds."""
    gui.click(dialog, *browse)
    popup = gui.window(title, timeout=30)
    gui.click(popup, POPUP_FIRST_ROW[0], POPUP_FIRST_ROW[1] + POPUP_ROW_HEIGHT * down)
    session.shot(popup)
    gui.click(popup, *POPUP_OK)


def test_an_artist_places_a_second_style_by_a_channel_and_paints_it_again_from_the_paintings_settings(
    gimp, tmp_path, real_weights, shrunk_samples
):
    """The artist's path through the dialog: open "More styles", choose Shipwreck as Style layer
    2 and the saved selection "Left half" where it paints (GIMP's Browse... choosers), Preview,
    OK; each half takes its style. Then the filter opened on that painting offers its settings
    (far from the defaults): the button fills the dialog, and OK paints the photo (not the
    painting) again, as it was painted the first time."""
    width, height = 160, 120
    samples = shrunk_samples(width, height)
    shipwreck = tmp_path / "shipwreck.png"
    with Image.open(f"{ROOT}/samples/shipwreck.jpg") as picture:
        picture.convert("RGB").resize((width, height)).save(shipwreck)
    script = REGIONS_SCRIPT.format(
        content=samples["tubingen"], starry=samples["starry_night"], shipwreck=str(shipwreck), half=width // 2,
        height=height,
    )  # fmt: skip
    with GuiSession(gimp, install(gimp, tmp_path, real_weights), script) as gui:
        gui.wait_for_reports(1, timeout=300)
        session = Session(gui, tmp_path, "", lambda: 0, samples["tubingen"], samples["starry_night"])
        dialog = gui.window("Neural Style Transfer")
        session.wait_for_log("dialog: style-layer shows 'Starry Night'", 1)
        gui.click(dialog, *EXPANDER)  # More styles, each painting a region
        layer_browse, region_browse = ROW_TWO_BROWSE[gimp.version]
        choose(gui, session, dialog, layer_browse, "Style layer 2", down=2)  # Background, Starry Night, Shipwreck
        session.wait_for_log("dialog: style-layer-2 shows 'Shipwreck'", 1, timeout=30)
        choose(gui, session, dialog, region_browse, "Style 2 paints where", down=0)  # the one channel
        session.wait_for_log("dialog: style-region-2 shows 'Left half'", 1, timeout=30)
        blank = session.shot(dialog)
        gui.key(dialog, "alt+p")
        session.wait_for_log("draft preview shown", 1)
        shown = session.shot(dialog)  # README's picture of the dialog with regions
        size = (256, 192)  # the Preview's picture
        preview = picture_at(shown, picture_place(blank, shown, size), size)
        photo = shrunk(samples["tubingen"], size)
        assert edge_correlation(preview, photo) > 0.4 and np.abs(preview - photo).mean() > 10  # painted
        gui.key(dialog, "alt+o")  # OK (Return would press the chooser that has the focus)
        first = gui.wait_for_reports(2, timeout=300)[-1]
        assert first["status"] == SUCCESS, gui.log()[-3000:]
        dialog = gui.window("Neural Style Transfer")
        session.wait_for_log("dialog: offers the settings of the painting of 'Background'", 1)
        gui.key(dialog, "alt+g")  # Use the settin_gs of this painting
        session.wait_for_log("dialog: Paints 'Background' again, with the settings of this painting", 1)
        session.shot(dialog)
        gui.key(dialog, "Return")
        second = gui.wait_for_reports(3, timeout=300)[-1]
    print(f"GIMP {second['gimp']}, Python {second['python']}")
    assert second["status"] == SUCCESS, gui.log()[-3000:]
    record = json.loads(first["record"])
    assert [(style["layer"], style["region"]) for style in record["styles"]] == [
        ("Starry Night", None),
        ("Shipwreck", "Left half"),
    ]
    painted = decode_pixels(first["painted"], width, height)[..., :3].astype(int)
    original = shrunk(samples["tubingen"], (width, height)).astype(int)
    bluer = (painted[..., 2] - painted[..., 0] - original[..., 2] + original[..., 0]).mean(axis=0)  # per column
    print(f"blue over red gained: left {bluer[: width // 2].mean():.1f}, right {bluer[width // 2 :].mean():.1f}")
    assert bluer[width // 2 :].mean() > bluer[: width // 2].mean() + 10  # Starry Night's half, not Shipwreck's
    before, after = first["layers"], second["layers"]
    assert len(after) == len(before) + 1 and after[0] == before[0]  # the first painting untouched...
    assert after[2] == before[1] and after[2]["name"] == "Background"  # ...the new one above the photo
    assert json.loads(second["record"]) == record and record["source"]["layer"] == "Background"
    again = decode_pixels(second["again"], width, height)[..., :3].astype(int)
    assert np.abs(again - painted).max() <= 2  # the same painting: every setting and both styles came back
