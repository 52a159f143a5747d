"""The support matrix: what the installer chooses on each kind of machine, and what it refuses."""

import os

import pytest

from installer import matrix
from installer.matrix import Interpreter, Unsupported, choose, platform_of
from tests.conftest import ROOT


def python(version, platform="linux-x86_64", executable=None, **extra):
    return Interpreter(executable or f"/usr/bin/python{version}", version, platform, **extra)


@pytest.mark.parametrize(
    "facts, expected",
    [
        (("linux", "x86_64", 64, ("glibc", "2.41")), "linux-x86_64"),
        (("linux", "aarch64", 64, ("glibc", "2.36")), "linux-aarch64"),
        (("win32", "AMD64", 64), "windows-x86_64"),
        (("darwin", "arm64", 64, ("", ""), "15.1"), "macos-arm64"),
    ],
)
def test_supported_platforms(facts, expected):
    assert platform_of(*facts) == (expected, "")


@pytest.mark.parametrize(
    "facts, words",
    [
        (("darwin", "x86_64", 64, ("", ""), "13.6"), "Intel Macs are not supported"),
        (("darwin", "arm64", 64, ("", ""), "13.6"), "macOS 13.6 is too old"),
        (("linux", "x86_64", 64, ("glibc", "2.17")), "glibc 2.17"),
        (("linux", "x86_64", 64, ("", "")), "musl"),
        (("linux", "riscv64", 64, ("glibc", "2.41")), "riscv64"),
        (("win32", "ARM64", 64), "Windows on arm64 is not supported"),
        (("win32", "AMD64", 32), "32-bit Python"),
    ],
)
def test_unsupported_platforms_say_why(facts, words):
    platform, problem = platform_of(*facts)
    assert platform == "" and words in problem


def test_tensorflow_is_the_default_wherever_it_has_packages():
    for platform in matrix.PLATFORMS:
        for version in matrix.TF_PYTHONS:
            chosen = choose([python(version, platform)], nvidia=False)
            assert chosen.variant == "tensorflow" and chosen.reason == ""
            assert os.path.isfile(chosen.lock)


def test_python_3_14_gets_jax_or_on_a_mac_pytorch_and_says_why():
    linux = choose([python("3.14")], nvidia=False)
    assert linux.variant == "jax" and "TensorFlow has no packages for Python 3.14" in linux.reason
    assert choose([python("3.14", "windows-x86_64")], nvidia=False).variant == "jax"
    assert choose([python("3.14", "macos-arm64")], nvidia=False).variant == "torch"


def test_an_nvidia_gpu_on_linux_gets_the_cuda_builds_and_on_windows_the_cpu_ones():
    assert choose([python("3.13")], nvidia=True).variant == "tensorflow-cuda"
    assert choose([python("3.14", "linux-aarch64")], nvidia=True).variant == "jax-cuda"
    assert choose([python("3.13")], nvidia=True, backend="torch").variant == "torch"
    assert choose([python("3.13", "windows-x86_64")], nvidia=True).variant == "tensorflow"


def test_a_too_old_or_too_new_python_uses_another_one_found_preferring_tensorflow():
    for running in ("3.10", "3.15"):
        found = [python(running), python("3.14"), python("3.12")]
        chosen = choose(found, nvidia=False)
        assert chosen.interpreter.version == "3.12" and chosen.variant == "tensorflow"
        assert f"Python {running} cannot run the engine" in chosen.reason


def test_the_running_python_wins_when_it_can_run_the_engine():
    chosen = choose([python("3.14"), python("3.13")], nvidia=False)
    assert chosen.interpreter.version == "3.14" and chosen.variant == "jax"


def test_a_requested_backend_may_need_another_python():
    chosen = choose([python("3.14"), python("3.12")], nvidia=False, backend="tensorflow")
    assert chosen.interpreter.version == "3.12" and chosen.variant == "tensorflow"


@pytest.mark.parametrize(
    "found, backend, words",
    [
        (
            [python("3.10")],
            None,
            "The engine needs Python 3.11 to 3.14 and none was found (this is 3.10): "
            "install Python 3.13 with your distribution's packages",
        ),
        (
            [python("3.15", "windows-x86_64")],
            None,
            "https://www.python.org/downloads/windows/ and run py -3.13 -m installer.",
        ),
        (
            [python("3.14", "macos-arm64")],
            "tensorflow",
            "TensorFlow needs Python 3.11 to 3.13 and none was found "
            "(this is 3.14): install Python 3.13 from https://www.python.org/downloads/macos/ and run python3.13 -m "
            "installer --backend tensorflow, or leave out --backend to install PyTorch.",
        ),
        ([python("3.12", "", problem="Intel Macs are not supported: ...")], None, "Intel Macs are not supported"),
        (
            [python("3.10"), python("3.13", makes_venvs=False, problem="python3.13 cannot make Python environments")],
            None,
            "Python3.13 cannot make Python environments.",
        ),
    ],
)
def test_refusals_are_one_line_saying_what_to_do(found, backend, words):
    with pytest.raises(Unsupported) as refused:
        choose(found, nvidia=False, backend=backend)
    text = str(refused.value)
    assert words in text and "\n" not in text and text.endswith(".")


def test_every_supported_cell_has_its_lock_file_and_no_other_lock_lies_there():
    expected = {matrix.cell_name(*cell) + ".txt" for cell in matrix.cells()}
    assert set(os.listdir(matrix.LOCKS)) == expected


def test_the_readme_shows_the_matrix_the_installer_applies():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        assert matrix.markdown_table() in f.read()
