"""How fast this computer paints, as its own runs measured it: time estimates that are true here.

Every size of every job (the command line's, the worker's, the installer's self-check's) ends with
a ``SizeTiming``: the megapixels each iteration evaluated (tiles' borders included), the seconds
per iteration once running, and the extra seconds before its first iteration ended (the size's
targets, compiling). The latest ones are kept per device, backend and precision in ``speed.json``,
in the engine's data folder (``NEURAL_STYLE_DATA_DIR``, or the user's cache folder, for an engine
run from a checkout). An estimate fits a straight line to them, seconds = a + b x megapixels, for
an iteration and for the first one's extra: a fixed cost per iteration makes small pictures slower
per pixel (measured on the project's 2-core CPU, 2026-12-03, TensorFlow float32: 0.24 s per
iteration at 192x144, 1.11 s at 512x384, 2.17 s at 768x576). Without a measurement the estimate is
a fixed guess, and says so. Standard library only; no job fails because this file cannot be written.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

from core import installed

FILE = "speed.json"
FORMAT = 1
KEPT = 12  # timings per kind: enough sizes for the line, recent enough to follow a changed machine
# Before any measurement: a laptop CPU without bfloat16 (about this project's CPU in float32, which
# takes 5 s per megapixel), and a GPU; (a, b) for an iteration, then for the first one's extra.
GUESSES = {"CPU": ((0.1, 6.0), (3.0, 25.0)), "GPU": ((0.02, 0.15), (10.0, 1.0))}


@dataclass(frozen=True)
class SizeTiming:
    megapixels: float  # evaluated per iteration
    seconds_per_iteration: float
    first_extra_seconds: float


class SizeClock:
    """Times one size of a job: started as its targets are computed, ticked after each iteration
    (or chunk of ``count`` iterations); ``timing`` needs three ticks, so two steady intervals."""

    def __init__(self, megapixels: float):
        self.megapixels = megapixels
        self.started = time.perf_counter()
        self.first = self.last = None  # (seconds, iterations) at the first and latest ticks
        self.ticks = 0
        self.iterations = 0

    def tick(self, count: int = 1) -> None:
        self.iterations += count
        self.ticks += 1
        self.last = (time.perf_counter(), self.iterations)
        if self.first is None:
            self.first = self.last

    def timing(self) -> SizeTiming | None:
        if self.ticks < 3:
            return None
        per_iteration = (self.last[0] - self.first[0]) / (self.last[1] - self.first[1])
        extra = self.first[0] - self.started - self.first[1] * per_iteration
        return SizeTiming(self.megapixels, per_iteration, max(0.0, extra))


def kind(device: str, backend: str, precision: str) -> str:
    """The key a machine's timings are kept under: "CPU tensorflow bfloat16"."""
    return f"{device} {backend} {precision}"


def record_path(environ=os.environ, platform=sys.platform) -> str:
    folder = installed.data_folder() or environ.get("NEURAL_STYLE_DATA_DIR") or _cache_folder(environ, platform)
    return os.path.join(folder, FILE)


def _cache_folder(environ, platform) -> str:
    home = os.path.expanduser("~")
    if platform.startswith("win"):
        return os.path.join(environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local"), "nsg", "cache")
    if platform == "darwin":
        return os.path.join(home, "Library", "Caches", "neural-style-gimp")
    return os.path.join(environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "neural-style-gimp")


def timings(key: str, path: str | None = None) -> list:
    """The kept timings of ``key``, oldest first; none when the file is missing or unreadable."""
    try:
        with open(path or record_path(), encoding="utf-8") as f:
            record = json.load(f)
        return [SizeTiming(**values) for values in record["kinds"].get(key, [])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def remember(key: str, new: list, path: str | None = None) -> None:
    """Keep ``new`` timings of ``key`` (written atomically: jobs may end together); a folder
    that cannot be written loses the measurement, not the job."""
    if not new:
        return
    path = path or record_path()
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
        kinds = dict(record["kinds"]) if record.get("format") == FORMAT else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        kinds = {}
    kinds[key] = [*kinds.get(key, []), *map(asdict, new)][-KEPT:]
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=FILE, suffix=".part")
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            json.dump({"format": FORMAT, "kinds": kinds}, f, indent=1)
        os.replace(temporary, path)


@dataclass(frozen=True)
class Pace:
    """This computer's speed for one kind: seconds = a + b x megapixels, per iteration and for a
    size's first iteration's extra; ``measured`` unless it is the fixed guess."""

    iteration: tuple
    first: tuple
    measured: bool

    def per_iteration(self, megapixels: float) -> float:
        return self.iteration[0] + self.iteration[1] * megapixels

    def first_extra(self, megapixels: float) -> float:
        return self.first[0] + self.first[1] * megapixels

    def seconds(self, work: list) -> float:
        """Seconds for ``work``, a list of (iterations, megapixels evaluated per iteration) per size."""
        return sum(iterations * self.per_iteration(mp) + self.first_extra(mp) for iterations, mp in work)


def pace(key: str, path: str | None = None) -> Pace:
    """The pace the kept timings of ``key`` show, or the fixed guess."""
    kept = timings(key, path)
    if not kept:
        return Pace(*GUESSES["CPU" if key.startswith("CPU") else "GPU"], measured=False)
    return Pace(
        _line([(t.megapixels, t.seconds_per_iteration) for t in kept]),
        _line([(t.megapixels, t.first_extra_seconds) for t in kept]),
        measured=True,
    )


@dataclass(frozen=True)
class Estimate:
    seconds: float
    measured: bool  # from this computer's own timings, not the fixed guess

    def text(self) -> str:
        """ "about 40 s on this computer" / "about 3 min (a guess: ...)"."""
        how = "on this computer" if self.measured else "(a guess until a first painting here measures it)"
        return f"about {duration(self.seconds)} {how}"


def estimate(key: str, work: list, path: str | None = None) -> Estimate:
    """Seconds for ``work`` (see ``Pace.seconds``) at this computer's pace."""
    known = pace(key, path)
    return Estimate(known.seconds(work), known.measured)


def foretell(job, params, path: str | None = None) -> Estimate:
    """Seconds for a planned job (``core.plan.JobPlan``) with ``params``, at this computer's pace."""
    return estimate(job.speed_kind(), job.work(params), path)


def _line(points: list) -> tuple:
    """(a, b) of y = a + b x by least squares, both at least 0; through the origin when the
    points all lie at about one x, where no slope can be told from a fixed cost."""
    xs, ys = [x for x, _ in points], [y for _, y in points]
    if max(xs) < 1.3 * min(xs):
        return 0.0, sum(ys) / sum(xs)
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x in xs)
    intercept = mean_y - slope * mean_x
    if slope < 0:
        return mean_y, 0.0
    if intercept < 0:
        return 0.0, sum(x * y for x, y in points) / sum(x * x for x in xs)
    return intercept, slope


def duration(seconds: float) -> str:
    """For people, rounded as an estimate deserves: "40 s", "3 min", "1 h 20 min"."""
    if seconds < 55:
        return f"{max(5, round(seconds / 5) * 5)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes % 60 else f"{minutes // 60} h"
