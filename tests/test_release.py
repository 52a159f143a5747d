"""The release archive is the plug-in: one top folder ``neural_style/`` holding the plug-in, the
engine's source, the installer and its locks, the entry file executable; unzipped, it is a plug-in
folder GIMP runs and an installer that works from where it lies."""

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

from core import __version__
from installer import release
from installer.plugin import plugin_files
from tests.conftest import ROOT
from tests.test_plugin_folder import gimp_plugin_file


def test_the_archive_is_one_plug_in_folder_with_its_run_bit(tmp_path):
    path = release.write_release(str(tmp_path))
    assert os.path.basename(path) == f"neural-style-gimp-{__version__}.zip"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert {name.split("/")[0] for name in names} == {"neural_style"}
    for needed in ("neural_style.py", "worker_client.py", "core/worker.py", "installer/__main__.py"):
        assert f"neural_style/{needed}" in names
    assert "neural_style/installer/locks/uv.json" in names and "neural_style/samples/SOURCES.md" in names
    assert not any("/bench/" in n or "__pycache__" in n or n.endswith(".pyc") for n in names)
    assert modes["neural_style/neural_style.py"] & stat.S_IXUSR
    assert not any(mode & stat.S_IXUSR for name, mode in modes.items() if name != "neural_style/neural_style.py")
    again = release.write_release(str(tmp_path / "again"))
    assert Path(again).read_bytes() == Path(path).read_bytes()  # the same sources give the same archive


def test_unzipped_it_is_a_plug_in_folder_that_installs_from_where_it_lies(tmp_path):
    path = release.write_release(str(tmp_path / "dist"))
    plugins = tmp_path / "plug-ins"
    subprocess.run(["unzip", "-q", path, "-d", str(plugins)], check=True)  # unzip keeps the run bit
    folder = plugins / "neural_style"
    for windows in (True, False):
        assert gimp_plugin_file(str(folder), windows) == "neural_style.py"
    unpacked = sorted(inside for _, inside in plugin_files(str(folder)))
    assert unpacked == sorted(inside for _, inside in plugin_files(ROOT))  # the folder lays itself out again
    dry = subprocess.run(
        [sys.executable, "-m", "installer", "--dry-run", "--plugin-dir", str(plugins)],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert dry.returncode == 0 and f"Would install the plug-in in {plugins}" in dry.stdout, dry.stderr
