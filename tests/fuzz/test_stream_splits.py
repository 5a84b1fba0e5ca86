"""Every incremental stream parser yields the same result however the bytes are cut into reads.

A network read may end anywhere: inside a line ending (CR | LF), a UTF-8 character, a chunk-size
line or a chunk's CRLF. The parsers in the code: `SSEParser` (OpenAI, Anthropic), `GeminiSSEParser`
(SSE plus the bare-JSON lines Gemini writes) and the HTTP/1.1 transport's chunked-body decoder.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchyard.services.providers.adapters.ollama import NDJSONParser
from switchyard.services.providers.adapters.transport import _ChunkedDecoder
from switchyard.wire.sse import GeminiSSEParser, SSEEvent, SSEParser
from tests.fuzz.strategies import split_points

FUZZ = settings(max_examples=200, deadline=None)

# Field values with multi-byte UTF-8, colons, leading spaces and the stray JSON Gemini writes.
_VALUE = st.text(alphabet=st.sampled_from(list('ab :{}"é€😀\t')), max_size=10)
_LINE = st.one_of(
    st.builds(
        lambda name, sep, value: f"{name}{sep}{value}",
        st.sampled_from(["data", "event", "id", "retry"]),
        st.sampled_from([":", ": ", ""]),
        _VALUE,
    ),
    st.builds(lambda value: f":{value}", _VALUE),  # a comment
    _VALUE.map(lambda value: '{"error": "' + value + '"}'),  # Gemini's bare JSON error
    st.just(""),  # the blank line that dispatches an event
)
_ENDING = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def sse_stream(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(_LINE, _ENDING), max_size=12))
    text = "".join(line + ending for line, ending in lines)
    if draw(st.booleans()):
        text += draw(_LINE)  # a last line the stream's end completes
    return text.encode()


def _run(parser: SSEParser, pieces: list[bytes]) -> list[SSEEvent]:
    events: list[SSEEvent] = []
    for piece in pieces:
        events += parser.feed(piece)
    return events + parser.finish()


@FUZZ
@given(st.data())
def test_sse_events_do_not_depend_on_read_boundaries(data: st.DataObject) -> None:
    stream = data.draw(sse_stream())
    pieces = data.draw(split_points(stream))
    assert _run(SSEParser(), pieces) == _run(SSEParser(), [stream])


@FUZZ
@given(st.data())
def test_gemini_events_and_stray_lines_do_not_depend_on_read_boundaries(data: st.DataObject) -> None:
    stream = data.draw(sse_stream())
    pieces = data.draw(split_points(stream))
    split, whole = GeminiSSEParser(), GeminiSSEParser()
    assert _run(split, pieces) == _run(whole, [stream])
    assert split.stray == whole.stray


@FUZZ
@given(sse_stream())
def test_byte_at_a_time_matches_one_read(stream: bytes) -> None:
    bytewise = [stream[i : i + 1] for i in range(len(stream))]
    assert _run(SSEParser(), bytewise) == _run(SSEParser(), [stream])


@FUZZ
@given(st.data())
def test_invalid_utf8_fails_the_same_however_split(data: st.DataObject) -> None:
    stream = data.draw(sse_stream()) + data.draw(st.sampled_from([b"\xff", b"\xc3(", b"\xe2\x82"]))
    pieces = data.draw(split_points(stream))
    with pytest.raises(UnicodeDecodeError):
        _run(SSEParser(), pieces)


@st.composite
def chunked_body(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """Returns (a body, its chunked encoding with extensions and trailers sometimes)."""
    chunks = draw(st.lists(st.binary(min_size=1, max_size=20), max_size=6))
    wire = b""
    for chunk in chunks:
        size = f"{len(chunk):x}".encode()
        size = size.upper() if draw(st.booleans()) else size
        extension = draw(st.sampled_from([b"", b";name=value", b" ;x"]))
        wire += size + extension + b"\r\n" + chunk + b"\r\n"
    trailer = draw(st.sampled_from([b"", b"x-checksum: 1\r\n"]))
    return b"".join(chunks), wire + b"0\r\n" + trailer + b"\r\n"


@FUZZ
@given(st.data())
def test_chunked_decoding_does_not_depend_on_read_boundaries(data: st.DataObject) -> None:
    body, wire = data.draw(chunked_body())
    decoder = _ChunkedDecoder()
    out = b"".join(decoder.feed(piece) for piece in data.draw(split_points(wire)))
    assert out == body
    assert decoder.done


@FUZZ
@given(st.data())
def test_chunked_decoder_rejects_garbage_with_a_protocol_error_only(data: st.DataObject) -> None:
    wire = data.draw(st.binary(max_size=60) | chunked_body().map(lambda pair: pair[1][: len(pair[1]) // 2] + b"?"))
    decoder = _ChunkedDecoder()
    try:
        for piece in data.draw(split_points(wire)):
            decoder.feed(piece)
    except httpx.RemoteProtocolError:
        return


@FUZZ
@given(st.data())
def test_ndjson_lines_do_not_depend_on_read_boundaries(data: st.DataObject) -> None:
    lines = data.draw(st.lists(st.tuples(_VALUE.map(lambda v: '{"m": "' + v + '"}'), _ENDING), max_size=10))
    stream = "".join(line + ending for line, ending in lines).encode()
    pieces = data.draw(split_points(stream))
    assert _run(NDJSONParser(), pieces) == _run(NDJSONParser(), [stream])
