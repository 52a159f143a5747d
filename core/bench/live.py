"""What an artist waits for in GIMP, through a real worker process and the protocol, with the
plug-in's own settings: OK to the first preview, the dialog's Preview (first with the worker's
start-up, then again on the same worker), what previews cost a job, and the longest silence of a
full-size job computed in tiles."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import numpy as np

from core import protocol
from core.bench.common import ROOT, sample_pictures, weights_options

WINDOW_PREVIEW = protocol.preview_request(320, 2.0)  # the progress window's (progress_window.py)
DIALOG_PREVIEW = protocol.preview_request(256, 1.0)  # the dialog's Preview (preview_panel.py)
DRAFT = 40  # iterations (painting.QUALITY)


def live_figures(weights, side, full_size, budget_gb, silence_seconds):
    content, style = (_pixels(p) for p in sample_pictures(_shape(side)))
    worker = _Worker(weights)
    job = {"size": side, "iterations": DRAFT, "init": "content"}
    ok = worker.job(job, content, style, WINDOW_PREVIEW)
    first_preview = worker.hello_seconds + ok.first("preview")

    fresh = _Worker(weights)  # the dialog's first Preview starts its worker
    small = {"size": min(side, DIALOG_PREVIEW["long_side"]), "iterations": DRAFT, "init": "content"}
    first = fresh.hello_seconds + fresh.job(small, content, style, DIALOG_PREVIEW).seconds
    second = fresh.job(dict(small, preserve_colors=True), content, style, DIALOG_PREVIEW).seconds
    fresh.close()

    with_previews, without = [], []
    for _ in range(2):  # alternated, this machine being noisy
        with_previews.append(worker.job(job, content, style, WINDOW_PREVIEW))
        without.append(worker.job(job, content, style, None).seconds)
    worker.close()
    seconds_with = statistics.median(run.seconds for run in with_previews)
    report = {
        "ok_to_first_preview_seconds": {"size": side, "seconds": first_preview, "worker_start": worker.hello_seconds},
        "dialog_preview_seconds": {"first_with_start_up": first, "second_same_worker": second},
        "preview_cost": {
            "job_seconds_with_previews": seconds_with,
            "job_seconds_without": statistics.median(without),
            "ratio": seconds_with / statistics.median(without),
            "previews_per_job": with_previews[0].count("preview"),
            "compose_share": _compose_share(content, side, with_previews[0]),
        },
    }
    if full_size:
        report["longest_silence"] = _longest_silence(weights, full_size, budget_gb, silence_seconds)
    return report


def _longest_silence(weights, size, budget_gb, limit):
    """The longest gap between messages of a one-size job at ``size`` (height, width) within
    ``budget_gb``, cancelled after ``limit`` seconds if it has not ended."""
    height, width = size
    rng = np.random.default_rng(0)
    content = protocol.Pixels(width, height, 3, rng.integers(0, 256, (height, width, 3), np.uint8).tobytes())
    style = _pixels(sample_pictures((768, 1024))[1])
    worker = _Worker(weights)
    params = {"size": max(size), "iterations": 2, "pyramid_levels": 1, "memory_budget": budget_gb}
    run = worker.job(params, content, style, None, cancel_after=limit)
    worker.close()
    gaps = np.diff([0.0, *(t for t, _ in run.messages)])
    return {
        "size": f"{width}x{height}",
        "budget_gb": budget_gb,
        "longest_silence_seconds": float(gaps.max()),
        "job_seconds": run.seconds,
        "cancelled_after_seconds": limit if run.cancelled else None,
        "stages": sorted({message.stage for _, message in run.messages if isinstance(message, protocol.Stage)}),
        "messages": len(run.messages),
    }


def _compose_share(content, side, run):
    """The share of a job's time spent making its previews' pictures, timed on their own."""
    from core import images

    height, width = content.height, content.width
    x = images.preprocess(np.frombuffer(content.data, np.uint8).reshape(height, width, 3).astype(np.float32))
    image = np.frombuffer(content.data, np.uint8).reshape(height, width, 3)
    shape = images.fit_long_side((height, width), 320)
    start = time.perf_counter()
    for _ in range(10):
        images.compose(x, shape, image, False)
    per_preview = (time.perf_counter() - start) / 10
    return per_preview * run.count("preview") / run.seconds


class _Run:
    def __init__(self, messages, seconds, cancelled):
        self.messages, self.seconds, self.cancelled = messages, seconds, cancelled

    def first(self, kind):
        return next(t for t, message in self.messages if kind == message.TYPE)

    def count(self, kind):
        return sum(kind == message.TYPE for _, message in self.messages)


class _Worker:
    """``python -m core.worker`` spoken to over the protocol, every message timed."""

    def __init__(self, weights):
        start = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "core.worker", *weights_options(weights)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        protocol.read_hello(self.process.stdout)
        self.hello_seconds = time.perf_counter() - start
        self.jobs = 0

    def job(self, params, content, style, preview, cancel_after=None) -> _Run:
        self.jobs += 1
        job_id = f"bench-{self.jobs}"
        start = time.perf_counter()
        protocol.send(self.process.stdin, protocol.Job(job_id, params, content, (style,), preview=preview))
        messages, cancelled = [], False
        while True:
            message = protocol.receive(self.process.stdout)
            messages.append((time.perf_counter() - start, message))
            if isinstance(message, protocol.Error):
                raise RuntimeError(message.message)
            if isinstance(message, (protocol.Result, protocol.Cancelled)):
                return _Run(messages, messages[-1][0], isinstance(message, protocol.Cancelled))
            if cancel_after is not None and not cancelled and messages[-1][0] > cancel_after:
                protocol.send(self.process.stdin, protocol.Cancel(job_id))
                cancelled = True

    def close(self):
        protocol.send(self.process.stdin, protocol.Shutdown())
        self.process.stdin.close()
        self.process.wait(60)


def _shape(side):
    return side * 3 // 4, side


def _pixels(rgb) -> protocol.Pixels:
    height, width = rgb.shape[:2]
    return protocol.Pixels(width, height, 3, rgb.astype(np.uint8).tobytes())
