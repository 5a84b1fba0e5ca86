"""The AWS event-stream decoder gives the same messages however the bytes are cut, and never a wrong one.

Bedrock's ConverseStream arrives in network reads that may end anywhere: inside a prelude, a header,
a payload or a CRC. Whatever the split, the decoder returns exactly the messages that were encoded
(botocore's own parser agrees on them), and a stream with any byte changed, or cut short, is an
EventStreamError, never a message with the wrong content.
"""

from __future__ import annotations

import pytest
from botocore.eventstream import EventStreamBuffer
from hypothesis import given, settings
from hypothesis import strategies as st

from switchyard.wire.eventstream import EventMessage, EventStreamDecoder, EventStreamError, encode_message
from tests.fuzz.strategies import split_points

FUZZ = settings(max_examples=200, deadline=None)

_NAME = st.sampled_from([":event-type", ":message-type", ":content-type", ":exception-type", "x-é"])
_VALUE = st.text(alphabet=st.sampled_from(list('ab:{}"é€😀 ')), max_size=12)
_MESSAGE = st.tuples(st.dictionaries(_NAME, _VALUE, max_size=4), st.binary(max_size=64))


def _decode(pieces: list[bytes]) -> list[EventMessage]:
    decoder = EventStreamDecoder()
    messages: list[EventMessage] = []
    for piece in pieces:
        messages += decoder.feed(piece)
    return messages + decoder.finish()


@FUZZ
@given(st.data())
def test_messages_do_not_depend_on_read_boundaries(data: st.DataObject) -> None:
    sent = data.draw(st.lists(_MESSAGE, min_size=1, max_size=5))
    stream = b"".join(encode_message(headers, payload) for headers, payload in sent)
    pieces = data.draw(split_points(stream))
    decoded = _decode(pieces)
    assert [(m.headers, m.payload) for m in decoded] == [(dict(h), p) for h, p in sent]


@FUZZ
@given(st.lists(_MESSAGE, min_size=1, max_size=3))
def test_botocore_reads_the_same_messages(sent: list[tuple[dict[str, str], bytes]]) -> None:
    stream = b"".join(encode_message(headers, payload) for headers, payload in sent)
    botocore = EventStreamBuffer()
    botocore.add_data(stream)
    theirs = [(message.headers, message.payload) for message in botocore]
    assert [(m.headers, m.payload) for m in _decode([stream])] == theirs


@FUZZ
@given(st.data())
def test_any_changed_byte_is_an_error_under_any_split(data: st.DataObject) -> None:
    sent = data.draw(st.lists(_MESSAGE, min_size=1, max_size=3))
    stream = bytearray(b"".join(encode_message(headers, payload) for headers, payload in sent))
    where = data.draw(st.integers(min_value=0, max_value=len(stream) - 1))
    stream[where] ^= data.draw(st.integers(min_value=1, max_value=255))
    with pytest.raises(EventStreamError):
        _decode(data.draw(split_points(bytes(stream))))


@FUZZ
@given(st.data())
def test_a_stream_cut_inside_a_message_is_an_error(data: st.DataObject) -> None:
    headers, payload = data.draw(_MESSAGE)
    message = encode_message(headers, payload)
    cut = data.draw(st.integers(min_value=1, max_value=len(message) - 1))
    with pytest.raises(EventStreamError, match="ended inside a message"):
        _decode(data.draw(split_points(message[:cut])))


def test_errors_say_which_check_failed() -> None:
    message = bytearray(encode_message({":event-type": "messageStart"}, b'{"role":"assistant"}'))
    prelude = bytearray(message)
    prelude[2] ^= 1
    with pytest.raises(EventStreamError, match="prelude CRC mismatch"):
        EventStreamDecoder().feed(bytes(prelude))
    message[-6] ^= 1
    with pytest.raises(EventStreamError, match="message CRC mismatch"):
        EventStreamDecoder().feed(bytes(message))
