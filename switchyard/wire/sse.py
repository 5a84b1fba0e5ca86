"""Server-Sent Events framing as every vendor streams it: an incremental parser following the WHATWG rules.

Bytes go in as they come off the socket; complete events come out. Lines may end in CRLF, LF or
CR (a CR at the end of one read and an LF at the start of the next are one line end), a UTF-8
character may be split across reads, `:` lines are comments, several `data:` lines join with
`\\n`, and one space after the colon is dropped. `GeminiSSEParser` also keeps the lines that are no
SSE field, because Gemini writes a mid-stream error as bare JSON. Each vendor's event names and the
way it writes one event are in its own vocabulary (`switchyard.wire.<vendor>`).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

# The field names an SSE line may carry; any other line is not SSE (a bare JSON error from Gemini).
FIELDS = frozenset({"data", "event", "id", "retry"})


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its `event:` name (empty when absent), joined data and last id."""

    data: str
    event: str = ""
    id: str = ""


class SSEParser:
    """Turns a byte stream into SSE events; `feed` returns the events completed by each read."""

    __slots__ = ("_data", "_decoder", "_event", "_id", "_partial", "_skip_lf")

    def __init__(self) -> None:
        # Strict decoding: invalid UTF-8 from an upstream is a malformed stream, not text to guess at.
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._partial = ""
        self._skip_lf = False
        self._data: list[str] = []
        self._event = ""
        self._id = ""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Returns the events completed by chunk; raises UnicodeDecodeError on invalid UTF-8."""
        text = self._decoder.decode(chunk)
        if not text:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        buffer = self._partial + text
        if "\r" in buffer:
            # A CR that ends the read may be the first half of a CRLF: end the line now, drop that LF
            # in the next read. It is turned into LF after the rest is normalised, or a CR before it
            # would pair with that LF into one line ending ("\r\r" is two).
            trailing_cr = buffer[-1] == "\r"
            if trailing_cr:
                buffer = buffer[:-1]
                self._skip_lf = True
            buffer = buffer.replace("\r\n", "\n").replace("\r", "\n")
            if trailing_cr:
                buffer += "\n"
        lines = buffer.split("\n")
        self._partial = lines.pop()
        events: list[SSEEvent] = []
        for line in lines:
            self._line(line, events)
        return events

    def finish(self) -> list[SSEEvent]:
        """Returns what the stream's end completes: a last event not followed by a blank line."""
        tail = self._decoder.decode(b"", final=True)
        events: list[SSEEvent] = []
        leftover = self._partial + tail
        self._partial = ""
        if leftover:
            self._line(leftover, events)
        self._line("", events)
        return events

    def _line(self, line: str, events: list[SSEEvent]) -> None:
        if not line:
            if self._data:
                events.append(SSEEvent("\n".join(self._data), self._event, self._id))
            self._data = []
            self._event = ""
            return
        if line[0] == ":":
            return
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value


class GeminiSSEParser(SSEParser):
    """An SSE parser that also keeps lines that are not SSE fields: Gemini writes errors as bare JSON."""

    __slots__ = ("stray",)

    def __init__(self) -> None:
        super().__init__()
        self.stray: list[str] = []

    def _line(self, line: str, events: list[SSEEvent]) -> None:
        if line and line[0] != ":" and line.partition(":")[0] not in FIELDS:
            self.stray.append(line)
            return
        super()._line(line, events)
