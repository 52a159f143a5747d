"""The installer: folder discovery on described machines, and real installs into temporary folders."""

import glob
import json
import ntpath
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import __version__
from installer import environment, install, locations, matrix, settings, steps, uv
from installer.plugin import PLUGIN_NAME
from installer.progress import Cancelled
from installer.steps import InstallError
from tests.conftest import ROOT, skip_or_fail


def make(*parts):
    path = os.path.join(*parts)
    os.makedirs(path, exist_ok=True)
    return path


def test_finds_gimp_3_0_and_3_2_folders_newest_first(tmp_path):
    home = str(tmp_path)
    for version in ("3.0", "3.2", "2.10"):
        make(home, ".config", "GIMP", version)
    folders = locations.find_gimp_folders({"HOME": home}, "linux")
    assert [f.version for f in folders] == ["3.2", "3.0"]
    assert folders[0].plugins == os.path.join(home, ".config", "GIMP", "3.2", "plug-ins")


def test_finds_flatpak_gimp_and_marks_it(tmp_path):
    make(str(tmp_path), ".var", "app", "org.gimp.GIMP", "config", "GIMP", "3.0")
    (folder,) = locations.find_gimp_folders({"HOME": str(tmp_path)}, "linux")
    assert folder.flatpak and folder.version == "3.0"


def test_gimp_override_and_xdg_config(tmp_path):
    override = {"HOME": str(tmp_path), "GIMP3_DIRECTORY": str(tmp_path / "custom")}
    assert locations.find_gimp_folders(override, "linux")[0].plugins == str(tmp_path / "custom" / "plug-ins")
    make(str(tmp_path), "xdg", "GIMP", "3.0")
    xdg = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert locations.find_gimp_folders(xdg, "linux")[0].plugins == str(tmp_path / "xdg" / "GIMP" / "3.0" / "plug-ins")


def test_windows_and_macos_folders(tmp_path):
    make(str(tmp_path), "Roaming", "GIMP", "3.0")
    windows = locations.find_gimp_folders({"HOME": str(tmp_path), "APPDATA": str(tmp_path / "Roaming")}, "win32")
    assert windows[0].plugins == os.path.join(str(tmp_path), "Roaming", "GIMP", "3.0", "plug-ins")
    make(str(tmp_path), "Library", "Application Support", "GIMP", "3.2")
    assert locations.find_gimp_folders({"HOME": str(tmp_path)}, "darwin")[0].version == "3.2"
    assert locations.data_dir({"HOME": "/h", "LOCALAPPDATA": "/l"}, "win32") == os.path.join("/l", "nsg")


def test_none_found_or_never_started(tmp_path):
    env = {"HOME": str(tmp_path)}
    assert locations.find_gimp_folders(env, "linux") == []
    bin_dir = make(str(tmp_path), "bin")
    for program in ("gimp-3.2", "gimp-console-3.2", "gimp-3.0", "gimp-2.10"):
        open(os.path.join(bin_dir, program), "w").close()
    installed = locations.installed_gimps(dict(env, PATH=bin_dir), "linux", flatpak_bin=str(tmp_path / "none"))
    assert sorted(f.version for f in installed) == ["3.0", "3.2"]
    newest = locations.find_gimp_folders(env, "linux", installed)[0]
    assert newest.plugins == os.path.join(str(tmp_path), ".config", "GIMP", "3.2", "plug-ins")
    flatpak = locations.installed_gimps(dict(env, PATH=""), "linux", flatpak_bin=bin_dir)
    assert {(f.version, f.flatpak) for f in flatpak} == {("3.0", True), ("3.2", True)}
    windows = make(str(tmp_path), "Programs", "GIMP 3", "bin")
    open(os.path.join(windows, "gimp-3.2.exe"), "w").close()
    (found,) = locations.installed_gimps(
        {"HOME": str(tmp_path), "APPDATA": "/a", "LOCALAPPDATA": str(tmp_path)}, "win32"
    )
    assert found.plugins == os.path.join("/a", "GIMP", "3.2", "plug-ins")


def test_worker_command_names_the_backend_and_leaves_flatpak():
    engine = settings.EngineSettings("/venv/bin/python", "/engine", "/w.h5", "jax", "CPU (jax)", "0.2.0", "/logs")
    command = settings.worker_command(engine, in_flatpak=False)
    assert command[:5] == ["/venv/bin/python", "-m", "core.worker", "--weights", "/w.h5"]
    assert command[5:] == ["--backend", "jax", "--log-file", os.path.join("/logs", "worker.log")]
    assert settings.worker_command(engine, in_flatpak=True)[:3] == ["flatpak-spawn", "--host", "/venv/bin/python"]


def installer(*args, python=sys.executable, env=None, prefix=()):
    return subprocess.run(
        [*prefix, python, "-m", "installer", *args], cwd=ROOT, capture_output=True, text=True, timeout=1200, env=env
    )


def marker(data):
    with open(os.path.join(data, install.MARKER), encoding="utf-8") as f:
        return json.load(f)


def offline_environment():
    """pip without this machine's local package mirrors, so that no network means no packages."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return dict(env, PIP_CONFIG_FILE=os.devnull)


def install_into(base, weights, *options):
    """A real installation (a new environment, the packages of this machine's lock file from
    PyPI) into fresh folders below ``base``, one holding someone else's file; (data, plugins, output)."""
    data, plugins = str(base / "data"), str(base / "plugins")
    os.makedirs(plugins)
    Path(plugins, "someone-elses.txt").write_text("keep me")
    result = installer("--data-dir", data, "--plugin-dir", plugins, "--weights", weights, *options)
    assert result.returncode == 0, result.stdout + result.stderr
    return data, plugins, result.stdout


@pytest.mark.slow
def test_install_check_upgrade_and_uninstall(tmp_path, compact_weights):
    data, plugins, output = install_into(tmp_path, compact_weights)
    entry = os.path.join(plugins, PLUGIN_NAME, "neural_style.py")
    assert os.access(entry, os.X_OK)
    for name in (
        "engine_setup.py",
        "install_window.py",
        "painting.py",
        "worker_client.py",
        "core/protocol.py",
        "core/engine.py",
        "installer/settings.py",
        "installer/locks/uv.json",
        "samples/tubingen.jpg",
        locations.DATA_POINTER,  # this data folder is not the default one
    ):
        assert os.path.isfile(os.path.join(plugins, PLUGIN_NAME, name)), name
    version = "{}.{}".format(*sys.version_info[:2])
    assert f"Python environment: TensorFlow for Python {version} on Linux, x86-64" in output
    assert "Self-check: the engine works on CPU (tensorflow)" in output
    assert os.path.isfile(os.path.join(data, "self-check.png"))
    assert locations.plugin_data_dir(os.path.join(plugins, PLUGIN_NAME)) == data
    engine = settings.read(data)
    assert engine.device == "CPU (tensorflow)"  # shown in the dialog
    assert engine.python.startswith(os.path.join(data, "envs", f"linux-x86_64-py{version}-tensorflow-"))
    assert (engine.logs, engine.engine, engine.version) == (
        os.path.join(data, "logs"),
        os.path.join(data, "engine"),
        __version__,
    )
    assert "Filters > Artistic > Neural Style Transfer" in output
    assert marker(data)["variant"] == "tensorflow"
    expected = [
        "engine",
        "envs",
        "install.log",
        install.MARKER,
        "keras",
        "self-check.png",
        settings.FILE,
        "speed.json",  # the self-check's timings
        "tools",
        "weights",
    ]
    assert sorted(os.listdir(data)) == expected
    assert os.path.isfile(os.path.join(data, "keras", "keras.json"))  # Keras' own file, not in ~/.keras
    # The command line, run with the engine's environment from any folder, finds the installed weights.
    environ = {k: v for k, v in os.environ.items() if k not in ("NEURAL_STYLE_WEIGHTS", "KERAS_HOME")}
    samples = [os.path.join(ROOT, "samples", name) for name in ("tubingen.jpg", "starry_night.jpg")]
    command = [engine.python, "-m", "core", *samples, "-o", "cli.png", "--size", "48"]
    cli = subprocess.run([*command, "--iterations", "2"], cwd=tmp_path, capture_output=True, text=True, env=environ)
    assert cli.returncode == 0 and (tmp_path / "cli.png").is_file(), cli.stderr[-2000:]
    assert "on this computer\n" in cli.stderr  # its time estimate comes from the self-check's timings
    assert os.path.isdir(os.path.join(data, "engine", "core", "backends"))
    assert not os.path.exists(os.path.join(data, "engine", "core", "bench"))  # the benchmark stays home

    healthy = installer("--check", "--data-dir", data, "--plugin-dir", plugins)
    assert healthy.returncode == 0 and "installed and works" in healthy.stdout
    assert f"Installed: engine {__version__}: TensorFlow for Python" in healthy.stdout
    assert f"logs in {os.path.join(data, 'logs')}" in healthy.stdout
    assert f"(the command line: {engine.python} -m core)" in healthy.stdout
    remembered = installer("--check", "--data-dir", data)  # the plug-in folder comes from the marker
    assert remembered.returncode == 0 and "installed and works" in remembered.stdout, remembered.stdout
    os.chmod(entry, 0o644)
    broken = installer("--check", "--data-dir", data, "--plugin-dir", plugins)
    assert broken.returncode == 1 and "is not executable, so GIMP ignores it" in broken.stdout

    os.remove(os.path.join(data, settings.FILE))
    again = installer("--data-dir", data, "--plugin-dir", plugins, "--weights", compact_weights)
    assert again.returncode == 0, again.stderr
    assert os.access(entry, os.X_OK) and os.path.isfile(os.path.join(data, settings.FILE))
    assert "Creating the engine's Python environment" not in again.stdout  # its lock has not changed
    # A GIMP 3.2 that was installed but never started: its user folder is GIMP's to make.
    home, programs = tmp_path / "home", tmp_path / "programs"
    programs.mkdir()
    (programs / "gimp-3.2").write_text("")
    unstarted = installer(
        "--data-dir",
        data,
        "--weights",
        compact_weights,
        env=dict(os.environ, HOME=str(home), PATH=f"{programs}:{os.environ['PATH']}", XDG_CONFIG_HOME=""),
    )
    assert unstarted.returncode == 0, unstarted.stderr
    assert "GIMP 3.2 has never been started, so the plug-in was not installed into it" in unstarted.stdout
    assert not (home / ".config").exists()
    assert sorted(os.listdir(plugins)) == [PLUGIN_NAME, "someone-elses.txt"]

    removed = installer("--uninstall", "--data-dir", data, "--plugin-dir", plugins)
    assert removed.returncode == 0 and "uninstalled" in removed.stdout
    assert os.listdir(plugins) == ["someone-elses.txt"] and not os.path.exists(data)


@pytest.mark.slow
def test_a_failed_reinstall_leaves_the_working_install_as_it_was(tmp_path, compact_weights):
    """A damaged weights file, no network for a new backend's packages, no network for the
    weights: each fails in one line (the installer's own advice), and the installation in place
    still works, with nothing new left beside it."""
    if os.geteuid() != 0:
        skip_or_fail("needs root to take the network away (unshare --net)")
    data, plugins, _ = install_into(tmp_path, compact_weights)

    def state():
        return (
            marker(data),
            sorted(os.listdir(data)),
            sorted(os.listdir(os.path.join(data, "envs"))),
            sorted(os.listdir(os.path.join(data, "weights"))),
        )

    before = state()
    bad = tmp_path / "weights.npz"
    bad.write_bytes(b"not a zip")
    damaged = installer("--data-dir", data, "--plugin-dir", plugins, "--weights", str(bad))
    offline = installer(
        "--data-dir",
        data,
        "--plugin-dir",
        plugins,
        "--backend",
        "jax",
        env=offline_environment(),
        prefix=("unshare", "--net"),
    )
    no_weights = installer("--data-dir", data, "--plugin-dir", plugins, prefix=("unshare", "--net"))
    assert damaged.returncode == 1 and offline.returncode == 1 and no_weights.returncode == 1
    assert no_weights.stderr.startswith(
        "Installation failed: could not download the VGG19 weights: check the internet connection, "
        "or give the weights file with --weights FILE"
    )
    assert damaged.stderr.startswith("Installation failed: Expanding the weights failed")
    assert "not a compact VGG19 weights file" in damaged.stderr
    assert offline.stderr.startswith(
        "Installation failed: could not download the engine's packages: check the internet connection"
    )
    for result in (damaged, offline, no_weights):
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stdout + result.stderr
    assert state() == before
    healthy = installer("--check", "--data-dir", data, "--plugin-dir", plugins)
    assert healthy.returncode == 0 and "installed and works" in healthy.stdout


@pytest.mark.slow
def test_switching_to_jax_builds_its_own_environment_without_tensorflow(tmp_path, compact_weights):
    """An artist with an NVIDIA GPU on Linux re-runs the installer with --backend jax: the JAX
    environment replaces the TensorFlow one, and JAX keeps the programs it compiles inside it, so
    uninstalling removes them too."""
    data, plugins, _ = install_into(tmp_path, compact_weights)
    result = installer("--data-dir", data, "--plugin-dir", plugins, "--weights", compact_weights, "--backend", "jax")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Self-check: the engine works on CPU (jax)" in result.stdout
    (env,) = os.listdir(os.path.join(data, "envs"))
    assert env.startswith("linux-x86_64-py") and "-jax-" in env
    python = environment.env_python(os.path.join(data, "envs", env))
    site = subprocess.run(
        [python, "-c", "import importlib.util as u; print(u.find_spec('tensorflow'), u.find_spec('jax') is not None)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert site == ["None", "True"]
    assert os.listdir(os.path.join(data, "envs", env, "jax-compiled"))  # the self-check's programs
    assert settings.read(data).backend == "jax"
    samples = os.path.join(ROOT, "samples")  # the command line, as the README has it: its backend is the one there
    painted = subprocess.run(
        [
            python,
            "-m",
            "core",
            os.path.join(samples, "tubingen.jpg"),
            os.path.join(samples, "starry_night.jpg"),
            "-o",
            str(tmp_path / "out.png"),
            "--size",
            "48",
            "--iterations",
            "2",
            "--quiet",
            "--weights",
            marker(data)["weights"],
        ],
        cwd=os.path.join(data, "engine"),
        capture_output=True,
        text=True,
        env=offline_environment(),
    )
    assert painted.returncode == 0 and os.path.isfile(tmp_path / "out.png"), painted.stderr


@pytest.mark.slow
def test_no_gimp_found_installs_the_engine_and_says_what_to_do(compact_weights, tmp_path):
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"), PATH="/usr/bin:/bin")
    env.pop("GIMP3_DIRECTORY", None)
    result = installer("--data-dir", str(tmp_path / "data"), "--weights", compact_weights, "--backend", "jax", env=env)
    assert result.returncode == 0, result.stderr
    assert "WARNING: no GIMP 3 was found, so the plug-in was not installed" in result.stdout
    assert "Self-check: the engine works" in result.stdout
    assert not os.path.exists(tmp_path / "cfg")


def test_missing_weights_file_is_a_clear_failure(tmp_path):
    result = installer(
        "--data-dir", str(tmp_path / "d2"), "--plugin-dir", str(tmp_path / "p"), "--weights", str(tmp_path / "nope.h5")
    )
    assert result.returncode == 1 and "nope.h5 does not exist" in result.stderr
    assert not os.path.exists(tmp_path / "p" / PLUGIN_NAME) and not os.path.exists(tmp_path / "d2")


def test_a_full_disk_is_refused_before_anything_is_downloaded(tmp_path, compact_weights):
    if os.geteuid() != 0:
        skip_or_fail("needs root to mount a small disk")
    disk = tmp_path / "disk"
    disk.mkdir()
    result = installer(
        "--data-dir",
        str(disk / "data"),
        "--plugin-dir",
        str(disk / "plugins"),
        "--weights",
        compact_weights,
        prefix=(
            "unshare",
            "--mount",
            "sh",
            "-c",
            f'mount -t tmpfs -o size=64m tmpfs {disk} && "$@"; code=$?; ls -A {disk}; exit $code',
            "sh",
        ),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("Installation failed: the engine needs about 2.5 GB of free disk space in ")
    assert "0.1 GB is free: free some space, or choose another folder with --data-dir" in result.stderr
    assert result.stdout == ""  # nothing was made on the small disk, and nothing was said but the refusal


def pyenv_python(version):
    """A real interpreter of that version, as pyenv keeps them on this project's machines."""
    found = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))
    if not found:
        skip_or_fail(f"needs a Python {version} (pyenv's, in ~/.pyenv/versions) to run the installer with")
    return found[-1]


def test_python_3_10_finds_a_newer_python_or_gets_one_of_its_own(tmp_path):
    old, new = pyenv_python("3.10"), pyenv_python("3.13")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = dict(os.environ, PATH=str(bin_dir))  # only the Pythons the test puts there
    alone = installer("--dry-run", "--data-dir", str(tmp_path / "data"), python=old, env=env)
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout.startswith(
        "Would install TensorFlow for Python 3.13 on Linux, x86-64 (Python 3.10 cannot run TensorFlow, "
        "so the engine gets a Python 3.13 of its own)"
    )
    os.symlink(new, bin_dir / "python3.13")
    found = installer("--dry-run", "--data-dir", str(tmp_path / "data"), python=old, env=env)
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith(
        "Would install TensorFlow for Python 3.13 on Linux, x86-64 (Python 3.10 "
        "cannot run the engine, so it is installed for Python 3.13 ("
    )
    assert "installer/locks/linux-x86_64-py3.13-tensorflow.txt" in found.stdout
    assert not os.path.exists(tmp_path / "data")


def test_a_cancelled_step_stops_its_child_at_once(tmp_path):
    asked = time.monotonic() + 1.0
    log = steps.StepLog(str(tmp_path / "install.log"), cancelled=lambda: time.monotonic() > asked)
    started = time.monotonic()
    with pytest.raises(Cancelled):
        log.run([sys.executable, "-c", "import time; print('working', flush=True); time.sleep(60)"], "A long step")
    assert time.monotonic() - started < 10  # not the minute the step would have taken
    assert (
        "working" in (tmp_path / "install.log").read_text() and "(cancelled)" in (tmp_path / "install.log").read_text()
    )


def test_children_get_no_python_settings_of_gimps_and_speak_utf_8():
    clean = steps.child_environment({"PYTHONHOME": "/gimp", "PYTHONPATH": "/gimp/lib", "HTTPS_PROXY": "http://p:3128"})
    assert clean == {"HTTPS_PROXY": "http://p:3128", "PYTHONUTF8": "1"}


@pytest.mark.slow
def test_without_a_python_that_fits_uv_comes_from_pypi_and_the_python_download_fails_in_one_line(
    tmp_path, compact_weights
):
    """A machine whose only Python is 3.10: the installer downloads uv for real (hash-checked,
    from PyPI) and asks it for a Python of the engine's own, whose host this machine cannot
    reach. One line says so, and nothing is left in the data folder but the log."""
    described = [matrix.Interpreter("/usr/bin/python3.10", "3.10", "linux-x86_64")]
    choice = matrix.choose(described, nvidia=False)
    assert choice.interpreter.managed
    data = str(tmp_path / "data")
    seen = []
    with pytest.raises(InstallError) as failed:
        install.install(data, [], compact_weights, choice, progress=seen.append)
    text = str(failed.value)
    assert text.startswith("no Python 3.11 to 3.14 was found on this computer, and downloading Python 3.13")
    assert "\n" not in text and f"details in {os.path.join(data, install.LOG)}" in text
    assert any(uv.WHAT in p.step and p.done_bytes == p.total_bytes > 10**7 for p in seen)  # really fetched
    assert sorted(os.listdir(data)) == [install.LOG]


def test_a_data_folder_on_a_missing_drive_is_refused_in_one_line():
    with pytest.raises(InstallError) as refused:
        environment.existing_parent("Z:\\neural-style", paths=ntpath, isdir=lambda path: False)
    assert "Z:\\ does not exist" in str(refused.value)
    assert environment.existing_parent(str(Path(ROOT, "no", "such", "folder"))) == ROOT


def test_the_engine_path_file_is_ascii_for_any_user_name(tmp_path):
    engine = "C:\\Users\\Zoë Martin\\AppData\\Local\\nsg\\engine"
    line = environment.engine_path_line(engine)
    assert line.isascii() and line.endswith("\n")
    exec(line, {})  # what site.py does with a .pth line that starts with "import"
    assert sys.path.pop() == engine


def test_a_windows_gimp_without_its_python_support_is_found(tmp_path):
    with_python = make(str(tmp_path), "Program Files", "GIMP 3", "lib", "gimp", "3.0", "interpreters")
    open(os.path.join(with_python, "pygimp.interp"), "w").close()
    make(str(tmp_path), "Local", "Programs", "GIMP 3", "bin")
    make(str(tmp_path), "Program Files", "GIMP 3", "bin")
    environ = {"ProgramFiles": str(tmp_path / "Program Files"), "LOCALAPPDATA": str(tmp_path / "Local")}
    assert locations.gimps_without_python(environ, "win32") == [str(tmp_path / "Local" / "Programs" / "GIMP 3")]
    assert locations.gimps_without_python(environ, "linux") == []


@pytest.mark.parametrize("lock", sorted(n for n in os.listdir(matrix.LOCKS) if n.startswith("windows-x86_64-")))
def test_every_windows_engine_fits_windows_path_limit_for_a_long_user_name(lock):
    """The longest file each Windows lock installs (recorded from its wheels when relocking) fits
    in 260 characters below a 20-character user's data folder; a far longer one is refused in one
    line that says how to enable long paths, unless they are enabled."""
    python, variant = lock[: -len(".txt")].split("-py")[1].split("-", 1)
    choice = matrix.Choice(matrix.Interpreter("python.exe", python, "windows-x86_64"), variant, "")
    data = "C:\\Users\\" + "u" * 20 + "\\AppData\\Local\\nsg"
    env = environment.env_folder(data, choice)
    assert environment.longest_path(env, choice) < environment.MAX_PATH
    environment.check_path_length(env, choice, long_paths=False)
    deep = environment.env_folder("C:\\Users\\" + "u" * 90 + "\\AppData\\Local\\nsg", choice)
    if environment.longest_path(deep, choice) >= environment.MAX_PATH:
        with pytest.raises(InstallError) as refused:
            environment.check_path_length(deep, choice, long_paths=False)
        assert "LongPathsEnabled" in str(refused.value) and "\n" not in str(refused.value)
        environment.check_path_length(deep, choice, long_paths=True)


def test_a_network_failure_is_said_so_even_when_uv_wraps_its_lines():
    """uv wraps long lines at its idea of the terminal's width (seen when tests ran side by side)."""
    wrapped = (
        "error: Request failed after 3 retries in 6.8s\n  cause: dns error\n"
        "  cause: failed to lookup address information: Temporary failure in name\n  resolution\n"
    )
    assert environment.explain_pip_failure(wrapped).startswith("could not download the engine's packages")


def test_a_data_folder_that_cannot_be_written_is_one_line_and_check_names_it(tmp_path, compact_weights):
    """A read-only ~/.local/share (here: a read-only disk where the data folder would go)."""
    if os.geteuid() != 0:
        skip_or_fail("needs root to mount a read-only disk (root may write anywhere else)")
    disk = tmp_path / "read-only"
    disk.mkdir()
    data = disk / "neural-style-gimp"
    read_only = ("unshare", "--mount", "sh", "-c", f'mount -t tmpfs -o ro tmpfs {disk} && exec "$@"', "sh")
    sentence = (
        f"the engine's folder {data} cannot be written (Read-only file system): choose another one with "
        "--data-dir, or give your user the right to write there"
    )
    installed = installer(
        "--data-dir", str(data), "--plugin-dir", str(tmp_path / "p"), "--weights", compact_weights, prefix=read_only
    )
    assert installed.returncode == 1 and installed.stderr.strip() == f"Installation failed: {sentence}"
    checked = installer("--check", "--data-dir", str(data), prefix=read_only)
    assert checked.returncode != 0 and f"PROBLEM: {sentence}" in checked.stdout
    assert not os.path.exists(tmp_path / "p")
