"""The wire format between the GIMP plug-in and the worker. Standard library only, Python 3.10+.

A message is one line of UTF-8 JSON (the header), then, when the header's ``payload_bytes`` is
above zero, exactly that many raw bytes. Images travel as raw interleaved 8-bit pixels; a header
describes each with ``{"width", "height", "channels"}`` and the payload is their bytes one after
another, in the order the header lists them. The same stream works over a local pipe or ssh.

Every header has a ``type``. Unknown fields are ignored. The worker opens with ``hello``
carrying ``protocol``; a client that speaks another version must refuse it (``check_hello``).
Before its hello, while it imports its libraries and loads the network (which a cold start can
stretch to minutes), the worker sends ``stage`` messages without a job id (``starting``), at once
and then at least every ``HEARTBEAT_SECONDS``: a client times out on silence, not on the start-up
as a whole (``read_hello`` skips them).
Every message has a builder below; build messages with them, never by hand.

  worker -> client: hello, stage, progress, preview (+image), result (+image),
                    cancelled (+best image so far), error, estimates
  client -> worker: job (+content, each style and its optional mask, optional selection mask),
                    cancel, shutdown, estimate

Version 2 added ``stage`` (what a job is doing, sent at least every ``HEARTBEAT_SECONDS`` while it
runs, so a silent worker is a stuck one) and ``preview`` (a small picture of the best image so
far, for jobs whose header asks with ``"preview": {"long_side": N, "every_seconds": S}``: at most
one per S seconds, plus one as each level ends). Version 3 added the start-up stages before
``hello``. Version 4 added the quality presets to ``hello`` (``presets``: name -> its rule, see
``core.presets``); a job's params may name one as ``quality``, and a job's ``progress`` total is
then what the job expects, growing or shrinking as the presets' stop rule sees the picture settle.
It also added ``estimate``: how long jobs of these params would take on a picture of this size, at
the pace this computer has shown (``core.speed``), answered at once with ``estimates``, even
during a job. Version 5 gave each style of a job its own optional mask, where it paints
(``core.regions``): the job is a ``Job``, encoded and decoded here and nowhere else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import NamedTuple

PROTOCOL_VERSION = 5
MAX_HEADER_BYTES = 1 << 20
# What a job's pictures must be, so that the plug-in can refuse a layer before the engine starts:
# VGG19 pools four times before its fifth block, so a smaller side has no features there.
MIN_SIDE = 32
MAX_SIDE = 16384
# The worker says what it is doing at least this often during a job; a client may give up on a
# worker silent for several times longer.
HEARTBEAT_SECONDS = 10.0

HELLO, JOB, STAGE, PROGRESS, PREVIEW, RESULT, CANCELLED, ERROR, CANCEL, SHUTDOWN, ESTIMATE, ESTIMATES = (
    "hello",
    "job",
    "stage",
    "progress",
    "preview",
    "result",
    "cancelled",
    "error",
    "cancel",
    "shutdown",
    "estimate",
    "estimates",
)

# Error codes, each with what the user can do about it. The worker sends the first five; a client
# makes up the last four for failures of the worker itself.
BAD_INPUT = "bad-input"  # the images or settings cannot be used
BAD_MESSAGE = "bad-message"  # the worker could not read a message
WEIGHTS_MISSING = "weights-missing"
OUT_OF_MEMORY = "out-of-memory"
INTERNAL = "internal"
VERSION = "version"  # the worker speaks another protocol version
UNREADABLE = "protocol"  # the worker sent something that is not this protocol
TIMEOUT = "timeout"  # the worker did not start, or fell silent
CRASHED = "crashed"  # the worker process ended unexpectedly
ERROR_CODES = (BAD_INPUT, BAD_MESSAGE, WEIGHTS_MISSING, OUT_OF_MEMORY, INTERNAL, VERSION, UNREADABLE, TIMEOUT, CRASHED)

# The stages a job goes through (``stage`` messages); each also carries a text for people.
STARTING, TARGETS, TILES, PAINTING = "start-up", "targets", "tiles", "painting"


class ProtocolError(Exception):
    """The byte stream does not follow this protocol (bad JSON, truncated payload, wrong version)."""


def write_message(stream, header: dict, payload: bytes = b"") -> None:
    """Send one message; ``payload_bytes`` is filled in from ``payload``."""
    line = json.dumps(dict(header, payload_bytes=len(payload)), separators=(",", ":")).encode()
    stream.write(line + b"\n")
    if payload:
        stream.write(payload)
    stream.flush()


def read_message(stream):
    """The next ``(header, payload)``, or ``None`` at a clean end of stream.

    Raises ``ProtocolError`` for a line that is not a JSON object with a ``type`` (the stream
    stays usable: the next line is the next message) and for a truncated payload (it does not).
    """
    line = stream.readline(MAX_HEADER_BYTES + 1)
    if not line:
        return None
    if len(line) > MAX_HEADER_BYTES or not line.endswith(b"\n"):
        raise ProtocolError("message header too long or cut off")
    try:
        header = json.loads(line)
    except ValueError:
        raise ProtocolError(f"not a JSON message: {line[:60]!r}") from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise ProtocolError("a message must be a JSON object with a 'type'")
    size = header.get("payload_bytes", 0)
    if not isinstance(size, int) or size < 0:
        raise ProtocolError(f"bad payload_bytes: {size!r}")
    payload = _read_exactly(stream, size)
    return header, payload


def _read_exactly(stream, size: int) -> bytes:
    chunks, missing = [], size
    while missing:
        chunk = stream.read(missing)
        if not chunk:
            raise ProtocolError(f"truncated payload: got {size - missing} of {size} bytes")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


class Pixels(NamedTuple):
    """Raw interleaved 8-bit pixels, as they travel."""

    width: int
    height: int
    channels: int
    data: bytes

    def info(self) -> dict:
        return image_info(self.width, self.height, self.channels)


def image_info(width: int, height: int, channels: int) -> dict:
    return {"width": width, "height": height, "channels": channels}


def image_size(info: dict) -> int:
    return info["width"] * info["height"] * info["channels"]


def split_images(infos: list, payload: bytes) -> list:
    """Cut a payload into one bytes object per image description, checking the lengths add up."""
    try:
        sizes = [image_size(info) for info in infos]
    except (KeyError, TypeError):
        raise ProtocolError("an image needs integer width, height and channels") from None
    if sum(sizes) != len(payload) or any(s <= 0 for s in sizes):
        raise ProtocolError(f"the images need {sum(sizes)} bytes but the payload has {len(payload)}")
    parts, offset = [], 0
    for size in sizes:
        parts.append(payload[offset : offset + size])
        offset += size
    return parts


def hello(
    engine_version: str,
    backend: str,
    device: str,
    weights_ok: bool,
    weights_message: str = "",
    defaults: dict | None = None,
    presets: dict | None = None,
) -> dict:
    """``defaults`` are the engine's default settings, so a client can scale them (strength x2);
    ``presets`` the quality presets a job may name, each with its label and rule."""
    return {
        "type": HELLO,
        "protocol": PROTOCOL_VERSION,
        "engine_version": engine_version,
        "backend": backend,
        "device": device,
        "weights": weights_ok,
        "weights_message": weights_message,
        "defaults": defaults or {},
        "presets": presets or {},
    }


def check_hello(header: dict) -> None:
    """Refuse a worker that is not one, or that speaks another protocol version."""
    if header.get("type") != HELLO:
        raise ProtocolError(f"expected a hello from the worker, got {header.get('type')!r}")
    if header.get("protocol") != PROTOCOL_VERSION:
        raise ProtocolError(
            f"the engine speaks protocol version {header.get('protocol')!r}, this "
            f"plug-in speaks {PROTOCOL_VERSION}; install matching versions"
        )


def read_hello(stream, on_starting=None) -> dict:
    """Read a worker's opening messages up to its hello and check it; ``on_starting(header)``
    hears each start-up stage on the way."""
    while True:
        message = read_message(stream)
        if message is None:
            raise ProtocolError("the worker ended before its hello")
        header = message[0]
        if not is_starting(header):
            check_hello(header)
            return header
        if on_starting is not None:
            on_starting(header)


def starting(text: str, seconds: float = 0.0) -> dict:
    """A start-up stage: sent before the hello, it belongs to no job."""
    return stage(None, STARTING, text, seconds=round(seconds, 1))


def is_starting(header: dict) -> bool:
    return header.get("type") == STAGE and header.get("id") is None


PICTURE_CHANNELS, MASK_CHANNELS = (3, 4), (1,)


@dataclass(frozen=True)
class Job:
    """One painting to make: ``content`` in the style of ``styles``, each painting where its entry
    of ``style_masks`` says (a one-channel picture of the content's size, or None: where the
    others do not; empty: every style everywhere); ``mask`` (the selection) limits the whole
    result; ``params`` are the engine's settings; ``preview``: ``preview_request(...)`` or None."""

    id: str
    params: dict
    content: Pixels
    styles: tuple
    style_masks: tuple = ()
    mask: Pixels | None = None
    preview: dict | None = field(default=None)

    def encode(self) -> tuple:
        """(header, payload): the content, then each style followed by its mask, then the mask."""
        masks = self.style_masks or (None,) * len(self.styles)
        pictures = [self.content]
        for style, style_mask in zip(self.styles, masks):
            pictures += [style] + ([style_mask] if style_mask else [])
        pictures += [self.mask] if self.mask else []
        header = {
            "type": JOB,
            "id": self.id,
            "params": self.params,
            "content": self.content.info(),
            "styles": [
                {"image": style.info(), "mask": style_mask.info() if style_mask else None}
                for style, style_mask in zip(self.styles, masks)
            ],
            "mask": self.mask.info() if self.mask else None,
        }
        if self.preview is not None:
            header["preview"] = self.preview
        return header, b"".join(picture.data for picture in pictures)

    @classmethod
    def decode(cls, header: dict, payload: bytes) -> Job:
        """The job a header and payload describe; ``ProtocolError`` for one that does not add up."""
        styles = header.get("styles")
        if not isinstance(header.get("content"), dict) or not isinstance(styles, list) or not styles:
            raise ProtocolError("a job needs a content image and at least one style image")
        if not all(isinstance(style, dict) and isinstance(style.get("image"), dict) for style in styles):
            raise ProtocolError("each style of a job needs an 'image'")
        infos = [(header["content"], PICTURE_CHANNELS)]
        for style in styles:
            infos.append((style["image"], PICTURE_CHANNELS))
            if style.get("mask"):
                infos.append((style["mask"], MASK_CHANNELS))
        if header.get("mask"):
            infos.append((header["mask"], MASK_CHANNELS))
        parts = iter(_pictures(infos, payload))
        content = next(parts)
        decoded_styles, style_masks = [], []
        for style in styles:
            decoded_styles.append(next(parts))
            style_masks.append(next(parts) if style.get("mask") else None)
        mask = next(parts) if header.get("mask") else None
        for picture in [*filter(None, style_masks), *filter(None, [mask])]:
            if (picture.width, picture.height) != (content.width, content.height):
                raise ProtocolError("a mask must have the content image's size")
        return cls(
            header.get("id"),
            header.get("params") or {},
            content,
            tuple(decoded_styles),
            tuple(style_masks) if any(style_masks) else (),
            mask,
            header.get("preview"),
        )


def _pictures(infos: list, payload: bytes) -> list:
    """``Pixels`` for each (image description, channel counts allowed) in a payload."""
    for info, allowed in infos:
        if not isinstance(info, dict) or info.get("channels") not in allowed:
            wanted = " or ".join(map(str, allowed))
            what = "masks" if allowed == MASK_CHANNELS else "images"
            raise ProtocolError(f"{what} must have {wanted} channels")
    raw = split_images([info for info, _ in infos], payload)
    return [Pixels(info["width"], info["height"], info["channels"], data) for (info, _), data in zip(infos, raw)]


def estimate(request_id: str, width: int, height: int, params: list) -> dict:
    """How long a job of each of ``params`` would take on a content picture of this size."""
    return {"type": ESTIMATE, "id": request_id, "width": width, "height": height, "params": params}


def estimates(request_id: str, answers: list) -> dict:
    """The answer to ``estimate``: per params, ``{"seconds": s, "duration": "1 min 30 s" (for
    people), "measured": bool}`` (measured on this computer, or a fixed guess)."""
    return {"type": ESTIMATES, "id": request_id, "estimates": answers}


def preview_request(long_side: int, every_seconds: float) -> dict:
    return {"long_side": long_side, "every_seconds": every_seconds}


def cancel(job_id: str) -> dict:
    """Stop the job; its answer is ``cancelled`` with the best image so far (or none yet)."""
    return {"type": CANCEL, "id": job_id}


def shutdown() -> dict:
    return {"type": SHUTDOWN}


def stage(job_id: str, name: str, text: str, **where) -> dict:
    """What the job is doing: ``name`` one of the stage names above; ``where`` says how far
    (``level``/``levels``, ``tile``/``tiles``, ``seconds`` spent in it so far)."""
    return {"type": STAGE, "id": job_id, "stage": name, "text": text, **where}


def progress(job_id: str, iteration, total, level, levels, losses: dict, seconds_left) -> dict:
    return {
        "type": PROGRESS,
        "id": job_id,
        "iteration": iteration,
        "total": total,
        "level": level,
        "levels": levels,
        "losses": losses,
        "seconds_left": seconds_left,
    }


def preview(job_id: str, image: dict, iteration: int, level: int) -> dict:
    return {"type": PREVIEW, "id": job_id, "image": image, "iteration": iteration, "level": level}


def result(job_id: str, image: dict, losses: dict, iterations: int) -> dict:
    return {"type": RESULT, "id": job_id, "image": image, "losses": losses, "iterations": iterations}


def cancelled(job_id: str, image: dict | None = None, losses: dict | None = None, iterations: int = 0) -> dict:
    """``image`` None: stopped before there was a picture."""
    return {"type": CANCELLED, "id": job_id, "image": image, "losses": losses or {}, "iterations": iterations}


def error(code: str, message: str, hint: str = "", job_id: str | None = None) -> dict:
    if code not in ERROR_CODES:
        raise ValueError(f"unknown error code {code!r}")
    return {"type": ERROR, "id": job_id, "code": code, "message": message, "hint": hint}
