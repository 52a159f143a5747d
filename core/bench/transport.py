"""What the way to an engine on another computer costs (``--transport``): a 4000x3000 RGBA
picture (the bundled photo, enlarged, with an opaque alpha: what a job sends and its result
brings back) to ``cat`` and back through a local pipe, through ssh, and through ssh with its
compression (``-C``, zlib level 6); and, to choose between them on slower links, how small zlib
and PNG make it and what they take, with what each would cost on links of 20, 100 and 1000
Mbit/s (the transfer both ways plus the compressing, computed from the figures measured here)."""

from __future__ import annotations

import io
import statistics
import subprocess
import threading
import time
import zlib

import numpy as np

from core.bench.common import sample_pictures
from installer import remote

LINKS_MBIT = (20, 100, 1000)


def transport_figures(host: str, ssh: str, size=(3000, 4000), repeats: int = 3) -> dict:
    photo = sample_pictures(size)[0].astype(np.uint8)
    rgba = np.concatenate([photo, np.full(size + (1,), 255, np.uint8)], axis=-1)
    data = rgba.tobytes()
    ways = {
        "local_pipe_seconds": ["cat"],
        "ssh_seconds": [*remote.ssh_command(host, ssh), "cat"],
        "ssh_compressed_seconds": [*remote.ssh_command(host, f"{ssh or 'ssh'} -C"), "cat"],
    }
    report = {"picture": f"{size[1]}x{size[0]} RGBA", "megabytes": round(len(data) / 1e6, 1)}
    for name, command in ways.items():
        report[name] = statistics.median(_round_trip(command, data) for _ in range(repeats))
    zlib_size, zlib_seconds = _timed(lambda: len(zlib.compress(data, 6)))
    png, png_seconds = _timed(lambda: _png(rgba))
    _, unpng_seconds = _timed(lambda: _unpng(png))
    report["zlib_6"] = {"ratio": len(data) / zlib_size, "compress_seconds": zlib_seconds}
    report["png"] = {"ratio": len(data) / len(png), "encode_seconds": png_seconds, "decode_seconds": unpng_seconds}
    report["both_ways_on_a_link"] = {
        f"{mbit}_mbit": {
            "raw_seconds": 2 * _on_link(len(data), mbit),
            "zlib_seconds": 2 * (_on_link(zlib_size, mbit) + zlib_seconds),
            "png_seconds": 2 * (_on_link(len(png), mbit) + png_seconds + unpng_seconds),
        }
        for mbit in LINKS_MBIT
    }
    return report


def _round_trip(command, data) -> float:
    """Seconds to send ``data`` through ``command`` (an echo) and have it all back."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def send():
        child.stdin.write(data)
        child.stdin.close()

    threading.Thread(target=send, daemon=True).start()
    received = len(child.stdout.read())
    child.wait()
    if received != len(data):
        raise RuntimeError(f"{command[0]} gave back {received} of {len(data)} bytes")
    return time.perf_counter() - start


def _timed(work):
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def _png(rgba) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgba).save(out, "PNG", compress_level=1)
    return out.getvalue()


def _unpng(png) -> None:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as picture:
        picture.load()


def _on_link(size: int, mbit: float) -> float:
    return size * 8 / (mbit * 1e6)
