"""A run's jobs without GIMP (``gimp_plugin/neural_style/jobs.py``): what is refused before the
engine starts, and the painting of each job on a real worker (untrained network), stopping, and
failures named after their layer."""

import os
import sys

import pytest

from core.protocol import Pixels
from tests.conftest import ROOT
from tests.test_worker import CONTENT, STYLE, WORKER, pixels

sys.path.insert(0, os.path.join(ROOT, "gimp_plugin", "neural_style"))  # the plug-in's modules, as GIMP has them
import job_settings  # noqa: E402
import jobs  # noqa: E402
from worker_client import WorkerClient, WorkerError  # noqa: E402

SETTINGS = dict.fromkeys(job_settings.SETTINGS, 1.0) | {
    "quality": "custom", "iterations": 3, "working-size": 64, "seed": 0, "keep-colors": False,
}  # fmt: skip


class Watch:
    """What the progress window hears, by job index; says stop once ``stop_after`` progress
    messages of any job came."""

    preview = None

    def __init__(self, stop_after=None):
        self.heard, self.stop_after = [], stop_after

    def stopping(self):
        progress = [kind for kind, _, _ in self.heard if kind == "progress"]
        return self.stop_after is not None and len(progress) >= self.stop_after

    def on_stage(self, index, stage):
        self.heard.append(("stage", index, stage.text))

    def on_progress(self, index, progress):
        self.heard.append(("progress", index, progress.iteration))

    def on_preview(self, index, preview):
        self.heard.append(("preview", index, preview.iteration))


def plan(*contents):
    record = job_settings.Record(SETTINGS, [], {})
    layers = [jobs.Job(None, f"Layer {n}", (0, 0, c.width, c.height), c, ()) for n, c in enumerate(contents, 1)]
    return jobs.Plan(layers, [STYLE], False, "Style", record)


@pytest.fixture(scope="module")
def worker():
    with WorkerClient(WORKER, cwd=ROOT) as client:
        yield client


def test_each_job_is_painted_and_heard_by_its_index(worker):
    watch = Watch()
    painted, stopped = jobs.paint(worker, plan(CONTENT, pixels(48, 64, 3, seed=3)), SETTINGS, watch)
    assert not stopped and [job.name for job, _ in painted] == ["Layer 1", "Layer 2"]
    assert [(p.width, p.height, p.channels) for _, p in painted] == [(64, 48, 4), (48, 64, 3)]
    assert [(i, n) for kind, i, n in watch.heard if kind == "progress"] == [
        (0, 1),
        (0, 2),
        (0, 3),
        (1, 1),
        (1, 2),
        (1, 3),
    ]


def test_a_stop_keeps_the_layer_in_progress_and_starts_no_other(worker):
    watch = Watch(stop_after=1)
    painted, stopped = jobs.paint(worker, plan(CONTENT, CONTENT), dict(SETTINGS, iterations=200), watch)
    assert stopped and [job.name for job, _ in painted] == ["Layer 1"]
    assert {index for _, index, _ in watch.heard} == {0}


def test_an_engines_refusal_names_the_layer(worker):
    with pytest.raises(WorkerError) as error:
        jobs.paint(worker, plan(CONTENT, pixels(64, 20, 4)), SETTINGS, Watch())
    assert error.value.user_text().startswith("Layer 'Layer 2': the content image is 64x20 pixels")


def test_what_cannot_be_painted_is_refused_before_the_engine_starts():
    small, tall = (0, 0, 20, 40), (0, 0, 40, 4000)
    with pytest.raises(job_settings.UserError, match="The selection on layer 'Photo' is 20x40 px"):
        jobs.check_sizes(SETTINGS, [("Photo", small)], True, [])
    with pytest.raises(job_settings.UserError, match="At Working size 512, layer 'Photo' .* would be painted at 5x512"):
        jobs.check_sizes(dict(SETTINGS, **{"working-size": 512}), [("Photo", tall)], False, [])
    with pytest.raises(job_settings.UserError, match="The style layer 'Dots' is 8x8 px"):
        jobs.check_sizes(SETTINGS, [("Photo", (0, 0, 64, 64))], False, [("Dots", pixels(8, 8, 3))])
    black, grey = Pixels(4, 2, 1, bytes(8)), Pixels(4, 2, 1, bytes([0] * 7 + [9]))
    with pytest.raises(job_settings.UserError, match="'Sky' is empty over layer 'Photo': style layer 2 would paint"):
        jobs.check_region(black, 2, "Sky", "Photo")
    assert jobs.check_region(grey, 2, "Sky", "Photo") is grey
