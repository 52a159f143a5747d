"""The GIMP program itself (not gimp-console), on a virtual screen, driven from outside as a person
would drive it: key presses and clicks by xdotool, screenshots of the screen.

A session starts Xvfb and GIMP inside a provisioned root (``tests.gimp_harness``), in a private
mount namespace that sees this repository, the engine's Python and /tmp. GIMP runs a python-fu
batch script (opening pictures, calling the procedure in interactive mode, reporting what the
image holds afterwards); everything else happens from outside: ``command`` runs a program in the
same root and namespace (xdotool, the screenshot helper), as a second person at the machine would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

from tests.gimp_harness import PRELUDE, Gimp, enter_root, parse_reports

# A screen per test process (pytest-xdist's workers gw0, gw1, ...: :77, :78, ...), so windows never meet.
DISPLAY = f":{77 + int(os.environ.get('PYTEST_XDIST_WORKER', 'gw0')[2:])}"
SCREEN = "1280x960x24"
# Runs inside the root: the screen (or a window's box on it) as a PNG.
GRAB = """
import sys
import gi
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk
x, y, w, h = (int(v) for v in sys.argv[2:6]) if len(sys.argv) > 2 else (0, 0, 0, 0)
screen = Gdk.get_default_root_window()
w, h = w or screen.get_width(), h or screen.get_height()
Gdk.pixbuf_get_from_window(screen, x, y, w, h).savev(sys.argv[1], "png", [], [])
"""


class GuiSession:
    """``with GuiSession(gimp, profile, script) as gui:`` GIMP's window is up and ``script`` (a
    python-fu batch script, after ``tests.gimp_harness.PRELUDE``) is running in it."""

    def __init__(self, gimp: Gimp, profile: str, script: str, environ: dict | None = None):
        """``environ``: more of GIMP's environment (the trust store of a machine behind a proxy)."""
        self.gimp, self.profile, self.script = gimp, profile, script
        self.extra = dict(environ or {})
        self.process = None
        self.stderr_path = os.path.join(profile, "gimp-stderr.txt")

    def __enter__(self):
        batch = os.path.join(self.profile, "batch.py")
        with open(batch, "w", encoding="utf-8") as f:
            f.write(PRELUDE + self.script)
        env = " ".join(f"{k}={v}" for k, v in self.environment().items())
        inside = os.path.join(self.profile, "start.sh")
        with open(inside, "w", encoding="utf-8") as f:
            f.write(
                f"rm -f /tmp/.X{DISPLAY[1:]}-lock /tmp/.X11-unix/X{DISPLAY[1:]}\n"  # a killed session's
                f"Xvfb {DISPLAY} -screen 0 {SCREEN} -nolisten tcp >/dev/null 2>&1 &\n"
                f"for i in $(seq 100); do [ -e /tmp/.X11-unix/X{DISPLAY[1:]} ] && break; sleep 0.1; done\n"
                f"exec env -i {env} gimp-{self.gimp.version} --no-splash --batch-interpreter=python-fu-eval "
                f"-b - < {batch}\n"
            )
        shell = f"{enter_root(self.gimp.root)}; exec chroot '{self.gimp.root}' sh {inside}"
        with open(self.stderr_path, "w") as stderr:
            self.process = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", shell],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        return self

    def __exit__(self, *exc):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        subprocess.run(["pkill", "-KILL", "-f", f"Xvfb {DISPLAY} "], check=False)

    def environment(self) -> dict:
        return {
            "DISPLAY": DISPLAY,
            "XDG_CONFIG_HOME": self.profile,
            "HOME": self.profile,
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TMPDIR": "/tmp",
            "NO_AT_BRIDGE": "1",
            **self.extra,
        }

    def command(self, *args, timeout=60) -> subprocess.CompletedProcess:
        """A program run in GIMP's root, on its screen: a second person at the machine."""
        env = [f"{k}={v}" for k, v in self.environment().items()]
        return subprocess.run(
            ["nsenter", "-t", str(self.process.pid), "-m", "chroot", self.gimp.root, "env", "-i", *env, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def window(self, name: str, timeout: float = 180) -> str:
        """The id of the first visible window whose title contains ``name``, once there is one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"GIMP ended before a window {name!r} showed:\n{self.log()[-3000:]}")
            found = self.command("xdotool", "search", "--onlyvisible", "--name", name).stdout.split()
            if found:
                return found[0]
            time.sleep(1)
        raise AssertionError(f"no window {name!r} within {timeout:.0f} s:\n{self.log()[-3000:]}")

    def geometry(self, window: str) -> tuple:
        """(x, y, width, height) of a window on the screen."""
        values = dict(
            line.split("=") for line in self.command("xdotool", "getwindowgeometry", "--shell", window).stdout.split()
        )
        return tuple(int(values[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))

    def key(self, window: str, *keys: str) -> None:
        """Keys pressed with ``window`` focused (there is no window manager to focus it)."""
        done = self.command("xdotool", "windowfocus", "--sync", window, "key", "--delay", "100", *keys)
        assert done.returncode == 0, done.stderr

    def click(self, window: str, x: int, y: int) -> None:
        """A left click at (x, y) inside ``window``."""
        done = self.command("xdotool", "mousemove", "--window", window, str(x), str(y), "click", "1")
        assert done.returncode == 0, done.stderr

    def screenshot(self, path: str, window: str | None = None) -> str:
        """The screen, or one window of it, as a PNG at ``path`` (under /tmp, which GIMP's root sees)."""
        box = [str(v) for v in self.geometry(window)] if window else []
        grabbed = self.command("python3", "-c", GRAB, path, *box)
        assert grabbed.returncode == 0, grabbed.stderr
        return path

    def wait_for_reports(self, count: int = 1, timeout: float = 300) -> list:
        """The script's reports, once it has made ``count`` of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reports = parse_reports(self.log())
            if len(reports) >= count:
                return reports
            if self.process.poll() is not None:
                break
            time.sleep(1)
        raise AssertionError(f"GIMP reported {len(parse_reports(self.log()))} of {count}:\n{self.log()[-3000:]}")

    def log(self) -> str:
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()
