"""The tree is as ruff (lint and format, settings in pyproject.toml) wants it; CI runs this too."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

RUFF = os.path.join(os.path.dirname(sys.executable), "ruff")


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff_finds_nothing_to_change(command):
    completed = subprocess.run([RUFF, *command, "."], cwd=ROOT, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
