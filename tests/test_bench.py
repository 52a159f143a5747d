"""Every mode of the benchmark runs, briefly (tiny sizes, a random network), as a developer runs
it: ``python -m core.bench``, JSON out. So the command behind the performance figures cannot
break unnoticed. Its timings are printed by the benchmark, never asserted here."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # tests/run.sh --quick leaves it out

MODES = {
    "default": (
        ["--size", "64x48", "--evaluations", "3", "--memory-sizes", "64x48"],
        {"seconds_per_evaluation", "engine_to_that_loss", "memory", "worker_start_to_hello_seconds"},
    ),
    "quick": (["--quick"], {"protocol_round_trip_4000x3000_rgba_seconds", "worker_start_to_hello_seconds"}),
    "precisions": (["--precisions", "--side", "48", "--iterations", "2"], {"precisions"}),
    "gpu": (["--gpu", "--side", "48", "--iterations", "2"], {"gpu"}),
    "startup": (["--startup", "--side", "48"], {"startup"}),
    "live": (
        ["--live", "--side", "64", "--full-size", "96x72", "--memory-budget", "4", "--silence-seconds", "30"],
        {"live"},
    ),
    "full-resolution": (["--full-resolution", "--full-size", "64x48", "--memory-budget", "4"], {"full_resolution"}),
}


def bench(*options):
    completed = subprocess.run(
        [sys.executable, "-m", "core.bench", *options], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_runs_and_reports_its_figures(mode):
    options, keys = MODES[mode]
    report = bench(*options, "--random-weights")
    assert keys <= set(report) and report["machine"]["cpus"] >= 1, report


def test_a_tiled_jobs_peak_memory_is_what_its_plan_says():
    """The memory model, held to a measurement: a job computed in tiles (three evaluations) peaks
    between half and 1.1 times the memory its plan expects (measured: 0.85)."""
    (job,) = bench(
        "--size", "64x48", "--evaluations", "1", "--memory-sizes", "480x360", "--memory-budget", "2.5",
        "--random-weights",
    )["memory"]  # fmt: skip
    assert job["size"] == "480x360" and job["budget_gb"] == 2.5
    assert job["tiles"] > 1 and job["evaluations"] == 3
    assert 0.5 < job["peak_gib"] / job["planned_gib"] < 1.1, job


@pytest.mark.real_weights
def test_pastiche_mode_runs_both_programs_end_to_end(real_weights, tmp_path):
    report = bench(
        "--pastiche", "--side", "48", "--iterations", "2", "--out", str(tmp_path), "--weights", real_weights
    )["pastiche"]
    assert report["iterations"] == 2 and (tmp_path / "pastiche.png").exists() and (tmp_path / "ours.png").exists()


def test_quality_mode_scores_each_preset_against_its_fixed_counts_and_pastiche(tmp_path):
    report = bench("--quality", "--side", "64", "--presets", "draft", "--out", str(tmp_path), "--random-weights")
    pairs = report["quality"]["pairs"]
    assert list(pairs) == ["tubingen x starry_night", "tubingen x shipwreck"]
    for figures in pairs.values():
        assert set(figures) == {"draft_fixed", "draft_stops", "draft_ratios", "draft_pastiche"}
        assert figures["draft_fixed"]["iterations"] == [40]  # 64 px: one size, the fixed count of before
        assert {"seconds", "style", "content"} <= set(figures["draft_pastiche"])
        assert figures["draft_ratios"]["seconds"] > 0
    assert (tmp_path / "quality-sheet.jpg").is_file() and (tmp_path / "tubingen_x_shipwreck-draft-stops.png").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("pastiche-")]  # its workspace is removed


@pytest.mark.real_weights
def test_strength_mode_trades_photo_for_style_as_the_strength_grows(real_weights, tmp_path):
    report = bench(
        "--quality", "--strengths", "0.25,4", "--side", "64", "--out", str(tmp_path), "--weights", real_weights
    )["quality"]
    assert report["preset"] == "standard" and list(report["pairs"]) == [
        "tubingen x starry_night",
        "tubingen x shipwreck",
    ]
    for figures in report["pairs"].values():
        weak, strong = figures["0.25"], figures["4"]
        assert strong["style"] < weak["style"] and strong["content"] > weak["content"], figures
    assert (tmp_path / "strength-sheet.jpg").is_file() and (
        tmp_path / "tubingen_x_starry_night-strength-4.png"
    ).is_file()


def test_regions_mode_times_one_style_against_two_and_four_regions():
    report = bench("--regions", "--size", "64x48", "--random-weights")["regions"]
    assert report["size"] == "64x48" and set(report["ratio_to_one_style"]) == {
        "one_style",
        "two_regions",
        "four_regions",
    }
    assert report["ratio_to_one_style"]["one_style"] == 1.0 and all(
        v > 0 for v in report["seconds_per_evaluation"].values()
    )
