"""The benchmark's peak-memory job, run as the benchmark runs it (a fresh process, JSON out), so the
figures in the README stay reproducible. Its timings are printed, never asserted."""
import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.real_weights


def test_memory_job_reports_its_plan_and_its_own_peak(real_weights):
    completed = subprocess.run(
        [sys.executable, "-m", "core.bench", "--memory-job", "160x120", "--memory-budget", "4",
         "--weights", real_weights], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["size"] == "160x120" and report["budget_gb"] == 4.0
    assert (report["tiles"], report["optimizer"], report["evaluations"]) == (1, "lbfgs-b", 3)
    # The network's 80 MB of weights alone put it above 0.1 GiB; far below the 4 GB budget.
    assert 0.1 < report["peak_gib"] < 4e9 / 2**30
