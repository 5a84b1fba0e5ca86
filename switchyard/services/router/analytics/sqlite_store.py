"""The analytics store in SQLite (stdlib sqlite3): the embedded default, one file on this machine.

sqlite3 blocks, so every statement runs on a worker thread, one at a time over one connection.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

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

T = TypeVar("T")
BUSY_MS = 5_000
DIALECT = Dialect("?")


class SqliteHistory:
    """The ledger's history in the SQLite file at path (its directory is made when missing)."""

    def __init__(self, path: Path, *, busy_s: float = BUSY_MS / 1000) -> None:
        self.path = path
        self._busy_s = busy_s
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self._busy_s, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._conn = conn
        return self._conn

    async def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        async with self._lock:
            return await asyncio.to_thread(lambda: work(self._connection()))

    async def migrate(self) -> None:
        await asyncio.to_thread(migrate, f"sqlite:///{self.path}")

    async def write(self, records: Sequence[LedgerRecord], cursor: Cursor | None = None) -> int:
        rows = [row_of(record) for record in records]

        def work(conn: sqlite3.Connection) -> int:
            conn.execute("BEGIN IMMEDIATE")
            try:
                before = conn.total_changes
                conn.executemany(DIALECT.insert, rows)
                written = conn.total_changes - before
                if cursor is not None:
                    conn.execute(DIALECT.advance, (cursor.stream, cursor.last.ms, cursor.last.seq))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return written

        try:
            return await self._call(work)
        except sqlite3.Error as exc:
            raise HistoryUnavailable(f"sqlite {self.path}: {exc}") from exc

    async def cursor(self, stream: str) -> StreamId | None:
        try:
            row = await self._call(lambda conn: conn.execute(DIALECT.cursor, (stream,)).fetchone())
        except sqlite3.Error as exc:
            raise HistoryUnavailable(f"sqlite {self.path}: {exc}") from exc
        return None if row is None else StreamId(int(row[0]), int(row[1]))

    async def logs(self, query: LogQuery) -> list[LedgerRecord]:
        sql, params = DIALECT.logs(query)
        try:
            rows = await self._call(lambda conn: conn.execute(sql, params).fetchall())
        except sqlite3.Error as exc:
            raise SwitchyardError(R.ERROR_REASON_SERVICE_UNAVAILABLE, "the analytics store did not answer") from exc
        return [LedgerRecord.FromString(bytes(row[0])) for row in rows]

    async def report(self, query: ReportQuery) -> list[admin_pb2.SpendRow]:
        sql, params = DIALECT.report(query)
        try:
            rows = await self._call(lambda conn: conn.execute(sql, params).fetchall())
        except sqlite3.Error as exc:
            raise SwitchyardError(R.ERROR_REASON_SERVICE_UNAVAILABLE, "the analytics store did not answer") from exc
        return rows_to_report(rows)

    async def judge(self, judgements: Sequence[Judgement]) -> int:
        rows = [judgement_row(judgement) for judgement in judgements]

        def work(conn: sqlite3.Connection) -> int:
            before = conn.total_changes
            with conn:
                conn.executemany(DIALECT.judge, rows)
            return conn.total_changes - before

        try:
            return await self._call(work)
        except sqlite3.Error as exc:
            raise HistoryUnavailable(f"sqlite {self.path}: {exc}") from exc

    async def judgements(self, since_ms: int = 0) -> list[Judgement]:
        try:
            rows = await self._call(lambda conn: conn.execute(DIALECT.judgements, (since_ms,)).fetchall())
        except sqlite3.Error as exc:
            raise HistoryUnavailable(f"sqlite {self.path}: {exc}") from exc
        return rows_to_judgements(rows)

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
