"""Renames and deletions under Windows' passing locks (WinError 5 and 32, as antivirus scans and
the search indexer cause them), with the platform's behaviour written as data: an operation that
fails with such an error a few times, then works."""

import errno
import os

import pytest

from installer import fs


def windows_error(code):
    error = PermissionError(errno.EACCES, "The process cannot access the file")
    error.winerror = code  # what Windows' OSError carries
    return error


def flaky(times, code):
    """An operation that meets a passing lock ``times`` times, then succeeds."""
    calls = []

    def operation(*args):
        calls.append(args)
        if len(calls) <= times:
            raise windows_error(code)
        return "done"

    return operation, calls


@pytest.mark.parametrize("code", fs.PASSING_LOCKS)
def test_a_passing_lock_is_waited_out(code):
    operation, calls = flaky(3, code)
    assert fs.retrying(operation, "a", "b", pause=0.01) == "done" and len(calls) == 4


def test_a_lock_that_stays_is_reported_and_other_errors_at_once():
    operation, calls = flaky(10**6, 32)
    with pytest.raises(PermissionError):
        fs.retrying(operation, seconds=0.2, pause=0.01)
    assert len(calls) > 1
    missing, calls = flaky(10**6, None)  # not a passing lock: no second try
    with pytest.raises(PermissionError):
        fs.retrying(missing, pause=0.01)
    assert len(calls) == 1


def test_a_failed_swap_puts_the_old_folder_back(tmp_path):
    target = tmp_path / "engine"
    target.mkdir()
    (target / "old.py").write_text("old")
    with pytest.raises(FileNotFoundError):
        fs.swap_in(str(tmp_path / "engine.installing"), str(target))  # the new one vanished
    assert (target / "old.py").read_text() == "old" and not (tmp_path / "engine.old").exists()
    staging = tmp_path / "engine.installing"
    staging.mkdir()
    (staging / "new.py").write_text("new")
    fs.swap_in(str(staging), str(target))
    assert os.listdir(target) == ["new.py"] and sorted(os.listdir(tmp_path)) == ["engine"]


def test_failures_read_as_one_line():
    assert fs.explain(OSError(errno.ENOSPC, "No space left on device")) == (
        "the disk is full: free some space and install again"
    )
    text = fs.explain(windows_error(32))
    assert "close the programs that may be using it" in text and "\n" not in text
