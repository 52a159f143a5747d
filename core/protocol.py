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
Every message is a dataclass below (``Job``, ``Hello``, ``Stage``, ...) with one ``encode`` and
one ``decode``; ``send`` and ``receive`` write and read them. Both sides use only these, so a
field is added in one place.

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
(``core.regions``), and made every message a dataclass; a message sends all its fields, null
where one has no value (a stage outside tiles: ``"tile": null``).
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import ClassVar, NamedTuple

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
# makes up the last five for failures of the worker itself, or of the way to it.
BAD_INPUT = "bad-input"  # the images or settings cannot be used
BAD_MESSAGE = "bad-message"  # the worker could not read a message
WEIGHTS_MISSING = "weights-missing"
OUT_OF_MEMORY = "out-of-memory"
INTERNAL = "internal"
VERSION = "version"  # the worker speaks another protocol version
UNREADABLE = "protocol"  # the worker sent something that is not this protocol
TIMEOUT = "timeout"  # the worker did not start, or fell silent
CRASHED = "crashed"  # the worker process ended unexpectedly
REMOTE = "remote"  # the engine's computer cannot be reached, refused the key, has no engine, or the link dropped
ERROR_CODES = (
    BAD_INPUT, BAD_MESSAGE, WEIGHTS_MISSING, OUT_OF_MEMORY, INTERNAL, VERSION, UNREADABLE, TIMEOUT, CRASHED, REMOTE
)  # fmt: skip

# The stages a job goes through (``stage`` messages); each also carries a text for people.
STARTING, TARGETS, TILES, PAINTING = "start-up", "targets", "tiles", "painting"


class ProtocolError(Exception):
    """The byte stream does not follow this protocol (bad JSON, truncated payload, wrong version)."""


class VersionError(ProtocolError):
    """The other side speaks another version of this protocol."""


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


PICTURE_CHANNELS, MASK_CHANNELS = (3, 4), (1,)


@dataclass(frozen=True)
class Job:
    """One painting to make: ``content`` in the style of ``styles``, each painting where its entry
    of ``style_masks`` says (a one-channel picture of the content's size, or None: where the
    others do not; empty: every style everywhere); ``mask`` (the selection) limits the whole
    result; ``params`` are the engine's settings; ``preview``: ``preview_request(...)`` or None."""

    TYPE: ClassVar[str] = JOB
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
        if not isinstance(header.get("id"), str):
            raise ProtocolError("a job needs a text 'id'")
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


def preview_request(long_side: int, every_seconds: float) -> dict:
    """A job's ``preview``: a picture at most ``long_side`` px, at most once per ``every_seconds``."""
    return {"long_side": long_side, "every_seconds": every_seconds}


class Message:
    """What every message but the job shares: its header holds its fields by name, and a field
    that is ``Pixels`` travels as its description with the pixels as the payload (one per
    message). ``decode`` takes the fields it knows, ignores the rest, and refuses a message that
    lacks one without a default."""

    TYPE: ClassVar[str]

    def encode(self) -> tuple:
        header, payload = {"type": self.TYPE}, b""
        for name, value in vars(self).items():
            if isinstance(value, Pixels):
                value, payload = value.info(), value.data
            header[name] = value
        return header, payload

    @classmethod
    def decode(cls, header: dict, payload: bytes = b""):
        values = {}
        for known in fields(cls):
            if known.name in header:
                values[known.name] = header[known.name]
            elif known.default is MISSING and known.default_factory is MISSING:
                raise ProtocolError(f"a {cls.TYPE} message needs {known.name!r}")
        if values.get("image"):
            values["image"] = _pictures([(values["image"], PICTURE_CHANNELS)], payload)[0]
        try:
            return cls(**values)
        except (TypeError, ValueError) as error:
            raise ProtocolError(f"a {cls.TYPE} message that does not add up ({error})") from None


@dataclass(frozen=True)
class Hello(Message):
    """The worker's first answer: what it runs on, and ``defaults`` (its default settings, so a
    client can scale them: strength x2) and ``presets`` (the quality presets a job may name, each
    with its label and rule)."""

    TYPE: ClassVar[str] = HELLO
    engine_version: str
    backend: str
    device: str
    weights: bool
    weights_message: str = ""
    defaults: dict = field(default_factory=dict)
    presets: dict = field(default_factory=dict)
    protocol: int = PROTOCOL_VERSION

    @classmethod
    def decode(cls, header: dict, payload: bytes = b"") -> Hello:
        """Refuses first a worker that speaks another version (whose fields may differ)."""
        if header.get("protocol") != PROTOCOL_VERSION:
            raise VersionError(
                f"the engine speaks protocol version {header.get('protocol')!r}, this "
                f"plug-in speaks {PROTOCOL_VERSION}; install matching versions"
            )
        return super().decode(header, payload)


@dataclass(frozen=True)
class Stage(Message):
    """What a job is doing (``stage`` one of the stage names above, ``text`` for people) and how
    far: ``level``/``levels``, ``tile``/``tiles``, ``seconds`` spent in it so far. With no ``id``
    it is a start-up stage, sent before the hello."""

    TYPE: ClassVar[str] = STAGE
    id: str | None
    stage: str
    text: str
    level: int | None = None
    levels: int | None = None
    tile: int | None = None
    tiles: int | None = None
    seconds: float | None = None

    def is_starting(self) -> bool:
        return self.id is None

    def after(self, seconds: float) -> Stage:
        """The same stage, said again ``seconds`` into it (a heartbeat)."""
        return replace(self, seconds=round(seconds, 1))


def starting(text: str, seconds: float = 0.0) -> Stage:
    """A start-up stage: sent before the hello, it belongs to no job."""
    return Stage(None, STARTING, text, seconds=round(seconds, 1))


@dataclass(frozen=True)
class Progress(Message):
    """An iteration done: ``total`` is what the job now expects (a preset's grows or shrinks)."""

    TYPE: ClassVar[str] = PROGRESS
    id: str
    iteration: int
    total: int
    level: int
    levels: int
    losses: dict
    seconds_left: float | None = None


@dataclass(frozen=True)
class Preview(Message):
    """A small picture of the best image so far, for a job that asked (``preview_request``)."""

    TYPE: ClassVar[str] = PREVIEW
    id: str
    image: Pixels
    iteration: int
    level: int


@dataclass(frozen=True)
class Result(Message):
    TYPE: ClassVar[str] = RESULT
    id: str
    image: Pixels
    losses: dict
    iterations: int


@dataclass(frozen=True)
class Cancelled(Message):
    """A stopped job's best image so far (``image`` None: stopped before there was a picture)."""

    TYPE: ClassVar[str] = CANCELLED
    id: str
    image: Pixels | None = None
    losses: dict = field(default_factory=dict)
    iterations: int = 0


@dataclass(frozen=True)
class Error(Message):
    """A failure, by ``code`` (one of ``ERROR_CODES``); ``id`` None: not of a job."""

    TYPE: ClassVar[str] = ERROR
    code: str
    message: str
    hint: str = ""
    id: str | None = None

    def __post_init__(self):
        if self.code not in ERROR_CODES:
            raise ValueError(f"unknown error code {self.code!r}")


@dataclass(frozen=True)
class Estimate(Message):
    """How long a job of each of ``params`` would take on a content picture of this size."""

    TYPE: ClassVar[str] = ESTIMATE
    id: str
    width: int
    height: int
    params: list


class Foretold(NamedTuple):
    """One answer of ``estimates``: ``duration`` says ``seconds`` for people ("1 min 30 s");
    ``measured``: on this computer, or a fixed guess."""

    seconds: float
    duration: str
    measured: bool


@dataclass(frozen=True)
class Estimates(Message):
    """The answer to ``estimate``, one ``Foretold`` per params."""

    TYPE: ClassVar[str] = ESTIMATES
    id: str
    estimates: tuple

    def encode(self) -> tuple:
        return {"type": self.TYPE, "id": self.id, "estimates": [answer._asdict() for answer in self.estimates]}, b""

    @classmethod
    def decode(cls, header: dict, payload: bytes = b"") -> Estimates:
        message = super().decode(header, payload)
        try:
            return replace(message, estimates=tuple(Foretold(**answer) for answer in message.estimates))
        except TypeError:
            raise ProtocolError("each estimate needs 'seconds', 'duration' and 'measured'") from None


@dataclass(frozen=True)
class Cancel(Message):
    """Stop the job; its answer is ``Cancelled`` with the best image so far (or none yet)."""

    TYPE: ClassVar[str] = CANCEL
    id: str


@dataclass(frozen=True)
class Shutdown(Message):
    TYPE: ClassVar[str] = SHUTDOWN


MESSAGES = {kind.TYPE: kind for kind in (Hello, Job, Stage, Progress, Preview, Result, Cancelled, Error)} | {
    kind.TYPE: kind for kind in (Estimate, Estimates, Cancel, Shutdown)
}


def decode(header: dict, payload: bytes = b""):
    """The typed message a header and payload are; ``ProtocolError`` for an unknown type or one
    that does not add up (the stream itself stays usable)."""
    kind = MESSAGES.get(header.get("type"))
    if kind is None:
        raise ProtocolError(f"unknown message type {header.get('type')!r}")
    return kind.decode(header, payload)


def send(stream, message) -> None:
    """Write one typed message."""
    write_message(stream, *message.encode())


def receive(stream):
    """The next typed message, or ``None`` at a clean end of stream; ``ProtocolError`` as
    ``read_message`` and ``decode`` raise it."""
    raw = read_message(stream)
    return None if raw is None else decode(*raw)


def read_hello(stream, on_starting=None) -> Hello:
    """Read a worker's opening messages up to its ``Hello`` (checked); ``on_starting(Stage)``
    hears each start-up stage on the way."""
    while True:
        message = receive(stream)
        if message is None:
            raise ProtocolError("the worker ended before its hello")
        if isinstance(message, Hello):
            return message
        if not (isinstance(message, Stage) and message.is_starting()):
            raise ProtocolError(f"expected a hello from the worker, got {message.TYPE!r}")
        if on_starting is not None:
            on_starting(message)
