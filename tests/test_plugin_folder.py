"""The plug-in folder as GIMP 3 scans it, on Linux and on Windows.

GIMP 3 (``app/plug-in/gimppluginmanager-restore.c``) takes, in each sub-folder of a plug-ins
folder, the first regular, non-hidden file whose name up to its last dot equals the folder's name
and which is executable. On Windows GLib's ``g_access(X_OK)`` is true for every existing file, and
NTFS lists names in case-insensitive order, so any ``neural_style.<ext>`` sorting before
``neural_style.py`` would be run as the plug-in and the menu entry would never appear.
"""

import os

from installer.plugin import PLUGIN_NAME, install_plugin


def gimp_plugin_file(folder, windows):
    """The file GIMP 3 would run from ``folder`` (None if none), on Windows or elsewhere."""
    name = os.path.basename(folder)
    listing = sorted(os.listdir(folder), key=str.upper) if windows else os.listdir(folder)
    for entry in listing:
        path = os.path.join(folder, entry)
        if entry.startswith(".") or not os.path.isfile(path):
            continue
        stem = entry.rsplit(".", 1)[0] if "." in entry else entry
        if stem == name and (windows or os.access(path, os.X_OK)):
            return entry
    return None


def test_the_model_of_the_scan_picks_what_windows_gimp_picked(tmp_path):
    """The behaviour reported for other plug-ins: a README beside the entry file was run."""
    folder = tmp_path / "export_layers"
    folder.mkdir()
    for name in ("export_layers.py", "export_layers.html"):
        (folder / name).write_text("")
    os.chmod(folder / "export_layers.py", 0o755)
    assert gimp_plugin_file(str(folder), windows=True) == "export_layers.html"
    assert gimp_plugin_file(str(folder), windows=False) == "export_layers.py"


def test_gimp_runs_the_entry_file_of_the_installed_plugin_on_every_platform(tmp_path):
    folder = install_plugin(str(tmp_path), str(tmp_path / "data"))
    for windows in (True, False):
        assert gimp_plugin_file(folder, windows) == "neural_style.py"
    same_stem = [n for n in os.listdir(folder) if n.rsplit(".", 1)[0].lower() == PLUGIN_NAME]
    assert same_stem == ["neural_style.py"]
