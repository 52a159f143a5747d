"""The mutation check: under each deliberate mistake of tests/mutants.py, every tier that claims
the behaviour it breaks must fail, with an assertion.

The mutants are made in a copy of the repository (without what the tests make), which shares this
checkout's test environment, weights and GIMP roots. The same tests first run in the copy without
a mutant and must pass there, so a copy that cannot run them proves nothing by failing.
"""

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from tests import mutants
from tests.conftest import ROOT

pytestmark = [pytest.mark.real_weights, pytest.mark.gimp, pytest.mark.slow]


@pytest.fixture(scope="module")
def copy_of_the_repository(tmp_path_factory, real_weights):
    """A copy of the repository's files; returns (its path, the environment its tests run in)."""
    copy = str(tmp_path_factory.mktemp("mutant") / "repository")
    made_here = (".git", ".venv", ".cache", "dist", "__pycache__", ".pytest_cache", ".ruff_cache")
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*made_here))
    # real paths: the GIMP roots see the test environment at its real path only
    os.symlink(os.path.realpath(os.path.join(ROOT, ".venv")), os.path.join(copy, ".venv"))
    os.makedirs(os.path.join(copy, ".cache"))
    for suite in ("trixie", "sid"):
        root = os.path.realpath(os.path.join(ROOT, ".cache", f"gimp-{suite}"))
        os.symlink(root, os.path.join(copy, ".cache", f"gimp-{suite}"))
    weights = os.path.join(os.path.dirname(copy), "vgg19.h5")  # below /tmp, which the GIMP roots see
    shutil.copyfile(real_weights, weights)
    return copy, dict(os.environ, NEURAL_STYLE_WEIGHTS=weights)


def outcomes(copy, environment, tests) -> dict:
    """Each test's outcome in the copy: "passed", "skipped", "error", or the failure's first line."""
    report = os.path.join(os.path.dirname(copy), "report.xml")
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *tests],
        cwd=copy, env=environment, capture_output=True, timeout=1800,
    )  # fmt: skip
    found = {}
    for case in ElementTree.parse(report).iter("testcase"):
        name = f"{case.get('classname').replace('.', '/')}.py::{case.get('name')}"
        failure, error, skipped = (case.find(kind) for kind in ("failure", "error", "skipped"))
        if failure is not None:
            found[name] = (failure.get("message") or "failed").splitlines()[0]
        else:
            found[name] = "error" if error is not None else "skipped" if skipped is not None else "passed"
    return found


def catchers():
    return sorted({test for mutant in mutants.MUTANTS for test in mutant.catchers})


def test_the_catchers_pass_in_the_copy_without_a_mutant(copy_of_the_repository):
    copy, environment = copy_of_the_repository
    assert outcomes(copy, environment, catchers()) == {test: "passed" for test in catchers()}


@pytest.mark.parametrize("mutant", mutants.MUTANTS, ids=lambda mutant: mutant.name.replace(" ", "-"))
def test_every_tier_that_claims_the_behaviour_fails_under_the_mutant(copy_of_the_repository, mutant):
    copy, environment = copy_of_the_repository
    mutated = os.path.join(os.path.dirname(copy), mutant.name.replace(" ", "-"))
    shutil.copytree(copy, mutated, symlinks=True)
    mutants.apply(mutant, mutated)
    found = outcomes(mutated, environment, list(mutant.catchers))
    survivors = {test: outcome for test, outcome in found.items() if not outcome.startswith(("assert", "Assertion"))}
    assert set(found) == set(mutant.catchers) and not survivors, f"{mutant.name!r} was not caught by: {survivors}"
