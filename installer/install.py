"""The installation steps. Each can be re-run; the version marker is written last, so a half
install is never taken for a whole one, and the plug-in is put in place only once the engine
behind it works.

Layout of the data folder::

    venv/       the engine's private Python environment (pinned packages)
    engine/     a copy of core/ (the worker runs as ``venv python -m core.worker`` from here)
    weights/    the VGG19 weights
    installed.json   version marker and the plug-in folders we wrote, for --check and --uninstall
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv

from gimp_plugin.neural_style.worker_client import WorkerClient, WorkerError
from installer.plugin import PLUGIN_NAME, REPO, install_plugin, remove_plugin

MARKER = "installed.json"
WEIGHTS_NAME = "vgg19_notop.weights.h5"
FLATPAK_OVERRIDE = "flatpak override --user --talk-name=org.freedesktop.Flatpak org.gimp.GIMP"


NO_GIMP = ("no GIMP 3 was found, so the plug-in was not installed (the engine was). Install GIMP 3, "
           "start it once, and run the installer again; or name GIMP's plug-in folder with --plugin-dir "
           "(GIMP: Edit > Preferences > Folders > Plug-ins).")


class InstallError(Exception):
    """A step failed; the text says what happened and what to do."""


def engine_version() -> str:
    with open(os.path.join(REPO, "core", "__init__.py"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("__version__"):
                return line.split("=", 1)[1].strip().strip("\"'")
    raise InstallError("core/__init__.py has no __version__")


def venv_python(data: str) -> str:
    if sys.platform.startswith("win"):
        return os.path.join(data, "venv", "Scripts", "python.exe")
    return os.path.join(data, "venv", "bin", "python")


BACKENDS = ("tensorflow", "jax", "torch")
PYTORCH_CUDA_INDEX = "https://download.pytorch.org/whl/cu126"  # PyPI's Windows wheels are CPU-only


def _pinned(name):
    with open(os.path.join(REPO, "core", name), encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def requirements(backend="tensorflow", platform=sys.platform, which=shutil.which) -> tuple:
    """(pip arguments: pinned requirements and any extra index, a note about the GPU) for this
    machine and Keras backend. TensorFlow is always installed: it is the default backend."""
    lines = _pinned("requirements.txt")
    nvidia = which("nvidia-smi") is not None
    linux = platform.startswith("linux")
    if backend == "jax":
        extra = _pinned("requirements-jax.txt")
        if linux and nvidia:
            extra = [line.replace("jax==", "jax[cuda12]==") for line in extra]
            return lines + extra, "NVIDIA GPU found: installing JAX with CUDA support."
        return lines + extra, "JAX will run on the CPU (its GPU builds are for Linux)."
    if backend == "torch":
        extra = _pinned("requirements-torch.txt")
        if platform.startswith("win") and nvidia:
            return (lines + extra + ["--extra-index-url", PYTORCH_CUDA_INDEX],
                    "NVIDIA GPU found: installing PyTorch with CUDA support.")
        return lines + extra, ("PyTorch will use the GPU where it has one (NVIDIA on Linux, Apple "
                               "silicon on a Mac).")
    if linux and nvidia:
        lines = [line.replace("tensorflow-cpu==", "tensorflow[and-cuda]==") for line in lines]
        return lines, "NVIDIA GPU found: installing TensorFlow with CUDA support."
    if platform.startswith("win"):
        return lines, ("TensorFlow has no GPU support on native Windows: the engine runs on the CPU "
                       "(for an NVIDIA GPU, install with --backend torch).")
    if platform == "darwin":
        return lines, "TensorFlow runs on the Mac's CPU (for its GPU, install with --backend torch)."
    return lines, "No NVIDIA GPU found: the engine runs on the CPU."


def run(command, what):
    """Run a step's command; its output goes to the terminal, a failure becomes an InstallError."""
    try:
        completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except OSError as error:
        raise InstallError(f"{what} failed: {error}") from None
    if completed.returncode != 0:
        tail = "\n".join(completed.stdout.strip().splitlines()[-15:])
        raise InstallError(f"{what} failed:\n{tail}")
    return completed.stdout


def make_venv(data: str, echo=print) -> str:
    python = venv_python(data)
    if not os.path.exists(python):
        echo("Creating the engine's Python environment...")
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(os.path.join(data, "venv"))
        except (OSError, subprocess.CalledProcessError) as error:
            shutil.rmtree(os.path.join(data, "venv"), ignore_errors=True)
            raise InstallError(f"could not create a Python environment ({error}); on Debian or Ubuntu "
                               "install python3-venv first") from None
    return python


def install_packages(python: str, backend: str, echo=print) -> None:
    lines, note = requirements(backend)
    echo(note)
    echo("Installing the engine's packages (TensorFlow is large; this can take a few minutes)...")
    run([python, "-m", "pip", "install", "--disable-pip-version-check", "-q", *lines],
        "Installing packages (check the network connection and free disk space)")


def copy_engine(data: str) -> str:
    target = os.path.join(data, "engine")
    staging = target + ".installing"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(os.path.join(REPO, "core"), os.path.join(staging, "core"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.rmtree(target, ignore_errors=True)
    os.rename(staging, target)
    return target


def install_weights(python: str, data: str, engine: str, source: str | None, echo=print) -> str:
    """Copy, expand (compact .npz) or download the weights into the data folder; returns the path."""
    folder = os.path.join(data, "weights")
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, WEIGHTS_NAME)
    if source is None:
        echo("Downloading the VGG19 weights (80 MB, checked against their published hash)...")
        code = ("import sys; from core.weights import download_weights; "
                "print(download_weights(cache_dir=sys.argv[1]))")
        return _engine_call(python, engine, code, [folder], "Downloading the weights").strip().splitlines()[-1]
    source = os.path.abspath(os.path.expanduser(source))
    if source.endswith(".npz"):
        echo("Expanding the compact VGG19 weights...")
        code = "import sys; from core.weights import expand_compact_weights as e; e(sys.argv[1], sys.argv[2])"
        _engine_call(python, engine, code, [source, target], "Expanding the weights")
    elif source.endswith(".weights.h5"):
        shutil.copyfile(source, target)
    else:  # a legacy Keras .h5 file keeps its extension, which tells Keras how to read it
        target = os.path.join(folder, "vgg19_notop.h5")
        shutil.copyfile(source, target)
    return target


def _engine_call(python, engine, code, args, what):
    return run([python, "-c", f"import sys; sys.path.insert(0, {engine!r}); " + code, *args], what)


def worker_command(python: str, weights: str, flatpak: bool, backend: str = "tensorflow") -> list:
    command = [python, "-m", "core.worker", "--weights", weights, "--backend", backend]
    return ["flatpak-spawn", "--host", *command] if flatpak else command


def install(data: str, folders: list, weights_source: str | None, echo=print,
            backend: str = "tensorflow") -> list:
    """The whole installation; returns the plug-in folders written."""
    if sys.version_info < (3, 10):
        raise InstallError(f"Python 3.10 or newer is needed, this is {sys.version.split()[0]}")
    if weights_source and not os.path.isfile(os.path.expanduser(weights_source)):
        raise InstallError(f"the weights file {weights_source} does not exist")
    os.makedirs(data, exist_ok=True)
    marker = os.path.join(data, MARKER)
    if os.path.exists(marker):
        os.remove(marker)  # from here until the end, this is a half install
    python = make_venv(data, echo)
    install_packages(python, backend, echo)
    engine = copy_engine(data)
    weights = install_weights(python, data, engine, weights_source, echo)
    report, device = check_engine(python, engine, weights, data, backend)
    echo(f"Self-check: {report}")
    written = []
    for folder in folders:
        os.makedirs(folder.plugins, exist_ok=True)
        written.append(install_plugin(folder.plugins, worker_command(python, weights, folder.flatpak, backend),
                                      engine, engine_version(), device))
        echo(f"Plug-in installed in {written[-1]}")
        if folder.flatpak:
            echo("This is Flatpak GIMP: it may start the engine outside its sandbox only after you "
                 f"allow it once with:\n    {FLATPAK_OVERRIDE}")
    with open(marker, "w", encoding="utf-8") as f:
        json.dump({"version": engine_version(), "plugins": written, "weights": weights, "backend": backend},
                  f, indent=2)
    if not folders:
        echo(f"\nWARNING: {NO_GIMP}")
    return written


def check_engine(python, engine, weights, data, backend="tensorflow") -> tuple:
    """Stylise the bundled samples at a small size and shake hands with the installed worker:
    (report for the user, what the engine computes on), before any plug-in is written."""
    out = os.path.join(data, "self-check.png")
    samples = os.path.join(REPO, "samples")
    code = "from core.cli import main; sys.exit(main(sys.argv[1:]))"
    run([python, "-c", f"import sys; sys.path.insert(0, {engine!r}); " + code,
         os.path.join(samples, "tubingen.jpg"), os.path.join(samples, "starry_night.jpg"), "-o", out,
         "--size", "192", "--iterations", "30", "--weights", weights, "--backend", backend, "--quiet"],
        "The engine's self-check")
    hello = _handshake(python, engine, weights, backend)
    device = f"{hello['device']} ({hello['backend']})"
    return f"the engine works on {device}; a test picture is in {out}", device


def _handshake(python, engine, weights, backend="tensorflow") -> dict:
    try:
        with WorkerClient(worker_command(python, weights, False, backend), cwd=engine) as client:
            if not client.hello["weights"]:
                raise InstallError(f"the engine cannot use its weights: {client.hello['weights_message']}")
            return client.hello
    except WorkerError as error:
        raise InstallError(f"the engine did not start: {error.user_text()}\n{error.log_tail}") from None


def uninstall(data: str, folders: list, echo=print) -> None:
    """Remove what we added: our plug-in folders (recorded and found) and our data folder."""
    recorded = _marker(data).get("plugins", [])
    plugin_dirs = {os.path.dirname(p) for p in recorded} | {f.plugins for f in folders}
    for plugins in sorted(plugin_dirs):
        if remove_plugin(plugins):
            echo(f"Removed {os.path.join(plugins, PLUGIN_NAME)}")
    if os.path.isdir(data):
        shutil.rmtree(data)
        echo(f"Removed {data}")


def check(data: str, folders: list) -> list:
    """Problems with the installation, in plain words; an empty list means all is well."""
    marker = _marker(data)
    if not marker:
        return [f"Neural Style is not installed (or its installation did not finish) in {data}: "
                "run the installer"]
    problems = []
    if marker.get("version") != engine_version():
        problems.append(f"the installed engine is version {marker.get('version')}, this installer is "
                        f"{engine_version()}: run the installer to upgrade")
    for path in marker.get("plugins", []):
        entry = os.path.join(path, "neural_style.py")
        if not os.path.isfile(entry):
            problems.append(f"the plug-in is missing from {path}: run the installer again")
        elif not os.access(entry, os.X_OK):
            problems.append(f"{entry} is not executable, so GIMP ignores it: run the installer again")
    python = venv_python(data)
    if not os.path.exists(python):
        problems.append("the engine's Python environment is missing: run the installer again")
    elif not problems:
        try:
            _handshake(python, os.path.join(data, "engine"), marker.get("weights", ""),
                       marker.get("backend", "tensorflow"))
        except InstallError as error:
            problems.append(str(error))
    if not folders:
        problems.append("no GIMP 3 user folder found: start GIMP 3 once")
    return problems


def _marker(data):
    try:
        with open(os.path.join(data, MARKER), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
