"""Renames and deletions that survive Windows' passing locks. Standard library only.

On Windows an antivirus scan, the search indexer or a worker whose working folder is being
replaced make ``os.rename`` and ``rmtree`` fail for a moment with WinError 5 (access denied) or
32 (in use by another process). Those errors are tried again for a few seconds; others at once.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time

RETRY_SECONDS = 5.0
PASSING_LOCKS = (5, 32)  # ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION


def retrying(operation, *args, seconds: float = RETRY_SECONDS, pause: float = 0.25):
    """``operation(*args)``, tried again while Windows holds a passing lock on its files."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return operation(*args)
        except OSError as error:
            if getattr(error, "winerror", None) not in PASSING_LOCKS or time.monotonic() > deadline:
                raise
            time.sleep(pause)


def explain(error: OSError) -> str:
    """One line for people about a file operation that failed."""
    if error.errno == errno.ENOSPC:
        return "the disk is full: free some space and install again"
    where = f" ({error.filename})" if error.filename else ""
    return (
        f"{error.strerror or error}{where}: close the programs that may be using it (GIMP, a folder "
        "window, a virus scan) and install again"
    )


def rename(source: str, target: str) -> None:
    retrying(os.rename, source, target)


def remove_tree(path: str) -> None:
    """Remove a folder if it is there (a lock that outlasts the retries raises)."""
    if os.path.lexists(path):
        retrying(shutil.rmtree, path)


def swap_in(staging: str, target: str) -> None:
    """Put ``staging`` in the place of ``target`` (which may be missing): the old one moves aside
    first and comes back if the new one cannot take its place, so ``target`` is never lost."""
    old = target + ".old"
    remove_tree(old)
    had_old = os.path.isdir(target)
    if had_old:
        rename(target, old)
    try:
        rename(staging, target)
    except OSError:
        if had_old:
            rename(old, target)
        raise
    with contextlib.suppress(OSError):  # a leftover .old goes with the next install
        remove_tree(old)
