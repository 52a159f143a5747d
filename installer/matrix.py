"""The support matrix: which engine each machine gets, and the lock file that pins it.

A cell is a platform (operating system and processor), a Python version and a variant: a Keras
backend as installed for one kind of device (``tensorflow``, ``jax``, ``torch``, and the NVIDIA
builds ``tensorflow-cuda`` and ``jax-cuda``). Every supported cell has a lock file,
``installer/locks/<platform>-py<python>-<variant>.txt``, written by ``python -m installer.relock``
and resolved against the package registry by ``tests/test_locks.py``.

Standard library only, and no I/O: the installer decides with it before anything is downloaded,
and the tests describe any machine to it.
"""

from __future__ import annotations

import os
from typing import NamedTuple

LOCKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locks")
REQUIREMENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "requirements")

PYTHONS = ("3.11", "3.12", "3.13", "3.14")  # Keras 3.15 needs 3.11; h5py and NumPy have no 3.15 yet
TF_PYTHONS = ("3.11", "3.12", "3.13")  # TensorFlow 2.21 has no packages for Python 3.14
MIN_GLIBC = (2, 28)  # the manylinux_2_28 packages of PyTorch; TensorFlow's and JAX's need 2.27
MIN_MACOS = (14, 0)  # PyTorch's Mac packages; every Apple-silicon Mac can run macOS 14


class Platform(NamedTuple):
    label: str  # for people
    resolver: str  # the target as uv's --python-platform names it


PLATFORMS = {
    "linux-x86_64": Platform("Linux, x86-64", "x86_64-manylinux_2_28"),
    "linux-aarch64": Platform("Linux, ARM (aarch64)", "aarch64-manylinux_2_28"),
    "windows-x86_64": Platform("Windows, x64", "x86_64-pc-windows-msvc"),
    "macos-arm64": Platform("macOS, Apple silicon", "aarch64-apple-darwin"),
}
LINUX = ("linux-x86_64", "linux-aarch64")


class Variant(NamedTuple):
    backend: str  # the Keras backend it runs
    label: str  # for people
    pythons: tuple
    platforms: tuple
    disk_gb: float  # free space its environment needs while installing
    download_mb: int  # about how much its packages download (PyPI's file sizes, rounded up)


VARIANTS = {
    "tensorflow": Variant("tensorflow", "TensorFlow", TF_PYTHONS, tuple(PLATFORMS), 2.5, 400),
    "tensorflow-cuda": Variant("tensorflow", "TensorFlow with CUDA", TF_PYTHONS, LINUX, 9.0, 3500),
    "jax": Variant("jax", "JAX", PYTHONS, tuple(PLATFORMS), 1.5, 200),
    "jax-cuda": Variant("jax", "JAX with CUDA", PYTHONS, LINUX, 7.0, 3000),
    "torch": Variant("torch", "PyTorch", PYTHONS, tuple(PLATFORMS), 1.5, 300),
}
BACKENDS = ("tensorflow", "jax", "torch")
BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


class Interpreter(NamedTuple):
    """A Python found on the machine, as ``installer.machine`` describes it."""

    executable: str
    version: str  # "3.13"
    platform: str  # a key of PLATFORMS, or "" when its platform is unsupported
    problem: str = ""  # why its platform is unsupported, or why it cannot make environments
    command: str = ""  # how the artist starts it ("python3.13", "py -3.13"), for advice

    @property
    def managed(self) -> bool:
        """A Python the installer downloads (with uv) for the engine, where none on the machine fits."""
        return not self.executable


class Choice(NamedTuple):
    interpreter: Interpreter
    variant: str
    reason: str  # why this variant, for people ("" when it is simply the default)

    @property
    def lock(self) -> str:
        return lock_path(self.interpreter.platform, self.interpreter.version, self.variant)

    @property
    def backend(self) -> str:
        return VARIANTS[self.variant].backend

    def describe(self) -> str:
        """One line for people: what will be installed, and why when it is not the default."""
        text = (
            f"{VARIANTS[self.variant].label} for Python {self.interpreter.version} on "
            f"{PLATFORMS[self.interpreter.platform].label}"
        )
        return f"{text} ({self.reason})" if self.reason else text


class Unsupported(Exception):
    """No engine can be installed here; the text is one line saying what to do."""


def disk_needed_gb(platform: str, variant: str) -> float:
    """Free space an environment of this cell needs while it is installed (downloads included)."""
    if variant == "torch" and platform in LINUX:
        return 9.0  # PyPI's Linux PyTorch brings NVIDIA's libraries, GPU or not
    return VARIANTS[variant].disk_gb


def download_mb(choice: Choice) -> int:
    """About how many MB the packages of a choice download."""
    if choice.variant == "torch" and choice.interpreter.platform in LINUX:
        return 3000  # NVIDIA's libraries come with PyPI's Linux PyTorch
    return VARIANTS[choice.variant].download_mb


def cell_name(platform: str, python: str, variant: str) -> str:
    return f"{platform}-py{python}-{variant}"


def lock_path(platform: str, python: str, variant: str) -> str:
    return os.path.join(LOCKS, cell_name(platform, python, variant) + ".txt")


def supported(platform: str, python: str, variant: str) -> bool:
    entry = VARIANTS[variant]
    return platform in entry.platforms and python in entry.pythons


def cells():
    """Every supported (platform, python, variant), in a stable order."""
    return [(p, py, v) for p in PLATFORMS for py in PYTHONS for v in VARIANTS if supported(p, py, v)]


def platform_of(system: str, machine: str, bits: int, libc: tuple = ("", ""), macos: str = "") -> tuple:
    """(key of PLATFORMS or "", why not) for an interpreter's ``sys.platform``,
    ``platform.machine()``, pointer size, ``platform.libc_ver()`` and ``platform.mac_ver()[0]``."""
    machine = machine.lower()
    if bits != 64:
        return "", "this is a 32-bit Python; the engine needs a 64-bit one"
    if system.startswith("linux"):
        if libc[0] != "glibc":
            return "", "this Linux has no glibc (Alpine and other musl systems are not supported)"
        if _version(libc[1]) < MIN_GLIBC:
            return "", (
                f"this Linux is too old (glibc {libc[1]}; the engine's packages need "
                f"{'.'.join(map(str, MIN_GLIBC))} or newer, as in Debian 10 or Ubuntu 20.04)"
            )
        key = {
            "x86_64": "linux-x86_64",
            "amd64": "linux-x86_64",
            "aarch64": "linux-aarch64",
            "arm64": "linux-aarch64",
        }.get(machine, "")
        return key, "" if key else f"Linux on {machine} processors is not supported (x86-64 and ARM are)"
    if system == "win32":
        if machine in ("amd64", "x86_64"):
            return "windows-x86_64", ""
        return "", (
            f"Windows on {machine} is not supported: TensorFlow, JAX and PyTorch publish no "
            "packages for it (install the x64 Python, which Windows on ARM runs)"
        )
    if system == "darwin":
        if machine != "arm64":
            return "", (
                "Intel Macs are not supported: TensorFlow, JAX and PyTorch no longer publish "
                "packages for them (if this Mac has Apple silicon, this Python runs as Intel code: "
                "install the Apple-silicon Python from python.org)"
            )
        if _version(macos) < MIN_MACOS:
            return "", (
                f"macOS {macos} is too old: the engine needs macOS 14 (Sonoma) or newer "
                "(System Settings > General > Software Update)"
            )
        return "macos-arm64", ""
    return "", f"{system} is not supported (Linux, Windows and macOS are)"


def preferred_variants(platform: str, nvidia: bool, backend: str | None = None) -> list:
    """The variants to try, best first: the backend asked for, or else TensorFlow (the default)
    and then the platform's other choice: PyTorch for a Mac's GPU, JAX elsewhere. An NVIDIA GPU on
    Linux gets the CUDA builds."""
    order = [backend] if backend else ["tensorflow", "torch" if platform == "macos-arm64" else "jax"]
    cuda = nvidia and platform in LINUX
    return [f"{v}-cuda" if cuda and f"{v}-cuda" in VARIANTS else v for v in order]


MANAGED_PYTHON = "3.13"  # the Python uv downloads where the machine has none that fits: every variant has it


def choose(interpreters: list, nvidia: bool, backend: str | None = None) -> Choice:
    """The interpreter and variant to install: the running Python (first in ``interpreters``)
    whenever one of its variants fits, else another Python found, preferring the default backend,
    else a Python of the engine's own (``Interpreter.managed``, which uv downloads). Raises
    ``Unsupported`` with the one line to show when the machine itself cannot run the engine."""
    running, others = interpreters[0], interpreters[1:]
    if not running.platform:
        raise Unsupported(_sentence(running.problem))
    order = preferred_variants(running.platform, nvidia, backend)
    candidates = [(running, v) for v in order] + [(i, v) for v in order for i in others]
    for interpreter, variant in candidates:
        usable = interpreter.platform and not interpreter.problem
        if usable and supported(interpreter.platform, interpreter.version, variant):
            return Choice(interpreter, variant, _reason(running, interpreter, variant, order))
    managed = Interpreter("", MANAGED_PYTHON, running.platform, command="a Python of its own")
    variant = next(v for v in order if supported(running.platform, MANAGED_PYTHON, v))
    found = running.problem or f"Python {running.version} cannot run {VARIANTS[order[0]].label}"
    return Choice(managed, variant, f"{found.rstrip('.')}, so the engine gets a Python {MANAGED_PYTHON} of its own")


def _reason(running, interpreter, variant, order):
    python = f"Python {interpreter.version}"
    if interpreter is not running:
        return (
            f"Python {running.version} cannot run the engine, so it is installed for {python} "
            f"({interpreter.executable})"
        )
    if variant != order[0]:
        first = VARIANTS[order[0]]
        return (
            f"{first.label} has no packages for {python} on {PLATFORMS[interpreter.platform].label}, "
            f"so the engine uses {VARIANTS[variant].label}"
        )
    return ""


def _span(versions):
    return f"{versions[0]} to {versions[-1]}"


def _sentence(text):
    return text[:1].upper() + text[1:].rstrip(".") + "."


def _version(text: str) -> tuple:
    parts = []
    for part in text.split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts) or (0,)


ALL_PYTHONS = ("3.10", *PYTHONS, "3.15")  # the table's columns: the supported ones and their neighbours


def expected_device(platform: str, variant: str, nvidia: bool) -> str:
    """Where a variant computes on such a machine, as the matrix promises it."""
    if variant.endswith("-cuda") or (variant == "torch" and nvidia and platform in LINUX):
        return "NVIDIA GPU"
    return "Apple GPU" if variant == "torch" and platform == "macos-arm64" else "CPU"


def markdown_table() -> str:
    """What ``choose`` installs on each kind of machine with each Python, for the README."""
    rows = [
        (f"{PLATFORMS[p].label}{', NVIDIA GPU' if gpu else ''}", p, gpu)
        for p in PLATFORMS
        for gpu in ((False,) if p == "macos-arm64" else (False, True))
    ]
    lines = [
        "| machine | " + " | ".join(f"Python {v}" for v in ALL_PYTHONS) + " |",
        "| --- |" + " --- |" * len(ALL_PYTHONS),
    ]
    for label, platform, gpu in rows:
        cells = []
        for version in ALL_PYTHONS:
            chosen = choose([Interpreter("python", version, platform)], gpu)
            own = f" (own Python {chosen.interpreter.version})" if chosen.interpreter.managed else ""
            cells.append(f"{BACKEND_NAMES[chosen.backend]}, {expected_device(platform, chosen.variant, gpu)}{own}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    intel = platform_of("darwin", "x86_64", 64)[1].split(":")[0]
    lines.append("| macOS, Intel | " + " | ".join(["refused"] * len(ALL_PYTHONS)) + " |")
    return (
        "\n".join(lines) + f"\n\n*own Python*: where the machine has no Python {_span(PYTHONS)}, the installer "
        f"downloads one for the engine alone (with uv). *refused*: {intel}."
    )
