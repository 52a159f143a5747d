"""The real worker process (``python -m core.worker``, untrained VGG19) driven by the real client."""

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core import images, presets, protocol, speed
from core.protocol import Pixels
from gimp_plugin.neural_style.worker_client import WorkerClient, WorkerError, clean_environment, popen_options
from tests.conftest import ROOT

WORKER = [sys.executable, "-m", "core.worker", "--random-weights"]
FAST = {"size": 64, "iterations": 3, "pyramid_levels": 1}


def pixels(width, height, channels, seed=0):
    data = bytes((i * 7 + seed * 13) % 256 for i in range(width * height * channels))
    return Pixels(width, height, channels, data)


CONTENT, STYLE = pixels(64, 48, 4), pixels(40, 40, 3, seed=1)


@pytest.fixture(autouse=True)
def run_from_repository(monkeypatch):
    monkeypatch.chdir(ROOT)  # ``python -m core.worker`` finds ``core`` in the working folder


@pytest.fixture(scope="module")
def worker():
    with WorkerClient(WORKER, cwd=ROOT) as client:
        yield client


def raw_worker():
    return subprocess.Popen(WORKER, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def gone_within(process, seconds):
    try:
        process.wait(seconds)
        return True
    except subprocess.TimeoutExpired:
        process.kill()
        return False


def test_handshake(worker):
    assert worker.hello.protocol == protocol.PROTOCOL_VERSION
    assert worker.hello.backend == "tensorflow" and worker.hello.device == "CPU"
    assert worker.hello.weights is True
    assert worker.hello.presets == {name: preset.describe() for name, preset in presets.PRESETS.items()}


def test_two_jobs_stream_progress_and_return_pixels_from_one_model_load(worker):
    for _ in range(2):
        reports = []
        result = worker.run_job(FAST, CONTENT, [STYLE], on_progress=reports.append)
        assert [r.iteration for r in reports] == [1, 2, 3]
        assert not result.cancelled
        assert (result.pixels.width, result.pixels.height, result.pixels.channels) == (64, 48, 4)
        assert len(result.pixels.data) == 64 * 48 * 4
        assert result.pixels.data[3::4] == CONTENT.data[3::4]  # alpha untouched
    assert worker.log_tail().count("network loaded") == 1


def test_each_jobs_timing_is_kept_for_time_estimates(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURAL_STYLE_DATA_DIR", str(tmp_path))
    with WorkerClient(WORKER, cwd=ROOT) as client:
        for _ in range(2):
            client.run_job(FAST, CONTENT, [STYLE])
    [(kind, timings)] = json.loads((tmp_path / speed.FILE).read_text())["kinds"].items()
    assert kind.startswith(speed.kind("CPU", "tensorflow", ""))
    assert [timing["megapixels"] for timing in timings] == [64 * 48 / 1e6] * 2


def test_estimates_come_at_once_from_the_pace_this_computer_showed(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURAL_STYLE_DATA_DIR", str(tmp_path))
    asked = [dict(FAST, iterations=n) for n in (3, 30)] + [{"size": 64, "quality": "standard"}]
    with WorkerClient(WORKER, cwd=ROOT) as client:
        guessed = client.estimate(asked, 64, 48)
        client.run_job(FAST, CONTENT, [STYLE])  # its timing is kept
        measured = client.estimate(asked, 64, 48)
        with pytest.raises(WorkerError, match="iterations must be between"):
            client.estimate([dict(FAST, iterations=0)], 64, 48)
        with pytest.raises(WorkerError, match="an estimate needs a whole 'width' and 'height'"):
            client.estimate([FAST], "wide", 48)
    assert [answer.measured for answer in guessed] == [False] * 3
    assert [answer.measured for answer in measured] == [True] * 3
    assert measured[0].seconds < measured[1].seconds  # ten times the iterations
    [(kind, [timing])] = json.loads((tmp_path / speed.FILE).read_text())["kinds"].items()
    timing = speed.SizeTiming(**timing)
    assert measured[1].seconds == pytest.approx(30 * timing.seconds_per_iteration + timing.first_extra_seconds, abs=0.1)
    assert all(answer.duration.endswith((" s", " min")) for answer in measured)


def test_a_mask_scales_the_alpha(worker):
    mask = Pixels(64, 48, 1, bytes([0, 255]) * (64 * 24))
    result = worker.run_job(FAST, CONTENT, [STYLE], mask=mask)
    alpha = result.pixels.data[3::4]
    assert alpha[0::2] == bytes(64 * 24) and alpha[1::2] == CONTENT.data[7::8]


def test_styles_placed_by_masks_paint_and_an_all_black_one_is_refused(worker):
    left = Pixels(64, 48, 1, (bytes([255]) * 32 + bytes(32)) * 48)
    second_style = pixels(40, 40, 3, seed=2)
    result = worker.run_job(FAST, CONTENT, [STYLE, second_style], style_masks=(left, None))
    assert (result.pixels.width, result.pixels.height) == (64, 48) and not result.cancelled
    with pytest.raises(WorkerError, match="style mask 2 is all black") as error:
        worker.run_job(FAST, CONTENT, [STYLE, second_style], style_masks=(None, Pixels(64, 48, 1, bytes(64 * 48))))
    assert error.value.code == protocol.BAD_INPUT


def test_bad_input_is_an_error_and_the_worker_goes_on(worker):
    with pytest.raises(WorkerError, match="content image is 20x20") as error:
        worker.run_job(FAST, pixels(20, 20, 3), [STYLE])
    assert error.value.code == protocol.BAD_INPUT
    with pytest.raises(WorkerError, match="iterations must be between"):
        worker.run_job(dict(FAST, iterations=0), CONTENT, [STYLE])
    assert not worker.run_job(FAST, CONTENT, [STYLE]).cancelled


def test_cancel_mid_run_takes_effect_within_an_iteration(worker):
    reports = []

    def should_cancel():
        return bool(reports)  # as soon as the first iteration is reported

    result = worker.run_job(
        dict(FAST, iterations=500), CONTENT, [STYLE], on_progress=reports.append, should_cancel=should_cancel
    )
    assert result.cancelled and result.pixels.width == 64
    assert len(reports) <= 2  # the cancel is read before the next evaluation; one iteration may finish


def test_stop_and_keep_before_anything_is_painted_keeps_nothing(worker):
    """A stop while the job is still starting (no iteration done) answers with no picture: the
    unpainted photo is no painting to keep."""
    stages = []
    result = worker.run_job(
        dict(FAST, iterations=500), CONTENT, [STYLE], on_stage=stages.append, should_cancel=lambda: bool(stages)
    )
    assert result.cancelled and result.pixels is None


def test_malformed_message_gets_an_error_and_the_worker_keeps_serving():
    process = raw_worker()
    protocol.read_hello(process.stdout)
    process.stdin.write(b"this is not json\n")
    process.stdin.flush()
    reply, _ = protocol.read_message(process.stdout)
    assert reply["type"] == "error" and reply["code"] == protocol.BAD_MESSAGE
    header, payload = protocol.Job("j", FAST, CONTENT, (STYLE,)).encode()
    protocol.write_message(process.stdin, dict(header, id=[1]), payload)
    reply, _ = protocol.read_message(process.stdout)
    assert reply["code"] == protocol.BAD_MESSAGE and "text 'id'" in reply["message"]
    protocol.write_message(process.stdin, *protocol.Job("j", FAST, CONTENT, (STYLE,)).encode())
    kinds = []
    while not kinds or kinds[-1] in ("stage", "progress"):
        kinds.append(protocol.read_message(process.stdout)[0]["type"])
    assert kinds[-1] == "result" and kinds[0] == "stage"
    process.stdin.close()
    assert gone_within(process, 30)


def test_truncated_payload_is_reported_and_the_worker_ends():
    process = raw_worker()
    protocol.read_hello(process.stdout)
    process.stdin.write(b'{"type":"job","id":"j","payload_bytes":100000}\n' + b"x" * 10)
    process.stdin.close()
    reply, _ = protocol.read_message(process.stdout)
    assert reply["code"] == protocol.BAD_MESSAGE and "truncated payload" in reply["message"]
    assert gone_within(process, 30)


def test_closing_stdin_mid_job_ends_the_worker_at_once():
    process = raw_worker()
    protocol.read_hello(process.stdout)
    protocol.write_message(process.stdin, *protocol.Job("j", dict(FAST, iterations=5000), CONTENT, (STYLE,)).encode())
    while protocol.read_message(process.stdout)[0]["type"] != "progress":
        pass
    process.stdin.close()
    assert gone_within(process, 30), "worker outlived its stdin"  # its job had minutes of work left


def test_a_killed_client_leaves_no_worker_behind(tmp_path):
    client_script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {ROOT!r})
        from gimp_plugin.neural_style.worker_client import WorkerClient
        from tests.test_worker import WORKER, CONTENT, STYLE, FAST
        client = WorkerClient(WORKER)
        client.start()
        print(client._process.pid, flush=True)
        client.run_job(dict(FAST, iterations=5000), CONTENT, [STYLE])
    """)
    client = subprocess.Popen([sys.executable, "-c", client_script], cwd=ROOT, stdout=subprocess.PIPE)
    worker_pid = int(client.stdout.readline())
    time.sleep(1.0)  # let the job get going
    client.send_signal(signal.SIGKILL)
    client.wait()
    killed = time.monotonic()
    while time.monotonic() - killed < 30:  # its job had minutes of work left
        try:
            os.kill(worker_pid, 0)
            if Path(f"/proc/{worker_pid}/stat").read_text().split()[2] == "Z":
                break  # exited; a zombie waits only for its (dead) parent's reaper
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(worker_pid, signal.SIGKILL)
        pytest.fail("worker kept running after its client was killed")


def test_ten_megabytes_on_stderr_does_not_stall(worker):
    noisy = ["sh", "-c", "head -c 10000000 /dev/zero | tr '\\0' x >&2; echo >&2; exec \"$@\"", "sh", *WORKER]
    with WorkerClient(noisy, start_timeout=60) as client:
        assert not client.run_job(FAST, CONTENT, [STYLE]).cancelled
        assert "network loaded" in client.log_tail()


def test_a_worker_that_crashes_gives_a_clear_error():
    with pytest.raises(WorkerError, match=r"stopped unexpectedly \(exit code 3\)") as error:
        WorkerClient([sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"]).start()
    assert "boom" in error.value.log_tail


def test_a_worker_killed_mid_job_gives_a_clear_error():
    with WorkerClient(WORKER) as client:

        def kill_soon(_report):
            client._process.kill()

        with pytest.raises(WorkerError, match="stopped unexpectedly") as error:
            client.run_job(dict(FAST, iterations=500), CONTENT, [STYLE], on_progress=kill_soon)
        assert error.value.code == protocol.CRASHED


# A cold start, as under a virus scanner: the worker's import of Keras takes 12 s.
SLOW_IMPORT = """
import importlib.abc, runpy, sys, time
class SlowKeras(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "keras":
            sys.meta_path.remove(self)
            time.sleep(12)
        return None
sys.meta_path.insert(0, SlowKeras())
sys.argv = ["core.worker", "--random-weights"]
runpy.run_module("core.worker", run_name="__main__", alter_sys=True)
"""


@pytest.mark.slow
def test_a_slow_start_is_waited_for_while_the_worker_says_what_it_loads():
    heard, began = [], time.monotonic()
    client = WorkerClient([sys.executable, "-c", SLOW_IMPORT], cwd=ROOT, start_timeout=8)
    try:
        client.start(on_starting=heard.append)
        assert time.monotonic() - began > client.start_timeout  # longer than the silence allowed
        assert client.hello.weights is True
    finally:
        client.close()
    texts = [stage.text for stage in heard]
    assert texts[0] == "loading the engine's libraries" and texts[-1] == "loading the network"
    repeats = [stage.seconds for stage in heard if stage.text == texts[0]]
    assert len(repeats) >= 3 and repeats == sorted(repeats) and repeats[-1] >= 9


def test_a_worker_that_never_answers_times_out():
    silent = [sys.executable, "-c", "import time; time.sleep(60)"]
    with pytest.raises(WorkerError, match="did not start: it was silent for 1 s") as error:
        WorkerClient(silent, start_timeout=1).start()
    assert error.value.code == protocol.TIMEOUT


def test_a_missing_program_gives_a_clear_error():
    with pytest.raises(WorkerError, match="could not be started .* /nonexistent/python") as error:
        WorkerClient(["/nonexistent/python", "-m", "core.worker"]).start()
    assert "installer" in error.value.user_text()


def test_the_worker_starts_from_an_appimage_gimps_environment(tmp_path, monkeypatch):
    """An AppImage GIMP gives its plug-ins its own Python home and its bundled libraries first on
    the loader's path; one that does not fit the engine (here, not a library at all) must not
    reach the worker."""
    bundle_libs = tmp_path / "appimage" / "usr" / "lib"
    bundle_libs.mkdir(parents=True)
    (bundle_libs / "libz.so.1").write_bytes(b"not a library")
    monkeypatch.setenv("APPDIR", str(tmp_path / "appimage"))
    monkeypatch.setenv(
        "LD_LIBRARY_PATH", os.pathsep.join(filter(None, [str(bundle_libs), os.environ.get("LD_LIBRARY_PATH")]))
    )
    monkeypatch.setenv("PYTHONHOME", str(tmp_path / "appimage" / "usr"))
    with WorkerClient(WORKER) as client:
        assert not client.run_job(FAST, CONTENT, [STYLE]).cancelled


def test_the_workers_environment_keeps_what_is_not_gimps():
    bundle = "/tmp/.mount_GIMP_x"
    environ = {
        "APPDIR": bundle,
        "HOME": "/home/artist",
        "PYTHONPATH": f"{bundle}/usr/lib/python3",
        "LD_LIBRARY_PATH": f"{bundle}/usr/lib:/opt/cuda/lib64;{bundle}/lib",
        "LD_PRELOAD": f"{bundle}/usr/lib/libhook.so /usr/lib/libmine.so",
    }
    assert clean_environment(environ) == {
        "APPDIR": bundle,
        "HOME": "/home/artist",
        "LD_LIBRARY_PATH": "/opt/cuda/lib64",
        "LD_PRELOAD": "/usr/lib/libmine.so",
    }
    outside_an_appimage = {"LD_LIBRARY_PATH": "/opt/gimp/lib", "PYTHONHOME": "/opt/gimp"}
    assert clean_environment(outside_an_appimage) == {"LD_LIBRARY_PATH": "/opt/gimp/lib"}


def test_on_windows_the_worker_opens_no_console_window():
    assert popen_options("win32") == {"creationflags": 0x08000000}  # CREATE_NO_WINDOW
    assert popen_options("linux") == {} and popen_options("darwin") == {}


def test_a_worker_of_another_protocol_version_is_refused():
    stream = io.BytesIO()
    protocol.send(stream, protocol.Hello("9.9", "tensorflow", "CPU", True, protocol=99))
    fake = [
        sys.executable,
        "-c",
        f"import sys, time; sys.stdout.buffer.write({stream.getvalue()!r}); sys.stdout.flush(); time.sleep(30)",
    ]
    with pytest.raises(WorkerError, match="protocol version 99"):
        WorkerClient(fake).start()


def test_missing_weights_are_reported_in_hello_and_on_each_job(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("NEURAL_STYLE_WEIGHTS", raising=False)
    with WorkerClient([sys.executable, "-m", "core.worker"]) as client:
        assert client.hello.weights is False
        with pytest.raises(WorkerError, match="not installed") as error:
            client.run_job(FAST, CONTENT, [STYLE])
        assert error.value.code == protocol.WEIGHTS_MISSING and "installer" in error.value.user_text()


def test_live_worker_messages_have_the_golden_fields(worker):
    golden = io.BytesIO(Path(ROOT, "tests", "golden", "worker_session.bin").read_bytes())
    fields = {}
    while (message := protocol.read_message(golden)) is not None:
        kind = "starting" if message[0]["type"] == "stage" and message[0]["id"] is None else message[0]["type"]
        fields.setdefault(kind, set(message[0]))
    assert set(worker.hello.encode()[0]) | {"payload_bytes"} == fields["hello"]
    reports = []
    result_losses = worker.run_job(FAST, CONTENT, [STYLE], on_progress=reports.append).losses
    assert set(reports[0].encode()[0]) | {"payload_bytes"} == fields["progress"]
    assert set(result_losses) == {"content", "style", "tv", "total"}
    stages, previews = [], []
    worker.run_job(
        FAST,
        CONTENT,
        [STYLE],
        on_stage=stages.append,
        on_preview=previews.append,
        preview=protocol.preview_request(32, 0.1),
    )
    assert set(stages[0].encode()[0]) | {"payload_bytes"} == fields["stage"]
    assert set(previews[0].encode()[0]) | {"payload_bytes"} == fields["preview"]


def as_array(picture: Pixels):
    return np.frombuffer(picture.data, np.uint8).reshape(picture.height, picture.width, picture.channels)


def test_previews_come_only_when_asked_small_and_with_the_contents_channels(worker):
    params = dict(FAST, pyramid_levels=2, size=96, iterations=4)
    previews = []
    result = worker.run_job(
        params,
        CONTENT,
        [STYLE],
        on_preview=previews.append,
        preview=protocol.preview_request(32, 60.0),
    )
    # one as each level ends (the minute between timed ones never passes in this small job)
    assert [preview.level for preview in previews] == [1, 2]
    for picture in (preview.image for preview in previews):
        assert (picture.width, picture.height, picture.channels) == (32, 24, CONTENT.channels)
        assert as_array(picture)[..., :3].std() > 10  # a picture in its colours, not a blank
    assert previews[-1].iteration == 5 and not result.cancelled
    # the last preview is the result, made small
    shrunk = images.resize(as_array(result.pixels)[..., :3], (24, 32))
    assert np.abs(as_array(previews[-1].image)[..., :3] - shrunk).mean() < 1.5
    unasked = []
    worker.run_job(params, CONTENT, [STYLE], on_preview=lambda *message: unasked.append(message))
    assert unasked == []


def test_the_workers_painting_is_the_engines(worker, random_network):
    """What comes back over the pipe is what the engine paints in-process from the same pixels
    and untrained network (within one level): channel order, rows and alpha survive the trip."""
    from core.engine import StyleTransfer
    from core.params import StyleParams

    params = dict(FAST, iterations=5, seed=3)
    expected = StyleTransfer(random_network).run(as_array(CONTENT), [as_array(STYLE)], StyleParams(**params)).pixels
    painted = as_array(worker.run_job(params, CONTENT, [STYLE]).pixels)
    assert painted.shape == expected.shape
    assert np.abs(painted.astype(int) - expected).max() <= 1
    assert np.abs(painted[..., :3].astype(int) - as_array(CONTENT)[..., :3]).mean() > 5  # and it is painted


def test_a_bad_preview_request_is_refused_in_one_line(worker):
    with pytest.raises(WorkerError, match="preview's long side must be 16 to 4096") as error:
        worker.run_job(FAST, CONTENT, [STYLE], preview=protocol.preview_request(2, 1.0))
    assert error.value.code == protocol.BAD_INPUT


def test_stages_name_each_size_before_its_targets_and_its_painting(worker):
    stages, order = [], []
    worker.run_job(
        dict(FAST, pyramid_levels=2, size=96),
        CONTENT,
        [STYLE],
        on_stage=lambda stage: (stages.append(stage), order.append("stage")),
        on_progress=lambda _: order.append("progress"),
    )
    assert [(s.stage, s.level) for s in stages] == [
        (protocol.STARTING, 1),
        (protocol.TARGETS, 1),
        (protocol.PAINTING, 1),
        (protocol.TARGETS, 2),
        (protocol.PAINTING, 2),
    ]
    assert stages[1].text == "size 1 of 2 (48x36): the content and style targets"
    assert order[:3] == ["stage"] * 3 and order[3] == "progress"


@pytest.mark.slow
def test_a_tiled_job_says_which_tile_during_the_targets_and_the_evaluations(worker):
    """A budget small enough to force tiles at 384x288: the stages must come before the targets
    and during an evaluation, where a full-size job spends its minutes."""
    params = {"size": 384, "iterations": 2, "pyramid_levels": 1, "memory_budget": 2.1}
    content = pixels(384, 288, 3, seed=2)
    events = []
    worker.run_job(
        params,
        content,
        [STYLE],
        on_stage=events.append,
        on_progress=events.append,
    )
    stages = [e for e in events if isinstance(e, protocol.Stage)]
    tiles = [s for s in stages if s.stage == protocol.TILES]
    parts = [t.text.split(": ")[1].split(",")[0] for t in tiles]
    assert {"content targets", "style targets", "evaluation", "gradient"} <= set(parts)
    assert all(t.tiles > 1 and 1 <= t.tile <= t.tiles for t in tiles)
    first_progress = next((i for i, e in enumerate(events) if isinstance(e, protocol.Progress)), len(events))
    assert parts.index("content targets") < parts.index("evaluation") < first_progress
    painting = next(i for i, e in enumerate(events) if getattr(e, "stage", None) == protocol.PAINTING)
    assert any(getattr(e, "stage", None) == protocol.TILES for e in events[painting:first_progress])


def test_a_quiet_stage_is_repeated_as_a_heartbeat():
    """A step that takes longer than the heartbeat (minutes, on a big image) still lets the client
    hear from the worker: the stage comes again and again, with the seconds spent in it rising.
    The heartbeat is shortened to 0.5 s here so that one step spans several."""
    from core.worker import Server

    beat = 0.5

    class SlowStep:  # an engine whose one step outlasts the heartbeat several times
        def run(self, content, styles, params, on_progress, should_stop, on_stage, previews, pace_of, style_masks):
            from core.reporting import Stage

            on_stage(Stage(protocol.TARGETS, "the targets", 1, 1))
            time.sleep(beat * 4)
            raise MemoryError

    read_end, write_end = os.pipe()
    stream_out = io.BytesIO()
    server = Server(os.fdopen(read_end, "rb"), stream_out, heartbeat_seconds=beat)
    hello = protocol.Hello("test", "tensorflow", "CPU", True)
    serving = threading.Thread(target=server.serve, args=(SlowStep(), "", hello), daemon=True)
    serving.start()
    with os.fdopen(write_end, "wb") as stream_in:
        protocol.send(stream_in, protocol.Job("j", FAST, CONTENT, (STYLE,)))
        for _ in range(300):
            if b'"type":"error"' in stream_out.getvalue():
                break
            time.sleep(0.1)
        protocol.send(stream_in, protocol.Shutdown())
        serving.join(30)
    stream_out.seek(0)
    messages = []
    while (message := protocol.receive(stream_out)) is not None:
        messages.append(message)
    kinds = [m.TYPE for m in messages]
    assert kinds[0] == "hello" and set(kinds[1:-1]) == {"stage"} and kinds[-1] == "error"
    repeats = [m.seconds for m in messages[2:-1]]
    assert all(m.text == "the targets" for m in messages[1:-1])
    assert len(repeats) >= 3 and repeats == sorted(repeats) and repeats[0] >= beat / 2 and repeats[-1] >= 3 * beat / 2
    assert messages[-1].code == protocol.OUT_OF_MEMORY


OUT_OF_MEMORY = """
import json, sys
from core.keras_setup import import_keras
import_keras(sys.argv[1])
from core.worker import _classify
if sys.argv[1] == "tensorflow":
    import tensorflow as tf
    full = tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[1,4000,3000,64]")
    other = tf.errors.InvalidArgumentError(None, None, "Incompatible shapes")
elif sys.argv[1] == "jax":
    import jax
    full = jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 3072000000 bytes.")
    other = jax.errors.JaxRuntimeError("INVALID_ARGUMENT: Incompatible shapes")
else:
    import torch
    full = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.86 GiB")
    other = RuntimeError("Expected all tensors to be on the same device")
print(json.dumps([_classify(full)[0], _classify(other)[0], _classify(MemoryError())[0]]))
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_out_of_memory_is_recognised_from_each_backends_own_error(backend):
    """A real out-of-memory cannot be forced safely here, so each backend's own error type, as it
    raises it, is classified."""
    completed = subprocess.run([sys.executable, "-c", OUT_OF_MEMORY, backend], cwd=ROOT, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert json.loads(completed.stdout.splitlines()[-1]) == [
        protocol.OUT_OF_MEMORY,
        protocol.INTERNAL,
        protocol.OUT_OF_MEMORY,
    ]
