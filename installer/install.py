"""The installation steps. An install or an upgrade is built beside the one in place and takes
its place only once its self-check passes, so a failed or interrupted run leaves the previous
installation as it was and no half-made environment behind. The version marker is written last.

Layout of the data folder::

    envs/<cell>-<hash>/  the engine's Python environment, installed from one lock file
                         (on Windows e\\<hash>\\, short: Windows limits paths to 260 characters)
    engine/              a copy of core/ without its benchmark (the worker runs as
                         ``python -m core.worker`` from here)
    weights/             the VGG19 weights
    keras/               Keras' own settings (keras.json), kept here rather than in ~/.keras
    logs/                the plug-in's and the worker's logs (rotating), for when a run fails
    install.log          what the package installer and the self-check printed last time
    speed.json           how fast this computer paints, measured by the self-check and each run
                         (``core.speed``), for time estimates
    installed.json       what is installed, for --check and --uninstall (written last)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile

from installer import environment, fs, locations, matrix, settings
from installer.download import CertificateError, DownloadError, download
from installer.plugin import REPO, install_plugin, worker_client
from installer.progress import Cancelled, Progress, never_cancelled, no_progress
from installer.steps import InstallError, StepLog
from installer.uv import ensure_uv

MARKER = "installed.json"
LOG = "install.log"
WEIGHTS_NAME = "vgg19_notop.weights.h5"
FLATPAK_OVERRIDE = "flatpak override --user --talk-name=org.freedesktop.Flatpak org.gimp.GIMP"


def engine_version() -> str:
    with open(os.path.join(REPO, "core", "__init__.py"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("__version__"):
                return line.split("=", 1)[1].strip().strip("\"'")
    raise InstallError("core/__init__.py has no __version__")


def install(data: str, folders: list, weights_source: str | None, choice: matrix.Choice, **options) -> list:
    """The whole installation: the engine into ``data``, then the plug-in into each of ``folders``
    (none when installing from GIMP, whose plug-in folder is already in place); returns the
    plug-in folders written. ``options``: ``echo`` (messages), ``progress(Progress)`` (each
    step) and ``cancelled()`` (true stops it with ``Cancelled``). A failure is an
    ``InstallError`` in one line, and leaves the previous installation as it was."""
    try:
        return _install(data, folders, weights_source, choice, **options)
    except OSError as error:  # one the steps did not foresee: still one line, never a traceback
        raise InstallError(fs.explain(error)) from None


def _install(
    data: str,
    folders: list,
    weights_source: str | None,
    choice: matrix.Choice,
    echo=print,
    progress=no_progress,
    cancelled=never_cancelled,
) -> list:
    if weights_source and not os.path.isfile(os.path.expanduser(weights_source)):
        raise InstallError(f"the weights file {weights_source} does not exist")
    env = environment.env_folder(data, choice)
    ready = environment.is_complete(env)
    if not ready:
        environment.check_free_space(data, choice)
        environment.check_path_length(env, choice)
    _make_data_folder(data)
    keras_home = os.path.join(data, "keras")
    first_keras_home = not os.path.exists(keras_home)
    log = StepLog(os.path.join(data, LOG), keras_home, cancelled)
    new_env = engine = weights = None
    made = [os.path.join(data, name) for name in ("tools", "python") if not os.path.exists(os.path.join(data, name))]
    try:
        if not ready:
            new_env = env
            uv = ensure_uv(os.path.join(data, "tools"), choice.interpreter.platform, progress, cancelled)
            if choice.interpreter.managed:
                python = environment.managed_python(uv, data, choice.interpreter.version, log, progress)
                choice = choice._replace(interpreter=choice.interpreter._replace(executable=python))
            _check(cancelled)
            environment.build(env, choice, uv, log, progress)
        python = environment.env_python(env)
        engine = _copy_engine(data)
        _check(cancelled)
        weights = _stage_weights(python, data, engine, weights_source, choice.backend, log, progress, cancelled)
        _check(cancelled)
        progress(Progress("Checking the engine: painting a small test picture", None))
        report, device = check_engine(python, engine, weights, data, choice.backend, log)
        echo(f"Self-check: {report}")
        _check(cancelled)
    except BaseException:
        for path in (new_env, engine, *made):
            if path:
                shutil.rmtree(path, ignore_errors=True)
        if weights and weights != _installed_weights(weights):
            os.remove(weights)
        for folder in (os.path.dirname(env), "weights"):  # made by this run, on a first install
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(data, folder))
        if first_keras_home:
            shutil.rmtree(keras_home, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(os.path.join(data, environment.UV_CACHE), ignore_errors=True)
    # From here on the new installation replaces the old one.
    progress(Progress("Finishing", 1.0))
    weights = _commit_weights(weights)
    engine = _commit_engine(data, engine)
    environment.add_engine_path(env, engine, log)
    logs = log_folder(data)
    settings.write(
        data,
        settings.EngineSettings(
            environment.env_python(env), engine, weights, choice.backend, device, engine_version(), logs
        ),
    )
    written = install_plugins(data, folders, echo)
    write_marker(
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
    return written


def install_plugins(data: str, folders: list, echo=print) -> list:
    """The plug-in into each of ``folders``, pointing at ``data`` when it is not the default
    folder; returns the plug-in folders written."""
    written = []
    for folder in folders:
        os.makedirs(folder.plugins, exist_ok=True)
        pointer = data if folder.flatpak or data != locations.data_dir() else None
        written.append(install_plugin(folder.plugins, pointer))
        echo(f"Plug-in installed in {written[-1]}")
        if folder.flatpak:
            echo(
                "This is Flatpak GIMP: it may start the engine outside its sandbox only after you "
                f"allow it once with:\n    {FLATPAK_OVERRIDE}"
            )
    return written


def _check(cancelled):
    if cancelled():
        raise Cancelled()


def _make_data_folder(data):
    try:
        os.makedirs(data, exist_ok=True)
    except OSError as error:
        raise InstallError(_unwritable_sentence(data, error)) from None
    problem = unwritable(data)
    if problem:
        raise InstallError(problem)


def unwritable(data: str) -> str:
    """Why the engine's folder cannot be written, in one line, or "": tried with a throw-away file
    in it or, before it exists, in the nearest folder above it (so nothing is left behind)."""
    try:
        with tempfile.TemporaryFile(dir=environment.existing_parent(data)):
            pass
    except InstallError as error:
        return str(error)
    except OSError as error:
        return _unwritable_sentence(data, error)
    return ""


def _unwritable_sentence(data, error: OSError) -> str:
    return (
        f"the engine's folder {data} cannot be written ({error.strerror}): choose another one with "
        "--data-dir, or give your user the right to write there"
    )


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
    target = os.path.join(data, "engine")
    fs.swap_in(staging, target)
    return target


def _stage_weights(python, data, engine, source, backend, log, progress, cancelled=never_cancelled) -> str:
    """Copy, expand (compact .npz) or download the weights beside the installed ones, under a
    temporary name; returns its path."""
    folder = os.path.join(data, "weights")
    os.makedirs(folder, exist_ok=True)
    if source is None:
        return _download_weights(python, engine, folder, backend, log, progress, cancelled)
    source = os.path.abspath(os.path.expanduser(source))
    if source.endswith(".npz"):
        progress(Progress("Expanding the compact VGG19 weights", None))
        staged = os.path.join(folder, "new." + WEIGHTS_NAME)
        code = "import sys; from core.vgg import expand_compact_weights as e; e(sys.argv[1], sys.argv[2])"
        _engine_call(python, engine, code, [source, staged], "Expanding the weights", backend, log)
        return staged
    # a legacy Keras .h5 file keeps its extension, which tells Keras how to read it
    name = WEIGHTS_NAME if source.endswith(".weights.h5") else "vgg19_notop.h5"
    staged = os.path.join(folder, "new." + name)
    shutil.copyfile(source, staged)
    return staged


def _download_weights(python, engine, folder, backend, log, progress, cancelled) -> str:
    """Keras' VGG19 weights from their publisher (the engine knows where and their MD5), with the
    installer's own download: progress in MB, retries, and, where this Python trusts no
    certificate authority at all, the engine's certifi bundle."""
    code = (
        "import certifi; from core.weights import WEIGHTS_ORIGIN as u, WEIGHTS_MD5 as h; print(u, h, certifi.where())"
    )
    url, md5, bundle = _engine_call(python, engine, code, [], "Finding the weights", backend, log).split()[-3:]
    staged = os.path.join(folder, "new.vgg19_notop.h5")  # a legacy Keras .h5 file, as Keras names it
    try:
        return download(
            url, staged, md5, "the VGG19 weights", progress, cancelled, algorithm="md5", fallback_cafile=bundle
        )
    except CertificateError:
        raise
    except DownloadError as error:
        log.write(f"weights download failed: {error}\n")
        raise InstallError(
            "could not download the VGG19 weights: check the internet connection, or give the weights file "
            f"with --weights FILE (in GIMP: I have the weights file) (details in {log.path})"
        ) from None


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
    hello = handshake(settings.EngineSettings(python, engine, weights, backend, "", "", ""))
    device = f"{hello.device} ({hello.backend})"
    return f"the engine works on {device}; a test picture is in {out}", device


def worker_for(engine: settings.EngineSettings):
    """A client (the plug-in's ``WorkerClient``) for the engine's worker, here or elsewhere, with
    the way's complaints explained."""
    explain = engine.way().explain if engine.way() else None
    return worker_client().WorkerClient(
        settings.worker_command(engine), settings.worker_folder(engine), explain=explain
    )


def handshake(engine: settings.EngineSettings):
    """The installed worker's hello (here, or on another computer by ssh), or an ``InstallError``
    saying why it did not come."""
    client_module = worker_client()
    try:
        with worker_for(engine) as client:
            if not client.hello.weights:
                raise InstallError(f"the engine cannot use its weights: {client.hello.weights_message}")
            return client.hello
    except client_module.WorkerError as error:
        raise InstallError(f"the engine did not start: {error.user_text()}") from None


def write_marker(data, values):
    """What is installed, for --check and --uninstall; written last."""
    temporary = os.path.join(data, MARKER + ".part")
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(values, f, indent=2)
    os.replace(temporary, os.path.join(data, MARKER))
