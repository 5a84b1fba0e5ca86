"""A lean HTTP/1.1 keep-alive transport for httpx, for plain-http upstreams (self-hosted, fakes).

httpx's default transport spends more CPU per request than everything else in the providers
service together (anyio stream wrappers, pool bookkeeping, a socket-readability probe per reuse).
For `http://` upstreams on the same network this transport speaks HTTP/1.1 directly on asyncio
streams behind the same httpx client API; `https://` upstreams keep httpx's own transport.

Each body read yields what one network read delivered (chunked framing removed), so SSE events
that arrived together travel on together. Closing a response before its body ends closes the
connection, which is how a cancelled call reaches the upstream.

The pool honours the client's `httpx.Limits` as httpx's own pool does: at most `max_connections`
open (idle ones included; a request waits for one up to the pool timeout, then PoolTimeout), at
most `max_keepalive_connections` idle, and none reused after `keepalive_expiry` seconds idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx

_READ_SIZE = 65536
_MAX_HEAD = 64 * 1024


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reused: bool = False
    # time.monotonic() when the connection last went idle in the pool.
    idle_since: float = 0.0
    # Called once when the connection closes: the pool counts it no more.
    on_close: Callable[[], None] | None = None
    closed: bool = False

    def usable(self) -> bool:
        return not self.closed and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.writer.close()
        if self.on_close is not None:
            self.on_close()


class _ChunkedDecoder:
    """Removes chunked transfer-encoding framing from bytes fed in any split."""

    def __init__(self) -> None:
        self._buffer = b""
        self._left = 0  # data bytes left in the current chunk
        self._need_crlf = False
        self.done = False

    def feed(self, data: bytes) -> bytes:
        """Returns the body bytes contained in data (and what was buffered before)."""
        self._buffer += data
        out: list[bytes] = []
        while not self.done:
            if self._left:
                take = self._buffer[: self._left]
                out.append(take)
                self._left -= len(take)
                self._buffer = self._buffer[len(take) :]
                if self._left:
                    break
                self._need_crlf = True
            if self._need_crlf:
                if len(self._buffer) < 2:
                    break
                if self._buffer[:2] != b"\r\n":
                    raise httpx.RemoteProtocolError("malformed chunked body: missing CRLF after a chunk")
                self._buffer = self._buffer[2:]
                self._need_crlf = False
            end = self._buffer.find(b"\r\n")
            if end < 0:
                if len(self._buffer) > 1024:
                    raise httpx.RemoteProtocolError("malformed chunked body: chunk size line too long")
                break
            size_text = self._buffer[:end].split(b";", 1)[0].strip()
            # int() would also take a sign, a 0x prefix and underscores; a chunk size is hex digits only.
            if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
                raise httpx.RemoteProtocolError(f"malformed chunk size {size_text[:40]!r}")
            size = int(size_text, 16)
            if size == 0:
                # The last chunk: an empty trailer section ends the body.
                rest = self._buffer[end + 2 :]
                if rest.startswith(b"\r\n") or b"\r\n\r\n" in rest:
                    self.done = True
                break
            self._left = size
            self._buffer = self._buffer[end + 2 :]
        return b"".join(out)


@dataclass
class _Framing:
    length: int | None = None
    chunked: _ChunkedDecoder | None = None
    keep_alive: bool = True
    read_timeout: float | None = None
    left: int = field(default=0)


class _Body(httpx.AsyncByteStream):
    def __init__(
        self, transport: Http1Transport, key: tuple[str, int], conn: _Connection, framing: _Framing, start: bytes
    ) -> None:
        self._transport, self._key, self._conn, self._framing = transport, key, conn, framing
        self._start = start
        self._complete = False
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        framing = self._framing
        data = self._start
        self._start = b""
        while True:
            if data:
                body = framing.chunked.feed(data) if framing.chunked else data
                if framing.length is not None:
                    if len(body) > framing.left:
                        # Bytes past the declared length are no part of this response: never reuse.
                        body = body[: framing.left]
                        framing.keep_alive = False
                    framing.left -= len(body)
                if body:
                    yield body
            if self._finished():
                self._complete = True
                return
            try:
                async with asyncio.timeout(framing.read_timeout):
                    data = await self._conn.reader.read(_READ_SIZE)
            except TimeoutError:
                raise httpx.ReadTimeout("timed out reading the response body") from None
            except OSError as exc:
                raise httpx.ReadError(str(exc)) from exc
            if not data:
                if framing.length is None and framing.chunked is None:
                    self._complete = True
                    return
                raise httpx.RemoteProtocolError("the upstream closed the connection before the body ended")

    def _finished(self) -> bool:
        framing = self._framing
        if framing.chunked is not None:
            return framing.chunked.done
        return framing.length is not None and framing.left <= 0

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._complete and self._framing.keep_alive and self._conn.usable():
            self._transport._release(self._key, self._conn)
        else:
            self._conn.close()


def _parse_head(head: bytes) -> tuple[int, list[tuple[bytes, bytes]]]:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise httpx.RemoteProtocolError(f"malformed status line {lines[0][:80]!r}")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise httpx.RemoteProtocolError("malformed header line")
        headers.append((name.strip(), value.strip()))
    return int(parts[1]), headers


def _framing(status: int, method: str, headers: list[tuple[bytes, bytes]], read_timeout: float | None) -> _Framing:
    framing = _Framing(read_timeout=read_timeout)
    for name, value in headers:
        lower = name.lower()
        if lower == b"content-length":
            if not value.isdigit():
                raise httpx.RemoteProtocolError(f"malformed content-length {value[:40]!r}")
            framing.length = framing.left = int(value)
        elif lower == b"transfer-encoding" and b"chunked" in value.lower():
            framing.chunked = _ChunkedDecoder()
        elif lower == b"connection" and value.lower() == b"close":
            framing.keep_alive = False
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        framing.length = framing.left = 0
        framing.chunked = None
    elif framing.chunked is not None:
        framing.length = None
    elif framing.length is None:
        framing.keep_alive = False  # the body runs to the end of the connection
    return framing


class Http1Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over keep-alive asyncio connections, pooled per host and port within `limits`."""

    def __init__(self, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits()
        self._max_open = limits.max_connections
        self._max_idle = limits.max_keepalive_connections
        self._expiry = limits.keepalive_expiry
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._open = 0
        # Set whenever a connection goes idle or closes: what a request waiting for one waits on.
        self._changed = asyncio.Event()

    @property
    def open_connections(self) -> int:
        """Returns how many connections are open, idle ones included."""
        return self._open

    def _closed(self) -> None:
        self._open -= 1
        self._changed.set()

    def _idle_count(self) -> int:
        return sum(len(idle) for idle in self._idle.values())

    def _release(self, key: tuple[str, int], conn: _Connection) -> None:
        if self._max_idle is not None and self._idle_count() >= self._max_idle:
            conn.close()
            return
        conn.reused = True
        conn.idle_since = time.monotonic()
        self._idle.setdefault(key, []).append(conn)
        self._changed.set()

    def _expired(self, conn: _Connection, now: float) -> bool:
        return self._expiry is not None and now - conn.idle_since >= self._expiry

    def _checkout(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            # Newest last: the oldest, first to expire, are at the front.
            if self._expired(idle[0], now):
                idle.pop(0).close()
                continue
            conn = idle.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    def _evict_idle(self) -> bool:
        """Closes the longest-idle connection of any host to make room; returns whether there was one."""
        oldest = min((idle for idle in self._idle.values() if idle), key=lambda idle: idle[0].idle_since, default=None)
        if oldest is None:
            return False
        oldest.pop(0).close()
        return True

    async def _slot(self, request: httpx.Request, key: tuple[str, int], timeout: float | None) -> _Connection | None:
        """Returns an idle connection to key, or None once a new one may be opened (counted as open)."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    conn = self._checkout(key)
                    if conn is not None:
                        return conn
                    if self._max_open is None or self._open < self._max_open or self._evict_idle():
                        self._open += 1
                        return None
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise httpx.PoolTimeout(
                f"no connection to {key[0]}:{key[1]} came free in time (max_connections={self._max_open})",
                request=request,
            ) from None

    async def _connect(self, request: httpx.Request, key: tuple[str, int], timeout: float | None) -> _Connection:
        """Returns a new connection, which must already be counted as open."""
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(*key, limit=_MAX_HEAD)
        except TimeoutError:
            self._closed()
            raise httpx.ConnectTimeout(f"timed out connecting to {key[0]}:{key[1]}", request=request) from None
        except OSError as exc:
            self._closed()
            raise httpx.ConnectError(f"cannot connect to {key[0]}:{key[1]}: {exc.strerror}", request=request) from exc
        except BaseException:
            self._closed()
            raise
        return _Connection(reader, writer, on_close=self._closed)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            raise httpx.UnsupportedProtocol(f"{url.scheme}:// is not served by this transport", request=request)
        key = (url.host, url.port or 80)
        timeouts = request.extensions.get("timeout", {})
        body = await request.aread()
        target = url.raw_path.decode("ascii")
        head = [f"{request.method} {target} HTTP/1.1\r\n".encode()]
        head += [name + b": " + value + b"\r\n" for name, value in request.headers.raw]
        payload = b"".join(head) + b"\r\n" + body
        conn = await self._slot(request, key, timeouts.get("pool"))
        if conn is not None:
            try:
                return await self._exchange(request, key, conn, payload, timeouts)
            except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError) as exc:
                # A keep-alive connection the upstream closed while idle fails before any response
                # byte; only that case is retried, on a fresh connection (the stale one's slot is free).
                if not getattr(exc, "before_response", False):
                    raise
            conn = await self._slot(request, key, timeouts.get("pool"))
        if conn is None:
            conn = await self._connect(request, key, timeouts.get("connect"))
        return await self._exchange(request, key, conn, payload, timeouts)

    async def _exchange(
        self,
        request: httpx.Request,
        key: tuple[str, int],
        conn: _Connection,
        payload: bytes,
        timeouts: dict[str, float],
    ) -> httpx.Response:
        read_timeout = timeouts.get("read")
        try:
            conn.writer.write(payload)
            async with asyncio.timeout(read_timeout):
                await conn.writer.drain()
                head = await conn.reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            conn.close()
            raise httpx.ReadTimeout("timed out waiting for the response", request=request) from None
        except asyncio.IncompleteReadError as exc:
            conn.close()
            error = httpx.RemoteProtocolError("the upstream closed the connection without a response", request=request)
            error.before_response = not exc.partial and conn.reused  # type: ignore[attr-defined]
            raise error from None
        except asyncio.LimitOverrunError:
            conn.close()
            raise httpx.RemoteProtocolError("response head too large", request=request) from None
        except OSError as exc:
            conn.close()
            failed = httpx.ReadError(f"connection failed: {exc}", request=request)
            failed.before_response = conn.reused  # type: ignore[attr-defined]
            raise failed from exc
        except BaseException:
            # A cancelled call: the half-used connection must not keep its pool slot.
            conn.close()
            raise
        try:
            status, headers = _parse_head(head[:-4])
            framing = _framing(status, request.method, headers, read_timeout)
        except (httpx.RemoteProtocolError, ValueError) as exc:
            conn.close()
            raise httpx.RemoteProtocolError(str(exc), request=request) from None
        stream = _Body(self, key, conn, framing, b"")
        return httpx.Response(
            status, headers=headers, stream=stream, request=request, extensions={"http_version": b"HTTP/1.1"}
        )

    async def aclose(self) -> None:
        idle = [conn for conns in self._idle.values() for conn in conns]
        self._idle.clear()
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()
