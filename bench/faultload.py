"""The fault matrix's clients: requests whose answers are checked against their prompts, and what became of each.

Every request carries a prompt of its own (`q-<run>-<client>-<n>`) on a connection of its own (a stale
keep-alive connection would read as a lost request), and ends as one outcome:

- `answered`: 200 and the reply is the fake's reply to this very prompt (a stream: through `data: [DONE]`);
- an error the client was told of: `HTTP <status> <error code>`, `stream error` (an explicit error event in the
  stream) or `refused` (no connection: the request was never sent);
- `lost`: sent, and no response came (the connection dropped first), or the answer was another prompt's;
- `truncated`: a 200 stream that stopped short — no `[DONE]`, no error event — so the client could take a
  partial answer for a whole one;
- `hung`: no end within the client's deadline.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
import orjson

from bench.loadgen import percentile

ANSWERED, LOST, HUNG, TRUNCATED, REFUSED = "answered", "lost", "hung", "truncated", "refused"
STREAM_ERROR = "stream error"
# A client that cannot connect waits this long before it tries again, rather than spinning.
REFUSED_PAUSE_S = 0.05


@dataclass(frozen=True)
class Outcome:
    """One request: when it started and ended (monotonic seconds) and how it ended."""

    started: float
    finished: float
    kind: str


@dataclass
class Load:
    """Clients driving the edge until stopped; every request's outcome lands in outcomes."""

    base_url: str
    model: str
    clients: int
    deadline_s: float
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _run: str = field(default_factory=lambda: os.urandom(4).hex())

    def start(self) -> None:
        """Starts the clients: even ones stream, odd ones ask for whole replies."""
        self._tasks = [asyncio.create_task(self._client(index, index % 2 == 0)) for index in range(self.clients)]

    async def stop(self) -> None:
        """Lets each client finish the request it is in, then returns."""
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def _client(self, index: int, stream: bool) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=None, limits=limits) as http:
            for sequence in range(1_000_000):
                if self._stop.is_set():
                    return
                tag = f"q-{self._run}-{index}-{sequence}"
                started = time.monotonic()
                try:
                    async with asyncio.timeout(self.deadline_s):
                        kind = await ask(http, self.model, tag, stream)
                except TimeoutError:
                    kind = HUNG
                self.outcomes.append(Outcome(started, time.monotonic(), kind))
                if kind == REFUSED:
                    await asyncio.sleep(REFUSED_PAUSE_S)


async def ask(http: httpx.AsyncClient, model: str, tag: str, stream: bool) -> str:
    """Sends one chat completion whose prompt starts with tag and returns how it ended (see the module)."""
    body = {"model": model, "messages": [{"role": "user", "content": f"{tag} say hello"}], "max_tokens": 64}
    if stream:
        body["stream"] = True
    try:
        async with http.stream("POST", "/chat/completions", json=body) as response:
            if response.status_code != 200:
                return f"HTTP {response.status_code} {_error_code(await response.aread())}".rstrip()
            try:
                return await (_read_stream(response, tag) if stream else _read_whole(response, tag))
            except httpx.TransportError:
                return TRUNCATED
    except httpx.ConnectError:
        return REFUSED
    except httpx.TransportError:
        return LOST


def _error_code(body: bytes) -> str:
    """Returns the `code` (else `type`) of an OpenAI-style error body, "" when it has none."""
    try:
        error = orjson.loads(body).get("error") or {}
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    return str(error.get("code") or error.get("type") or "") if isinstance(error, dict) else ""


async def _read_whole(response: httpx.Response, tag: str) -> str:
    reply = orjson.loads(await response.aread())
    content = "".join(str((c.get("message") or {}).get("content") or "") for c in reply.get("choices") or ())
    return ANSWERED if tag in content else LOST


async def _read_stream(response: httpx.Response, tag: str) -> str:
    content: list[str] = []
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return ANSWERED if tag in "".join(content) else LOST
        event = orjson.loads(data)
        if "error" in event:
            return STREAM_ERROR
        content += [str((c.get("delta") or {}).get("content") or "") for c in event.get("choices") or ()]
    return TRUNCATED


@dataclass(frozen=True)
class Row:
    """What one fault's window counted: the figures of the matrix's table."""

    fault: str
    sent: int
    answered: int
    errors: dict[str, int]
    lost: int
    hung: int
    truncated: int
    p99_ms: float
    recovery_s: float
    # Failed requests sent after a restarted process reported SERVING (None: nothing was restarted).
    failed_after_serving: int | None

    @property
    def unacceptable(self) -> int:
        """Returns the requests no fault may cost: lost, hung, truncated, or failed after SERVING."""
        return self.lost + self.hung + self.truncated + (self.failed_after_serving or 0)


def tally(fault: str, outcomes: Sequence[Outcome], restored_at: float, serving_at: float | None) -> Row:
    """Returns the row of a fault whose cause was removed at restored_at (and, when a process was started
    again, that reported SERVING at serving_at): time back to full health is from restored_at to the end
    of the last failed request sent after it."""
    kinds = Counter(o.kind for o in outcomes)
    latencies = sorted((o.finished - o.started) * 1000 for o in outcomes if o.kind == ANSWERED)
    failed_after = [o for o in outcomes if o.kind != ANSWERED and o.started >= restored_at]
    recovery = max((o.finished - restored_at for o in failed_after), default=0.0)
    after_serving = None if serving_at is None else sum(1 for o in failed_after if o.started >= serving_at)
    ignored = (ANSWERED, LOST, HUNG, TRUNCATED)
    return Row(
        fault=fault,
        sent=sum(n for kind, n in kinds.items() if kind != REFUSED),
        answered=kinds[ANSWERED],
        errors={kind: n for kind, n in sorted(kinds.items()) if kind not in ignored},
        lost=kinds[LOST],
        hung=kinds[HUNG],
        truncated=kinds[TRUNCATED],
        p99_ms=percentile(latencies, 99),
        recovery_s=recovery,
        failed_after_serving=after_serving,
    )


def table(rows: Sequence[Row]) -> str:
    """Returns the rows as a Markdown table."""
    lines = [
        "| fault | sent | answered | errors | lost | hung | truncated | p99 ms | back to health s "
        "| failed after SERVING |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        errors = ", ".join(f"{kind} x{n}" for kind, n in row.errors.items()) or "-"
        serving = "-" if row.failed_after_serving is None else str(row.failed_after_serving)
        lines.append(
            f"| {row.fault} | {row.sent} | {row.answered} | {errors} | {row.lost} | {row.hung} | {row.truncated} "
            f"| {row.p99_ms:.0f} | {row.recovery_s:.1f} | {serving} |"
        )
    return "\n".join(lines)
