"""What the cost ledger keeps and how it is asked: dimensions, per-record tallies, queries, the store contract.

Both stores (memory, Redis) aggregate every record into one tally per UTC day, dimension and value,
and answer the same normalised queries, so the admin API reads the same from either.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from switchyard.router.v1 import admin_pb2
from switchyard.runtime.errors import R, SwitchyardError

LedgerRecord = admin_pb2.LedgerRecord

# The report's grouping dimensions, in the order stores keep them.
DIMENSIONS = ("model", "deployment", "provider", "team", "app", "feature", "key")
# A tally's integer counters after `requests` (which is 1 per record), then its two sums in USD.
COUNTERS = ("errors", "cache_hits", "failovers", "prompt_tokens", "completion_tokens")
AMOUNTS = ("cost_usd", "saved_usd")
METRICS = ("requests", *COUNTERS, *AMOUNTS)
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True, slots=True)
class LedgerOptions:
    """How the ledger buffers, writes and keeps records; the defaults suit production."""

    # batch is the most records one write carries (a write that times out halves it, success doubles it back).
    batch: int = 256
    # max_records bounds the Redis stream (approximately: MAXLEN ~); memory_records the in-process store.
    max_records: int = 1_000_000
    memory_records: int = 100_000
    # dedupe_s: how long a written request_id is remembered, so a retried write of it is skipped.
    # A retry happens only while a replica holds the record unacknowledged; a day outlasts any outage
    # a buffer rides out, at a fraction of the memory "forever" would take.
    dedupe_s: int = 86_400
    # retention_days: how long a day's aggregates stay after their last write.
    retention_days: int = 400
    # close_s bounds the final flush; retry_min_s / retry_max_s the jittered backoff while Redis is down.
    close_s: float = 5.0
    retry_min_s: float = 0.05
    retry_max_s: float = 2.0
    # scan_limit bounds how many stream entries one logs query reads.
    scan_limit: int = 100_000
    # query_s bounds one admin query against Redis.
    query_s: float = 5.0

    def __post_init__(self) -> None:
        if self.batch < 1 or self.max_records < 1 or self.memory_records < 1 or self.scan_limit < 1:
            raise ValueError("ledger batch, max_records, memory_records and scan_limit must be positive")
        if self.dedupe_s < 1 or self.retention_days < 1:
            raise ValueError("ledger dedupe_s and retention_days must be positive")
        if not 0 < self.retry_min_s <= self.retry_max_s:
            raise ValueError("ledger retry_min_s must be positive and at most retry_max_s")


class LedgerUnavailable(Exception):
    """The store did not answer a write in time (or failed it): the batch stays buffered and is retried."""


def utc_day(time_ms: int) -> str:
    """Returns the UTC day ("YYYY-MM-DD") of a Unix time in milliseconds."""
    return dt.datetime.fromtimestamp(time_ms / 1000, dt.UTC).strftime("%Y-%m-%d")


def dimension_values(record: LedgerRecord) -> tuple[str, ...]:
    """Returns the record's value for each of DIMENSIONS."""
    return (
        record.model,
        record.deployment_id,
        record.provider,
        record.team,
        record.app,
        record.feature,
        record.key_prefix,
    )


def _finite(value: float) -> float:
    # A NaN or infinite cost would poison every sum it joins (and Redis refuses to add it).
    return value if math.isfinite(value) else 0.0


def counters(record: LedgerRecord) -> tuple[int, int, int, int, int]:
    """Returns what the record adds to each of COUNTERS."""
    return (
        int(record.status != "ok"),
        int(record.cache == "hit"),
        max(record.failovers, 0),
        max(record.prompt_tokens, 0),
        max(record.completion_tokens, 0),
    )


def amounts(record: LedgerRecord) -> tuple[float, float]:
    """Returns what the record adds to each of AMOUNTS (non-finite figures count as 0)."""
    return _finite(record.cost_usd), _finite(record.saved_usd)


@dataclass(frozen=True, slots=True)
class LogQuery:
    """A normalised GetSpendLogsRequest: empty fields do not filter; start and end are inclusive."""

    request_id: str = ""
    key_prefix: str = ""
    team: str = ""
    start_ms: int = 0
    end_ms: int = 0
    limit: int = DEFAULT_LIMIT

    @classmethod
    def of(cls, request: admin_pb2.GetSpendLogsRequest) -> LogQuery:
        limit = DEFAULT_LIMIT if request.limit <= 0 else min(request.limit, MAX_LIMIT)
        return cls(request.request_id, request.key_prefix, request.team, request.start_ms, request.end_ms, limit)

    def matches(self, record: LedgerRecord) -> bool:
        """Returns whether record passes every filter; key_prefix matches any key that starts with it."""
        if self.request_id and record.request_id != self.request_id:
            return False
        if self.key_prefix and not record.key_prefix.startswith(self.key_prefix):
            return False
        if self.team and record.team != self.team:
            return False
        if self.start_ms and record.time_ms < self.start_ms:
            return False
        return not (self.end_ms and record.time_ms > self.end_ms)


def newest_first(records: list[LedgerRecord]) -> list[LedgerRecord]:
    """Returns records ordered by their time, newest first (ties keep the order they came in)."""
    return sorted(records, key=lambda record: -record.time_ms)


def _parse_day(text: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise SwitchyardError(
            R.ERROR_REASON_INVALID_REQUEST, f"{field} must be a YYYY-MM-DD day", param=field
        ) from None


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """A normalised GetSpendReportRequest: one dimension over a range of whole UTC days."""

    group_by: str
    days: tuple[str, ...]

    @classmethod
    def of(cls, request: admin_pb2.GetSpendReportRequest, today: dt.date | None = None) -> ReportQuery:
        """Returns the query; group_by defaults to "model", the range to the last 30 days up to today (UTC).

        Raises SwitchyardError(INVALID_REQUEST) for an unknown dimension, a malformed day, an end
        before the start or a range longer than MAX_DAYS.
        """
        group_by = request.group_by or "model"
        if group_by not in DIMENSIONS:
            raise SwitchyardError(
                R.ERROR_REASON_INVALID_REQUEST, f"group_by must be one of {', '.join(DIMENSIONS)}", param="group_by"
            )
        today = today or dt.datetime.now(dt.UTC).date()
        end = _parse_day(request.end_day, "end_day") if request.end_day else today
        start = (
            _parse_day(request.start_day, "start_day")
            if request.start_day
            else end - dt.timedelta(days=DEFAULT_DAYS - 1)
        )
        if end < start:
            raise SwitchyardError(R.ERROR_REASON_INVALID_REQUEST, "end_day is before start_day", param="end_day")
        count = (end - start).days + 1
        if count > MAX_DAYS:
            raise SwitchyardError(
                R.ERROR_REASON_INVALID_REQUEST, f"a report spans at most {MAX_DAYS} days", param="start_day"
            )
        return cls(group_by, tuple((start + dt.timedelta(days=n)).isoformat() for n in range(count)))


def spend_row(day: str, value: str, tally: Sequence[float]) -> admin_pb2.SpendRow:
    """Returns the SpendRow of one day and value from its tally (in METRICS order)."""
    requests, errors, hits, failovers, prompt, completion, cost, saved = tally
    return admin_pb2.SpendRow(
        day=day,
        value=value,
        requests=int(requests),
        errors=int(errors),
        cache_hits=int(hits),
        failovers=int(failovers),
        prompt_tokens=int(prompt),
        completion_tokens=int(completion),
        cost_usd=float(cost),
        saved_usd=float(saved),
    )


class LedgerStore(Protocol):
    """Where written records live: the in-process store or Redis."""

    async def write(self, records: Sequence[LedgerRecord]) -> int:
        """Writes records with their aggregates, skipping request_ids already written; returns how many were new.

        Raises LedgerUnavailable when the write may not have happened; writing the same records
        again is then safe (and exact).
        """

    async def logs(self, query: LogQuery) -> list[LedgerRecord]:
        """Returns the records query matches, newest first."""

    async def report(self, query: ReportQuery) -> list[admin_pb2.SpendRow]:
        """Returns the aggregate rows of query's dimension and days, by day then value."""

    async def close(self) -> None:
        """Releases the store's connections."""
