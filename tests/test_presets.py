"""The quality presets: one definition for the command line, the worker and the dialog, and their
stop rule (``core.stillness``) on pictures that settle and on pictures that still change."""

import numpy as np
import pytest

from core import presets
from core.cli import build_parser
from core.engine import StyleTransfer
from core.params import StyleParams
from core.presets import Preset, SizeRule
from core.protocol import Foretold, Hello
from core.stillness import WINDOW, Stillness
from gimp_plugin.neural_style import job_settings

rng = np.random.default_rng(4)
PICTURE = rng.uniform(0, 255, size=(96, 128, 3)).astype(np.float32)
CONTENT = rng.integers(0, 256, size=(96, 128, 3), dtype=np.uint8)
STYLE = rng.integers(0, 256, size=(48, 48, 3), dtype=np.uint8)


def test_a_picture_that_no_longer_changes_is_done_after_its_floor():
    rule = Stillness(still=0.25, floor=12)
    done = [rule.done(PICTURE + 0.01 * step) for step in range(1, 30)]  # a hundredth of a level each
    assert done.index(True) + 1 == 12  # not before the floor


def test_a_picture_that_still_changes_is_not_done():
    rule = Stillness(still=0.25, floor=5)
    drift = rng.choice([-1.0, 1.0], size=PICTURE.shape).astype(np.float32)  # a level per iteration, everywhere
    assert not any(rule.done(PICTURE + drift * step) for step in range(1, 200))


def test_a_change_that_fades_is_done_once_it_falls_below_the_threshold():
    rule = Stillness(still=0.25, floor=1)
    drift = rng.choice([-1.0, 1.0], size=PICTURE.shape).astype(np.float32)
    position, done_at = 0.0, None
    for step in range(1, 100):
        position += 0.9**step * 4  # 3.6 levels, then less and less per iteration
        if rule.done(PICTURE + drift * position):
            done_at = step
            break
    mean_over_window = sum(0.9**s * 4 for s in range(done_at - WINDOW + 1, done_at + 1)) / WINDOW
    assert mean_over_window < 0.25 < sum(0.9**s * 4 for s in range(done_at - WINDOW, done_at)) / WINDOW


def test_the_presets_are_the_same_for_the_command_line_the_worker_and_the_dialog():
    choices = next(a.choices for a in build_parser()._actions if a.dest == "quality")
    assert tuple(choices) == presets.NAMES == ("draft", "standard", "fine")
    assert [name for name in job_settings.QUALITY if name != job_settings.CUSTOM] == list(presets.NAMES)
    ceilings = [presets.PRESETS[name].full.ceiling for name in presets.NAMES]
    assert ceilings == sorted(ceilings) and all(
        p.full.floor <= p.full.expected <= p.full.ceiling for p in presets.PRESETS.values()
    )


@pytest.fixture
def engine(random_network):
    return StyleTransfer(random_network)


def test_a_preset_run_stops_where_its_picture_settles_and_its_bar_completes(engine, monkeypatch):
    settled = Preset("draft", "Draft", SizeRule(6, 30, 8), SizeRule(7, 30, 9), still=1e9)  # done at the floors
    monkeypatch.setitem(presets.PRESETS, "draft", settled)
    reports = []
    result = engine.run(CONTENT, [STYLE], StyleParams(size=128, quality="draft"), on_progress=reports.append)
    assert result.iterations_per_size == (6, 7) and result.iterations == 13 and not result.cancelled
    assert reports[0].total == 8 + 9  # as expected, before any level ended
    assert (reports[-1].iteration, reports[-1].total, reports[-1].seconds_left) == (13, 13, 0)  # complete
    assert [r.iteration for r in reports] == sorted({r.iteration for r in reports})  # one report per iteration


def test_a_preset_run_whose_picture_keeps_changing_runs_to_its_ceilings(engine, monkeypatch):
    restless = Preset("draft", "Draft", SizeRule(2, 6, 3), SizeRule(2, 8, 3), still=-1.0)  # never still
    monkeypatch.setitem(presets.PRESETS, "draft", restless)
    reports = []
    result = engine.run(CONTENT, [STYLE], StyleParams(size=128, quality="draft"), on_progress=reports.append)
    assert result.iterations_per_size == (6, 8)
    totals = [r.total for r in reports]
    assert totals[0] == 3 + 3 and totals[-1] == 14 and reports[-1].iteration == 14
    assert totals == sorted(totals)  # grows as the levels run past what was expected, never leaps back


def test_exact_counts_bypass_the_presets(engine):
    reports = []
    result = engine.run(CONTENT, [STYLE], StyleParams(size=128, iterations=8), on_progress=reports.append)
    assert result.iterations_per_size == (2, 8) and {r.total for r in reports} == {10}


def test_the_dialogs_settings_name_a_preset_or_exact_counts():
    hello = Hello(
        "1",
        "tensorflow",
        "CPU",
        True,
        "",
        StyleParams().to_dict(),
        {n: p.describe() for n, p in presets.PRESETS.items()},
    )
    settings = dict.fromkeys(job_settings.SETTINGS, 1.0) | {
        "quality": "fine", "iterations": 77, "working-size": 300, "seed": 3, "keep-colors": False,
    }  # fmt: skip
    params = job_settings.engine_params(settings, hello, 1000)
    assert params["quality"] == "fine" and "iterations" not in params and params["size"] == 300
    StyleParams.from_dict(params)  # the engine takes them
    custom = job_settings.engine_params(dict(settings, quality="custom"), hello, 1000)
    assert custom["iterations"] == 77 and "quality" not in custom
    with pytest.raises(job_settings.UserError, match="The engine has no 'fine' quality: update it"):
        job_settings.engine_params(settings, Hello("1", "tensorflow", "CPU", True), 1000)


def test_the_dialog_says_how_long_each_quality_takes():
    assert job_settings.estimated_qualities("standard") == ["draft", "standard", "fine"]
    assert job_settings.estimated_qualities("custom") == ["draft", "standard", "fine", "custom"]
    answers = [
        Foretold(14.0, "15 s", True),
        Foretold(41.0, "40 s", True),
        Foretold(95.0, "2 min", True),
    ]
    line = job_settings.time_line("standard", ["draft", "standard", "fine"], answers)
    assert line == "Standard: about 40 s on this computer (Draft 15 s, Fine 2 min)"
    guessed = [answer._replace(measured=False) for answer in answers] + [Foretold(300.0, "5 min", False)]
    line = job_settings.time_line("custom", ["draft", "standard", "fine", "custom"], guessed)
    guess = "(a guess until a first painting here measures it)"
    assert line == f"Custom: about 5 min {guess} (Draft 15 s, Standard 40 s, Fine 2 min)"
