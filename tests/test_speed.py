"""This computer's measured speed (``core.speed``): kept from each run, fitted, and an estimate that
foretells the next run's time."""

import json
import time

import numpy as np
import pytest

from core import speed
from core.engine import StyleTransfer
from core.params import StyleParams

KEY = speed.kind("CPU", "tensorflow", "float32")


def test_a_line_is_fitted_to_the_timings_and_stays_at_zero_or_above():
    exact = [(mp, 0.1 + 5 * mp) for mp in (0.01, 0.05, 0.2)]
    assert speed._line(exact) == pytest.approx((0.1, 5.0))
    assert speed._line([(0.1, 0.6), (0.1, 0.4)]) == pytest.approx((0.0, 5.0))  # one size: no fixed cost told
    falling = speed._line([(0.1, 2.0), (0.4, 1.0)])
    assert falling == pytest.approx((1.5, 0.0))
    through_origin = speed._line([(0.1, 0.1), (0.4, 2.0)])  # a negative fixed cost is none
    assert through_origin[0] == 0 and through_origin[1] > 0


def test_the_latest_timings_are_kept_per_kind_and_a_broken_record_means_a_guess(tmp_path):
    path = str(tmp_path / "speed.json")
    guess = speed.estimate(KEY, [(100, 0.2)], path)
    assert not guess.measured and "a guess" in guess.text()
    for second in range(speed.KEPT + 3):
        speed.remember(KEY, [speed.SizeTiming(0.2, 1.0 + second, 2.0)], path)
    speed.remember("GPU: Test jax float32", [speed.SizeTiming(1.0, 0.1, 9.0)], path)
    kept = speed.timings(KEY, path)
    assert len(kept) == speed.KEPT and kept[-1].seconds_per_iteration == speed.KEPT + 3  # the newest
    assert speed.timings("GPU: Test jax float32", path) == [speed.SizeTiming(1.0, 0.1, 9.0)]
    measured = speed.estimate(KEY, [(100, 0.2)], path)
    mean = np.mean([t.seconds_per_iteration for t in kept])
    assert measured.measured and measured.seconds == pytest.approx(100 * mean + 2.0)
    assert measured.text().endswith("on this computer")
    (tmp_path / "speed.json").write_text("{not json")
    assert speed.timings(KEY, path) == [] and not speed.estimate(KEY, [(1, 0.2)], path).measured
    speed.remember(KEY, [speed.SizeTiming(0.2, 1.0, 2.0)], path)  # a broken record is started again
    assert json.loads((tmp_path / "speed.json").read_text())["kinds"] == {KEY: [vars(speed.SizeTiming(0.2, 1.0, 2.0))]}
    assert [p.name for p in tmp_path.iterdir()] == ["speed.json"]  # no temporary file left


def test_a_folder_that_cannot_be_written_loses_the_timing_not_the_job(tmp_path):
    (tmp_path / "a-file").write_text("")
    path = str(tmp_path / "a-file" / "speed.json")  # its folder cannot be made, even by root
    speed.remember(KEY, [speed.SizeTiming(0.2, 1.0, 2.0)], path)
    assert speed.timings(KEY, path) == []


def test_the_record_lies_in_the_data_folder_or_the_users_cache(monkeypatch):
    monkeypatch.delenv("NEURAL_STYLE_DATA_DIR", raising=False)
    assert speed.record_path({"XDG_CACHE_HOME": "/c"}, "linux") == "/c/neural-style-gimp/speed.json"
    assert speed.record_path({"LOCALAPPDATA": "/l"}, "win32").replace("\\", "/") == "/l/nsg/cache/speed.json"
    assert speed.record_path({}, "darwin").endswith("/Library/Caches/neural-style-gimp/speed.json")
    assert speed.record_path({"NEURAL_STYLE_DATA_DIR": "/d", "XDG_CACHE_HOME": "/c"}, "linux") == "/d/speed.json"


def test_durations_read_as_estimates():
    assert [speed.duration(s) for s in (1, 12, 54, 80, 600, 3600, 4500)] == [
        "5 s", "10 s", "55 s", "1 min", "10 min", "1 h", "1 h 15 min",
    ]  # fmt: skip


def test_a_clock_needs_steady_iterations_and_splits_off_the_first_ones_extra():
    clock = speed.SizeClock(0.5)
    time.sleep(0.2)  # the size's targets
    for _ in range(2):
        time.sleep(0.05)
        clock.tick()
    assert clock.timing() is None  # one steady interval only
    time.sleep(0.05)
    clock.tick()
    timing = clock.timing()
    assert timing.megapixels == 0.5
    assert timing.seconds_per_iteration == pytest.approx(0.05, abs=0.02)
    assert timing.first_extra_seconds == pytest.approx(0.2, abs=0.05)


def test_a_runs_timings_foretell_the_next_runs_time(random_network, tmp_path):
    """The engine times each size; remembered, they estimate the same job's next run to within a
    factor of 1.5 (the clock of this machine; other tests may run beside it)."""
    engine = StyleTransfer(random_network)
    rng = np.random.default_rng(5)
    content = rng.integers(0, 256, size=(96, 128, 3), dtype=np.uint8)
    style = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    params = StyleParams(size=128, iterations=12, coarse_iterations=6, pyramid_levels=2, precision="float32")
    engine.run(content, [style], params)  # compiles the job's sizes, as a worker's earlier jobs would
    first = engine.run(content, [style], params)
    assert [t.megapixels for t in first.timings] == [48 * 64 / 1e6, 96 * 128 / 1e6]
    assert first.job.work(params) == [(6, 48 * 64 / 1e6), (12, 96 * 128 / 1e6)]
    path = str(tmp_path / "speed.json")
    speed.remember(first.job.speed_kind(), first.timings, path)
    foretold = speed.estimate(first.job.speed_kind(), first.job.work(params), path)
    started = time.perf_counter()
    engine.run(content, [style], params)
    assert 1 / 1.5 < foretold.seconds / (time.perf_counter() - started) < 1.5


def test_the_first_time_left_comes_from_this_computers_pace(random_network, tmp_path):
    """With the pace a first run measured, the next run's first report foretells the time left to
    within a factor of 1.6 (the live rate alone would know only one coarse iteration by then)."""
    engine = StyleTransfer(random_network)
    rng = np.random.default_rng(6)
    content = rng.integers(0, 256, size=(96, 128, 3), dtype=np.uint8)
    style = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    params = StyleParams(size=128, iterations=12, coarse_iterations=6, pyramid_levels=2, precision="float32")
    engine.run(content, [style], params)  # compiles
    path, asked = str(tmp_path / "speed.json"), []
    measured = engine.run(content, [style], params)
    speed.remember(measured.job.speed_kind(), measured.timings, path)
    reports, times = [], []

    def pace_of(kind):
        asked.append(kind)
        return speed.pace(kind, path)

    def on_progress(report):
        reports.append(report)
        times.append(time.perf_counter())

    engine.run(content, [style], params, on_progress, pace_of=pace_of)
    truth = time.perf_counter() - times[0]
    assert asked == [measured.job.speed_kind()]
    assert 1 / 1.6 < reports[0].seconds_left / truth < 1.6
    assert reports[-1].seconds_left == 0
