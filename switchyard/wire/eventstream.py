"""The AWS event-stream binary framing (`application/vnd.amazon.eventstream`), both ways, incrementally.

Bedrock's ConverseStream and InvokeModelWithResponseStream send their events in it. One message:

    prelude   total length (uint32 BE) | headers length (uint32 BE) | CRC32 of those 8 bytes
    headers   name length (uint8) | name | value type (uint8) | value   (repeated)
    payload   the rest up to the last 4 bytes
    trailer   CRC32 of everything before it

Header values are typed: 0/1 true/false, 2 int8, 3 int16, 4 int32, 5 int64, 6 bytes and 7 string (each
with a uint16 length), 8 a timestamp (int64 ms), 9 a UUID (16 bytes). `EventStreamDecoder.feed` takes
bytes as they come off the socket, cut anywhere, and returns the messages they complete; a wrong CRC, a
length that cannot be right or a bad header is an `EventStreamError` naming what is wrong.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any

PRELUDE = struct.Struct(">II")
_PRELUDE_SIZE = 12
_CRC_SIZE = 4
# The smallest message (no headers, no payload) and the largest AWS sends (16 MiB payload + 128 KiB headers).
MIN_MESSAGE = _PRELUDE_SIZE + _CRC_SIZE
MAX_MESSAGE = 16 * 1024 * 1024 + 128 * 1024
MAX_HEADERS = 128 * 1024

_FIXED: dict[int, struct.Struct] = {
    2: struct.Struct(">b"),
    3: struct.Struct(">h"),
    4: struct.Struct(">i"),
    5: struct.Struct(">q"),
    8: struct.Struct(">q"),
}
_LENGTH = struct.Struct(">H")
_STRING = 7
_BYTES = 6
_UUID = 9

HeaderValue = bool | int | bytes | str


class EventStreamError(ValueError):
    """Bytes that are not a valid event-stream message (bad CRC, impossible length, unknown header type)."""


@dataclass(frozen=True, slots=True)
class EventMessage:
    """One decoded message: its headers (`:event-type`, `:message-type`, ...) and raw payload."""

    headers: dict[str, HeaderValue]
    payload: bytes

    def header(self, name: str) -> str:
        """Returns a header's value as text ("" when absent)."""
        value = self.headers.get(name, "")
        return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _crc(data: bytes | memoryview, start: int = 0) -> int:
    return zlib.crc32(data, start) & 0xFFFFFFFF


def _header_value(data: bytes, pos: int, kind: int) -> tuple[Any, int]:
    if kind in (0, 1):
        return kind == 0, pos
    fixed = _FIXED.get(kind)
    if fixed is not None:
        if pos + fixed.size > len(data):
            raise EventStreamError("a header value runs past the headers")
        return fixed.unpack_from(data, pos)[0], pos + fixed.size
    if kind == _UUID:
        if pos + 16 > len(data):
            raise EventStreamError("a header value runs past the headers")
        return data[pos : pos + 16], pos + 16
    if kind not in (_BYTES, _STRING):
        raise EventStreamError(f"unknown header value type {kind}")
    if pos + 2 > len(data):
        raise EventStreamError("a header value runs past the headers")
    (size,) = _LENGTH.unpack_from(data, pos)
    end = pos + 2 + size
    if end > len(data):
        raise EventStreamError("a header value runs past the headers")
    raw = data[pos + 2 : end]
    if kind == _BYTES:
        return raw, end
    try:
        return raw.decode(), end
    except UnicodeDecodeError:
        raise EventStreamError("a string header is not UTF-8") from None


def decode_headers(data: bytes) -> dict[str, HeaderValue]:
    """Returns the headers a message's header block holds; raises EventStreamError."""
    headers: dict[str, HeaderValue] = {}
    pos = 0
    while pos < len(data):
        size = data[pos]
        name_end = pos + 1 + size
        if name_end + 1 > len(data):
            raise EventStreamError("a header name runs past the headers")
        try:
            name = data[pos + 1 : name_end].decode()
        except UnicodeDecodeError:
            raise EventStreamError("a header name is not UTF-8") from None
        headers[name], pos = _header_value(data, name_end + 1, data[name_end])
    return headers


def encode_headers(headers: dict[str, str]) -> bytes:
    """Returns string headers in the event-stream header encoding."""
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        out += bytes([len(raw_name)]) + raw_name + bytes([_STRING]) + _LENGTH.pack(len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """Returns one event-stream message carrying string headers and a payload."""
    header_block = encode_headers(headers)
    total = _PRELUDE_SIZE + len(header_block) + len(payload) + _CRC_SIZE
    prelude = PRELUDE.pack(total, len(header_block))
    head = prelude + _crc(prelude).to_bytes(4, "big")
    body = head + header_block + payload
    return body + _crc(body).to_bytes(4, "big")


class EventStreamDecoder:
    """Turns event-stream bytes fed in any split into whole messages, checking both CRCs of each."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Returns how many bytes of an unfinished message are buffered."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[EventMessage]:
        """Returns the messages completed by data; raises EventStreamError for a corrupt one."""
        self._buffer += data
        messages: list[EventMessage] = []
        start = 0
        buffer = self._buffer
        while len(buffer) - start >= _PRELUDE_SIZE:
            total = self._check_prelude(buffer, start)
            if len(buffer) - start < total:
                break
            messages.append(self._message(bytes(buffer[start : start + total])))
            start += total
        if start:
            del self._buffer[:start]
        return messages

    def finish(self) -> list[EventMessage]:
        """Returns nothing more; raises EventStreamError when the stream ended inside a message."""
        if self._buffer:
            raise EventStreamError(f"the stream ended inside a message ({len(self._buffer)} bytes left)")
        return []

    @staticmethod
    def _check_prelude(buffer: bytearray, start: int) -> int:
        total, header_size = PRELUDE.unpack_from(buffer, start)
        expected = int.from_bytes(buffer[start + 8 : start + 12], "big")
        if _crc(memoryview(buffer)[start : start + 8]) != expected:
            raise EventStreamError("prelude CRC mismatch")
        if not MIN_MESSAGE <= total <= MAX_MESSAGE:
            raise EventStreamError(f"impossible message length {total}")
        if header_size > min(MAX_HEADERS, total - MIN_MESSAGE):
            raise EventStreamError(f"impossible headers length {header_size}")
        return int(total)

    @staticmethod
    def _message(raw: bytes) -> EventMessage:
        if _crc(memoryview(raw)[:-_CRC_SIZE]) != int.from_bytes(raw[-_CRC_SIZE:], "big"):
            raise EventStreamError("message CRC mismatch")
        header_size = PRELUDE.unpack_from(raw)[1]
        headers_end = _PRELUDE_SIZE + header_size
        return EventMessage(decode_headers(raw[_PRELUDE_SIZE:headers_end]), raw[headers_end:-_CRC_SIZE])
