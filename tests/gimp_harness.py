"""Runs Python inside a real, headless GIMP 3 (``gimp-console-3.0``, python-fu-eval batch mode).

Uses the system's GIMP 3 when there is one; otherwise the Debian trixie root that
``tests/provision_gimp.sh`` builds in ``.cache/gimp-trixie``, entered with chroot in a private
mount namespace that sees this repository, the engine's Python and /tmp at their usual paths.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys

from tests.conftest import ROOT

GIMP_ROOT = os.path.join(ROOT, ".cache", "gimp-trixie")
GIMP_ARGS = ["gimp-console-3.0", "-i", "--quit", "--batch-interpreter=python-fu-eval", "-b", "-"]
RESULT_MARKER = "TEST-RESULT "

# Defined in every batch script: load a file as an image, run our procedure, describe layers.
PRELUDE = '''
import json, sys, zlib
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
def report(**values):
    print("%s" + json.dumps(values), file=sys.stderr, flush=True)
''' % RESULT_MARKER


def find_gimp():
    """``(chroot_dir or None)`` for a usable GIMP 3, or a reason string when there is none."""
    if shutil.which("gimp-console-3.0"):
        return None, ""
    if not os.path.exists(os.path.join(GIMP_ROOT, ".provisioned")):
        return None, "no GIMP 3 here: install one, or run tests/run.sh as root to provision it"
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return None, "the provisioned GIMP 3 root needs root and unshare to enter"
    return GIMP_ROOT, ""


def run_gimp(script: str, config_home: str, chroot: str | None, timeout: float = 300):
    """Run ``PRELUDE + script`` in GIMP; returns (completed process, list of reported dicts)."""
    env = {"XDG_CONFIG_HOME": config_home, "HOME": config_home, "PATH": "/usr/bin:/bin",
           "LANG": "C.UTF-8", "TMPDIR": "/tmp"}
    if chroot is None:
        command, run_env = GIMP_ARGS, dict(os.environ, **env)
    else:
        binds = sorted({ROOT, os.path.dirname(ROOT) + "/shared", sys.base_prefix, "/tmp"})
        mounts = "; ".join(f"mkdir -p '{chroot}{p}' && mount --bind '{p}' '{chroot}{p}'"
                           for p in binds if os.path.exists(p))
        inner = " ".join(["env", "-i", *(f"{k}={v}" for k, v in env.items()), *GIMP_ARGS])
        shell = f"set -e; mount -t proc proc '{chroot}/proc'; {mounts}; exec chroot '{chroot}' {inner}"
        command, run_env = ["unshare", "--mount", "--propagation", "private", "sh", "-c", shell], None
    process = subprocess.run(command, input=PRELUDE + script, capture_output=True, text=True,
                             timeout=timeout, env=run_env)
    return process, parse_reports(process.stderr)


def parse_reports(output: str) -> list:
    return [json.loads(line.split(RESULT_MARKER, 1)[1]) for line in output.splitlines() if RESULT_MARKER in line]


def run_in_fresh_root(commands: str, stdin_text: str, scratch: str, binds: dict, timeout: float = 1500):
    """Run shell ``commands`` as root in a throw-away copy of the provisioned GIMP root.

    The copy is an overlay on ``GIMP_ROOT`` whose changes land in ``scratch`` and vanish with it,
    so each run starts from the same pristine system. ``binds`` maps host paths to paths inside
    (mounted read-only). Returns the completed process.
    """
    merged, upper, work = (os.path.join(scratch, name) for name in ("root", "upper", "work"))
    for folder in (merged, upper, work):
        os.makedirs(folder, exist_ok=True)
    mounts = [f"mount -t overlay overlay -o lowerdir={GIMP_ROOT},upperdir={upper},workdir={work} {merged}",
              f"mount -t proc proc {merged}/proc"]
    for source, inside in binds.items():
        target = f"{merged}{inside}"
        make = f"mkdir -p '{os.path.dirname(target)}'; touch '{target}'" if os.path.isfile(source) else \
            f"mkdir -p '{target}'"
        mounts.append(f"{make}; mount --bind -o ro '{source}' '{target}'")
    shell = "set -e; " + "; ".join(mounts) + f"; exec chroot {merged} env -i PATH=/usr/bin:/bin " \
        f"LANG=C.UTF-8 HOME=/root sh -c {shlex.quote(commands)}"
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", shell],
                          input=stdin_text, capture_output=True, text=True, timeout=timeout)
