"""The analytics store in PostgreSQL (psycopg 3, async): for compose and Kubernetes, shared by every replica.

Two connections, opened on first use and again after a failure: one for the copier's writes, one
for the admin queries, so a long report never holds up the copy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import psycopg

from switchyard.router.v1 import admin_pb2
from switchyard.runtime.errors import R, SwitchyardError
from switchyard.services.router.analytics.base import (
    Cursor,
    Dialect,
    HistoryUnavailable,
    Judgement,
    StreamId,
    judgement_row,
    row_of,
    rows_to_judgements,
    rows_to_report,
)
from switchyard.services.router.analytics.migrate import migrate
from switchyard.services.router.governance.ledger_base import LedgerRecord, LogQuery, ReportQuery

CONNECT_S = 5
DIALECT = Dialect("%s")


class _Connection:
    """One connection, (re)opened on demand; a statement that fails drops it, the next use opens another."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self._url = url
        self._timeout_s = timeout_s
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self._lock, asyncio.timeout(self._timeout_s):
            conn = await self._open()
            try:
                async with conn.cursor() as cur:
                    await cur.execute(sql, params)
                    return await cur.fetchall()
            except BaseException:
                await self._drop()
                raise

    async def write(self, rows: list[tuple[Any, ...]], cursor: Cursor | None, insert: str = DIALECT.insert) -> int:
        async with self._lock, asyncio.timeout(self._timeout_s):
            conn = await self._open()
            try:
                async with conn.transaction(), conn.cursor() as cur:
                    written = 0
                    await cur.executemany(insert, rows)
                    written = max(cur.rowcount, 0)
                    if cursor is not None:
                        await cur.execute(DIALECT.advance, (cursor.stream, cursor.last.ms, cursor.last.seq))
                return written
            except BaseException:
                await self._drop()
                raise

    async def _open(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self._url, connect_timeout=CONNECT_S, autocommit=True)
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()


class PostgresHistory:
    """The ledger's history in the PostgreSQL database at url."""

    def __init__(self, url: str, *, write_s: float = 10.0, query_s: float = 10.0) -> None:
        self._url = url
        self._writer = _Connection(url, write_s)
        self._reader = _Connection(url, query_s)

    async def migrate(self) -> None:
        await asyncio.to_thread(migrate, self._url)

    async def write(self, records: Sequence[LedgerRecord], cursor: Cursor | None = None) -> int:
        try:
            return await self._writer.write([row_of(record) for record in records], cursor)
        except (psycopg.Error, OSError, TimeoutError) as exc:
            raise HistoryUnavailable(f"postgresql: {type(exc).__name__}: {exc}") from exc

    async def cursor(self, stream: str) -> StreamId | None:
        try:
            rows = await self._writer.run(DIALECT.cursor, (stream,))
        except (psycopg.Error, OSError, TimeoutError) as exc:
            raise HistoryUnavailable(f"postgresql: {type(exc).__name__}: {exc}") from exc
        return StreamId(int(rows[0][0]), int(rows[0][1])) if rows else None

    async def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            return await self._reader.run(sql, params)
        except (psycopg.Error, OSError, TimeoutError) as exc:
            raise SwitchyardError(R.ERROR_REASON_SERVICE_UNAVAILABLE, "the analytics store did not answer") from exc

    async def logs(self, query: LogQuery) -> list[LedgerRecord]:
        sql, params = DIALECT.logs(query)
        return [LedgerRecord.FromString(bytes(row[0])) for row in await self._query(sql, params)]

    async def report(self, query: ReportQuery) -> list[admin_pb2.SpendRow]:
        sql, params = DIALECT.report(query)
        return rows_to_report(await self._query(sql, params))

    async def judge(self, judgements: Sequence[Judgement]) -> int:
        rows = [judgement_row(judgement) for judgement in judgements]
        try:
            return await self._writer.write(rows, None, DIALECT.judge)
        except (psycopg.Error, OSError, TimeoutError) as exc:
            raise HistoryUnavailable(f"postgresql: {type(exc).__name__}: {exc}") from exc

    async def judgements(self, since_ms: int = 0) -> list[Judgement]:
        try:
            rows = await self._reader.run(DIALECT.judgements, (since_ms,))
        except (psycopg.Error, OSError, TimeoutError) as exc:
            raise HistoryUnavailable(f"postgresql: {type(exc).__name__}: {exc}") from exc
        return rows_to_judgements(rows)

    async def close(self) -> None:
        await self._writer.close()
        await self._reader.close()
