"""``python -m installer.relock``: write every lock file again, with uv, from the pins in
``installer/requirements/*.in`` (and the test environment's, ``tests/requirements.in``).

A lock pins the whole environment of one cell of the support matrix, with the hash of every
package file, as the package registry stood at ``EXCLUDE_NEWER``: the same inputs give the same
files on any machine, which ``tests/test_locks.py`` checks. A developer's tool: it needs uv (in
the test environment), which the installer itself never does.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys

from installer import wheel_paths
from installer.matrix import LOCKS, PLATFORMS, REQUIREMENTS, cell_name, cells, lock_path, markdown_table
from installer.uv import UV_LOCK, write_uv_lock

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXCLUDE_NEWER = "2026-12-01T00:00:00Z"  # the registry as it stood then; move it to upgrade
COMMAND = "python -m installer.relock"
# The test environment: Linux x86-64, the project machines' Python, PyTorch's CPU build.
TEST_LOCK = os.path.join(REPO, "tests", "requirements.txt")
TEST_INPUT = os.path.join(REPO, "tests", "requirements.in")
TEST_CELL = ("linux-x86_64", "3.11")
TORCH_CPU_WHEELS = "https://download.pytorch.org/whl/torch/"  # PyTorch's own downloads


class RelockError(Exception):
    """uv could not resolve a cell; the text is uv's explanation."""


def uv() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "uv")
    found = beside if os.path.isfile(beside) else shutil.which("uv")
    if not found:
        raise RelockError("uv is not installed: run tests/run.sh once (its environment has uv), or pip install uv")
    return found


def compile_lock(source: str, target: str, python: str, find_links: str | None = None) -> str:
    """The lock text uv makes of ``source`` for one target (uv's name of a platform) and Python."""
    command = [
        uv(),
        "pip",
        "compile",
        os.path.relpath(source, REPO),
        "--quiet",
        "--generate-hashes",
        "--python-platform",
        target,
        "--python-version",
        python,
        "--only-binary",
        ":all:",
        "--exclude-newer",
        EXCLUDE_NEWER,
        "--custom-compile-command",
        COMMAND,
    ]
    if find_links:
        command += ["--find-links", find_links]
    # The matrix's oldest macOS; and no fetching of a Python to match --python-version (none is run).
    env = dict(os.environ, MACOSX_DEPLOYMENT_TARGET="14.0", UV_PYTHON_DOWNLOADS="never")
    for name in ("UV_FIND_LINKS", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_EXCLUDE_NEWER"):
        env.pop(name, None)  # only this module's settings shape the locks
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)
    if completed.returncode != 0:
        raise RelockError(f"{os.path.basename(source)} for {target}, Python {python}:\n{completed.stderr.strip()}")
    return completed.stdout


def engine_lock(platform: str, python: str, variant: str) -> str:
    return compile_lock(os.path.join(REQUIREMENTS, f"{variant}.in"), PLATFORMS[platform].resolver, python)


def locked_test_environment(torch_wheels: str = TORCH_CPU_WHEELS) -> str:
    platform, python = TEST_CELL
    return compile_lock(TEST_INPUT, PLATFORMS[platform].resolver, python, find_links=torch_wheels)


def relock(torch_wheels: str = TORCH_CPU_WHEELS, echo=print) -> None:
    """Write every lock file, remove those of cells the matrix no longer has, and record the
    longest path each Windows lock installs (``installer.wheel_paths``)."""
    jobs = {lock_path(*cell): (engine_lock, cell) for cell in cells()}
    jobs[TEST_LOCK] = (locked_test_environment, (torch_wheels,))
    os.makedirs(LOCKS, exist_ok=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = {path: pool.submit(function, *arguments) for path, (function, arguments) in jobs.items()}
        for path, future in futures.items():
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.write(future.result())
            echo(f"wrote {os.path.relpath(path, REPO)}")
    write_uv_lock()
    echo(f"wrote {os.path.relpath(UV_LOCK, REPO)}")
    wanted = {cell_name(*cell) + ".txt" for cell in cells()}
    # Lock files only: uv.json and windows-paths.json lie there too.
    for name in sorted(name for name in set(os.listdir(LOCKS)) - wanted if name.endswith(".txt")):
        os.remove(os.path.join(LOCKS, name))
        echo(f"removed {os.path.relpath(os.path.join(LOCKS, name), REPO)}")
    wheel_paths.record()
    echo(f"wrote {os.path.relpath(wheel_paths.RECORD, REPO)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--torch-wheels",
        default=TORCH_CPU_WHEELS,
        help="where the test environment's PyTorch CPU build lies: a folder or page of "
        f"wheels (default {TORCH_CPU_WHEELS})",
    )
    args = parser.parse_args(argv)
    try:
        relock(args.torch_wheels)
    except (RelockError, wheel_paths.WheelPathError) as error:
        print(f"{COMMAND}: {error}", file=sys.stderr)
        return 1
    print("\nThe support matrix, for the README:\n\n" + markdown_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
