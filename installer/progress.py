"""How a long installation step says how far it is, and how it learns that the artist cancelled.
Standard library only: the installer's steps report through it, whoever shows the progress."""

from __future__ import annotations

from typing import NamedTuple


class Progress(NamedTuple):
    step: str  # what is happening, for people: "Downloading uv"
    fraction: float | None  # 0..1 within this step, None when unknown
    done_bytes: int = 0
    total_bytes: int = 0


class Cancelled(Exception):
    """The user cancelled; whatever the step made is removed."""


def no_progress(_progress: Progress) -> None:
    """For callers that show nothing."""


def never_cancelled() -> bool:
    return False
