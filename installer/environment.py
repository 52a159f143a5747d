"""The engine's Python environment: one per lock file, named after its cell and the lock's
content, built beside the installed one and marked complete only once its packages are in, so a
half-made environment is never taken for a whole one. Standard library only."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys

from installer import matrix
from installer.progress import Progress, no_progress
from installer.steps import InstallError

# What pip prints when it cannot reach the package registry.
NETWORK_TROUBLE = (
    "failed to establish a new connection",
    "temporary failure in name resolution",
    "name or service not known",
    "network is unreachable",
    "connection refused",
    "read timed out",
    "connectionerror",
    "proxyerror",
    "max retries exceeded",
)


def env_python(env: str) -> str:
    if sys.platform.startswith("win"):
        return os.path.join(env, "Scripts", "python.exe")
    return os.path.join(env, "bin", "python")


WINDOWS = "windows-x86_64"
MAX_PATH = 260  # Windows' limit on a path, unless long paths are enabled
WINDOWS_PATHS = os.path.join(matrix.LOCKS, "windows-paths.json")  # by installer.wheel_paths, when relocking
LONG_PATHS_KEY = r"SYSTEM\CurrentControlSet\Control\FileSystem"


def env_folder(data: str, choice: matrix.Choice) -> str:
    """The environment of a choice, named after its cell and its lock's content, so a changed lock
    gets a new environment beside the old one. On Windows the name is short (``e\\<8 hex>``):
    the engine's packages hold files 185 characters deep, and Windows allows 260 in all."""
    with open(choice.lock, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if choice.interpreter.platform == WINDOWS:
        return os.path.join(data, "e", digest[:8])
    cell = matrix.cell_name(choice.interpreter.platform, choice.interpreter.version, choice.variant)
    return os.path.join(data, "envs", f"{cell}-{digest[:12]}")


def longest_path(env: str, choice: matrix.Choice) -> int:
    """The longest path, in characters, of a file the choice's packages install into ``env`` on
    Windows (0 elsewhere), from the lengths recorded for each Windows lock."""
    if choice.interpreter.platform != WINDOWS:
        return 0
    with open(WINDOWS_PATHS, encoding="utf-8") as f:
        recorded = json.load(f)[os.path.basename(choice.lock)]
    return len(env) + 1 + recorded["length"]


def check_path_length(env: str, choice: matrix.Choice, long_paths=None) -> None:
    """Refuse, before downloading, an environment whose files Windows could not write."""
    length = longest_path(env, choice)
    if length < MAX_PATH or (long_paths_enabled() if long_paths is None else long_paths):
        return
    raise InstallError(
        f"the engine's files would need paths of {length} characters in {env}, and Windows allows "
        f"{MAX_PATH}: enable long paths (as an administrator, in PowerShell: New-ItemProperty -Path "
        f"HKLM:\\{LONG_PATHS_KEY} -Name LongPathsEnabled -Value 1 -PropertyType DWORD -Force) and install again"
    )


def long_paths_enabled() -> bool:
    """Windows' LongPathsEnabled setting (off unless an administrator turned it on)."""
    try:
        import winreg

        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, LONG_PATHS_KEY) as key:
            return winreg.QueryValueEx(key, "LongPathsEnabled")[0] == 1
    except (ImportError, OSError):
        return False


def is_complete(env: str) -> bool:
    return os.path.isfile(os.path.join(env, ".complete")) and os.path.isfile(env_python(env))


def check_free_space(data: str, choice: matrix.Choice) -> None:
    needed = matrix.disk_needed_gb(choice.interpreter.platform, choice.variant)
    existing = existing_parent(data)
    free = shutil.disk_usage(existing).free / 1e9
    if free < needed:
        raise InstallError(
            f"the engine needs about {needed:.1f} GB of free disk space in {existing} and "
            f"{free:.1f} GB is free: free some space, or choose another folder with --data-dir"
        )


def existing_parent(path: str, paths=os.path, isdir=os.path.isdir) -> str:
    """The nearest folder of ``path`` that exists; an ``InstallError`` when not even its drive does.
    (``paths``: the platform's path rules, ``ntpath`` in tests of Windows' drives.)"""
    existing = paths.abspath(path)
    while not isdir(existing):
        parent = paths.dirname(existing)
        if parent == existing:  # a drive or root that is not there ("Z:\\")
            raise InstallError(f"the folder {path} cannot be made: {existing} does not exist")
        existing = parent
    return existing


def build(env: str, choice: matrix.Choice, uv: str, log, progress=no_progress) -> None:
    """Make the environment with uv (no ``venv`` module needed) and install the lock's packages."""
    shutil.rmtree(env, ignore_errors=True)  # a run that was killed mid-way
    progress(Progress(f"Creating the engine's Python environment: {choice.describe()}", None))
    log.run(
        [uv, "venv", "--python", choice.interpreter.executable, env],
        "Creating the engine's Python environment",
        env=uv_environment(_data_of(env)),
    )
    step = f"Installing the engine's packages (about {matrix.download_mb(choice)} MB to download)"
    progress(Progress(step, None))
    output = log.run(
        [
            uv,
            "pip",
            "install",
            "--python",
            env_python(env),
            "--require-hashes",
            "--only-binary",
            ":all:",
            "-r",
            choice.lock,
        ],
        None,
        env=uv_environment(_data_of(env)),
        on_line=lambda line: progress(Progress(step, None)),
    )
    if output is not None:
        raise InstallError(explain_pip_failure(output) + f" (details in {log.path})")
    open(os.path.join(env, ".complete"), "w").close()


# uv's cache, in the data folder while installing and removed after each: it unpacks each package
# there (in archive-v0\\<16 characters>\\), so on Windows its name is short too.
UV_CACHE = "c" if sys.platform == "win32" else "uv-cache"


def uv_environment(data: str, environ=None) -> dict:
    """uv's settings for the installer: its cache in the data folder (removed after each
    install), no configuration files of the machine's, and no Python downloads unless asked for."""
    environ = os.environ if environ is None else environ
    clean = {k: v for k, v in environ.items() if not k.startswith("UV_")}
    return dict(clean, UV_CACHE_DIR=os.path.join(data, UV_CACHE), UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never")


def _data_of(env: str) -> str:
    return os.path.dirname(os.path.dirname(env))  # data/envs/<name>, data\\e\\<name>


def managed_python(uv: str, data: str, version: str, log, progress=no_progress) -> str:
    """A Python of the engine's own, downloaded by uv into the data folder; returns its path."""
    progress(Progress(f"Downloading Python {version} for the engine", None))
    folder = os.path.join(data, "python")
    env = dict(uv_environment(data), UV_PYTHON_INSTALL_DIR=folder, UV_PYTHON_DOWNLOADS="automatic")
    output = log.run([uv, "python", "install", version], None, env=env)
    if output is not None:
        shutil.rmtree(folder, ignore_errors=True)
        raise InstallError(explain_python_download_failure(output, version) + f" (details in {log.path})")
    found = log.run([uv, "python", "find", "--managed-python", version], "Finding the downloaded Python", env=env)
    return found.strip().splitlines()[-1]


def explain_python_download_failure(output: str, version: str) -> str:
    if "no space left on device" in output.lower():
        return "the disk is full: free some space and run the installer again"
    return (
        f"no Python 3.11 to 3.14 was found on this computer, and downloading Python {version} for the "
        "engine failed: check the internet connection (behind a proxy, set HTTPS_PROXY), or install "
        f"Python {version} from https://www.python.org/downloads/ and install again"
    )


def explain_pip_failure(output: str) -> str:
    """One line for people from what pip printed when it failed (uv wraps its long lines at its
    idea of the terminal's width, so the signs are looked for with the lines joined)."""
    lowered = " ".join(output.lower().split())
    if "no space left on device" in lowered:
        return "the disk is full: free some space and run the installer again"
    if any(sign in lowered for sign in NETWORK_TROUBLE):
        return (
            "could not download the engine's packages: check the internet connection (behind a proxy, "
            "set HTTPS_PROXY) and run the installer again"
        )
    if "do not match the hashes" in lowered:
        return "a downloaded package was damaged (it does not match the hash in the lock file): run the installer again"
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return f"installing the engine's packages failed ({lines[-1] if lines else 'no message'})"


def remove_others(data: str, keep: str) -> None:
    """Environments of earlier installations (and the single ``venv`` of the first layout)."""
    envs = os.path.dirname(keep)
    for name in os.listdir(envs):
        if os.path.join(envs, name) != keep:
            shutil.rmtree(os.path.join(envs, name), ignore_errors=True)
    shutil.rmtree(os.path.join(data, "venv"), ignore_errors=True)


def add_engine_path(env: str, engine: str, log) -> None:
    """Make the engine importable by the environment's Python from any folder (``python -m core``
    for the command line), with a ``.pth`` file in its packages folder."""
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    packages = log.run([env_python(env), "-c", code], "Finding the environment's packages folder").strip()
    with open(os.path.join(packages, "neural_style_engine.pth"), "w", encoding="ascii") as f:
        f.write(engine_path_line(engine))


def engine_path_line(engine: str) -> str:
    """The ``.pth`` line naming the engine's folder, in ASCII whatever the folder's name: Python
    3.11 and 3.12 read ``.pth`` files in the locale's code page on Windows ("Zoë" would break)."""
    return f"import sys; sys.path.append({engine!a})\n"
