"""What the artist reads when something goes wrong: the engine's error codes in the words of GIMP
and of the dialog's settings, never the engine's own parameter names. No ``gi``: testable anywhere.
"""

from __future__ import annotations

from core import protocol
from installer.settings import REINSTALL

BY_CODE = {
    protocol.WEIGHTS_MISSING: f"The VGG19 weights Neural Style paints with are missing or damaged. {REINSTALL}",
    protocol.OUT_OF_MEMORY: "Neural Style ran out of memory for a picture this large. Lower Working size, or "
    "select a smaller area.",
    protocol.INTERNAL: "Neural Style failed unexpectedly.",
    protocol.BAD_MESSAGE: f"The plug-in and the Neural Style engine did not understand each other. {REINSTALL}",
    protocol.VERSION: f"The Neural Style engine installed is another version than this plug-in. {REINSTALL}",
    protocol.TIMEOUT: "The Neural Style engine stopped answering. Try again; if it keeps happening, run "
    "python3 -m installer --check.",
    protocol.CRASHED: "The Neural Style engine stopped unexpectedly. Try again with a smaller Working size; if it "
    "keeps happening, run python3 -m installer --check.",
    protocol.UNREADABLE: f"The Neural Style engine sent something unreadable. {REINSTALL}",
}


def too_small(what: str, width: int, height: int) -> str | None:
    """Why a layer (or selection) of this size cannot be painted, or None when it can."""
    if min(width, height) >= protocol.MIN_SIDE:
        return None
    return f"{what} is {width}x{height} px; Neural Style needs at least {protocol.MIN_SIDE}x{protocol.MIN_SIDE}"


def too_small_at(layer: str, width: int, height: int, size: int) -> str | None:
    """Why painting a layer area at long side ``size`` would leave too short a side, or None."""
    scale = size / max(width, height)
    painted = (round(width * scale), round(height * scale))
    if min(painted) >= protocol.MIN_SIDE:
        return None
    return (
        f"At Working size {size}, layer '{layer}' ({width}x{height} px) would be painted at "
        f"{painted[0]}x{painted[1]} px; Neural Style needs at least {protocol.MIN_SIDE} px on each side: "
        "raise Working size"
    )


def explain(code: str, message: str, layer: str | None = None) -> str:
    """The artist's sentence for an error the engine or its client reported."""
    if code == protocol.BAD_INPUT:
        return f"Layer '{layer}': {message}" if layer else message
    if code == protocol.REMOTE:  # already the artist's sentence, made from ssh's words
        return message
    return BY_CODE.get(code, message)


def with_log(text: str, log_file: str | None) -> str:
    return f"{text} Details are in {log_file}" if log_file else text
