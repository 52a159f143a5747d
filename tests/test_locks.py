"""The lock files against the package registry: each is exactly what uv makes of its pins for
its cell of the support matrix (so every pin has packages for that platform and Python), and
every cell the matrix leaves out really has none. Resolving reads the registry's metadata only;
no package is downloaded. The registry is read as it stood at ``relock.EXCLUDE_NEWER``."""

import concurrent.futures
import os

import pytest

from installer import matrix, relock
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.slow  # tests/run.sh --quick leaves it out

INTEL_MAC = "x86_64-apple-darwin"  # uv's name for the platform the matrix refuses


@pytest.fixture(scope="module")
def uv():
    try:
        return relock.uv()
    except relock.RelockError as error:
        skip_or_fail(str(error))


def resolve_all(jobs):
    """{name: lock text or RelockError} for {name: (function, arguments)}, resolved in parallel."""

    def attempt(function, arguments):
        try:
            return function(*arguments)
        except relock.RelockError as error:
            return error

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futures = {name: pool.submit(attempt, *job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def committed(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def test_every_lock_file_is_what_uv_makes_of_its_pins(uv):
    results = resolve_all({matrix.lock_path(*cell): (relock.engine_lock, cell) for cell in matrix.cells()})
    unresolved = [str(result) for result in results.values() if isinstance(result, Exception)]
    assert not unresolved, "cells without packages:\n" + "\n".join(unresolved)
    stale = [os.path.basename(path) for path, text in results.items() if text != committed(path)]
    assert not stale, f"out of date (run python -m installer.relock): {stale}"


def test_the_cells_the_matrix_leaves_out_have_no_packages(uv):
    jobs = {}
    for variant, entry in matrix.VARIANTS.items():
        source = os.path.join(matrix.REQUIREMENTS, f"{variant}.in")
        for platform in entry.platforms:
            for python in sorted(set(matrix.ALL_PYTHONS) - set(entry.pythons)):
                jobs[f"{platform} {python} {variant}"] = (
                    relock.compile_lock,
                    (source, matrix.PLATFORMS[platform].resolver, python),
                )
        if not variant.endswith("-cuda"):
            for python in matrix.PYTHONS:
                jobs[f"Intel Mac {python} {variant}"] = (relock.compile_lock, (source, INTEL_MAC, python))
    resolved = [name for name, result in resolve_all(jobs).items() if not isinstance(result, Exception)]
    assert not resolved, f"these resolve, so the matrix could offer them: {resolved}"


def test_the_test_environment_lock_is_what_uv_makes_of_its_pins(uv):
    torch_wheels = os.environ.get("PIP_FIND_LINKS") or relock.TORCH_CPU_WHEELS  # a local mirror, if any
    assert relock.locked_test_environment(torch_wheels) == committed(relock.TEST_LOCK)
