"""The installation steps. An install or an upgrade is built beside the one in place and takes
its place only once its self-check passes, so a failed or interrupted run leaves the previous
installation as it was and no half-made environment behind. The version marker is written last.

Layout of the data folder::

    envs/<cell>-<hash>/  the engine's Python environment, installed from one lock file
    engine/              a copy of core/ (the worker runs as ``python -m core.worker`` from here)
    weights/             the VGG19 weights
    install.log          what the package installer and the self-check printed last time
    installed.json       what is installed, for --check and --uninstall (written last)
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys

from gimp_plugin.neural_style.worker_client import WorkerClient, WorkerError
from installer import matrix
from installer.plugin import PLUGIN_NAME, REPO, install_plugin, remove_plugin

MARKER = "installed.json"
LOG = "install.log"
WEIGHTS_NAME = "vgg19_notop.weights.h5"
FLATPAK_OVERRIDE = "flatpak override --user --talk-name=org.freedesktop.Flatpak org.gimp.GIMP"
NO_GIMP = ("no GIMP 3 was found, so the plug-in was not installed (the engine was). Install GIMP 3 "
           "and run the installer again; or name GIMP's plug-in folder with --plugin-dir "
           "(GIMP: Edit > Preferences > Folders > Plug-ins).")
# What pip prints when it cannot reach the package registry.
NETWORK_TROUBLE = ("failed to establish a new connection", "temporary failure in name resolution",
                   "name or service not known", "network is unreachable", "connection refused",
                   "read timed out", "connectionerror", "proxyerror", "max retries exceeded")


class InstallError(Exception):
    """A step failed; the text is one line saying what happened and what to do."""


def engine_version() -> str:
    with open(os.path.join(REPO, "core", "__init__.py"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("__version__"):
                return line.split("=", 1)[1].strip().strip("\"'")
    raise InstallError("core/__init__.py has no __version__")


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


def install(data: str, folders: list, weights_source: str | None, choice: matrix.Choice,
            echo=print) -> list:
    """The whole installation; returns the plug-in folders written."""
    if weights_source and not os.path.isfile(os.path.expanduser(weights_source)):
        raise InstallError(f"the weights file {weights_source} does not exist")
    env = env_folder(data, choice)
    ready = _complete(env)
    if not ready:
        _check_free_space(data, choice)
    os.makedirs(data, exist_ok=True)
    log = _Log(os.path.join(data, LOG))
    new_env = engine = weights = None
    try:
        if not ready:
            new_env = env
            _build_env(env, choice, log, echo)
        python = env_python(env)
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
        raise
    # From here on the new installation replaces the old one.
    weights = _commit_weights(weights)
    engine = _commit_engine(data, engine)
    written = []
    for folder in folders:
        os.makedirs(folder.plugins, exist_ok=True)
        command = worker_command(env_python(env), weights, folder.flatpak, choice.backend)
        written.append(install_plugin(folder.plugins, command, engine, engine_version(), device))
        echo(f"Plug-in installed in {written[-1]}")
        if folder.flatpak:
            echo("This is Flatpak GIMP: it may start the engine outside its sandbox only after you "
                 f"allow it once with:\n    {FLATPAK_OVERRIDE}")
    _write_marker(data, {"version": engine_version(), "plugins": written, "weights": weights,
                         "backend": choice.backend, "variant": choice.variant, "env": env,
                         "python": choice.interpreter.version, "device": device})
    _remove_other_envs(data, env)
    if not folders:
        echo(f"\nWARNING: {NO_GIMP}")
    return written


def describe_choice(choice: matrix.Choice) -> str:
    """One line for people: what will be installed, and why when it is not the default."""
    interpreter = choice.interpreter
    text = (f"{matrix.VARIANTS[choice.variant].label} for Python {interpreter.version} on "
            f"{matrix.PLATFORMS[interpreter.platform].label}")
    return f"{text} ({choice.reason})" if choice.reason else text


def _complete(env):
    return os.path.isfile(os.path.join(env, ".complete")) and os.path.isfile(env_python(env))


def _check_free_space(data, choice):
    needed = matrix.disk_needed_gb(choice.interpreter.platform, choice.variant)
    existing = data
    while not os.path.isdir(existing):
        existing = os.path.dirname(existing)
    free = shutil.disk_usage(existing).free / 1e9
    if free < needed:
        raise InstallError(f"the engine needs about {needed:.1f} GB of free disk space in {existing} and "
                           f"{free:.1f} GB is free: free some space, or choose another folder with --data-dir")


def _build_env(env, choice, log, echo):
    shutil.rmtree(env, ignore_errors=True)  # a run that was killed mid-way
    echo(f"Creating the engine's Python environment: {describe_choice(choice)}...")
    log.run([choice.interpreter.executable, "-m", "venv", env], "Creating the engine's Python environment")
    echo("Installing the engine's packages (this downloads several hundred MB and takes a few minutes)...")
    output = log.run([env_python(env), "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
                      "--require-hashes", "--only-binary", ":all:", "-r", choice.lock], None)
    if output is not None:
        raise InstallError(explain_pip_failure(output) + f" (details in {log.path})")
    open(os.path.join(env, ".complete"), "w").close()


def explain_pip_failure(output: str) -> str:
    """One line for people from what pip printed when it failed."""
    lowered = output.lower()
    if "no space left on device" in lowered:
        return "the disk is full: free some space and run the installer again"
    if any(sign in lowered for sign in NETWORK_TROUBLE):
        return ("could not download the engine's packages: check the internet connection (behind a proxy, "
                "set HTTPS_PROXY) and run the installer again")
    if "do not match the hashes" in lowered:
        return ("a downloaded package was damaged (it does not match the hash in the lock file): run the "
                "installer again")
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return f"installing the engine's packages failed ({lines[-1] if lines else 'no message'})"


def _copy_engine(data: str) -> str:
    staging = os.path.join(data, "engine.installing")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(os.path.join(REPO, "core"), os.path.join(staging, "core"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
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
        code = ("import sys; from core.weights import download_weights; "
                "print(download_weights(cache_dir=sys.argv[1]))")
        return _engine_call(python, engine, code, [folder], "Downloading the weights", backend, log
                            ).strip().splitlines()[-1]
    source = os.path.abspath(os.path.expanduser(source))
    if source.endswith(".npz"):
        echo("Expanding the compact VGG19 weights...")
        staged = os.path.join(folder, "new." + WEIGHTS_NAME)
        code = "import sys; from core.weights import expand_compact_weights as e; e(sys.argv[1], sys.argv[2])"
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
    return os.path.join(folder, name[len("new."):]) if name.startswith("new.") else staged


def _commit_weights(staged):
    final = _installed_weights(staged)
    if final != staged:
        os.replace(staged, final)
    return final


def _engine_call(python, engine, code, args, what, backend, log):
    output = log.run([python, "-c", f"import sys; sys.path.insert(0, {engine!r}); " + code, *args], what,
                     backend)
    return output


def worker_command(python: str, weights: str, flatpak: bool, backend: str = "tensorflow") -> list:
    command = [python, "-m", "core.worker", "--weights", weights, "--backend", backend]
    return ["flatpak-spawn", "--host", *command] if flatpak else command


def check_engine(python, engine, weights, data, backend, log) -> tuple:
    """Stylise the bundled samples at a small size and shake hands with the installed worker:
    (report for the user, what the engine computes on), before any plug-in is written."""
    out = os.path.join(data, "self-check.png")
    samples = os.path.join(REPO, "samples")
    code = "from core.cli import main; sys.exit(main(sys.argv[1:]))"
    _engine_call(python, engine, code, [
        os.path.join(samples, "tubingen.jpg"), os.path.join(samples, "starry_night.jpg"), "-o", out,
        "--size", "192", "--iterations", "30", "--weights", weights, "--backend", backend, "--quiet"],
        "The engine's self-check", backend, log)
    hello = _handshake(python, engine, weights, backend)
    device = f"{hello['device']} ({hello['backend']})"
    return f"the engine works on {device}; a test picture is in {out}", device


def _handshake(python, engine, weights, backend) -> dict:
    try:
        with WorkerClient(worker_command(python, weights, False, backend), cwd=engine) as client:
            if not client.hello["weights"]:
                raise InstallError(f"the engine cannot use its weights: {client.hello['weights_message']}")
            return client.hello
    except WorkerError as error:
        raise InstallError(f"the engine did not start: {error.user_text()}") from None


class _Log:
    """Runs a step's command with its output kept in the install log; a failure becomes one line."""

    def __init__(self, path):
        self.path = path
        with open(path, "w", encoding="utf-8"):
            pass

    def run(self, command, what, backend=None):
        """The command's output; on failure an ``InstallError`` naming ``what`` (or, with
        ``what=None``, the output itself for the caller to explain)."""
        env = dict(os.environ, KERAS_BACKEND=backend) if backend else None
        try:
            completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                       env=env)
        except OSError as error:
            raise InstallError(f"{what or command[0]} failed: {error}") from None
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(f"$ {' '.join(command)}\n{completed.stdout}\n")
        if completed.returncode == 0:
            return completed.stdout if what else None
        if what is None:
            return completed.stdout
        lines = [line.strip() for line in completed.stdout.splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit code {completed.returncode}"
        raise InstallError(f"{what} failed: {last} (details in {self.path})")


def _write_marker(data, values):
    temporary = os.path.join(data, MARKER + ".part")
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(values, f, indent=2)
    os.replace(temporary, os.path.join(data, MARKER))


def _remove_other_envs(data, keep):
    """Environments of earlier installations (and the single ``venv`` of the first layout)."""
    envs = os.path.join(data, "envs")
    for name in os.listdir(envs):
        if os.path.join(envs, name) != keep:
            shutil.rmtree(os.path.join(envs, name), ignore_errors=True)
    shutil.rmtree(os.path.join(data, "venv"), ignore_errors=True)


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


def check(data: str, folders: list) -> tuple:
    """(what is installed, in one line or "", problems in plain words); no problems means all is well."""
    marker = _marker(data)
    if not marker:
        return "", [f"Neural Style is not installed (or its installation did not finish) in {data}: "
                    "run the installer"]
    label = matrix.VARIANTS.get(marker.get("variant", ""), matrix.VARIANTS["tensorflow"]).label
    summary = (f"engine {marker.get('version')}: {label} for Python {marker.get('python', '?')}, computing "
               f"on {marker.get('device', '?')}, in {marker.get('env', data)}")
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
    python = env_python(marker.get("env", ""))
    if not os.path.exists(python):
        problems.append("the engine's Python environment is missing: run the installer again")
    elif not problems:
        try:
            _handshake(python, os.path.join(data, "engine"), marker.get("weights", ""),
                       marker.get("backend", "tensorflow"))
        except InstallError as error:
            problems.append(str(error))
    if not folders and not marker.get("plugins"):
        problems.append("no GIMP 3 user folder found: install GIMP 3 and run the installer again")
    return summary, problems


def _marker(data):
    try:
        with open(os.path.join(data, MARKER), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
