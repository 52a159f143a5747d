"""``python3 -m installer.release``: write the release archive, ``dist/neural-style-gimp-<version>.zip``.

The archive is the plug-in: its only top-level folder is ``neural_style/``, the folder GIMP loads,
holding what ``installer.plugin.plugin_files`` lists. An artist unzips it into GIMP's plug-ins
folder and presses Install in GIMP. The entry file keeps its run bit; every entry has the same
fixed date, so the same sources give the same archive.
"""

from __future__ import annotations

import argparse
import os
import sys
import zipfile

from installer.install import engine_version
from installer.plugin import ENTRY, PLUGIN_NAME, REPO, plugin_files

FIXED_DATE = (2026, 1, 1, 0, 0, 0)
REGULAR, EXECUTABLE = 0o100644, 0o100755  # Unix modes, kept by unzip and by GIMP's own Python


def archive_name(version: str | None = None) -> str:
    return f"neural-style-gimp-{version or engine_version()}.zip"


def write_release(folder: str = os.path.join(REPO, "dist")) -> str:
    """Write the archive into ``folder``; returns its path."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, archive_name())
    temporary = path + ".part"
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        for source, inside in plugin_files():
            entry = zipfile.ZipInfo(f"{PLUGIN_NAME}/{inside}", FIXED_DATE)
            entry.external_attr = (EXECUTABLE if inside == ENTRY else REGULAR) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            with open(source, "rb") as f:
                archive.writestr(entry, f.read())
    os.replace(temporary, path)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m installer.release", description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=os.path.join(REPO, "dist"), help="the folder to write it into")
    args = parser.parse_args(argv)
    print(write_release(args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
