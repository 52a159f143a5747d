"""``python -m core.worker``: serves stylisation jobs over stdin/stdout (see ``core.protocol``).

The only module that owns the standard streams. Stdout carries protocol messages and nothing
else: anything a library prints goes to stderr. The network is loaded once and serves every job
of the session; an error in one job is reported (by its code: the client says it in its own
words) and the next job is served. While it starts and while a job runs the worker is never
silent for longer than ``protocol.HEARTBEAT_SECONDS``: a heartbeat thread repeats the current
stage when nothing else was sent. Only the standard library and the protocol are imported before
the first start-up stage is on its way. When stdin closes (the plug-in ended or was killed) the
process exits at once, whatever it is doing. The worker logs to stderr and, with ``--log-file``,
to a rotating file an artist can send.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import queue
import sys
import threading
import time

from core import __version__, protocol
from core.keras_setup import BACKENDS
from core.protocol import ProtocolError

log = logging.getLogger("core.worker")
LOG_FILE_BYTES = 1_000_000  # per file, with two older ones kept


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="VGG19 weights file (default: NEURAL_STYLE_WEIGHTS or the cache)")
    parser.add_argument(
        "--random-weights", action="store_true", help="an untrained network, for tests and benchmarks of the plumbing"
    )
    parser.add_argument("--log-file", help="also log to this file (rotated at 1 MB, two older files kept)")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        help="Keras backend (default: KERAS_BACKEND, else the one installed; tensorflow first)",
    )
    args = parser.parse_args(argv)
    out = _claim_stdout()
    _start_logging(args.log_file)
    server = Server(sys.stdin.buffer, out)
    server.starting("loading the engine's libraries")
    from core.keras_setup import import_keras

    import_keras(args.backend)
    server.starting("loading the network")
    from core.backends import device_name

    engine, weights_message = _load_engine(args)
    import keras

    from core.params import StyleParams
    from core.presets import PRESETS

    hello = protocol.Hello(
        __version__,
        keras.backend.backend(),
        device_name(),
        engine is not None,
        weights_message,
        StyleParams().to_dict(),
        {name: preset.describe() for name, preset in PRESETS.items()},
    )
    server.serve(engine, weights_message, hello)
    return 0


def _start_logging(path):
    handlers = [logging.StreamHandler(sys.stderr)]
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(path, maxBytes=LOG_FILE_BYTES, backupCount=2, encoding="utf-8")
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s", handlers=handlers)
    log.info("worker %s started: Python %s, %s", __version__, sys.version.split()[0], " ".join(sys.argv[1:]))


def _claim_stdout():
    """Keep the real stdout for protocol messages; point fd 1 (and ``print``) at stderr."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def _load_engine(args):
    from core.engine import StyleTransfer
    from core.vgg import VGG19Features
    from core.weights import WeightsError, resolve_weights

    started = time.perf_counter()
    try:
        path = None if args.random_weights else resolve_weights(args.weights, download=False)
        engine = StyleTransfer(VGG19Features(path))
        log.info("network loaded from %s in %.1f s", path or "random weights", time.perf_counter() - started)
        return engine, ""
    except WeightsError as error:
        log.error("%s", error)
        return None, str(error)


class Server:
    """A reader thread takes messages off stdin (so cancel works mid-job); the main thread runs
    jobs; a heartbeat thread repeats the current stage (the start-up's, then each job's) whenever
    the worker has been quiet for half of ``heartbeat_seconds``."""

    def __init__(self, stream_in, stream_out, heartbeat_seconds=protocol.HEARTBEAT_SECONDS):
        self.engine = None
        self.weights_message = ""
        self.stream_in = stream_in
        self.stream_out = stream_out
        self.heartbeat_seconds = heartbeat_seconds
        self.write_lock = threading.Lock()
        self.jobs = queue.Queue()
        self.stops = {}  # job id -> Event, for every job queued or running
        self.last_sent = time.monotonic()
        self.stage = None  # (stage message, when it began) while starting or running a job
        threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True).start()

    def send(self, message):
        with self.write_lock:
            self._write(message)

    def starting(self, text):
        """Say what the worker is loading before its hello (a cold start can take minutes)."""
        self.set_stage(protocol.starting(text))

    def set_stage(self, stage):
        with self.write_lock:
            self.stage = (stage, time.monotonic())
            self._write(stage)

    def serve(self, engine, weights_message, hello):
        """Say hello, then run jobs until shutdown."""
        self.engine, self.weights_message = engine, weights_message
        with self.write_lock:
            self.stage = None
            self._write(hello)
        threading.Thread(target=self._read_loop, name="protocol-reader", daemon=True).start()
        while (job := self.jobs.get()) is not None:
            self._run_job(job)

    def _write(self, message):
        protocol.send(self.stream_out, message)
        self.last_sent = time.monotonic()

    def _heartbeat(self):
        """Repeat the current stage with the seconds spent in it (a single step can take minutes
        on a big image, and importing the libraries as long on a cold start)."""
        while True:
            time.sleep(self.heartbeat_seconds / 10)
            with self.write_lock:
                current = self.stage
                if current is not None and time.monotonic() - self.last_sent >= self.heartbeat_seconds / 2:
                    stage, began = current
                    self._write(stage.after(time.monotonic() - began))

    def _read_loop(self):
        while True:
            try:
                raw = protocol.read_message(self.stream_in)
            except ProtocolError as error:
                self.send(protocol.Error(protocol.BAD_MESSAGE, f"could not read a message: {error}"))
                continue
            if raw is None:  # the client is gone: nobody is left to answer
                sys.stderr.flush()
                os._exit(0)
            try:
                message = protocol.decode(*raw)
            except ProtocolError as error:
                job_id = raw[0].get("id")
                self.send(
                    protocol.Error(protocol.BAD_MESSAGE, str(error), id=job_id if isinstance(job_id, str) else None)
                )
                continue
            if isinstance(message, protocol.Job):
                self.stops[message.id] = threading.Event()
                self.jobs.put(message)
            elif isinstance(message, protocol.Estimate):
                self._estimate(message)
            elif isinstance(message, protocol.Cancel):
                if message.id in self.stops:
                    self.stops[message.id].set()
            elif isinstance(message, protocol.Shutdown):
                for stop in self.stops.values():
                    stop.set()
                self.jobs.put(None)
                return
            else:
                self.send(protocol.Error(protocol.BAD_MESSAGE, f"a worker is not sent {message.TYPE!r} messages"))

    def _estimate(self, request):
        """Answer an ``Estimate`` at once, on the reader's thread: planning a job is quick."""
        from core import images, plan, speed
        from core.images import ImageError
        from core.params import ParamError, StyleParams

        try:
            shape = (int(request.height), int(request.width))
            answers = []
            for values in request.params:
                params = StyleParams.from_dict(values)
                foretold = speed.foretell(plan.plan_job(params, images.fit_long_side(shape, params.size)), params)
                answers.append(
                    protocol.Foretold(round(foretold.seconds, 1), speed.duration(foretold.seconds), foretold.measured)
                )
        except (ParamError, ImageError) as error:  # a job that could not run: said as a job would say it
            self.send(protocol.Error(protocol.BAD_INPUT, str(error), id=request.id))
            return
        except (TypeError, ValueError):
            message = "an estimate needs a whole 'width' and 'height' and a list of 'params'"
            self.send(protocol.Error(protocol.BAD_MESSAGE, message, id=request.id))
            return
        self.send(protocol.Estimates(request.id, tuple(answers)))

    def _run_job(self, job):
        stop = self.stops[job.id]
        try:
            if stop.is_set():
                self.send(protocol.Cancelled(job.id))
                return
            self._stylise(job, stop)
        except Exception as error:  # every failure becomes one error message; the worker goes on
            code, message = _classify(error)
            if code == protocol.INTERNAL:
                log.exception("job %s failed", job.id)
            else:
                log.warning("job %s: %s: %s", job.id, code, message)
            self.send(protocol.Error(code, message, id=job.id))
        finally:
            self.stage = None
            self.stops.pop(job.id, None)

    def _stylise(self, job, stop):
        from core import images, speed
        from core.params import StyleParams
        from core.weights import WeightsError

        params = StyleParams.from_dict(job.params)
        content, styles = _array(job.content), [_array(style) for style in job.styles]
        style_masks = [None if m is None else _array(m)[..., 0] for m in job.style_masks] if job.style_masks else None
        mask = None if job.mask is None else _array(job.mask)
        if self.engine is None:
            raise WeightsError(self.weights_message)

        def on_progress(report):
            self.send(
                protocol.Progress(
                    job.id,
                    report.iteration,
                    report.total,
                    report.level,
                    report.levels,
                    report.losses,
                    report.seconds_left,
                )
            )

        def on_stage(stage):
            self.set_stage(
                protocol.Stage(job.id, stage.name, stage.text, stage.level, stage.levels, stage.tile, stage.tiles)
            )

        def send_preview(pixels, iteration, level):
            self.send(protocol.Preview(job.id, _pixels(pixels), iteration, level))

        result = self.engine.run(
            content,
            styles,
            params,
            on_progress,
            stop.is_set,
            on_stage=on_stage,
            previews=_previews(job.preview, send_preview),
            pace_of=speed.pace,
            style_masks=style_masks,
        )
        speed.remember(result.job.speed_kind(), result.timings)
        if result.cancelled and not result.iterations:  # stopped before anything was painted: no picture
            self.send(protocol.Cancelled(job.id, losses=result.losses))
            return
        out = _pixels(result.pixels if mask is None else images.apply_mask(result.pixels, mask))
        answer = protocol.Cancelled if result.cancelled else protocol.Result
        self.send(answer(job.id, out, result.losses, result.iterations))


def _previews(request, send):
    """The engine's preview request for a job header's ``preview`` (None: the job wants none)."""
    from core.reporting import Previews

    if request is None:
        return None
    try:
        long_side, every = int(request["long_side"]), float(request["every_seconds"])
    except (KeyError, TypeError, ValueError):
        raise ProtocolError("a preview request needs a whole 'long_side' and 'every_seconds'") from None
    if not (16 <= long_side <= 4096 and every >= 0.1):
        raise ProtocolError("a preview's long side must be 16 to 4096 px, at most ten a second")
    return Previews(long_side, every, send)


def _array(picture):
    """A picture's pixels as a (height, width, channels) uint8 array, without copying."""
    import numpy as np

    return np.frombuffer(picture.data, dtype=np.uint8).reshape(picture.height, picture.width, picture.channels)


def _pixels(array) -> protocol.Pixels:
    """A (height, width, channels) uint8 array as it travels."""
    height, width, channels = array.shape
    return protocol.Pixels(width, height, channels, array.tobytes())


def _classify(error):
    """(protocol error code, message for the artist) for an exception from a job."""
    from core.backends import is_out_of_memory
    from core.images import ImageError
    from core.params import ParamError
    from core.weights import WeightsError

    if isinstance(error, (ParamError, ImageError, ProtocolError)):
        return protocol.BAD_INPUT, str(error)
    if isinstance(error, WeightsError):
        return protocol.WEIGHTS_MISSING, str(error)
    if is_out_of_memory(error):
        return protocol.OUT_OF_MEMORY, f"the engine ran out of memory for an image this large ({error})"
    return protocol.INTERNAL, f"the engine failed unexpectedly ({type(error).__name__}: {error})"


if __name__ == "__main__":
    sys.exit(main())
