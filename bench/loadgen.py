"""A load generator for OpenAI-compatible `POST {base_url}/chat/completions`, cheap enough on CPU to
share a small machine with the system under test.

Each concurrent worker owns one keep-alive HTTP/1.1 connection and a hand-written client over raw
asyncio streams (no HTTP library, no per-request task or JSON encoding), so the generator's own cost
stays a small fraction of what it measures. `run_load(LoadSpec(...))` returns a `LoadStats`:
requests, errors, requests/s and latency percentiles (plus time to first content chunk when
streaming), counted over a fixed window after a warm-up.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import orjson

DONE = b"[DONE]"
# The prompt carries this marker; each request replaces it with a unique nonce so that an exact
# cache never answers the benchmark from memory.
NONCE = b"@@NONCE@@"
MAX_HEADER_BYTES = 64 * 1024


class HttpError(Exception):
    """A request that failed: transport error, bad framing, non-2xx status or a broken stream."""


@dataclass(frozen=True)
class Endpoint:
    """Where requests go: host, port and the full request path of the chat completions route."""

    host: str
    port: int
    path: str

    @classmethod
    def from_base_url(cls, base_url: str) -> Endpoint:
        """Returns the endpoint for `{base_url}/chat/completions`; base_url is like http://h:p/v1."""
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only plain http:// base URLs are supported, got {base_url!r}")
        return cls(parts.hostname, parts.port or 80, parts.path.rstrip("/") + "/chat/completions")


@dataclass(frozen=True)
class Response:
    """One completed request: status, lower-cased headers, and the stream's shape when streaming."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    chunks: int = 0
    # Seconds from sending the request to the first SSE chunk that carried content (streams only).
    ttft: float | None = None


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Returns the q-th percentile (0..100) of ascending values, interpolating linearly between ranks.

    Matches numpy's default ("linear") method; NaN for no values.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    if not sorted_values:
        return math.nan
    rank = (len(sorted_values) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def summarize(values: Sequence[float], quantiles: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    """Returns {"p50": ..., "p95": ..., "p99": ...} for unsorted values (NaN when there are none)."""
    ordered = sorted(values)
    return {f"p{q:g}": percentile(ordered, q) for q in quantiles}


def build_body(model: str, stream: bool, prompt: str = "Say hello. @@NONCE@@", max_tokens: int = 64) -> bytes:
    """Returns a chat completions request body; NONCE in the prompt is replaced per request."""
    body: dict[str, object] = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
    }
    if stream:
        body["stream"] = True
    return orjson.dumps(body)


def build_head(endpoint: Endpoint, headers: dict[str, str] | None = None) -> bytes:
    """Returns the request line and fixed headers, ending just before Content-Length."""
    lines = [
        f"POST {endpoint.path} HTTP/1.1",
        f"Host: {endpoint.host}:{endpoint.port}",
        "Content-Type: application/json",
        "Accept: application/json, text/event-stream",
        "Connection: keep-alive",
    ]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects lazily after the server closes it."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.endpoint.host, self.endpoint.port)
        return self._reader, self._writer

    def close(self) -> None:
        """Drops the socket; the next request opens a new one."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def request(self, head: bytes, body: bytes, stream: bool) -> Response:
        """Sends one POST and returns its response, reading SSE to `data: [DONE]` when stream is set.

        Raises HttpError for a transport error, bad framing, or a stream that ends without [DONE];
        a non-2xx status is returned, not raised, so the caller can tell the two apart.
        """
        try:
            return await self._exchange(head, body, stream)
        except HttpError:
            self.close()
            raise
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            self.close()
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc

    async def _exchange(self, head: bytes, body: bytes, stream: bool) -> Response:
        reader, writer = await self._open()
        started = time.perf_counter()
        writer.write(b"%sContent-Length: %d\r\n\r\n%s" % (head, len(body), body))
        status, headers = await _read_head(reader)
        pieces = _body_pieces(reader, headers)
        if stream and 200 <= status < 300 and headers.get("content-type", "").startswith("text/event-stream"):
            chunks, ttft = await _read_sse(pieces, started)
            response = Response(status, headers, chunks=chunks, ttft=ttft)
        else:
            response = Response(status, headers, body=b"".join([p async for p in pieces]))
        if not _reusable(headers):
            self.close()
        return response


def _reusable(headers: dict[str, str]) -> bool:
    """Returns whether the connection may carry another request after a response with these headers."""
    if headers.get("connection", "").lower() == "close":
        return False
    return "content-length" in headers or "chunked" in headers.get("transfer-encoding", "").lower()


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    raw = await reader.readuntil(b"\r\n\r\n")
    if len(raw) > MAX_HEADER_BYTES:
        raise HttpError("response headers too large")
    lines = raw[:-4].decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/1."):
        raise HttpError(f"not an HTTP/1.x response: {lines[0]!r}")
    status = int(rest[:3])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


async def _body_pieces(reader: asyncio.StreamReader, headers: dict[str, str]) -> AsyncIterator[bytes]:
    """Yields the response body as it arrives, de-chunked; ends at the body's framed end."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                # Trailers (rare) end with an empty line like the headers do.
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return
            data = await reader.readexactly(size + 2)
            yield data[:-2]
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if length:
            yield await reader.readexactly(length)
    else:
        # No framing: the body runs until the server closes the connection.
        while data := await reader.read(65536):
            yield data


async def _read_sse(pieces: AsyncIterator[bytes], started: float) -> tuple[int, float | None]:
    """Returns (data chunks before [DONE], seconds to the first content chunk) for an SSE body."""
    buffer = b""
    chunks = 0
    ttft: float | None = None
    async for piece in pieces:
        buffer += piece
        *events, buffer = buffer.replace(b"\r\n", b"\n").split(b"\n\n")
        for event in events:
            for line in event.split(b"\n"):
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == DONE:
                    # Drain the rest of the framed body so the connection can be reused.
                    async for _ in pieces:
                        pass
                    return chunks, ttft
                chunks += 1
                if ttft is None and _has_content(data):
                    ttft = time.perf_counter() - started
                if b'"error"' in data and b'"choices"' not in data:
                    raise HttpError(f"stream carried an error event: {data[:200]!r}")
    raise HttpError(f"stream ended without data: [DONE] after {chunks} chunks")


def _has_content(data: bytes) -> bool:
    # A cheap byte test first: most chunks either carry content or plainly do not.
    if b'"content"' not in data:
        return False
    try:
        choices = orjson.loads(data).get("choices") or []
    except orjson.JSONDecodeError:
        return False
    return any((c.get("delta") or {}).get("content") for c in choices if isinstance(c, dict))


@dataclass(frozen=True)
class LoadSpec:
    """What to run: where, which model, streaming or not, how many workers and for how long."""

    base_url: str
    model: str
    stream: bool = False
    concurrency: int = 1
    duration: float = 10.0
    warmup: float = 1.0
    headers: dict[str, str] = field(default_factory=dict)
    # timeout bounds each request (seconds); a request that outlives it is an error.
    timeout: float = 30.0
    unique_prompts: bool = True


@dataclass
class LoadStats:
    """What a run measured, over the window after warm-up; latencies in milliseconds."""

    stream: bool
    concurrency: int
    window_s: float
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    ttft_p50_ms: float | None
    mean_chunks: float | None
    cache_hits: int
    error_reasons: dict[str, int]


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    chunks: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    cache_hits: int = 0


async def _worker(spec: LoadSpec, index: int, window: tuple[float, float], tally: _Tally) -> None:
    start, end = window
    endpoint = Endpoint.from_base_url(spec.base_url)
    connection = Connection(endpoint)
    head = build_head(endpoint, spec.headers)
    before, _, after = build_body(spec.model, spec.stream).partition(NONCE)
    unique = spec.unique_prompts and bool(after or before)
    # A run-wide random prefix keeps prompts unique across runs too, not only within one.
    run = os.urandom(6).hex().encode()
    try:
        for sequence in itertools.count():
            body = b"%s%s-%d-%d%s" % (before, run, index, sequence, after) if unique else before + NONCE + after
            began = time.perf_counter()
            if began >= end:
                return
            error: str | None = None
            response: Response | None = None
            try:
                async with asyncio.timeout(spec.timeout):
                    response = await connection.request(head, body, spec.stream)
            except HttpError as exc:
                error = str(exc)[:120]
            except TimeoutError:
                connection.close()
                error = f"timeout after {spec.timeout}s"
            finished = time.perf_counter()
            if began < start or finished > end:
                continue
            if response is not None and not 200 <= response.status < 300:
                error = f"HTTP {response.status}"
            if error is not None:
                tally.errors[error] += 1
                continue
            assert response is not None
            tally.latencies.append(finished - began)
            tally.chunks += response.chunks
            if response.ttft is not None:
                tally.ttfts.append(response.ttft)
            if response.headers.get("x-switchyard-cache", "").lower().startswith("hit"):
                tally.cache_hits += 1
    finally:
        connection.close()


async def run_load(spec: LoadSpec) -> LoadStats:
    """Drives spec.concurrency workers for warm-up + duration and returns the stats of the window.

    A request counts when it starts after the warm-up and finishes before the window ends.
    """
    if spec.concurrency < 1 or spec.duration <= 0 or spec.warmup < 0:
        raise ValueError("concurrency must be >= 1, duration > 0 and warmup >= 0")
    tally = _Tally()
    start = time.perf_counter() + spec.warmup
    window = (start, start + spec.duration)
    async with asyncio.TaskGroup() as group:
        for index in range(spec.concurrency):
            group.create_task(_worker(spec, index, window, tally))
    latency = summarize([s * 1000 for s in tally.latencies])
    ok = len(tally.latencies)
    return LoadStats(
        stream=spec.stream,
        concurrency=spec.concurrency,
        window_s=spec.duration,
        requests=ok + sum(tally.errors.values()),
        errors=sum(tally.errors.values()),
        rps=ok / spec.duration,
        p50_ms=latency["p50"],
        p95_ms=latency["p95"],
        p99_ms=latency["p99"],
        ttft_p50_ms=summarize([s * 1000 for s in tally.ttfts])["p50"] if tally.ttfts else None,
        mean_chunks=tally.chunks / ok if spec.stream and ok else None,
        cache_hits=tally.cache_hits,
        error_reasons=dict(tally.errors.most_common(5)),
    )


async def probe(base_url: str, model: str, headers: dict[str, str] | None = None) -> int:
    """Sends one non-streaming request and returns its HTTP status; raises HttpError on transport failure.

    Callers bound it with `asyncio.timeout`.
    """
    endpoint = Endpoint.from_base_url(base_url)
    connection = Connection(endpoint)
    try:
        response = await connection.request(build_head(endpoint, headers), build_body(model, False), False)
        return response.status
    finally:
        connection.close()
