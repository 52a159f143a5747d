"""The installer: folder discovery on described machines, and real installs into temporary folders."""
import json
import os
import subprocess
import sys

import pytest

from installer import install, locations
from installer.plugin import PLUGIN_NAME
from tests.conftest import ROOT, SHARED_VGG19, skip_or_fail


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
    assert locations.data_dir({"HOME": "/h", "LOCALAPPDATA": "/l"}, "win32") == os.path.join("/l", "neural-style-gimp")


def test_none_found_or_never_started(tmp_path):
    env = {"HOME": str(tmp_path)}
    assert locations.find_gimp_folders(env, "linux") == []
    (folder,) = locations.find_gimp_folders(env, "linux", installed_version="3.0")
    assert folder.plugins == os.path.join(str(tmp_path), ".config", "GIMP", "3.0", "plug-ins")
    assert locations.installed_gimp_version(lambda p: p == "gimp-3.2") == "3.2"
    assert locations.installed_gimp_version(lambda p: None) is None


def test_gpu_variant_where_the_platform_has_one():
    nvidia, none = (lambda p: "/usr/bin/nvidia-smi"), (lambda p: None)
    lines, note = install.requirements("tensorflow", "linux", nvidia)
    assert "tensorflow[and-cuda]==2.21.0" in lines and "NVIDIA" in note
    lines, note = install.requirements("tensorflow", "win32", none)
    assert "tensorflow-cpu==2.21.0" in lines and "no GPU support on native Windows" in note
    lines, note = install.requirements("jax", "linux", nvidia)
    assert "jax[cuda12]==0.10.2" in lines and "optax==0.2.8" in lines and "tensorflow-cpu==2.21.0" in lines
    assert "jax==0.10.2" in install.requirements("jax", "darwin", none)[0]
    lines, note = install.requirements("torch", "win32", nvidia)
    assert "torch==2.13.0" in lines and lines[-2:] == ["--extra-index-url", install.PYTORCH_CUDA_INDEX]
    assert "--extra-index-url" not in install.requirements("torch", "linux", nvidia)[0]


def test_worker_command_names_the_backend():
    command = install.worker_command("/venv/bin/python", "/w.h5", False, "jax")
    assert command[-2:] == ["--backend", "jax"]
    assert install.worker_command("/p", "/w.h5", True)[:2] == ["flatpak-spawn", "--host"]


def installer(*args):
    return subprocess.run([sys.executable, "-m", "installer", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=1200)


@pytest.fixture(scope="module")
def compact_weights():
    path = os.path.join(SHARED_VGG19, "vgg19_notop_q8.npz")
    if not os.path.exists(path):
        skip_or_fail(f"no compact weights at {path}")
    return path


@pytest.fixture(scope="module")
def installed(tmp_path_factory, compact_weights):
    """One real installation (a new venv, pinned packages from PyPI) into temporary folders."""
    base = tmp_path_factory.mktemp("install")
    data, plugins = str(base / "data"), str(base / "plugins")
    os.makedirs(plugins)
    open(os.path.join(plugins, "someone-elses.txt"), "w").write("keep me")
    result = installer("--data-dir", data, "--plugin-dir", plugins, "--weights", compact_weights)
    assert result.returncode == 0, result.stdout + result.stderr
    return data, plugins, result.stdout


def test_install_lays_out_an_executable_plug_in_and_a_working_engine(installed):
    data, plugins, output = installed
    entry = os.path.join(plugins, PLUGIN_NAME, "neural_style.py")
    assert os.access(entry, os.X_OK)
    for name in ("gimp_io.py", "worker_client.py", "settings.py", "neural_style.json", "core/protocol.py"):
        assert os.path.isfile(os.path.join(plugins, PLUGIN_NAME, name))
    assert "Self-check: the engine works on CPU (tensorflow)" in output
    assert os.path.isfile(os.path.join(data, "self-check.png"))
    with open(os.path.join(plugins, PLUGIN_NAME, "neural_style.json"), encoding="utf-8") as f:
        assert json.load(f)["engine_device"] == "CPU (tensorflow)"  # shown in the dialog
    assert "Filters > Artistic > Neural Style Transfer" in output
    assert os.path.isfile(os.path.join(data, install.MARKER))


def test_check_reports_a_healthy_install_then_a_broken_one(installed):
    data, plugins, _ = installed
    healthy = installer("--check", "--data-dir", data, "--plugin-dir", plugins)
    assert healthy.returncode == 0 and "installed and works" in healthy.stdout
    entry = os.path.join(plugins, PLUGIN_NAME, "neural_style.py")
    os.chmod(entry, 0o644)
    try:
        broken = installer("--check", "--data-dir", data, "--plugin-dir", plugins)
        assert broken.returncode == 1 and "is not executable, so GIMP ignores it" in broken.stdout
    finally:
        os.chmod(entry, 0o755)


def test_running_again_upgrades_in_place(installed, compact_weights):
    data, plugins, _ = installed
    settings = os.path.join(plugins, PLUGIN_NAME, "neural_style.json")
    os.remove(settings)
    again = installer("--data-dir", data, "--plugin-dir", plugins, "--weights", compact_weights)
    assert again.returncode == 0, again.stderr
    assert os.path.isfile(settings)
    assert "Creating the engine's Python environment" not in again.stdout  # the venv was kept
    assert sorted(os.listdir(plugins)) == [PLUGIN_NAME, "someone-elses.txt"]


def test_switching_to_the_pytorch_backend_in_place(installed, compact_weights):
    """An artist with an NVIDIA GPU on Windows or a Mac re-runs the installer with --backend torch:
    PyTorch joins the same environment, the self-check runs on it and the plug-in starts its
    worker on it (here on the CPU)."""
    data, plugins, _ = installed
    result = installer("--data-dir", data, "--plugin-dir", plugins, "--weights", compact_weights,
                       "--backend", "torch")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Self-check: the engine works on CPU (torch)" in result.stdout
    with open(os.path.join(plugins, PLUGIN_NAME, "neural_style.json"), encoding="utf-8") as f:
        settings = json.load(f)
    assert settings["engine_device"] == "CPU (torch)" and settings["worker_command"][-2:] == ["--backend", "torch"]
    healthy = installer("--check", "--data-dir", data, "--plugin-dir", plugins)
    assert healthy.returncode == 0 and "installed and works" in healthy.stdout


def test_switching_to_the_jax_backend_keeps_its_compiled_programs_in_the_engine(installed, compact_weights):
    """An artist with an NVIDIA GPU on Linux re-runs the installer with --backend jax. JAX keeps
    the programs it compiles in the engine's environment, so uninstalling removes them too."""
    data, plugins, _ = installed
    result = installer("--data-dir", data, "--plugin-dir", plugins, "--weights", compact_weights,
                       "--backend", "jax")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Self-check: the engine works on CPU (jax)" in result.stdout
    assert os.listdir(os.path.join(data, "venv", "jax-compiled"))  # the self-check's programs


def test_a_damaged_weights_file_leaves_no_plug_in_and_no_marker(installed, tmp_path):
    data, _, _ = installed
    plugins = str(tmp_path / "plugins")
    bad = tmp_path / "weights.npz"
    bad.write_bytes(b"not a zip")
    result = installer("--data-dir", data, "--plugin-dir", plugins, "--weights", str(bad))
    assert result.returncode == 1
    assert "Installation failed: Expanding the weights failed" in result.stderr
    assert "not a compact VGG19 weights file" in result.stderr
    assert not os.path.exists(os.path.join(plugins, PLUGIN_NAME))
    assert not os.path.exists(os.path.join(data, install.MARKER))


def test_no_gimp_found_installs_the_engine_and_says_what_to_do(installed, compact_weights, tmp_path):
    data, _, _ = installed
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"), PATH="/usr/bin:/bin")
    env.pop("GIMP3_DIRECTORY", None)
    result = subprocess.run([sys.executable, "-m", "installer", "--data-dir", data, "--weights", compact_weights],
                            cwd=ROOT, capture_output=True, text=True, env=env, timeout=1200)
    assert result.returncode == 0, result.stderr
    assert "WARNING: no GIMP 3 was found, so the plug-in was not installed" in result.stdout
    assert "Self-check: the engine works" in result.stdout
    assert not os.path.exists(tmp_path / "cfg")


def test_missing_weights_file_is_a_clear_failure(tmp_path):
    result = installer("--data-dir", str(tmp_path / "d2"), "--plugin-dir", str(tmp_path / "p"),
                       "--weights", str(tmp_path / "nope.h5"))
    assert result.returncode == 1 and "nope.h5 does not exist" in result.stderr
    assert not os.path.exists(tmp_path / "p" / PLUGIN_NAME) and not os.path.exists(tmp_path / "d2" / "venv")


def test_uninstall_removes_everything_it_added_and_nothing_else(installed):
    data, plugins, _ = installed
    result = installer("--uninstall", "--data-dir", data, "--plugin-dir", plugins)
    assert result.returncode == 0 and "uninstalled" in result.stdout
    assert os.listdir(plugins) == ["someone-elses.txt"] and not os.path.exists(data)
