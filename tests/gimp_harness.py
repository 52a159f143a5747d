"""Runs Python inside a real, headless GIMP 3 (``gimp-console-3.x``, python-fu-eval batch mode).

The tiers run in each pristine Debian root that ``tests/provision_gimp.sh`` builds: trixie (GIMP
3.0, Python 3.13) and sid (today GIMP 3.2 and Python 3.14; it moves, so the GIMP version is read
from the root). A root is entered with chroot in a private mount namespace that sees this
repository, the engine's Python and /tmp at their usual paths.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from typing import NamedTuple

from tests.conftest import GIMP_SUITES as SUITES
from tests.conftest import ROOT

ENGINE_PYTHON = os.path.join(ROOT, ".venv", "bin", "python")  # the test environment holds the engine
ROOTS = {suite: os.path.join(ROOT, ".cache", f"gimp-{suite}") for suite in SUITES}
BATCH_ARGS = ["-i", "--quit", "--batch-interpreter=python-fu-eval", "-b", "-"]
RESULT_MARKER = "TEST-RESULT "  # what report() in PRELUDE prints before each result

# Defined in every batch script: load a file as an image, run our procedure, describe layers.
PRELUDE = """
import base64, json, sys, zlib
from gi.repository import Gegl, Gimp, Gio
def load(path):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))
def run_neural_style(image, layers, style, **settings):
    proc = Gimp.get_pdb().lookup_procedure("python-fu-neural-style")
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", layers)
    config.set_property("style-layer", style)
    for key, value in settings.items():
        config.set_property(key.replace("_", "-"), value)
    result = proc.run(config)
    status = result.index(0)
    return status == Gimp.PDBStatusType.SUCCESS, (None if status == Gimp.PDBStatusType.SUCCESS else result.index(1))
def describe(image):
    out = []
    for layer in image.get_layers():
        _, x, y = layer.get_offsets()
        raw = layer.get_buffer().get(layer.get_buffer().get_extent(), 1.0, "R'G'B'A u8",
                                     Gegl.AbyssPolicy.NONE)
        out.append({"name": layer.get_name(), "width": layer.get_width(), "height": layer.get_height(),
                    "x": x, "y": y, "mask": layer.get_mask() is not None, "checksum": zlib.crc32(bytes(raw)),
                    "gray": layer.is_gray()})
    return out
def layer_pixels(layer):  # base64 of its R'G'B'A u8 rows, for small layers
    buffer = layer.get_buffer()
    raw = buffer.get(buffer.get_extent(), 1.0, "R'G'B'A u8", Gegl.AbyssPolicy.NONE)
    return base64.b64encode(bytes(raw)).decode()
def report(**values):
    values.update(gimp=Gimp.version(), python=sys.version.split()[0])
    print("TEST-RESULT " + json.dumps(values), file=sys.stderr, flush=True)
"""


class Gimp(NamedTuple):
    version: str  # "3.0", "3.2", ...: what the root's gimp-console-3.x says
    root: str  # the provisioned root it lives in
    python: str  # the root's Python, "3.13"

    @property
    def console(self) -> list:
        return [f"gimp-console-{self.version}", *BATCH_ARGS]

    @property
    def plugins(self) -> str:
        """The user plug-in folder below a config home (XDG_CONFIG_HOME)."""
        return os.path.join("GIMP", self.version, "plug-ins")


def find_gimp(suite: str):
    """``(Gimp, "")`` for the GIMP of a provisioned root, or ``(None, why not)``."""
    root = ROOTS[suite]
    if not os.path.exists(os.path.join(root, ".provisioned")):
        return None, f"no Debian {suite} root with GIMP 3: run tests/run.sh as root to provision it"
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return None, f"the provisioned Debian {suite} root needs root and unshare to enter"
    consoles = [
        m.group(1)
        for name in os.listdir(os.path.join(root, "usr", "bin"))
        if (m := re.fullmatch(r"gimp-console-(3\.\d+)", name))
    ]
    python = re.fullmatch(r"python(3\.\d+)", os.readlink(os.path.join(root, "usr", "bin", "python3")))
    if len(consoles) != 1 or not python:
        return None, f"the Debian {suite} root has no single gimp-console-3.x and python3; make it again"
    return Gimp(consoles[0], root, python.group(1)), ""  # python3: what the README's command runs


def root_versions(root: str) -> str:
    """The GIMP and Python versions a provisioned root holds, from its package database."""
    versions, package = {}, None
    try:
        with open(os.path.join(root, "var", "lib", "dpkg", "status"), encoding="utf-8") as f:
            for line in f:
                if line.startswith("Package: "):
                    package = line.split()[1]
                elif line.startswith("Version: ") and package in ("gimp", "python3"):
                    versions[package] = line.split()[1]
    except OSError:
        return ""
    return f"GIMP {versions.get('gimp', '?')}, Python {versions.get('python3', '?')}"


def enter_root(root: str) -> str:
    """Shell commands that mount /proc in ``root`` and bind this repository, the shared folder, the
    engine's Python (the test environment and the Python it is made from) and /tmp at their own
    paths in it: run in a private mount namespace."""
    binds = sorted({ROOT, os.path.dirname(ROOT) + "/shared", os.path.realpath(sys.prefix), sys.base_prefix, "/tmp"})
    mounts = [f"mkdir -p '{root}{p}' && mount --bind '{p}' '{root}{p}'" for p in binds if os.path.exists(p)]
    return "; ".join([f"set -e; mount -t proc proc '{root}/proc'", *mounts])


def run_gimp(script: str, config_home: str, gimp: Gimp, timeout: float = 300):
    """Run ``PRELUDE + script`` in GIMP; returns (completed process, list of reported dicts)."""
    env = {
        "XDG_CONFIG_HOME": config_home,
        "HOME": config_home,
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
    }
    inner = " ".join(["env", "-i", *(f"{k}={v}" for k, v in env.items()), *gimp.console])
    shell = f"{enter_root(gimp.root)}; exec chroot '{gimp.root}' {inner}"
    process = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", shell],
        input=PRELUDE + script,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return process, parse_reports(process.stderr)


def python_script(folder, name, body):
    """A shell script in ``folder`` that stands in for the engine's Python: ``body`` runs it as
    ``$PYTHON "$@"``."""
    path = folder / name
    path.write_text(f"#!/bin/sh\nPYTHON='{ENGINE_PYTHON}'\n{body}\n")
    path.chmod(0o755)
    return str(path)


def decode_pixels(encoded: str, width: int, height: int):
    """``layer_pixels``'s text as a (height, width, 4) uint8 array."""
    import base64

    import numpy as np

    return np.frombuffer(base64.b64decode(encoded), np.uint8).reshape(height, width, 4)


def parse_reports(output: str) -> list:
    return [json.loads(line.split(RESULT_MARKER, 1)[1]) for line in output.splitlines() if RESULT_MARKER in line]


def run_in_fresh_root(root: str, commands: str, stdin_text: str, scratch: str, binds: dict, timeout: float = 1500):
    """Run shell ``commands`` as root in a throw-away copy of a provisioned GIMP root.

    The copy is an overlay on ``root`` whose changes land in ``scratch`` and vanish with it,
    so each run starts from the same pristine system. ``binds`` maps host paths to paths inside
    (mounted read-only). Returns the completed process.
    """
    merged, upper, work = (os.path.join(scratch, name) for name in ("root", "upper", "work"))
    for folder in (merged, upper, work):
        os.makedirs(folder, exist_ok=True)
    mounts = [
        f"mount -t overlay overlay -o lowerdir={root},upperdir={upper},workdir={work} {merged}",
        f"mount -t proc proc {merged}/proc",
    ]
    for source, inside in binds.items():
        target = f"{merged}{inside}"
        make = (
            f"mkdir -p '{os.path.dirname(target)}'; touch '{target}'"
            if os.path.isfile(source)
            else f"mkdir -p '{target}'"
        )
        mounts.append(f"{make}; mount --bind -o ro '{source}' '{target}'")
    shell = (
        "set -e; " + "; ".join(mounts) + f"; exec chroot {merged} env -i PATH=/usr/bin:/bin "
        f"LANG=C.UTF-8 HOME=/root sh -c {shlex.quote(commands)}"
    )
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", shell],
        input=stdin_text,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
