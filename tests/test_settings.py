"""The engine's settings in the data folder (format 2), taking over format 1 once, and the
plug-in's verdict on its engine: ready, or the sentence and the button (Install, Update, Repair)."""

import json
import os
import sys

import pytest

from core import __version__
from installer import locations, settings
from tests.conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "gimp_plugin", "neural_style"))  # the plug-in's modules, as GIMP has them
import engine_setup  # noqa: E402


def engine_files(base):
    """A Python, an engine folder and a weights file where an installed engine has them."""
    python = base / "envs" / "e" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    (base / "engine" / "core").mkdir(parents=True)
    (base / "weights.h5").write_text("")
    return settings.EngineSettings(
        str(python), str(base / "engine"), str(base / "weights.h5"), "jax", "CPU (jax)", __version__, str(base / "logs")
    )


def plugin_folder(tmp_path, data):
    """A plug-in folder whose pointer names ``data``."""
    folder = tmp_path / "plug-ins" / "neural_style"
    folder.mkdir(parents=True)
    (folder / locations.DATA_POINTER).write_text(str(data) + "\n")
    return str(folder)


def test_settings_round_trip_in_the_data_folder(tmp_path):
    engine = engine_files(tmp_path)
    path = settings.write(str(tmp_path / "data"), engine)
    assert path == str(tmp_path / "data" / settings.FILE) and not os.path.exists(path + ".part")
    assert settings.read(str(tmp_path / "data")) == engine
    with open(path, encoding="utf-8") as f:
        assert json.load(f)["format"] == settings.FORMAT


@pytest.mark.parametrize("flatpak", [False, True])
def test_format_1_beside_the_plug_in_is_taken_over_once(tmp_path, flatpak):
    data = tmp_path / "data"
    folder = plugin_folder(tmp_path, data)
    command = ["/env/bin/python", "-m", "core.worker", "--weights", "/w/vgg.h5", "--backend", "torch"]
    command += ["--log-file", "/d/logs/worker.log"]
    legacy = {
        "format": 1,
        "worker_command": (["flatpak-spawn", "--host"] if flatpak else []) + command,
        "worker_cwd": "/d/engine",
        "engine_version": "0.1.0",
        "engine_device": "CPU (torch)",
    }
    with open(os.path.join(folder, settings.LEGACY_FILE), "w", encoding="utf-8") as f:
        json.dump(legacy, f)
    taken = settings.read(str(data), folder)
    assert taken == settings.EngineSettings(
        "/env/bin/python", "/d/engine", "/w/vgg.h5", "torch", "CPU (torch)", "0.1.0", "/d/logs"
    )
    assert not os.path.exists(os.path.join(folder, settings.LEGACY_FILE))  # never again, and never run by GIMP
    assert settings.worker_command(taken, in_flatpak=False) == command
    assert settings.read(str(data), folder) == taken


def test_the_plug_in_says_what_its_engine_needs(tmp_path):
    data = tmp_path / "data"
    folder = plugin_folder(tmp_path, data)
    state = engine_setup.engine_state(folder)
    assert state == engine_setup.EngineState(None, "The Neural Style engine is not installed.", "Install")
    engine = engine_files(tmp_path)
    settings.write(str(data), engine)
    assert engine_setup.engine_state(folder) == engine_setup.EngineState(engine, "", "")
    assert engine_setup.ready_settings(folder) == engine

    settings.write(str(data), engine._replace(version="0.1.0"))
    older = engine_setup.engine_state(folder)
    assert older.action == "Update" and f"version 0.1.0; this plug-in is {__version__}" in older.problem
    os.remove(engine.weights)
    settings.write(str(data), engine)
    assert engine_setup.engine_state(folder).action == "Repair"
    (data / settings.FILE).write_text("{ half")
    damaged = engine_setup.engine_state(folder)
    assert damaged.action == "Repair" and "is damaged" in damaged.problem
    with pytest.raises(settings.SettingsError) as refused:
        engine_setup.ready_settings(folder)
    assert str(refused.value).endswith(settings.REINSTALL) and "\n" not in str(refused.value)


def test_an_engine_on_another_computer_is_ready_without_files_here_and_updated_from_a_terminal(tmp_path):
    data = tmp_path / "data"
    folder = plugin_folder(tmp_path, data)
    there = settings.EngineSettings(
        "/opt/ns/python", "/opt/ns/engine", "/opt/ns/w.h5", "jax", "NVIDIA H100 (jax) on gpubox", __version__, "",
        settings.SSH, "gpubox", "",
    )  # fmt: skip
    settings.write(str(data), there)
    assert engine_setup.engine_state(folder) == engine_setup.EngineState(there, "", "")  # its hello will tell
    settings.write(str(data), there._replace(version="0.1.0"))
    older = engine_setup.engine_state(folder)
    assert older.action == "Install" and "python3 -m installer --remote gpubox in a terminal" in older.problem


def test_without_a_pointer_the_plug_in_uses_the_default_data_folder(tmp_path):
    folder = tmp_path / "neural_style"
    folder.mkdir()
    home = {"HOME": str(tmp_path)}
    assert locations.plugin_data_dir(str(folder), home, "linux") == os.path.join(
        str(tmp_path), ".local", "share", "neural-style-gimp"
    )
    assert locations.plugin_data_dir(str(folder), dict(home, NEURAL_STYLE_DATA_DIR="/x"), "linux") == "/x"
