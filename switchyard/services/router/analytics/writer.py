"""Copies the ledger's records into the analytics store off the request path, in batches.

Two sources, one copier:

* With Redis, the ledger's stream is the durable buffer. The copier reads it from the last entry id
  it copied, and writes that id with the batch in one transaction; a restart resumes there, and
  records any replica wrote (or this one, before it crashed) are copied too. The stream is capped,
  so an outage of the database longer than the stream holds loses the oldest records: counted.
* Without Redis (the embedded default), the ledger hands each batch it wrote to a bounded buffer
  here; only a full buffer refuses records (counted as dropped), and close() flushes it.

Writes are idempotent (request_id is the primary key), so a batch retried after an unanswered write,
or copied by two replicas, is stored once. While the database fails, the copier retries with
jittered, capped backoff and logs once per outage; requests never wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, Protocol, cast

from prometheus_client import Counter, Gauge

from switchyard.redisutil import FAILURES
from switchyard.services.router.analytics.base import Cursor, HistoryStore, HistoryUnavailable, StreamId
from switchyard.services.router.governance.ledger_base import LedgerRecord

log = logging.getLogger(__name__)

RECORDS = Counter(
    "switchyard_analytics_records_total",
    "Ledger records handled by the analytics copier, by outcome (written, duplicate, dropped)",
    ["outcome"],
)
Page = list[tuple[bytes, dict[bytes, bytes]]]
BUFFERED = Gauge("switchyard_analytics_buffered_records", "Ledger records waiting to be written to the analytics store")
# How long the copier lets records gather after a part-full batch: at 200 requests/s, 20 a transaction.
LINGER_S = 0.1


class Source(Protocol):
    """Where the copier takes records from."""

    async def take(self, limit: int) -> tuple[list[LedgerRecord], Cursor | None]:
        """Returns up to limit records not yet written (waiting for some), and the cursor they reach."""

    def done(self, count: int, cursor: Cursor | None) -> None:
        """Notes that the first count records taken were written."""

    def offer(self, records: Sequence[LedgerRecord]) -> None:
        """Tells the source the ledger wrote records."""

    @property
    def pending(self) -> int:
        """Returns how many records are known to wait."""

    async def close(self) -> None:
        """Releases what the source holds open."""


class BufferSource:
    """The records the ledger wrote in this process, in a bounded buffer (the newest refused when full)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._buffer: deque[LedgerRecord] = deque()
        self._wake = asyncio.Event()
        self.dropped = 0

    def offer(self, records: Sequence[LedgerRecord]) -> None:
        room = self._capacity - len(self._buffer)
        self._buffer.extend(records[: max(room, 0)])
        refused = len(records) - max(room, 0)
        if refused > 0:
            self.dropped += refused
            RECORDS.labels("dropped").inc(refused)
            log.error("analytics: buffer full, %d records not kept (%d so far)", refused, self.dropped)
        BUFFERED.set(len(self._buffer))
        self._wake.set()

    async def take(self, limit: int) -> tuple[list[LedgerRecord], Cursor | None]:
        while not self._buffer:
            self._wake.clear()
            await self._wake.wait()
        return [self._buffer[i] for i in range(min(limit, len(self._buffer)))], None

    def done(self, count: int, cursor: Cursor | None) -> None:
        for _ in range(count):
            self._buffer.popleft()
        BUFFERED.set(len(self._buffer))

    @property
    def pending(self) -> int:
        return len(self._buffer)

    async def close(self) -> None:
        return None


class StreamSource:
    """The ledger's Redis stream at key, read forward from the cursor the store keeps."""

    def __init__(self, client: Any, key: str, store: HistoryStore, poll_s: float) -> None:
        self._client = client
        self._key = key
        self._store = store
        self._poll_s = poll_s
        self._last: StreamId | None = None
        self._loaded = False
        self._wake = asyncio.Event()

    def offer(self, records: Sequence[LedgerRecord]) -> None:
        self._wake.set()

    async def take(self, limit: int) -> tuple[list[LedgerRecord], Cursor | None]:
        while True:
            if not self._loaded:
                self._last = await self._store.cursor(self._key)
                self._loaded = True
            lower = "-" if self._last is None else f"({self._last}"
            try:
                page = cast(Page, await self._client.xrange(self._key, lower, "+", limit))
            except FAILURES as exc:
                raise HistoryUnavailable(f"the ledger's Redis stream: {exc}") from exc
            if page:
                records = [LedgerRecord.FromString(fields[b"pb"]) for _, fields in page]
                return records, Cursor(self._key, StreamId.parse(page[-1][0]))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_s):
                    await self._wake.wait()

    def done(self, count: int, cursor: Cursor | None) -> None:
        if cursor is not None:
            self._last = cursor.last

    @property
    def pending(self) -> int:
        return 0

    async def close(self) -> None:
        await self._client.aclose()


class Copier:
    """Moves records from a source into the store from one background task."""

    def __init__(
        self, store: HistoryStore, source: Source, *, batch: int, retry_min_s: float, retry_max_s: float
    ) -> None:
        self.store = store
        self.source = source
        self._batch = batch
        self._retry = (retry_min_s, max(retry_min_s, retry_max_s))
        self._task: asyncio.Task[None] | None = None
        self._streak = 0
        self._outage_since: float | None = None
        self.written = 0
        self._progress = asyncio.Event()

    @property
    def degraded(self) -> bool:
        """Returns whether the store is failing writes right now."""
        return self._outage_since is not None

    def offer(self, records: Sequence[LedgerRecord]) -> None:
        """Hands the copier records the ledger just wrote (the ledger's writer hook): never blocks."""
        self.source.offer(records)

    async def start(self) -> None:
        """Migrates the schema (retried in the background while the database is down) and starts copying."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="analytics-copier")

    async def _run(self) -> None:
        while True:
            try:
                await self.store.migrate()
                break
            except Exception as exc:
                await self._failed(exc)
        while True:
            try:
                records, cursor = await self.source.take(self._batch)
                new = await self.store.write(records, cursor)
            except Exception as exc:
                await self._failed(exc)
                continue
            self.source.done(len(records), cursor)
            self.written += new
            RECORDS.labels("written").inc(new)
            RECORDS.labels("duplicate").inc(len(records) - new)
            self._succeeded()
            self._progress.set()
            if len(records) < self._batch:
                # A part-full batch means the copier has caught up: let the next records gather for a
                # moment rather than paying a transaction and a thread hop for every one or two.
                await asyncio.sleep(LINGER_S)

    async def _failed(self, exc: BaseException) -> None:
        self._streak += 1
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            if isinstance(exc, HistoryUnavailable):
                pending = self.source.pending
                log.warning("analytics: store unavailable (%s); retrying, %d records buffered", exc, pending)
            else:
                log.exception("analytics: copying failed; retrying")
        low, high = self._retry
        ceiling = min(high, low * 2 ** min(self._streak - 1, 20))
        await asyncio.sleep(random.uniform(ceiling / 2, ceiling))

    def _succeeded(self) -> None:
        self._streak = 0
        if self._outage_since is not None:
            log.warning("analytics: store writes succeed again after %.1fs", time.monotonic() - self._outage_since)
            self._outage_since = None

    async def flush(self, timeout_s: float) -> bool:
        """Waits (at most timeout_s) until the buffered records are written; returns whether they were."""
        deadline = time.monotonic() + timeout_s
        while self.source.pending and (left := deadline - time.monotonic()) > 0:
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), left)
        return not self.source.pending

    async def close(self, timeout_s: float = 5.0) -> None:
        """Flushes what is buffered within timeout_s, stops copying and closes the store."""
        if self._task is not None:
            if not await self.flush(timeout_s):
                log.error("analytics: closed with %d records unwritten", self.source.pending)
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=1.0)
            self._task = None
        await self.source.close()
        await self.store.close()
