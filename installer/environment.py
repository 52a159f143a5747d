"""The engine's Python environment: one per lock file, named after its cell and the lock's
content, built beside the installed one and marked complete only once its packages are in, so a
half-made environment is never taken for a whole one. Standard library only."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys

from installer import matrix
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


def env_folder(data: str, choice: matrix.Choice) -> str:
    """The environment of a choice, named after its cell and its lock's content, so a changed lock
    gets a new environment beside the old one."""
    with open(choice.lock, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    cell = matrix.cell_name(choice.interpreter.platform, choice.interpreter.version, choice.variant)
    return os.path.join(data, "envs", f"{cell}-{digest}")


def is_complete(env: str) -> bool:
    return os.path.isfile(os.path.join(env, ".complete")) and os.path.isfile(env_python(env))


def check_free_space(data: str, choice: matrix.Choice) -> None:
    needed = matrix.disk_needed_gb(choice.interpreter.platform, choice.variant)
    existing = data
    while not os.path.isdir(existing):
        existing = os.path.dirname(existing)
    free = shutil.disk_usage(existing).free / 1e9
    if free < needed:
        raise InstallError(
            f"the engine needs about {needed:.1f} GB of free disk space in {existing} and "
            f"{free:.1f} GB is free: free some space, or choose another folder with --data-dir"
        )


def build(env: str, choice: matrix.Choice, log, echo) -> None:
    shutil.rmtree(env, ignore_errors=True)  # a run that was killed mid-way
    echo(f"Creating the engine's Python environment: {choice.describe()}...")
    log.run([choice.interpreter.executable, "-m", "venv", env], "Creating the engine's Python environment")
    echo("Installing the engine's packages (this downloads several hundred MB and takes a few minutes)...")
    output = log.run(
        [
            env_python(env),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "--require-hashes",
            "--only-binary",
            ":all:",
            "-r",
            choice.lock,
        ],
        None,
    )
    if output is not None:
        raise InstallError(explain_pip_failure(output) + f" (details in {log.path})")
    open(os.path.join(env, ".complete"), "w").close()


def explain_pip_failure(output: str) -> str:
    """One line for people from what pip printed when it failed."""
    lowered = output.lower()
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
    envs = os.path.join(data, "envs")
    for name in os.listdir(envs):
        if os.path.join(envs, name) != keep:
            shutil.rmtree(os.path.join(envs, name), ignore_errors=True)
    shutil.rmtree(os.path.join(data, "venv"), ignore_errors=True)


def add_engine_path(env: str, engine: str, log) -> None:
    """Make the engine importable by the environment's Python from any folder (``python -m core``
    for the command line), with a ``.pth`` file in its packages folder."""
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    packages = log.run([env_python(env), "-c", code], "Finding the environment's packages folder").strip()
    with open(os.path.join(packages, "neural_style_engine.pth"), "w", encoding="utf-8") as f:
        f.write(engine + "\n")
