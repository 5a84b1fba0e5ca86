"""The cost ledger: one LedgerRecord per request, written off the request path, aggregated per day.

How the router uses it:

    ledger = open_ledger(redis_url, "switchyard:router:")   # in memory when redis_url is empty
    await ledger.start()
    ledger.append(record)              # per request: no I/O, never blocks, never raises
    await ledger.logs(GetSpendLogsRequest(...))       # admin queries (SwitchyardError on a bad
    await ledger.report(GetSpendReportRequest(...))   #  request or an unreachable Redis)
    await ledger.close()               # on shutdown: flushes what it can within close_s

append() puts the record in a bounded buffer; one background writer drains it in batches. A batch
leaves the buffer only once the store acknowledged it: while Redis is down the writer keeps it and
retries with jittered, capped backoff (logging once per outage), and a retried batch counts nothing
twice (writes are idempotent by request_id). Only when the buffer is full are records refused: each
is counted in `dropped` and logged (at most every DROP_LOG_S), because a ledger must not lose a
request silently. The newest record is the one refused, so every record once accepted is written.

With a history (services/router/analytics), each batch written is handed to its copier, which keeps
it in the durable analytics store; /spend/report then reads the store, and /spend/logs the store
and the ledger together (the newest records may not be copied yet, the oldest no longer in Redis).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections import deque
from typing import TYPE_CHECKING

from switchyard.router.v1 import admin_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.governance.ledger_base import (
    LedgerOptions,
    LedgerRecord,
    LedgerStore,
    LedgerUnavailable,
    LogQuery,
    ReportQuery,
    newest_first,
)
from switchyard.services.router.governance.ledger_memory import MemoryLedgerStore
from switchyard.services.router.governance.ledger_redis import RedisLedgerStore

if TYPE_CHECKING:
    from switchyard.services.router.analytics.writer import Copier

log = logging.getLogger(__name__)
DROP_LOG_S = 10.0


class Ledger:
    """Buffers records and writes them to a store (memory or Redis) from one background task.

    Only the event loop's thread may call it.
    """

    def __init__(
        self,
        store: LedgerStore,
        *,
        buffer: int = 100_000,
        options: LedgerOptions | None = None,
        history: Copier | None = None,
    ) -> None:
        if buffer < 1:
            raise ValueError("ledger buffer must hold at least one record")
        self._store = store
        self.history = history
        self._capacity = buffer
        self._options = options or LedgerOptions()
        self._buffer: deque[LedgerRecord] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self._batch = self._options.batch
        self._dropped = 0
        self._drop_logged_at = -DROP_LOG_S
        self._failures = 0
        self._streak = 0
        self._outage_since: float | None = None

    # -- the request path ---------------------------------------------------------------------------

    def append(self, record: LedgerRecord) -> None:
        """Accepts record for writing (stamping time_ms when unset), or counts it dropped when the buffer is full.

        The ledger keeps the record object: do not change it afterwards.
        """
        if self._closed or len(self._buffer) >= self._capacity:
            self._drop()
            return
        if not record.time_ms:
            record.time_ms = time.time_ns() // 1_000_000
        self._buffer.append(record)
        self._wake.set()

    def _drop(self) -> None:
        self._dropped += 1
        now = time.monotonic()
        if now - self._drop_logged_at >= DROP_LOG_S:
            self._drop_logged_at = now
            why = "closed" if self._closed else f"buffer full ({self._capacity} records unwritten)"
            log.error("ledger: record dropped, ledger %s; %d dropped so far", why, self._dropped)

    @property
    def pending(self) -> int:
        """Returns how many accepted records are not written yet (the batch being written included)."""
        return len(self._buffer)

    @property
    def dropped(self) -> int:
        """Returns how many records were refused (buffer full, or appended after close)."""
        return self._dropped

    @property
    def failures(self) -> int:
        """Returns how many batch writes failed (and were retried) so far."""
        return self._failures

    @property
    def degraded(self) -> bool:
        """Returns whether the store is failing writes right now (records wait in the buffer)."""
        return self._outage_since is not None

    # -- queries ------------------------------------------------------------------------------------

    async def logs(self, request: admin_pb2.GetSpendLogsRequest) -> list[LedgerRecord]:
        """Returns written records matching request, newest first (at most its limit; 0 means 1000).

        With a history, the store's records and the ledger's are merged (each request_id once); an
        unreachable ledger then only costs the records not copied yet.
        """
        query = LogQuery.of(request)
        if self.history is None:
            return await self._store.logs(query)
        stored = await self.history.store.logs(query)
        try:
            recent = await self._store.logs(query)
        except SwitchyardError:
            recent = []
        merged = {record.request_id or record.SerializeToString(): record for record in (*stored, *recent)}
        return newest_first(list(merged.values()))[: query.limit]

    async def find(self, request_id: str) -> LedgerRecord | None:
        """Returns the record of one request: still buffered, or written (None when there is none)."""
        for record in reversed(self._buffer):
            if record.request_id == request_id:
                return record
        found = await self.logs(admin_pb2.GetSpendLogsRequest(request_id=request_id, limit=1))
        return found[0] if found else None

    async def report(self, request: admin_pb2.GetSpendReportRequest) -> list[admin_pb2.SpendRow]:
        """Returns the aggregates of written records per UTC day and value of request's dimension (from the
        history when there is one)."""
        query = ReportQuery.of(request)
        if self.history is not None:
            return await self.history.store.report(query)
        return await self._store.report(query)

    # -- the writer ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Starts the background writer (once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ledger-writer")
        if self.history is not None:
            await self.history.start()

    async def _run(self) -> None:
        while True:
            if not self._buffer:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = list(itertools.islice(self._buffer, self._batch))
            try:
                await self._store.write(batch)
            except LedgerUnavailable as exc:
                await self._failed(exc)
                continue
            except Exception as exc:
                # A bug, not an outage: seen in the log with its traceback (once), and the records kept.
                if self._outage_since is None:
                    log.exception("ledger: writing %d records failed", len(batch))
                await self._failed(exc)
                continue
            for _ in batch:
                self._buffer.popleft()
            if self.history is not None:
                self.history.offer(batch)
            self._succeeded()

    async def _failed(self, exc: BaseException) -> None:
        """Notes a failed write and waits out the backoff; a failed batch may have been too big to finish in time."""
        self._failures += 1
        self._streak += 1
        self._batch = max(1, self._batch // 2)
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            log.warning(
                "ledger: write failed (%s: %s); keeping %d records and retrying",
                type(exc).__name__,
                exc,
                len(self._buffer),
            )
        ceiling = min(self._options.retry_max_s, self._options.retry_min_s * 2 ** min(self._streak - 1, 20))
        await asyncio.sleep(random.uniform(ceiling / 2, ceiling))

    def _succeeded(self) -> None:
        self._streak = 0
        self._batch = min(self._options.batch, self._batch * 2)
        if self._outage_since is not None:
            log.warning(
                "ledger: writes succeed again after %.1fs; %d records still to write",
                time.monotonic() - self._outage_since,
                len(self._buffer),
            )
            self._outage_since = None

    async def close(self) -> None:
        """Writes what is buffered within close_s, stops the writer and releases the store.

        Records still unwritten then are lost with the process: logged as an error with their count.
        """
        if self._closed:
            return
        self._closing = True
        self._wake.set()
        if self._task is None and self._buffer:
            await self.start()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=self._options.close_s)
            if not done:
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=1.0)
            self._task = None
        self._closed = True
        if self._buffer:
            log.error("ledger: closed with %d records unwritten (the store did not take them in time)", self.pending)
        if self.history is not None:
            await self.history.close(self._options.close_s)
        await self._store.close()


def open_ledger(
    redis_url: str | None,
    prefix: str,
    *,
    buffer: int = 100_000,
    timeout: float = 0.1,
    options: LedgerOptions | None = None,
    history: Copier | None = None,
) -> Ledger:
    """Returns a ledger (not started) in Redis at redis_url under prefix, or in memory when redis_url is empty,
    handing what it writes to history's copier when given.

    buffer bounds the records waiting to be written; timeout bounds connecting to Redis (a write may
    take up to max(timeout, 0.5 s) before it is retried).
    """
    options = options or LedgerOptions()
    store: LedgerStore
    if redis_url:
        store = RedisLedgerStore(redis_url, prefix, timeout, options)
    else:
        store = MemoryLedgerStore(options.memory_records)
    return Ledger(store, buffer=buffer, options=options, history=history)


__all__ = ["Ledger", "LedgerOptions", "LedgerRecord", "open_ledger"]
