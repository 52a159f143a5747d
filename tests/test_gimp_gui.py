"""The GIMP program itself, under Xvfb, driven from outside as an artist would: the dialog's
Preview, the progress window with its live picture, Stop and keep, Cancel (``tests.gimp_gui``).

Each test runs the procedure interactively from a python-fu script that then reports what the
image holds; the buttons are pressed with xdotool (their mnemonics) and the windows are judged
by screenshots. The real worker and the real weights paint small pictures quickly.
"""

import re
import subprocess
import time

import numpy as np
import pytest
from PIL import Image

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
