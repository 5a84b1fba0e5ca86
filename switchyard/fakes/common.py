"""What every fake provider shares: reply text and token counting, schema filling, scripts, timing.

The vendor fakes differ in wire format only; the deterministic reply ("Switchyard fake reply to: ..."),
the ⌈chars / 4⌉ token count, the per-request scripts, the stream writer that honours ttft, chunk delay
and cut_after, and the server lifecycle with its `/_fake/` admin API live here, once. The command line
that serves any of them is `__main__`.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, Self, TypeVar

import orjson

from switchyard.fakes.http import HttpRequest, HttpServer, Response

REPLY_PREFIX = "Switchyard fake reply to: "
# The rate limits every fake reports in its headers, per 60 s window.
LIMIT_REQUESTS = 10_000
LIMIT_TOKENS = 10_000_000


def count_tokens(text: str) -> int:
    """Returns the fake's token count of a text: one token per four characters, rounded up."""
    return (len(text) + 3) // 4


def split_text(text: str, pieces: int) -> list[str]:
    """Returns text cut into at most `pieces` consecutive non-empty parts."""
    if not text:
        return []
    size = max(1, -(-len(text) // max(1, pieces)))
    return [text[i : i + size] for i in range(0, len(text), size)]


def fill_schema(schema: Any, name: str, depth: int = 0) -> Any:
    """Returns a deterministic value that fits a (simple) JSON schema."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    if kind == "object" or (isinstance(schema, dict) and "properties" in schema and depth < 4):
        props = schema.get("properties") or {}
        return {k: fill_schema(v, k, depth + 1) for k, v in props.items()} if depth < 4 else {}
    if isinstance(schema, dict) and schema.get("enum"):
        return schema["enum"][0]
    return {"integer": 1, "number": 1.5, "boolean": True, "array": [], "null": None}.get(
        kind if isinstance(kind, str) else "", f"{name}-value"
    )


# What a reply's token counts become when scripted `usage: inflated`: far beyond any model, within int32.
INFLATED_TOKENS = 300_000_000
# Scripted `usage` values: drop the usage object, make its counts negative, or inflate them.
USAGE_MODES = ("omit", "negative", "inflated")
_USAGE_KEYS = ("usage", "usageMetadata")


def tamper_usage(value: Any, mode: str | None) -> Any:
    """Returns a reply object with its usage (OpenAI's and Anthropic's `usage`, Gemini's `usageMetadata`)
    changed the way a `usage` script says: omitted, negative or inflated counts. Used to test the gateway's
    integrity checks; None leaves the value as it is."""
    if mode is None:
        return value
    if isinstance(value, list):
        return [tamper_usage(item, mode) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in _USAGE_KEYS and isinstance(item, dict):
            if mode != "omit":
                out[key] = _tamper_counts(item, mode)
        else:
            out[key] = tamper_usage(item, mode)
    return out


def _tamper_counts(usage: dict[str, Any], mode: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in usage.items():
        if isinstance(value, dict):
            out[key] = _tamper_counts(value, mode)
        elif isinstance(value, int) and not isinstance(value, bool):
            out[key] = -max(value, 1) if mode == "negative" else INFLATED_TOKENS
        else:
            out[key] = value
    return out


def tamper_events(events: list[bytes], mode: str | None) -> list[bytes]:
    """Returns stream events whose `data:` JSON has its usage tampered with (see tamper_usage)."""
    if mode is None:
        return events
    out = []
    for event in events:
        lines = event.split(b"\n")
        for i, line in enumerate(lines):
            body = line.rstrip(b"\r")
            if not body.startswith(b"data: "):
                continue
            try:
                raw = orjson.loads(body[6:])
            except orjson.JSONDecodeError:
                continue
            lines[i] = b"data: " + orjson.dumps(tamper_usage(raw, mode)) + line[len(body) :]
        out.append(b"\n".join(lines))
    return out


def usage_mode(value: Any) -> str | None:
    """Returns a scripted `usage` value checked (one of USAGE_MODES; empty or off: None); raises ValueError."""
    text = str(value).lower()
    if text in ("", "0", "false", "no", "none"):
        return None
    if text not in USAGE_MODES:
        raise ValueError(f"usage must be one of {', '.join(USAGE_MODES)}, not {value!r}")
    return text


@dataclass
class Script:
    """Option values scripted for the next `times` requests (None: every request from now on)."""

    values: dict[str, Any]
    times: int | None


async def sleep_ms(ms: float) -> None:
    """Waits ms milliseconds; returns at once for zero or less."""
    if ms > 0:
        await asyncio.sleep(ms / 1000)


async def write_events(
    response: Response,
    entry: dict[str, Any],
    events: list[bytes],
    tail: bytes,
    *,
    chunk_delay_ms: float,
    cut_after: int | None,
    drip_after: int = 0,
) -> None:
    """Writes a started stream's events, then `tail`, pausing between events and cutting it if scripted.

    The pause comes before each event from index max(1, drip_after) on: with drip_after K the first K
    events come at once and the rest drip (a stream that slows down after it started).
    Records `events_sent` (and `cut`) in the request's log entry.
    """
    if not chunk_delay_ms and cut_after is None:
        # Nothing to wait for between events: one write is what a fast upstream looks like.
        entry["events_sent"] = len(events)
        response.end(b"".join(events) + tail)
        return
    for i, event in enumerate(events):
        if cut_after is not None and i >= cut_after:
            entry["cut"] = True
            response.abort()
            return
        if i and i >= drip_after and chunk_delay_ms:
            await sleep_ms(chunk_delay_ms)
        response.write(event)
        entry["events_sent"] = i + 1
        await response.drain()
    response.end(tail)


class Options(Protocol):
    """A fake's per-request options: they can be overridden by raw scripted values."""

    def merged(self, raw: dict[str, Any]) -> Self: ...


OptionsT = TypeVar("OptionsT", bound=Options)


class FakeServer(ABC, Generic[OptionsT]):
    """What every fake server shares: lifecycle, URLs, the request log, scripts and the `/_fake/` admin API.

    Subclasses set `option_keys`, answer requests in `handle` and write admin error bodies in `_admin_error`.
    """

    option_keys: frozenset[str] = frozenset()

    def __init__(self, defaults: OptionsT, api_key: str | None, log_size: int, models: Iterable[str]) -> None:
        self.defaults = defaults
        self.api_key = api_key
        self.host = "127.0.0.1"
        self.port = 0
        self._server = HttpServer(self.handle)
        self._count = 0
        self._log: deque[dict[str, Any]] = deque(maxlen=log_size)
        self._scripts: dict[str, list[Script]] = {}
        self._models: set[str] = set(models)

    @abstractmethod
    async def handle(self, request: HttpRequest, response: Response) -> None:
        """Answers one HTTP request."""
        ...

    @abstractmethod
    def _admin_error(self, status: int, message: str) -> bytes:
        """Returns the body of an admin API error, in the fake's wire format."""
        ...

    # ------------------------------------------------------------ lifecycle and test helpers

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> AsyncIterator[Self]:
        """Yields a started fake listening on host:port (0 picks a free port), closed afterwards."""
        fake = cls(**kwargs)
        await fake.start(host, port)
        try:
            yield fake
        finally:
            await fake.close()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Starts listening and returns the bound port."""
        self.host = host
        self.port = await self._server.start(host, port)
        return self.port

    async def close(self) -> None:
        await self._server.close()

    @property
    def url(self) -> str:
        """Returns the API base URL clients use: the server root."""
        return self.admin_url

    @property
    def admin_url(self) -> str:
        """Returns the server's root URL, where `/_fake/...` and `/health` live."""
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Returns the requests received so far, oldest first."""
        return list(self._log)

    def clear_requests(self) -> None:
        self._log.clear()

    def script(self, model: str | None = None, times: int | None = None, **values: Any) -> None:
        """Scripts the next `times` requests for model (all models when None); see the fake's options."""
        unknown = set(values) - self.option_keys
        if unknown:
            raise ValueError(f"unknown fake option(s): {', '.join(sorted(unknown))}")
        self.defaults.merged(values)
        self._scripts.setdefault(model or "*", []).append(Script(values, times))

    def clear_scripts(self) -> None:
        self._scripts.clear()

    def _admin(self, request: HttpRequest, response: Response) -> None:
        route = (request.method, request.path)
        if route == ("GET", "/_fake/requests"):
            response.send(200, orjson.dumps(list(self._log)))
        elif route == ("DELETE", "/_fake/requests"):
            self.clear_requests()
            response.send(200, b"{}")
        elif route == ("GET", "/_fake/scripts"):
            scripts = [dict(s.values, model=m, times=s.times) for m, ss in self._scripts.items() for s in ss]
            response.send(200, orjson.dumps({"data": scripts}))
        elif route == ("DELETE", "/_fake/scripts"):
            self.clear_scripts()
            response.send(200, b"{}")
        elif route == ("POST", "/_fake/scripts"):
            try:
                raw = orjson.loads(request.body)
                values = {k.removeprefix("fake_"): v for k, v in raw.items() if k not in ("model", "times")}
                self.script(raw.get("model"), raw.get("times"), **values)
            except (ValueError, TypeError, AttributeError) as exc:
                response.send(400, self._admin_error(400, f"bad script: {exc}"))
                return
            response.send(200, b"{}")
        else:
            response.send(404, self._admin_error(404, f"Unknown path {request.path}."))
