"""What every fake provider shares: reply text and token counting, schema filling, scripts, timing.

The vendor fakes differ in wire format only; the deterministic reply ("Switchyard fake reply to: ..."),
the ⌈chars / 4⌉ token count, the per-request scripts, the stream writer that honours ttft, chunk delay
and cut_after, and the run-until-signalled loop of each fake's command line live here, once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from typing import Any, Protocol

from services.providers.fakes.http import Response

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
) -> None:
    """Writes a started stream's events, then `tail`, pausing between events and cutting it if scripted.

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
        if i and chunk_delay_ms:
            await sleep_ms(chunk_delay_ms)
        response.write(event)
        entry["events_sent"] = i + 1
        await response.drain()
    response.end(tail)


class Servable(Protocol):
    """A fake that can be started on a host and port and closed again."""

    @property
    def url(self) -> str: ...

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int: ...

    async def close(self) -> None: ...


async def serve_until_signalled(fake: Servable, host: str, port: int, name: str) -> None:
    """Runs a fake on host:port until SIGTERM or SIGINT, logging where it listens."""
    await fake.start(host, port)
    logging.getLogger("switchyard.fake").info("fake %s provider listening on %s", name, fake.url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fake.close()
