"""Judge grades and user feedback as Langfuse scores, attached to the request's trace.

    exporter = LangfuseExporter.of(section)        # None when `evaluation.langfuse.host` is empty
    exporter.score(Score.new(trace_id, "switchyard.judge", 8.0))   # never blocks; a full queue drops (counted)
    await exporter.run()                           # sends batches until cancelled
    await exporter.close()                         # sends what is still queued, once

Scores travel in batches on Langfuse's public ingestion API (`POST /api/public/ingestion`, HTTP basic
auth with the public and secret key, one `score-create` event per score). Its answer is per event
(207), so a batch that half fails resends only the events that failed for a reason worth a retry
(5xx, 429, or no answer at all), with a jittered, capped backoff, up to `attempts` sends. Each score
has an id of its own, which Langfuse keeps as the score's id: a batch sent twice upserts, never
doubles. The trace id is the request's W3C trace id (what Langfuse's OTLP endpoint names the trace
the spans arrived on), or the request id when tracing was off.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from switchyard.config.evaluation import LangfuseSection
from switchyard.config.secrets import FILE_PREFIX, resolve_secret
from switchyard.services.evaluator import metrics

log = logging.getLogger(__name__)
INGESTION_PATH = "/api/public/ingestion"
RETRY_MIN_S, RETRY_MAX_S = 0.2, 10.0


@dataclass(frozen=True, slots=True)
class Score:
    """One Langfuse score: its own id, the trace it belongs to, its name, value and optional comment."""

    id: str
    trace_id: str
    name: str
    value: float
    comment: str = ""
    timestamp: str = ""

    @classmethod
    def new(cls, trace_id: str, name: str, value: float, comment: str = "") -> Score:
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return cls(uuid.uuid4().hex, trace_id, name, value, comment, stamp)

    def event(self) -> dict[str, Any]:
        """Returns the score as an ingestion `score-create` event (the event and the score share the id)."""
        body: dict[str, Any] = {"id": self.id, "traceId": self.trace_id, "name": self.name, "value": self.value}
        body["dataType"] = "NUMERIC"
        if self.comment:
            body["comment"] = self.comment
        return {"id": self.id, "type": "score-create", "timestamp": self.timestamp, "body": body}


def secret_of(value: str, environ: Mapping[str, str]) -> str:
    """Returns the secret key itself: a literal, `os.environ/NAME` or `file:/path`; raises ValueError when missing."""
    if value.startswith(FILE_PREFIX):
        path = Path(value.removeprefix(FILE_PREFIX))
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise ValueError(f"langfuse.secret_key: {path} cannot be read ({exc.strerror})") from exc
    found, missing = resolve_secret(value, environ)
    if missing:
        raise ValueError(f"langfuse.secret_key names the variable {missing}, which is not set")
    return found or ""


class LangfuseExporter:
    """Sends scores to Langfuse in batches off a bounded queue (see the module docstring)."""

    def __init__(self, section: LangfuseSection, secret_key: str, transport: httpx.AsyncBaseTransport | None = None):
        self._section = section
        self._queue: asyncio.Queue[Score] = asyncio.Queue(maxsize=section.queue)
        self._client = httpx.AsyncClient(
            base_url=section.host.rstrip("/"),
            auth=httpx.BasicAuth(section.public_key, secret_key),
            timeout=section.timeout_s,
            transport=transport,
        )
        self._down = False

    @classmethod
    def of(cls, section: LangfuseSection, environ: Mapping[str, str]) -> LangfuseExporter | None:
        """Returns the exporter the section configures, or None when it names no host."""
        if not section.host:
            return None
        return cls(section, secret_of(section.secret_key, environ))

    def score(self, score: Score) -> None:
        """Queues a score for export; a full queue drops it (counted), so grading never waits for Langfuse."""
        try:
            self._queue.put_nowait(score)
        except asyncio.QueueFull:
            metrics.LANGFUSE_SCORES.labels("dropped").inc()

    async def run(self) -> None:
        """Sends batches until cancelled."""
        while True:
            batch = await self._batch()
            try:
                await self._send(batch)
            except Exception:
                metrics.LANGFUSE_SCORES.labels("failed").inc(len(batch))
                log.exception("sending %d scores to Langfuse failed", len(batch))

    async def close(self) -> None:
        """Sends what is still queued once (within timeout_s), then closes the connections."""
        waiting = [self._queue.get_nowait() for _ in range(self._queue.qsize())]
        try:
            for start in range(0, len(waiting), self._section.batch):
                batch = waiting[start : start + self._section.batch]
                await asyncio.wait_for(self._post(batch), self._section.timeout_s)
        except TimeoutError:
            log.warning("Langfuse did not take the last scores before the evaluator stopped")
        finally:
            await self._client.aclose()

    async def _batch(self) -> list[Score]:
        """Waits for a score, then for more until the batch is full or flush_s has passed."""
        batch = [await self._queue.get()]
        deadline = time.monotonic() + self._section.flush_s
        while len(batch) < self._section.batch:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), left))
            except TimeoutError:
                break
        return batch

    async def _send(self, batch: list[Score]) -> None:
        """Sends the batch, resending what failed for a passing reason; counts every score exported or failed."""
        pending = {score.id: score for score in batch}
        for attempt in range(self._section.attempts):
            if attempt:
                await asyncio.sleep(_backoff(attempt))
            retry = await self._post(list(pending.values()))
            for score_id in set(pending) - retry:
                del pending[score_id]
            if not pending:
                return
        metrics.LANGFUSE_SCORES.labels("failed").inc(len(pending))
        log.warning("%d Langfuse scores could not be sent after %d attempts", len(pending), self._section.attempts)

    async def _post(self, scores: list[Score]) -> set[str]:
        """Posts the scores once; returns the ids worth sending again (the rest are counted here)."""
        ids = {score.id for score in scores}
        try:
            reply = await self._client.post(INGESTION_PATH, json={"batch": [s.event() for s in scores]})
        except httpx.HTTPError as exc:
            self._outage(f"{type(exc).__name__}: {exc}")
            return ids
        if reply.status_code >= 500 or reply.status_code == 429:
            self._outage(f"HTTP {reply.status_code}")
            return ids
        if reply.status_code >= 400:
            metrics.LANGFUSE_SCORES.labels("failed").inc(len(ids))
            log.warning("Langfuse refused %d scores: HTTP %d %.200s", len(ids), reply.status_code, reply.text)
            return set()
        if self._down:
            log.warning("Langfuse at %s answers again", self._section.host)
            self._down = False
        return self._settle(ids, _errors(reply))

    def _settle(self, ids: set[str], errors: dict[str, tuple[int, str]]) -> set[str]:
        retry = {i for i, (status, _) in errors.items() if i in ids and (status >= 500 or status == 429)}
        refused = {i: message for i, (status, message) in errors.items() if i in ids and i not in retry}
        for score_id, message in refused.items():
            log.warning("Langfuse refused score %s: %.200s", score_id, message)
        metrics.LANGFUSE_SCORES.labels("failed").inc(len(refused))
        metrics.LANGFUSE_SCORES.labels("exported").inc(len(ids) - len(retry) - len(refused))
        return retry

    def _outage(self, reason: str) -> None:
        if not self._down:
            log.warning("Langfuse at %s cannot take scores (%s); retrying", self._section.host, reason)
        self._down = True


def _errors(reply: httpx.Response) -> dict[str, tuple[int, str]]:
    """Returns the per-event errors of an ingestion reply: {event id: (status, message)}."""
    try:
        body = reply.json()
    except ValueError:
        return {}
    errors = body.get("errors", []) if isinstance(body, dict) else []
    return {
        str(e.get("id")): (int(e.get("status", 500)), str(e.get("message", ""))) for e in errors if isinstance(e, dict)
    }


def _backoff(attempt: int) -> float:
    return random.uniform(RETRY_MIN_S, min(RETRY_MAX_S, RETRY_MIN_S * 2**attempt))
