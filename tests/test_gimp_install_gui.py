"""Installing from inside GIMP, as an artist does it (``tests.gimp_gui``): the plug-in folder as
the release archive lays it out, no engine; the filter opens the install window, the artist
chooses the weights file, presses Install, cancels, presses Install again and watches the
progress; then the filter's settings open and Preview paints. Slow: a real install from PyPI."""

import os
import shutil
import time

import numpy as np
import pytest
from PIL import Image

from installer import settings
from installer.plugin import install_plugin
from tests.conftest import ROOT
from tests.gimp_gui import GuiSession
from tests.screen_pictures import changed_pixels, edge_correlation, picture_at, picture_place, shrunk
from tests.test_gimp_gui import SCRIPT

pytestmark = pytest.mark.gimp
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"  # this machine's trust store, for downloads behind its proxy
SCREENSHOTS = os.path.join(ROOT, ".cache", "screenshots")  # kept for people to look at (the README's)


def shot(gui, window, path) -> np.ndarray:
    gui.screenshot(path, window)
    with Image.open(path) as picture:
        return np.asarray(picture.convert("RGB"), np.int16)


def wait_for_text_gone(gui, name, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not gui.command("xdotool", "search", "--onlyvisible", "--name", name).stdout.split():
            return
        time.sleep(2)
    raise AssertionError(f"the window {name!r} stayed:\n{gui.log()[-3000:]}")


def test_install_from_the_filter_then_preview(gimp, tmp_path, compact_weights, shrunk_samples):
    weights = str(shutil.copy(compact_weights, tmp_path / "vgg19_notop_q8.npz"))  # where the root sees it
    samples = shrunk_samples(320, 240)
    profile = tmp_path / "config"
    plugins = profile / gimp.plugins
    plugins.mkdir(parents=True)
    data = tmp_path / "data"
    install_plugin(str(plugins), str(data))  # the folder the release archive unzips to, no engine
    environ = {}
    if os.path.exists(HOST_CA):
        environ["SSL_CERT_FILE"] = str(shutil.copy(HOST_CA, tmp_path / "host-ca.crt"))
    script = SCRIPT.format(content=samples["tubingen"], style=samples["starry_night"], quality="draft")
    os.makedirs(SCREENSHOTS, exist_ok=True)
    with GuiSession(gimp, str(profile), script, environ) as gui:
        window = gui.window("install the engine")
        before = shot(gui, window, os.path.join(SCREENSHOTS, f"install-window-{gimp.version}.png"))
        gui.key(window, "alt+i")  # Install, then Cancel while uv downloads
        time.sleep(2)
        gui.key(window, "alt+c")
        cancelled = time.monotonic()
        deadline = time.monotonic() + 60
        while changed_pixels(before, shot(gui, window, str(tmp_path / "after-cancel.png"))) == 0:
            assert time.monotonic() < deadline, gui.log()[-3000:]
            time.sleep(1)
        time.sleep(3)
        assert time.monotonic() - cancelled < 30
        assert not os.path.exists(data / settings.FILE) and not os.path.exists(data / "envs")
        assert not os.path.exists(data / "tools")  # a cancelled first install leaves nothing

        gui.key(window, "alt+w", "space")  # I have the weights file: GTK's file chooser
        chooser = gui.window("The VGG19 weights file", timeout=30)
        time.sleep(1)  # until it takes keys
        gui.key(chooser, "ctrl+l")
        time.sleep(1)
        typed = gui.command("xdotool", "windowfocus", "--sync", chooser, "type", "--delay", "20", weights)
        assert typed.returncode == 0, typed.stderr
        time.sleep(1)
        gui.key(chooser, "Return")
        wait_for_text_gone(gui, "The VGG19 weights file", timeout=30)
        gui.key(window, "alt+i")  # Install again, with the weights file
        time.sleep(3)
        progress = shot(gui, window, os.path.join(SCREENSHOTS, f"install-progress-{gimp.version}.png"))
        assert changed_pixels(before, progress) > 500  # the step and its bar
        wait_for_text_gone(gui, "install the engine", timeout=1200)
        assert settings.read(str(data)).version  # installed
        dialog = gui.window("Neural Style Transfer", timeout=60)
        empty = shot(gui, dialog, str(tmp_path / "dialog.png"))
        gui.key(dialog, "alt+p")
        deadline = time.monotonic() + 240
        log = data / "logs" / "plugin.log"
        while "draft preview shown" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, gui.log()[-3000:]
            time.sleep(1)
        time.sleep(1)  # drawn on GTK's next idle
        shown = shot(gui, dialog, str(tmp_path / "preview.png"))
        size = (256, 192)
        draft = picture_at(shown, picture_place(empty, shown, size), size)
        photo = shrunk(samples["tubingen"], size)
        assert edge_correlation(draft, photo) > 0.4 and np.abs(draft - photo).mean() > 10  # the photo, painted
        gui.key(dialog, "Escape")
        report = gui.wait_for_reports(2, timeout=120)[-1]
        assert report["after"] == report["before"]
