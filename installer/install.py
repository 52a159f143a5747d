"""The installation steps. An install or an upgrade is built beside the one in place and takes
its place only once its self-check passes, so a failed or interrupted run leaves the previous
installation as it was and no half-made environment behind. The version marker is written last.

Layout of the data folder::

    envs/<cell>-<hash>/  the engine's Python environment, installed from one lock file
    engine/              a copy of core/ without its benchmark (the worker runs as
                         ``python -m core.worker`` from here)
    weights/             the VGG19 weights
    keras/               Keras' own settings (keras.json), kept here rather than in ~/.keras
    logs/                the plug-in's and the worker's logs (rotating), for when a run fails
    install.log          what the package installer and the self-check printed last time
    installed.json       what is installed, for --check and --uninstall (written last)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil

from gimp_plugin.neural_style.worker_client import WorkerClient, WorkerError
from installer import environment, matrix
from installer.plugin import REPO, install_plugin
from installer.steps import InstallError, StepLog

MARKER = "installed.json"
LOG = "install.log"
WEIGHTS_NAME = "vgg19_notop.weights.h5"
FLATPAK_OVERRIDE = "flatpak override --user --talk-name=org.freedesktop.Flatpak org.gimp.GIMP"
NO_GIMP = (
    "no GIMP 3 was found, so the plug-in was not installed (the engine was). Install GIMP 3 "
    "and run the installer again; or name GIMP's plug-in folder with --plugin-dir "
    "(GIMP: Edit > Preferences > Folders > Plug-ins)."
)


def engine_version() -> str:
    with open(os.path.join(REPO, "core", "__init__.py"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("__version__"):
                return line.split("=", 1)[1].strip().strip("\"'")
    raise InstallError("core/__init__.py has no __version__")


def install(data: str, folders: list, weights_source: str | None, choice: matrix.Choice, echo=print) -> list:
    """The whole installation; returns the plug-in folders written."""
    if weights_source and not os.path.isfile(os.path.expanduser(weights_source)):
        raise InstallError(f"the weights file {weights_source} does not exist")
    env = environment.env_folder(data, choice)
    ready = environment.is_complete(env)
    if not ready:
        environment.check_free_space(data, choice)
    os.makedirs(data, exist_ok=True)
    keras_home = os.path.join(data, "keras")
    first_keras_home = not os.path.exists(keras_home)
    log = StepLog(os.path.join(data, LOG), keras_home)
    new_env = engine = weights = None
    try:
        if not ready:
            new_env = env
            environment.build(env, choice, log, echo)
        python = environment.env_python(env)
        engine = _copy_engine(data)
        weights = _stage_weights(python, data, engine, weights_source, choice.backend, log, echo)
        report, device = check_engine(python, engine, weights, data, choice.backend, log)
        echo(f"Self-check: {report}")
    except BaseException:
        for path in (new_env, engine):
            if path:
                shutil.rmtree(path, ignore_errors=True)
        if weights and weights != _installed_weights(weights):
            os.remove(weights)
        for folder in ("envs", "weights"):  # made by this run, on a first install
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(data, folder))
        if first_keras_home:
            shutil.rmtree(keras_home, ignore_errors=True)
        raise
    # From here on the new installation replaces the old one.
    weights = _commit_weights(weights)
    engine = _commit_engine(data, engine)
    environment.add_engine_path(env, engine, log)
    written = []
    logs = log_folder(data)
    for folder in folders:
        os.makedirs(folder.plugins, exist_ok=True)
        command = worker_command(environment.env_python(env), weights, folder.flatpak, choice.backend, logs)
        written.append(install_plugin(folder.plugins, command, engine, engine_version(), device, logs))
        echo(f"Plug-in installed in {written[-1]}")
        if folder.flatpak:
            echo(
                "This is Flatpak GIMP: it may start the engine outside its sandbox only after you "
                f"allow it once with:\n    {FLATPAK_OVERRIDE}"
            )
    _write_marker(
        data,
        {
            "version": engine_version(),
            "plugins": written,
            "weights": weights,
            "backend": choice.backend,
            "variant": choice.variant,
            "env": env,
            "python": choice.interpreter.version,
            "device": device,
        },
    )
    environment.remove_others(data, env)
    if not folders:
        echo(f"\nWARNING: {NO_GIMP}")
    return written


def _copy_engine(data: str) -> str:
    staging = os.path.join(data, "engine.installing")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(
        os.path.join(REPO, "core"),
        os.path.join(staging, "core"),
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "bench"),
    )
    return staging


def _commit_engine(data: str, staging: str) -> str:
    target, old = os.path.join(data, "engine"), os.path.join(data, "engine.old")
    shutil.rmtree(old, ignore_errors=True)
    if os.path.isdir(target):
        os.rename(target, old)
    os.rename(staging, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def _stage_weights(python, data, engine, source, backend, log, echo) -> str:
    """Copy, expand (compact .npz) or download the weights beside the installed ones, under a
    temporary name; returns its path (or the installed file's, when nothing new is needed)."""
    folder = os.path.join(data, "weights")
    os.makedirs(folder, exist_ok=True)
    if source is None:
        echo("Downloading the VGG19 weights (80 MB, checked against their published hash)...")
        code = "import sys; from core.weights import download_weights; print(download_weights(cache_dir=sys.argv[1]))"
        cache = os.path.join(folder, "models")  # where Keras' download puts the file
        cache_was_there = os.path.exists(cache)
        try:
            output = _engine_call(python, engine, code, [folder], "Downloading the weights", backend, log)
        except InstallError:  # the engine's advice names its own options; these are the installer's
            if not cache_was_there:
                shutil.rmtree(cache, ignore_errors=True)
            raise InstallError(
                "could not download the VGG19 weights: check the internet connection, or give the "
                f"weights file with --weights FILE (details in {log.path})"
            ) from None
        return output.strip().splitlines()[-1]
    source = os.path.abspath(os.path.expanduser(source))
    if source.endswith(".npz"):
        echo("Expanding the compact VGG19 weights...")
        staged = os.path.join(folder, "new." + WEIGHTS_NAME)
        code = "import sys; from core.vgg import expand_compact_weights as e; e(sys.argv[1], sys.argv[2])"
        _engine_call(python, engine, code, [source, staged], "Expanding the weights", backend, log)
        return staged
    # a legacy Keras .h5 file keeps its extension, which tells Keras how to read it
    name = WEIGHTS_NAME if source.endswith(".weights.h5") else "vgg19_notop.h5"
    staged = os.path.join(folder, "new." + name)
    shutil.copyfile(source, staged)
    return staged


def _installed_weights(staged):
    """Where a staged weights file goes once the installation is committed."""
    folder, name = os.path.split(staged)
    return os.path.join(folder, name[len("new.") :]) if name.startswith("new.") else staged


def _commit_weights(staged):
    final = _installed_weights(staged)
    if final != staged:
        os.replace(staged, final)
    return final


def _engine_call(python, engine, code, args, what, backend, log):
    output = log.run([python, "-c", f"import sys; sys.path.insert(0, {engine!r}); " + code, *args], what, backend)
    return output


def log_folder(data: str) -> str:
    return os.path.join(data, "logs")


def worker_command(
    python: str, weights: str, flatpak: bool, backend: str = "tensorflow", logs: str | None = None
) -> list:
    command = [python, "-m", "core.worker", "--weights", weights, "--backend", backend]
    if logs:
        command += ["--log-file", os.path.join(logs, "worker.log")]
    return ["flatpak-spawn", "--host", *command] if flatpak else command


def check_engine(python, engine, weights, data, backend, log) -> tuple:
    """Stylise the bundled samples at a small size and shake hands with the installed worker:
    (report for the user, what the engine computes on), before any plug-in is written."""
    out = os.path.join(data, "self-check.png")
    samples = os.path.join(REPO, "samples")
    code = "from core.cli import main; sys.exit(main(sys.argv[1:]))"
    _engine_call(
        python,
        engine,
        code,
        [
            os.path.join(samples, "tubingen.jpg"),
            os.path.join(samples, "starry_night.jpg"),
            "-o",
            out,
            "--size",
            "192",
            "--iterations",
            "30",
            "--weights",
            weights,
            "--backend",
            backend,
            "--quiet",
        ],
        "The engine's self-check",
        backend,
        log,
    )
    hello = handshake(python, engine, weights, backend)
    device = f"{hello['device']} ({hello['backend']})"
    return f"the engine works on {device}; a test picture is in {out}", device


def handshake(python, engine, weights, backend) -> dict:
    """The installed worker's hello, or an ``InstallError`` saying why it did not come."""
    try:
        with WorkerClient(worker_command(python, weights, False, backend), cwd=engine) as client:
            if not client.hello["weights"]:
                raise InstallError(f"the engine cannot use its weights: {client.hello['weights_message']}")
            return client.hello
    except WorkerError as error:
        raise InstallError(f"the engine did not start: {error.user_text()}") from None


def _write_marker(data, values):
    temporary = os.path.join(data, MARKER + ".part")
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(values, f, indent=2)
    os.replace(temporary, os.path.join(data, MARKER))
