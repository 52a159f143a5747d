"""What this machine offers the engine: its Pythons (the one running the installer, and others it
can find), what platform each runs on, and whether an NVIDIA GPU is there. Standard library only.

Each Python is asked about itself in a short child process, so one that cannot even start, or
cannot host the engine, is known before anything is downloaded. (uv makes the environment, so a
Python without ``venv``, as Debian's is until ``python3-venv`` is installed, serves.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from installer.matrix import PYTHONS, Interpreter, platform_of
from installer.steps import child_environment, popen_options

# Runs in any Python 3, however old: prints what the installer needs to know about it.
PROBE = """
import json, platform, struct, sys, sysconfig
print(json.dumps({"executable": sys.executable, "version": "%d.%d" % sys.version_info[:2],
                  "system": sys.platform, "machine": platform.machine(), "bits": struct.calcsize("P") * 8,
                  "libc": list(platform.libc_ver()), "macos": platform.mac_ver()[0],
                  "build": sysconfig.get_platform()}))
"""


def describe(command: list, label: str) -> Interpreter | None:
    """The Python that ``command`` starts, or None when it does not start."""
    try:
        completed = subprocess.run(
            [*command, "-I", "-c", PROBE],
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=60,
            env=child_environment(),
            **popen_options(),
        )
        facts = json.loads(completed.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    platform, problem = platform_of(
        facts["system"], facts["machine"], facts["bits"], tuple(facts["libc"]), facts["macos"]
    )
    if platform and not problem:
        problem = unfit(facts["executable"], facts.get("build", ""))
    return Interpreter(facts["executable"], facts["version"], platform, problem, label)


def unfit(executable: str, build: str) -> str:
    """Why a Python of a supported machine cannot host the engine's environment, or ""."""
    if build.startswith("mingw"):
        return "this is an MSYS2 Python (as GIMP's own on Windows), which cannot install the engine's packages"
    if "\\windowsapps\\" in executable.lower():
        return (
            "this is the Microsoft Store's Python, whose files GIMP cannot see; install Python from "
            "https://www.python.org/downloads/windows/ instead"
        )
    if ".app/Contents/" in executable:
        return "this Python belongs to an application (GIMP's own, on a Mac), which replaces it when it is updated"
    return ""


def interpreters(which=shutil.which, platform=sys.platform) -> list:
    """The running Python first, then the other supported Pythons found, newest first."""
    running = describe([sys.executable], "this Python")
    found = [running]
    seen = {os.path.realpath(running.executable)}
    for command, label in _candidates(which, platform):
        interpreter = describe(command, label)
        if interpreter is not None and os.path.realpath(interpreter.executable) not in seen:
            seen.add(os.path.realpath(interpreter.executable))
            found.append(interpreter)
    return found


def _candidates(which, platform):
    """(command, how the artist would type it) for every supported Python version, newest first."""
    for version in reversed(PYTHONS):
        if platform == "win32":
            if which("py"):
                yield ["py", f"-{version}"], f"py -{version}"
            continue
        places = [which(f"python{version}")]
        if platform == "darwin":  # python.org's and Homebrew's, in case the shell's PATH lacks them
            places += [
                f"/Library/Frameworks/Python.framework/Versions/{version}/bin/python{version}",
                f"/opt/homebrew/bin/python{version}",
            ]
        for place in places:
            if place and os.path.isfile(place):
                yield [place], f"python{version}"
                break


def has_nvidia_gpu(which=shutil.which) -> bool:
    """An NVIDIA driver is installed (its nvidia-smi tool comes with it, on Linux and Windows)."""
    return which("nvidia-smi") is not None
