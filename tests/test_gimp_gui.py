"""The GIMP program itself, under Xvfb, driven from outside as an artist would: the dialog's
Preview, the progress window with its live picture, Stop and keep, Cancel (``tests.gimp_gui``).

Each test runs the procedure interactively from a python-fu script that then reports what the
image holds; the buttons are pressed with xdotool (their mnemonics) and the windows are judged
by screenshots. The real worker and the real weights paint small pictures quickly.
"""

import os
import subprocess
import time

import numpy as np
import pytest
from PIL import Image

from tests.gimp_gui import GuiSession
from tests.test_gimp_plugin import counting_python, install

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
report(stage="dialog", before=before)
result = procedure.run(config)
report(stage="done", status=int(result.index(0)), before=before, after=describe(image))
"""


@pytest.fixture
def artist(gimp, tmp_path, real_weights):
    """Start GIMP with the plug-in, a 320x240 picture and a style; yields a ``Session``."""
    for name, size in (("tubingen", (320, 240)), ("starry_night", (200, 160))):
        with Image.open(os.path.join(os.path.dirname(__file__), "..", "samples", f"{name}.jpg")) as picture:
            picture.convert("RGB").resize(size).save(tmp_path / f"{name}.png")
    log = tmp_path / "logs" / "worker.log"  # in the worker's command line: pgrep finds the worker by it
    python, starts = counting_python(tmp_path)
    sessions = []

    def start(quality):
        script = SCRIPT.format(
            content=str(tmp_path / "tubingen.png"), style=str(tmp_path / "starry_night.png"), quality=quality
        )
        gui = GuiSession(gimp, install(gimp, tmp_path, real_weights, python), script).__enter__()
        sessions.append(gui)
        gui.wait_for_reports(1, timeout=300)
        return Session(gui, tmp_path, str(log), starts)

    yield start
    for gui in sessions:
        gui.__exit__(None, None, None)


class Session:
    def __init__(self, gui, folder, worker_tag, starts):
        self.gui, self.folder, self.worker_tag, self.starts = gui, folder, worker_tag, starts
        self.shots = 0

    def shot(self, window) -> np.ndarray:
        self.shots += 1
        path = self.gui.screenshot(str(self.folder / f"shot-{self.shots:02d}.png"), window)
        with Image.open(path) as picture:
            return np.asarray(picture.convert("RGB"), np.int16)

    def wait_until_changed(self, window, since, box=None, timeout=180, settled=False) -> np.ndarray:
        """A screenshot of ``window`` showing a picture ``since`` did not (thousands of pixels
        changed, within ``box`` if given); with ``settled``, once that has also stopped changing
        (a finished painting)."""
        deadline = time.monotonic() + timeout
        previous = None
        while time.monotonic() < deadline:
            now = self.shot(window)
            if changed_pixels(since, now, box) > 3000 and (not settled or changed_pixels(previous, now, box) == 0):
                return now
            previous = now
            time.sleep(3)
        raise AssertionError(f"the window did not change within {timeout} s:\n{self.gui.log()[-3000:]}")

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

    def worker_starts(self) -> int:
        return len(self.starts.read_text().split()) if self.starts.exists() else 0


def changed(a, b):
    """Where two screenshots differ clearly (over the part both cover, should a window have
    changed its size)."""
    height, width = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    return np.abs(a[:height, :width] - b[:height, :width]).sum(axis=2) > 30


def changed_pixels(a, b, box=None) -> int:
    """How many pixels differ clearly between two screenshots (in ``box``: top, bottom, left, right)."""
    if a is None or b is None:
        return 0
    where = changed(a, b)
    if box is not None:
        where = where[box[0] : box[1], box[2] : box[3]]
    return int(where.sum())


def picture_box(before, after) -> tuple:
    """Where a picture appeared: the bounds of the pixels that changed (top, bottom, left, right)."""
    rows, columns = np.nonzero(changed(before, after))
    return rows.min(), rows.max() + 1, columns.min(), columns.max() + 1


def test_preview_then_ok_then_stop_and_keep(artist):
    session = artist("standard")
    dialog = session.gui.window("Neural Style Transfer")
    empty = session.shot(dialog)
    session.gui.key(dialog, "alt+p")
    previewed = session.wait_until_changed(dialog, empty, settled=True)
    box = picture_box(empty, previewed)
    assert box[1] - box[0] > 100 and box[3] - box[2] > 150  # the preview area holds a picture
    assert previewed[box[0] : box[1], box[2] : box[3]].std() > 20  # not a blank
    session.gui.key(dialog, "alt+u", "alt+p")  # Keep original colours, then Preview: the same worker paints it
    session.wait_until_changed(dialog, previewed, box, settled=True)
    session.gui.key(dialog, "Return")  # OK
    window = session.gui.window("painting", timeout=60)
    opened = session.shot(window)
    first = session.wait_until_changed(window, opened)
    painting = picture_box(opened, first)
    time.sleep(5)
    session.wait_until_changed(window, first, painting, timeout=60)  # the painting grows
    session.gui.key(window, "alt+s")  # Stop and keep
    report = session.done()
    assert report["status"] == SUCCESS
    before, after = report["before"], report["after"]
    assert len(after) == 2 and after[1] == before[0]  # a new layer; the picture under it untouched
    assert after[0]["name"].startswith("Background in the style of")
    assert (after[0]["width"], after[0]["height"]) == (320, 240) and after[0]["checksum"] != before[0]["checksum"]
    assert "stopped by the artist" in (session.folder / "logs" / "plugin.log").read_text()
    assert session.worker_starts() == 1  # two Previews and the run: one worker
    assert session.workers_running() == []


def test_cancel_in_the_progress_window_leaves_the_image_as_it_was(artist):
    session = artist("standard")
    dialog = session.gui.window("Neural Style Transfer")
    session.gui.key(dialog, "Return")
    window = session.gui.window("painting", timeout=60)
    session.wait_until_changed(window, session.shot(window))
    session.gui.key(window, "alt+c")
    report = session.done()
    assert report["status"] == CANCEL and report["after"] == report["before"]
    assert session.workers_running() == []


def test_closing_the_dialog_after_a_preview_ends_the_worker(artist):
    session = artist("draft")
    dialog = session.gui.window("Neural Style Transfer")
    empty = session.shot(dialog)
    session.gui.key(dialog, "alt+p")
    session.wait_until_changed(dialog, empty)
    session.gui.key(dialog, "Escape")
    report = session.done()
    assert report["status"] == CANCEL and report["after"] == report["before"]
    assert session.worker_starts() == 1 and session.workers_running() == []
