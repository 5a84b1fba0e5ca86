"""The edge's HTTP/1.1 connections: uvicorn's httptools protocol with the limits a public port needs.

uvicorn bounds neither how long a client may take to send its headers nor how large they may be, and
never times out a connection that has not sent a byte: a few hundred slow clients (slowloris) would
hold their sockets forever. `limited_protocol` returns the protocol class that adds:

- a header timeout, from the connection's start (or the end of its last response) until the headers
  are complete: an idle connection is closed, one halfway through its headers gets a 408 first;
- a header size limit (request line and headers): past it, a 431;
- a connection cap: past it, a new connection gets a 503 and is closed at once.

The body's own timeout lives in the ASGI app (asgi.read_body), which knows when it reads one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from switchyard.wire.anthropic.vocabulary import MESSAGES_PATH

_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


# How long a connection answered with an error keeps reading (and dropping) what its client still sends.
LINGER_S = 1.0


@dataclass(frozen=True)
class HttpLimits:
    """How long and how much a client may send before its request reaches the app, and how many may connect."""

    header_timeout_s: float = 10.0
    max_header_bytes: int = 32768
    max_connections: int = 4096


def canned(status: int, message: str, path: bytes = b"") -> bytes:
    """Returns a whole HTTP response that closes the connection, its body an error in the API's format
    (Anthropic's for /v1/messages, OpenAI's for anything else)."""
    if path.startswith(MESSAGES_PATH.encode()):
        kinds = {431: "request_too_large", 503: "overloaded_error"}
        error = {"type": kinds.get(status, "invalid_request_error"), "message": message}
        payload: dict[str, Any] = {"type": "error", "error": error}
    else:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        payload = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    body = orjson.dumps(payload)
    head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % (
        status,
        _REASONS.get(status, b""),
        len(body),
    )
    return head + body


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header timeout, a header size limit and a connection cap."""

    limits: ClassVar[HttpLimits] = HttpLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        # Bytes received since the last request ended while its successor's headers are incomplete.
        self._header_bytes = 0
        self._awaiting_headers = True
        # Exact size of the request line and headers parsed so far (bytes received may hold a body too).
        self._header_size = 0
        self._oversized = False
        self._refused = False
        # Answered and half-closed: what still arrives is read and dropped until LINGER_S have passed.
        self._closing = False

    # ------------------------------------------------------------ connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            # Not counted, not parsed: the client learns why, and the socket is freed at once.
            self._refused = True
            self.transport = transport
            transport.write(canned(503, "Too many connections; retry shortly."))
            transport.close()
            return
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        if self._refused:
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused or self._closing or self.parser is None:
            return
        self._unset_keepalive_if_required()
        if self._awaiting_headers:
            self._header_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # No WebSocket is served (ws="none"): the request goes on as plain HTTP, and a line per
            # such request would let any client write to the log at will.
            pass
        except httptools.HttpParserError:
            # Not logged: a client can send any number of these; the metrics of the app never see them.
            if self._oversized:
                self._reply_and_close(431, "The request's headers are larger than the limit.")
            else:
                self._reply_and_close(400, "Invalid HTTP request.")
            return
        if self._awaiting_headers and self._header_bytes > self.limits.max_header_bytes:
            self._reply_and_close(431, "The request's headers are larger than the limit.")

    # ------------------------------------------------------------ parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_size = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._count_header(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_headers, self._header_bytes = True, 0

    def on_response_complete(self) -> None:
        # A pipelined request already has its headers: only an idle connection waits for new ones.
        waiting = not self.pipeline
        super().on_response_complete()
        if waiting and not self.transport.is_closing():
            self._arm_header_timer()

    # ------------------------------------------------------------ helpers

    def _count_header(self, size: int) -> None:
        """Adds to the size of the headers being read; raising stops the parser, which the 431 answers."""
        self._header_size += size
        if self._header_size > self.limits.max_header_bytes:
            self._oversized = True
            raise ValueError("request headers over the limit")

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.limits.header_timeout_s, self._headers_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        """Closes a connection whose headers did not come in time: quietly when it sent nothing, with a 408
        when it was halfway through them."""
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._header_bytes:
            self._reply_and_close(408, "The request's headers did not arrive in time.")
        else:
            self.transport.close()

    def _reply_and_close(self, status: int, message: str) -> None:
        """Sends an error and closes; the close lingers, so the client reads the error before a reset.

        Closing a socket with unread input makes the kernel reset the connection, which can destroy the
        response before the client reads it; so the write side closes first and what the client is still
        sending (the rest of a 1 MB header) is read and dropped for up to LINGER_S.
        """
        self._cancel_header_timer()
        if self._closing or self.transport.is_closing():
            return
        self._closing = True
        self.transport.write(canned(status, message, getattr(self, "url", b"")))
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)


def limited_protocol(limits: HttpLimits) -> type[LimitedHttpProtocol]:
    """Returns the protocol class uvicorn should build each connection from, bound to limits."""
    return type("EdgeHttpProtocol", (LimitedHttpProtocol,), {"limits": limits})
