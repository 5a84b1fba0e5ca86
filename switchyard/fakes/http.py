"""A small, fast HTTP/1.1 server on raw asyncio and httptools, for the fake upstream providers.

The fakes are the upstream of the benchmark, so every request they answer costs CPU the gateway
would otherwise use: no framework, one parser per connection, keep-alive, responses written with
one `transport.write`. Handlers get an `HttpRequest` and a `Response` they write to; a streamed
response uses chunked transfer encoding and is flushed on every write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from http import HTTPStatus

import httptools

log = logging.getLogger(__name__)

Headers = Iterable[tuple[str, str]]

_REASONS: dict[int, bytes] = {s.value: s.phrase.encode() for s in HTTPStatus} | {529: b"Site Overloaded"}


class HttpRequest:
    """One parsed request: method, path, query string, lower-cased headers and the whole body."""

    __slots__ = ("body", "headers", "method", "path", "query")

    def __init__(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body


class Response:
    """Writes one HTTP/1.1 response; `disconnected` turns true when the client goes away first."""

    __slots__ = ("_conn", "disconnected", "finished", "keep_alive", "started")

    def __init__(self, conn: _Connection, keep_alive: bool) -> None:
        self._conn = conn
        self.keep_alive = keep_alive
        self.started = False
        self.finished = False
        self.disconnected = False

    def _head(self, status: int, content_type: str, headers: Headers, framing: str) -> bytes:
        lines = [
            b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Unknown")),
            f"content-type: {content_type}\r\n{framing}\r\n".encode(),
        ]
        lines.extend(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers)
        lines.append(b"connection: keep-alive\r\n\r\n" if self.keep_alive else b"connection: close\r\n\r\n")
        return b"".join(lines)

    def send(self, status: int, body: bytes, headers: Headers = (), content_type: str = "application/json") -> None:
        """Writes a complete response with a Content-Length body."""
        if self.started:
            raise RuntimeError("response already started")
        self.started = self.finished = True
        head = self._head(status, content_type, headers, f"content-length: {len(body)}")
        self._conn.write(head + body)

    def start_stream(self, status: int, headers: Headers = (), content_type: str = "text/event-stream") -> None:
        """Writes the head of a chunked response; `write` then sends each piece."""
        if self.started:
            raise RuntimeError("response already started")
        self.started = True
        self._conn.write(self._head(status, content_type, headers, "transfer-encoding: chunked"))

    def write(self, data: bytes) -> None:
        """Writes one chunk of a streamed response, flushed to the socket at once."""
        if data:
            self._conn.write(b"%x\r\n%s\r\n" % (len(data), data))

    async def drain(self) -> None:
        """Returns once the socket buffer has room again (back-pressure from a slow client)."""
        await self._conn.drain()

    def end(self, data: bytes = b"") -> None:
        """Ends a streamed response cleanly, after an optional last chunk."""
        tail = b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data) if data else b"0\r\n\r\n"
        self.finished = True
        self._conn.write(tail)

    def abort(self) -> None:
        """Closes the connection mid-response, as a crashing upstream would (no terminating chunk)."""
        self.finished = True
        self.keep_alive = False
        self._conn.close()


Handler = Callable[[HttpRequest, Response], Awaitable[None]]


class _Connection(asyncio.Protocol):
    """One client connection: parses requests with httptools and answers them in order."""

    def __init__(self, handler: Handler, connections: set[_Connection]) -> None:
        self._handler = handler
        self._connections = connections
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._pending: deque[tuple[HttpRequest, Response]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._current: Response | None = None
        self._writable: asyncio.Future[None] | None = None
        self._closed = False

    # ------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's transports are not subclasses
        self._connections.add(self)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._connections.discard(self)
        current = self._current
        if current is not None and not current.finished:
            current.disconnected = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        if self._writable is None or self._writable.done():
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    # ------------------------------------------------------------ httptools callbacks

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = {}
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        path, _, query = self._url.decode("latin-1").partition("?")
        request = HttpRequest(self._parser.get_method().decode(), path, query, self._headers, b"".join(self._body))
        response = Response(self, self._parser.should_keep_alive())
        if self._task is None:
            self._start(request, response)
        else:
            self._pending.append((request, response))

    # ------------------------------------------------------------ answering

    def _start(self, request: HttpRequest, response: Response) -> None:
        self._current = response
        self._task = asyncio.get_running_loop().create_task(self._answer(request, response))

    async def _answer(self, request: HttpRequest, response: Response) -> None:
        try:
            await self._handler(request, response)
        except asyncio.CancelledError:
            return
        except Exception:
            log.exception("fake handler failed on %s %s", request.method, request.path)
            if not response.started:
                response.send(
                    500, b'{"error":{"message":"fake failed","type":"server_error","param":null,"code":null}}'
                )
        if self._closed:
            return
        if not response.finished or not response.keep_alive:
            self.close()
            return
        self._task = None
        self._current = None
        if self._pending:
            self._start(*self._pending.popleft())

    def write(self, data: bytes) -> None:
        if self._transport is not None and not self._closed:
            self._transport.write(data)

    async def drain(self) -> None:
        if self._writable is not None and not self._writable.done():
            await self._writable

    def close(self) -> None:
        if self._transport is not None and not self._closed:
            self._closed = True
            self._transport.close()


class HttpServer:
    """A listening HTTP/1.1 server for one handler; `start` binds, `close` stops it and its connections."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()

    async def start(self, host: str, port: int) -> int:
        """Binds host:port and returns the bound port (useful with port 0)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self._handler, self._connections),
            host,
            port,
            reuse_address=True,
            backlog=1024,
        )
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stops listening and closes every open connection."""
        if self._server is None:
            return
        self._server.close()
        for conn in list(self._connections):
            conn.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)
        self._server = None
