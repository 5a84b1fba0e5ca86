"""The in-process ledger store: the embedded default's, with the Redis store's rules (and the unit tests')."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from switchyard.router.v1 import admin_pb2
from switchyard.services.router.governance.ledger_base import (
    DIMENSIONS,
    METRICS,
    LedgerRecord,
    LogQuery,
    ReportQuery,
    amounts,
    counters,
    dimension_values,
    newest_first,
    spend_row,
    utc_day,
)


class MemoryLedgerStore:
    """Keeps the last max_records records and every day's aggregates in this process.

    A request_id is remembered (and written again is skipped) while its record is kept. Only the
    event loop's thread may use it.
    """

    def __init__(self, max_records: int) -> None:
        self._records: deque[LedgerRecord] = deque()
        self._max = max_records
        self._seen: set[str] = set()
        # (day, dimension) -> value -> tally in METRICS order.
        self._tallies: dict[tuple[str, str], dict[str, list[float]]] = {}

    async def write(self, records: Sequence[LedgerRecord]) -> int:
        written = 0
        for record in records:
            if record.request_id:
                if record.request_id in self._seen:
                    continue
                self._seen.add(record.request_id)
            self._keep(record)
            self._tally(record)
            written += 1
        return written

    def _keep(self, record: LedgerRecord) -> None:
        if len(self._records) >= self._max:
            self._seen.discard(self._records.popleft().request_id)
        self._records.append(record)

    def _tally(self, record: LedgerRecord) -> None:
        day = utc_day(record.time_ms)
        added = (1, *counters(record), *amounts(record))
        for dimension, value in zip(DIMENSIONS, dimension_values(record), strict=True):
            values = self._tallies.setdefault((day, dimension), {})
            tally = values.get(value)
            if tally is None:
                tally = values[value] = [0.0] * len(METRICS)
            for index, amount in enumerate(added):
                tally[index] += amount

    async def logs(self, query: LogQuery) -> list[LedgerRecord]:
        found: list[LedgerRecord] = []
        for record in reversed(self._records):
            if query.matches(record):
                found.append(record)
                if len(found) >= query.limit:
                    break
        return newest_first(found)

    async def report(self, query: ReportQuery) -> list[admin_pb2.SpendRow]:
        rows: list[admin_pb2.SpendRow] = []
        for day in query.days:
            values = self._tallies.get((day, query.group_by), {})
            rows.extend(spend_row(day, value, values[value]) for value in sorted(values))
        return rows

    async def close(self) -> None:
        return None
