"""The wire format on in-memory streams, and the golden transcripts both sides must keep."""

import io
import os

import pytest

from core import protocol
from core.protocol import Pixels, ProtocolError
from tests import record_golden

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")


def round_trip(header, payload=b""):
    stream = io.BytesIO()
    protocol.write_message(stream, header, payload)
    stream.seek(0)
    return protocol.read_message(stream)


def test_header_and_payload_round_trip():
    header, payload = round_trip({"type": "job", "id": "a", "extra": [1, 2]}, b"\x00\xff" * 10)
    assert header["type"] == "job" and header["payload_bytes"] == 20 and payload == b"\x00\xff" * 10


def test_end_of_stream_is_none():
    assert protocol.read_message(io.BytesIO(b"")) is None


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"not json\n", "not a JSON message"),
        (b"[1, 2]\n", "JSON object with a 'type'"),
        (b'{"type": "job", "payload_bytes": -1}\n', "bad payload_bytes"),
        (b'{"type": "job", "payload_bytes": 100}\n' + b"x" * 10, "truncated payload: got 10 of 100"),
        (b'{"type": "job"}', "cut off"),
    ],
)
def test_malformed_streams_raise_protocol_error(raw, message):
    with pytest.raises(ProtocolError, match=message):
        protocol.read_message(io.BytesIO(raw))


def test_a_bad_line_leaves_the_next_message_readable():
    stream = io.BytesIO(b"garbage\n" + b'{"type":"shutdown","payload_bytes":0}\n')
    with pytest.raises(ProtocolError):
        protocol.read_message(stream)
    assert protocol.read_message(stream)[0]["type"] == "shutdown"


def test_split_images_checks_lengths():
    a, b = Pixels(2, 1, 4, b"12345678"), Pixels(1, 1, 3, b"abc")
    assert protocol.split_images([a.info(), b.info()], a.data + b.data) == [a.data, b.data]
    with pytest.raises(ProtocolError, match="need 11 bytes but the payload has 10"):
        protocol.split_images([a.info(), b.info()], b"x" * 10)
    with pytest.raises(ProtocolError, match="integer width"):
        protocol.split_images([{"width": 1}], b"x")


def test_a_hello_of_another_version_is_refused_before_its_fields_are_read():
    hello = protocol.Hello("0.1.0", "tensorflow", "CPU", True)
    assert protocol.decode(*round_trip(*hello.encode())) == hello
    with pytest.raises(
        protocol.VersionError, match=f"protocol version 99, this plug-in speaks {protocol.PROTOCOL_VERSION}"
    ):
        protocol.decode({"type": "hello", "protocol": 99})


def test_client_messages_match_the_golden_transcript():
    with open(os.path.join(GOLDEN, "client_session.bin"), "rb") as f:
        assert record_golden.client_messages() == f.read()


def test_worker_messages_in_the_golden_transcript_decode_with_their_payloads():
    with open(os.path.join(GOLDEN, "worker_session.bin"), "rb") as f:
        stream = io.BytesIO(f.read())
    starting = []
    protocol.read_hello(stream, starting.append)
    assert starting and {stage.stage for stage in starting} == {protocol.STARTING}
    assert all(stage.is_starting() and stage.text for stage in starting)
    messages = []
    while (message := protocol.receive(stream)) is not None:
        messages.append(message)
    kinds = ["hello"] + [message.TYPE for message in messages]
    assert kinds[:4] == ["hello", "stage", "stage", "stage"] and kinds[-2:] == ["result", "error"]
    assert {"progress", "preview"} <= set(kinds)
    result, preview = messages[-2], next(m for m in messages if isinstance(m, protocol.Preview))
    assert (result.image.width, result.image.height) == (96, 72) and len(result.image.data) == 96 * 72 * 4
    assert max(preview.image.width, preview.image.height) == 16


def test_read_hello_skips_the_start_up_stages_and_refuses_anything_else():
    stream = io.BytesIO()
    for message in (
        protocol.starting("loading"),
        protocol.starting("loading", 5.0),
        protocol.Hello("1", "jax", "CPU", True),
    ):
        protocol.send(stream, message)
    stream.seek(0)
    heard = []
    assert protocol.read_hello(stream, heard.append).backend == "jax"
    assert [stage.seconds for stage in heard] == [0.0, 5.0]
    with pytest.raises(ProtocolError, match="ended before its hello"):
        protocol.read_hello(io.BytesIO(b""))
    with pytest.raises(ProtocolError, match="expected a hello"):
        protocol.read_hello(io.BytesIO(b'{"type":"stage","id":"job-1","stage":"painting","text":"x"}\n'))


PICTURE = Pixels(2, 1, 3, bytes(range(6)))
EVERY_MESSAGE = [
    protocol.Hello("0.1.0", "tensorflow", "CPU", True, "", {"size": 512}, {"draft": {"label": "Draft"}}),
    protocol.Job("j", {}, PICTURE, (PICTURE,), preview=protocol.preview_request(256, 2.0)),
    protocol.Stage("j", protocol.TILES, "tile 2 of 9", tile=2, tiles=9),
    protocol.starting("loading the network", 3.0),
    protocol.Progress("j", 1, 10, 1, 2, {"total": 1.0}, 3.5),
    protocol.Preview("j", PICTURE, 4, 1),
    protocol.Result("j", PICTURE, {"total": 1.0}, 10),
    protocol.Cancelled("j"),
    protocol.Cancelled("j", PICTURE, {"total": 2.0}, 3),
    protocol.Error(protocol.BAD_INPUT, "no", "try another", "j"),
    protocol.Estimate("e", 640, 480, [{"quality": "draft"}]),
    protocol.Estimates("e", (protocol.Foretold(12.5, "15 s", True),)),
    protocol.Cancel("j"),
    protocol.Shutdown(),
]


@pytest.mark.parametrize("message", EVERY_MESSAGE, ids=lambda m: m.TYPE)
def test_every_message_decodes_as_it_was_encoded(message):
    assert protocol.receive(io.BytesIO(_written(message))) == message


def test_every_message_type_is_covered_and_decoded_by_its_name():
    assert {message.TYPE for message in EVERY_MESSAGE} == set(protocol.MESSAGES)
    assert "preview" not in protocol.Job("j", {}, PICTURE, (PICTURE,)).encode()[0]  # a job that does not ask gets none


def test_a_message_ignores_fields_it_does_not_know_and_refuses_one_it_lacks():
    header, _ = protocol.Progress("j", 1, 10, 1, 2, {}).encode()
    assert protocol.decode(dict(header, spin=3)) == protocol.Progress("j", 1, 10, 1, 2, {})
    del header["total"]
    with pytest.raises(ProtocolError, match="a progress message needs 'total'"):
        protocol.decode(header)
    with pytest.raises(ProtocolError, match="unknown message type 'paint'"):
        protocol.decode({"type": "paint"})
    with pytest.raises(ProtocolError, match="the images need 6 bytes but the payload has 5"):
        protocol.decode(protocol.Result("j", PICTURE, {}, 1).encode()[0], bytes(5))
    with pytest.raises(ProtocolError, match="each estimate needs"):
        protocol.decode({"type": "estimates", "id": "e", "estimates": [{"seconds": 1}]})


def _written(message) -> bytes:
    stream = io.BytesIO()
    protocol.send(stream, message)
    return stream.getvalue()


def test_every_error_code_has_an_artists_sentence_and_no_other_code_is_sent():
    from gimp_plugin.neural_style import messages

    for code in protocol.ERROR_CODES:
        assert protocol.Error(code, "x").code == code
        words = "the engine's words"  # already the artist's for bad input, and for ssh's failures (installer.remote)
        assert messages.explain(code, words) != words or code in (protocol.BAD_INPUT, protocol.REMOTE)
    with pytest.raises(ValueError, match="unknown error code"):
        protocol.Error("made-up", "x")
    with pytest.raises(ProtocolError, match="does not add up"):
        protocol.decode({"type": "error", "code": "made-up", "message": "x"})


def test_a_job_with_a_mask_per_style_and_a_selection_decodes_as_it_was_encoded():
    content, style = Pixels(3, 2, 4, bytes(range(24))), Pixels(1, 1, 3, b"abc")
    sky, selection = Pixels(3, 2, 1, b"\x00\xff\x80\x00\xff\x80"), Pixels(3, 2, 1, bytes(6))
    job = protocol.Job("j", {"size": 64}, content, (style, style), (None, sky), selection, {"long_side": 16})
    header, payload = round_trip(*job.encode())
    assert protocol.Job.decode(header, payload) == job
    assert [s["mask"] is None for s in header["styles"]] == [True, False]
    plain = protocol.Job("k", {}, content, (style,))
    assert protocol.Job.decode(*round_trip(*plain.encode())) == plain


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda h: h.update(styles=[]), "at least one style image"),
        (lambda h: h["styles"][0].update(mask=protocol.image_info(2, 2, 1)), "the content image's size"),
        (lambda h: h["styles"][0].update(image=protocol.image_info(1, 1, 2)), "images must have 3 or 4 channels"),
        (lambda h: h.update(mask=protocol.image_info(3, 2, 3)), "masks must have 1 channels"),
    ],
)
def test_a_job_that_does_not_add_up_is_refused(change, message):
    content, style = Pixels(3, 2, 4, bytes(24)), Pixels(1, 1, 3, b"abc")
    header, payload = protocol.Job("j", {}, content, (style,)).encode()
    change(header)
    infos = [header["content"], header["mask"], *(part for style in header["styles"] for part in style.values())]
    needed = sum(protocol.image_size(info) for info in infos if info)  # the payload adds up: only the change is wrong
    with pytest.raises(ProtocolError, match=message):
        protocol.Job.decode(header, (payload + bytes(needed))[:needed])
