"""The SSE parser must read what real upstreams send, however the bytes are split across reads."""

from __future__ import annotations

import pytest

from switchyard.wire.sse import SSEEvent, SSEParser


def _feed_all(pieces: list[bytes]) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for piece in pieces:
        events.extend(parser.feed(piece))
    return events + parser.finish()


def _bytewise(raw: bytes) -> list[bytes]:
    return [raw[i : i + 1] for i in range(len(raw))]


STREAM = 'data: {"a":1}\n\ndata: {"b":"é€😀"}\n\ndata: [DONE]\n\n'.encode()
EXPECTED = ['{"a":1}', '{"b":"é€😀"}', "[DONE]"]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_gives_the_same_events(newline: bytes) -> None:
    raw = STREAM.replace(b"\n", newline)
    assert [e.data for e in _feed_all([raw])] == EXPECTED
    assert [e.data for e in _feed_all(_bytewise(raw))] == EXPECTED


def test_crlf_split_between_reads_is_one_line_end() -> None:
    events = _feed_all([b'data: {"a":1}\r', b"\n\r", b"\ndata: x\r\n\r\n"])
    assert [e.data for e in events] == ['{"a":1}', "x"]


def test_utf8_character_split_across_reads() -> None:
    raw = 'data: "😀€"\n\n'.encode()
    cut = raw.index("😀".encode()) + 2
    assert [e.data for e in _feed_all([raw[:cut], raw[cut:]])] == ['"😀€"']


def test_invalid_utf8_is_an_error() -> None:
    with pytest.raises(UnicodeDecodeError):
        SSEParser().feed(b"data: \xff\xfe\n\n")


def test_comments_are_ignored_and_event_names_kept() -> None:
    events = _feed_all([b": keep-alive\n\nevent: ping\ndata: {}\n\n:another\ndata: y\n\n"])
    assert events == [SSEEvent("{}", "ping"), SSEEvent("y")]


def test_multi_line_data_joins_with_newline_and_one_space_is_dropped() -> None:
    events = _feed_all([b"data: first\ndata:second\ndata:  third\n\n"])
    assert [e.data for e in events] == ["first\nsecond\n third"]


def test_event_without_trailing_blank_line_is_completed_by_finish() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: [DONE]") == []
    assert parser.finish() == [SSEEvent("[DONE]")]


def test_field_without_colon_and_id_lines() -> None:
    events = _feed_all([b"id: 7\ndata\ndata: x\n\n"])
    assert events == [SSEEvent("\nx", "", "7")]


def test_a_cr_ending_a_read_after_another_cr_is_two_line_endings() -> None:
    # "\r\r\n" is CR then CRLF: an empty line (the event's end) between two data lines. Cut after the
    # second CR, the parser once paired the first CR with the LF it stood in for and lost the event.
    stream = b"data: a\r\r\ndata: b\n\n"
    whole = SSEParser()
    expected = whole.feed(stream) + whole.finish()
    for cut in range(1, len(stream)):
        parser = SSEParser()
        events = parser.feed(stream[:cut]) + parser.feed(stream[cut:]) + parser.finish()
        assert events == expected, cut
    assert [event.data for event in expected] == ["a", "b"]
