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
        ([python("3.10")], None, "Python 3.10 cannot run TensorFlow"),
        ([python("3.15", "windows-x86_64")], None, "Python 3.15 cannot run TensorFlow"),
        ([python("3.14", "macos-arm64")], "tensorflow", "Python 3.14 cannot run TensorFlow"),
        (
            [python("3.12", "windows-x86_64", problem="this is an MSYS2 Python (as GIMP's own on Windows), ...")],
            None,
            "this is an MSYS2 Python",
        ),
    ],
)
def test_where_no_python_fits_the_engine_gets_one_of_its_own(found, backend, words):
    chosen = choose(found, nvidia=False, backend=backend)
    assert chosen.interpreter.managed and chosen.interpreter.version == matrix.MANAGED_PYTHON
    assert chosen.variant == (backend or "tensorflow") and os.path.isfile(chosen.lock)
    assert words in chosen.reason and chosen.reason.endswith(f"a Python {matrix.MANAGED_PYTHON} of its own")


def test_a_machine_that_cannot_run_the_engine_is_refused_in_one_line():
    with pytest.raises(Unsupported) as refused:
        choose([python("3.12", "", problem="Intel Macs are not supported: ...")], nvidia=False)
    text = str(refused.value)
    assert "Intel Macs are not supported" in text and "\n" not in text and text.endswith(".")


@pytest.mark.parametrize(
    "executable, build, words",
    [
        ("C:\\Program Files\\GIMP 3\\bin\\python.exe", "mingw_x86_64_ucrt", "MSYS2"),
        ("C:\\Users\\Bob\\AppData\\Local\\Microsoft\\WindowsApps\\python3.13.exe", "win-amd64", "Microsoft Store"),
        ("/Applications/GIMP.app/Contents/MacOS/python3.10", "macosx-11.0-arm64", "belongs to an application"),
        ("C:\\Users\\Bob\\AppData\\Local\\Programs\\Python\\Python313\\python.exe", "win-amd64", ""),
        ("/usr/bin/python3.13", "linux-x86_64", ""),
    ],
)
def test_pythons_that_cannot_host_the_engine_are_told_apart(executable, build, words):
    from installer.machine import unfit

    assert (words in unfit(executable, build)) if words else unfit(executable, build) == ""


def test_every_supported_cell_has_its_lock_file_and_no_other_lock_lies_there():
    expected = {matrix.cell_name(*cell) + ".txt" for cell in matrix.cells()}
    assert set(os.listdir(matrix.LOCKS)) == expected | {
        "uv.json",
        "windows-paths.json",
    }  # installer.uv's, installer.wheel_paths' records


def test_the_readme_shows_the_matrix_the_installer_applies():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        assert matrix.markdown_table() in f.read()
