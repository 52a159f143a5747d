"""Shared fixtures: a small random VGG19, and the real weights when they can be had.

Tiers that need something this machine may lack (real weights, a GIMP 3) skip with the reason.
With NEURAL_STYLE_REQUIRE_ALL_TIERS=1 (CI sets it) such a skip becomes a failure instead.
"""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_VGG19 = os.path.join(os.path.dirname(ROOT), "shared", "vgg19")
WEIGHTS_CACHE = os.path.join(ROOT, ".cache", "vgg19_notop.h5")
GIMP_SUITES = ("trixie", "sid")  # the pristine Debian roots the real-GIMP tiers run in (tests/gimp_harness.py)


def skip_or_fail(reason):
    if os.environ.get("NEURAL_STYLE_REQUIRE_ALL_TIERS") == "1":
        pytest.fail(f"required test tier cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def speed_record_of_this_session(tmp_path_factory):
    """Engines run from this checkout keep their timings (``core.speed``) in the session's own
    data folder, not in the user's cache."""
    os.environ["NEURAL_STYLE_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def random_network():
    from core.vgg import VGG19Features

    return VGG19Features(None, seed=0)


@pytest.fixture(scope="session")
def real_weights():
    """Path of real ImageNet VGG19 weights: NEURAL_STYLE_WEIGHTS, or expanded from ../shared."""
    explicit = os.environ.get("NEURAL_STYLE_WEIGHTS")
    if explicit:
        return explicit
    if not os.path.exists(WEIGHTS_CACHE):
        if not os.path.isdir(SHARED_VGG19):
            skip_or_fail(f"no real VGG19 weights: set NEURAL_STYLE_WEIGHTS or provide {SHARED_VGG19}")
        os.makedirs(os.path.dirname(WEIGHTS_CACHE), exist_ok=True)
        made = f"{WEIGHTS_CACHE[:-3]}-{os.getpid()}.h5"  # test processes running side by side each make
        subprocess.run([sys.executable, os.path.join(SHARED_VGG19, "to_keras_h5.py"), made], check=True)
        os.replace(made, WEIGHTS_CACHE)  # whole files, and the last one in wins
    return WEIGHTS_CACHE


@pytest.fixture(scope="session")
def compact_weights():
    """The compact copy of the ImageNet VGG19 weights (the file the installer expands)."""
    path = os.path.join(SHARED_VGG19, "vgg19_notop_q8.npz")
    if not os.path.exists(path):
        skip_or_fail(f"no compact weights at {path}")
    return path


@pytest.fixture(scope="session")
def shrunk_samples(tmp_path_factory):
    """``shrunk_samples(width, height)``: the bundled photo (Tübingen) and style (The Starry Night)
    as PNG files of that size, made once per size: {"tubingen": path, "starry_night": path}."""
    from PIL import Image

    made = {}

    def shrunk(width, height):
        if (width, height) not in made:
            folder = tmp_path_factory.mktemp(f"samples-{width}x{height}")
            made[width, height] = {}
            for name in ("tubingen", "starry_night"):
                with Image.open(os.path.join(ROOT, "samples", f"{name}.jpg")) as picture:
                    picture.convert("RGB").resize((width, height)).save(folder / f"{name}.png")
                made[width, height][name] = str(folder / f"{name}.png")
        return made[width, height]

    return shrunk


@pytest.fixture
def counting_python(tmp_path):
    """A stand-in for the engine's Python that counts the workers started through it: (its path,
    a function giving the count so far)."""
    from tests.gimp_harness import python_script

    starts = tmp_path / "starts"
    python = python_script(tmp_path, "counting-python", f'echo start >> \'{starts}\'\nexec "$PYTHON" "$@"')
    return python, lambda: len(starts.read_text().split()) if starts.exists() else 0


@pytest.fixture(scope="module", params=GIMP_SUITES)
def gimp(request):
    """Each root's GIMP in turn (``tests.gimp_harness.Gimp``): a test that takes it runs once per root."""
    from tests.gimp_harness import find_gimp

    found, reason = find_gimp(request.param)
    if reason:
        skip_or_fail(reason)
    return found


def pytest_collection_modifyitems(items):
    """Everything in a real GIMP is slow as well: ``tests/run.sh --quick`` leaves out the slow."""
    for item in items:
        if item.get_closest_marker("gimp") or "gimp" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


def pytest_report_header(config):
    """Which GIMP and Python the real-GIMP tiers run on (Debian sid moves daily)."""
    from tests.gimp_harness import ROOTS, root_versions

    return [
        f"real-GIMP tier in Debian {suite}: {root_versions(root) or 'not provisioned'} ({os.path.relpath(root, ROOT)})"
        for suite, root in ROOTS.items()
    ]
