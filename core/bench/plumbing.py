"""The plumbing around the engine: the protocol's cost, and the worker's start-up."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from core.bench.common import ROOT, weights_options

_ECHO = (
    "import sys; from core import protocol\n"
    "while (m := protocol.read_message(sys.stdin.buffer)) is not None:\n"
    "    protocol.write_message(sys.stdout.buffer, *m)\n"
)


def protocol_round_trip(side=(3000, 4000), repeats=5):
    """Median seconds to send an RGBA job of ``side`` (height, width) to a child process and
    read it back."""
    from core import protocol

    height, width = side
    pixels = protocol.Pixels(width, height, 4, os.urandom(width * height * 4))
    child = subprocess.Popen([sys.executable, "-c", _ECHO], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        protocol.send(child.stdin, protocol.Job("bench", {}, pixels, ()))
        _, payload = protocol.read_message(child.stdout)
        times.append(time.perf_counter() - start)
        if len(payload) != len(pixels.data):
            raise RuntimeError("the echo lost bytes")
    child.stdin.close()
    child.wait()
    return statistics.median(times)


def worker_start(weights):
    """Seconds from starting ``python -m core.worker`` to its hello (model loaded)."""
    from core import protocol

    start = time.perf_counter()
    worker = subprocess.Popen(
        [sys.executable, "-m", "core.worker", *weights_options(weights)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    protocol.read_hello(worker.stdout)
    seconds = time.perf_counter() - start
    worker.stdin.close()
    worker.wait()
    return seconds
