"""What the analytics store keeps and the SQL both engines share: rows, the stream cursor, the queries.

One table, ledger_records, holds a row per request_id: the serialized LedgerRecord (what /spend/logs
returns) beside its day, dimensions, counters and amounts as columns (what /spend/report sums). The
figures are the ledger's own (ledger_base.counters/amounts), so a report from the store equals one
from the ledger. ledger_stream_cursor holds, per Redis stream, the last entry id copied; it is
written in the same transaction as the rows, so a restart resumes exactly there. judgements holds the
judge's grades and users' feedback per request, with the deployment and classifier category they
rate (what `switchyard train-router --from-store` refits quality from).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from switchyard.router.v1 import admin_pb2
from switchyard.services.router.governance.ledger_base import (
    DIMENSIONS,
    LedgerRecord,
    LogQuery,
    ReportQuery,
    amounts,
    counters,
    dimension_values,
    spend_row,
    utc_day,
)

# The report's dimension names (ledger_base.DIMENSIONS) as column names.
COLUMNS = {name: ("key_prefix" if name == "key" else name) for name in DIMENSIONS}
ROW_COLUMNS = (
    "request_id",
    "time_ms",
    "day",
    *COLUMNS.values(),
    "errors",
    "cache_hits",
    "failovers",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "saved_usd",
    "record",
)
SUMS = (
    "COUNT(*), SUM(errors), SUM(cache_hits), SUM(failovers), SUM(prompt_tokens), SUM(completion_tokens), "
    "SUM(cost_usd), SUM(saved_usd)"
)


JUDGEMENT_COLUMNS = ("request_id", "kind", "time_ms", "deployment", "category", "score")


@dataclass(frozen=True, slots=True)
class Judgement:
    """One rating of a request's answer: kind "judge" (a grade of 1-10) or "feedback" (a user's), scaled to [0, 1]."""

    request_id: str
    kind: str
    time_ms: int
    deployment: str
    category: str
    score: float


class HistoryUnavailable(Exception):
    """The database did not take a write (or may not have): the batch is kept and retried."""


@dataclass(frozen=True, order=True, slots=True)
class StreamId:
    """A Redis stream entry id ("<ms>-<seq>"), ordered as Redis orders them."""

    ms: int
    seq: int

    @classmethod
    def parse(cls, text: str | bytes) -> StreamId:
        raw = text.decode() if isinstance(text, bytes) else text
        ms, _, seq = raw.partition("-")
        return cls(int(ms), int(seq or 0))

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"


@dataclass(frozen=True, slots=True)
class Cursor:
    """How far a Redis stream has been copied: written with the batch that reached it."""

    stream: str
    last: StreamId


def row_key(record: LedgerRecord) -> str:
    """Returns the record's primary key: its request_id, else a digest of the record (never empty)."""
    if record.request_id:
        return record.request_id
    return "sha256:" + hashlib.sha256(record.SerializeToString(deterministic=True)).hexdigest()


def row_of(record: LedgerRecord) -> tuple[Any, ...]:
    """Returns the record as the values of ROW_COLUMNS."""
    return (
        row_key(record),
        record.time_ms,
        utc_day(record.time_ms),
        *dimension_values(record),
        *counters(record),
        *amounts(record),
        record.SerializeToString(),
    )


class Dialect:
    """The statements of one engine, which differ only in their placeholder."""

    def __init__(self, mark: str) -> None:
        self.mark = mark
        marks = ", ".join([mark] * len(ROW_COLUMNS))
        self.insert = (
            f"INSERT INTO ledger_records ({', '.join(ROW_COLUMNS)}) VALUES ({marks}) "
            "ON CONFLICT (request_id) DO NOTHING"
        )
        # The cursor only moves forward: replicas copying the same stream never move it back.
        self.advance = (
            f"INSERT INTO ledger_stream_cursor (stream, ms, seq) VALUES ({mark}, {mark}, {mark}) "
            "ON CONFLICT (stream) DO UPDATE SET ms = excluded.ms, seq = excluded.seq "
            "WHERE (excluded.ms, excluded.seq) > (ledger_stream_cursor.ms, ledger_stream_cursor.seq)"
        )
        self.cursor = f"SELECT ms, seq FROM ledger_stream_cursor WHERE stream = {mark}"
        judged = ", ".join([mark] * len(JUDGEMENT_COLUMNS))
        self.judge = (
            f"INSERT INTO judgements ({', '.join(JUDGEMENT_COLUMNS)}) VALUES ({judged}) "
            "ON CONFLICT (request_id, kind) DO NOTHING"
        )
        columns = ", ".join(JUDGEMENT_COLUMNS)
        self.judgements = f"SELECT {columns} FROM judgements WHERE time_ms >= {mark} ORDER BY time_ms, request_id"

    def logs(self, query: LogQuery) -> tuple[str, list[Any]]:
        """Returns the statement and parameters of a logs query (newest first, at most its limit)."""
        where: list[str] = []
        params: list[Any] = []
        m = self.mark
        if query.request_id:
            where.append(f"request_id = {m}")
            params.append(query.request_id)
        if query.key_prefix:
            where.append(f"substr(key_prefix, 1, {m}) = {m}")
            params.extend([len(query.key_prefix), query.key_prefix])
        if query.team:
            where.append(f"team = {m}")
            params.append(query.team)
        if query.start_ms:
            where.append(f"time_ms >= {m}")
            params.append(query.start_ms)
        if query.end_ms:
            where.append(f"time_ms <= {m}")
            params.append(query.end_ms)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        params.append(query.limit)
        return f"SELECT record FROM ledger_records{clause} ORDER BY time_ms DESC, request_id LIMIT {m}", params

    def report(self, query: ReportQuery) -> tuple[str, list[Any]]:
        """Returns the statement and parameters of a report query (rows by day, then value)."""
        column = COLUMNS[query.group_by]
        m = self.mark
        sql = (
            f"SELECT day, {column}, {SUMS} FROM ledger_records WHERE day >= {m} AND day <= {m} "
            f"GROUP BY day, {column} ORDER BY day, {column}"
        )
        return sql, [query.days[0], query.days[-1]]


def judgement_row(judgement: Judgement) -> tuple[Any, ...]:
    """Returns the judgement as the values of JUDGEMENT_COLUMNS."""
    j = judgement
    return (j.request_id, j.kind, j.time_ms, j.deployment, j.category, j.score)


def rows_to_judgements(rows: Sequence[Sequence[Any]]) -> list[Judgement]:
    """Returns the Judgements of a judgements query's result rows."""
    return [Judgement(str(r[0]), str(r[1]), int(r[2]), str(r[3]), str(r[4]), float(r[5])) for r in rows]


def rows_to_report(rows: Sequence[Sequence[Any]]) -> list[admin_pb2.SpendRow]:
    """Returns the SpendRows of a report query's result rows."""
    return [spend_row(str(day), str(value), [float(x or 0) for x in tally]) for day, value, *tally in rows]


class HistoryStore(Protocol):
    """The durable store behind /spend/logs and /spend/report: SQLite or PostgreSQL."""

    async def migrate(self) -> None:
        """Brings the schema to the newest version (applies what is missing; safe on every start)."""

    async def write(self, records: Sequence[LedgerRecord], cursor: Cursor | None = None) -> int:
        """Inserts records, skipping request_ids already stored, and moves cursor forward, in one transaction.

        Returns how many records were new; raises HistoryUnavailable when it may not have happened.
        """

    async def cursor(self, stream: str) -> StreamId | None:
        """Returns the last entry id of stream copied (None: nothing yet); raises HistoryUnavailable."""

    async def logs(self, query: LogQuery) -> list[LedgerRecord]:
        """Returns the stored records query matches, newest first."""

    async def report(self, query: ReportQuery) -> list[admin_pb2.SpendRow]:
        """Returns the aggregate rows of query's dimension and days, by day then value."""

    async def judge(self, judgements: Sequence[Judgement]) -> int:
        """Inserts judgements, skipping a (request_id, kind) already stored; returns how many were new.

        Raises HistoryUnavailable when it may not have happened.
        """

    async def judgements(self, since_ms: int = 0) -> list[Judgement]:
        """Returns the judgements made at or after since_ms, oldest first."""

    async def close(self) -> None:
        """Releases the store's connections."""
