"""Records the golden transcripts in tests/golden/ (``python -m tests.record_golden``), after a
deliberate change of the protocol: the client's side as ``core.protocol``'s builders write it,
the worker's side from a real worker (untrained VGG19) serving a small job with previews, then
an unknown message. The tests then hold both sides to them."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from core import protocol
from core.protocol import Pixels

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden")
CONTENT, STYLE = Pixels(2, 2, 4, bytes(range(16))), Pixels(1, 1, 3, b"\x01\x02\x03")
MASK = Pixels(2, 2, 1, b"\x00\x40\x80\xff")
WORKER_JOB = {"size": 96, "iterations": 4, "pyramid_levels": 2}
PREVIEW = protocol.preview_request(16, 0.1)


def client_messages() -> bytes:
    stream = io.BytesIO()
    job = protocol.Job("job-1", {"size": 64, "iterations": 2}, CONTENT, (STYLE, STYLE), (None, MASK), MASK, PREVIEW)
    for message in (job, protocol.Cancel("job-1"), protocol.Shutdown()):
        protocol.send(stream, message)
    return stream.getvalue()


def worker_messages() -> bytes:
    content = Pixels(96, 72, 4, bytes(i % 256 for i in range(96 * 72 * 4)))
    style = Pixels(40, 40, 3, bytes((i * 7) % 256 for i in range(40 * 40 * 3)))
    worker = subprocess.Popen(
        [sys.executable, "-m", "core.worker", "--random-weights"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    protocol.send(worker.stdin, protocol.Job("job-1", WORKER_JOB, content, (style,), preview=PREVIEW))
    out = io.BytesIO()
    for answer in (protocol.RESULT, protocol.ERROR):
        while True:
            message = protocol.read_message(worker.stdout)
            protocol.write_message(out, *message)
            if message[0]["type"] == answer:
                break
        protocol.write_message(worker.stdin, {"type": "unknown", "id": "job-2"})
    protocol.send(worker.stdin, protocol.Shutdown())
    worker.stdin.close()
    worker.wait(30)
    return out.getvalue()


if __name__ == "__main__":
    for name, data in (("client_session.bin", client_messages()), ("worker_session.bin", worker_messages())):
        with open(os.path.join(GOLDEN, name), "wb") as f:
            f.write(data)
        print(f"wrote tests/golden/{name} ({len(data)} bytes)")
