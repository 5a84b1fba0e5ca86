"""The ledger in Redis: a stream of records and per-day aggregates, written together by one Lua script per batch.

Keys (one hash tag, so one Redis Cluster slot holds the ledger and a batch stays atomic):
    <prefix>{ledger}                          stream; entry field "pb" = the serialized LedgerRecord
    <prefix>{ledger}:seen:<hour>              set of request_ids written, per hour of their time_ms
    <prefix>{ledger}:day:<YYYY-MM-DD>:<dim>   hash "<metric>:<value>" -> sum (metric has no ':')

A record's XADD, its request_id's dedupe entry and its aggregate increments happen in one script, so
records and aggregates always agree, and a batch written again after an unanswered attempt (Redis may
have applied it) adds nothing twice. Every input is checked before the script runs: a script that
fails half way would leave half its writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

from switchyard.redisutil import FAILURES, Scripts, new_client
from switchyard.router.v1 import admin_pb2
from switchyard.runtime.errors import R, SwitchyardError
from switchyard.services.router.governance.ledger_base import (
    METRICS,
    LedgerOptions,
    LedgerRecord,
    LedgerUnavailable,
    LogQuery,
    ReportQuery,
    amounts,
    counters,
    dimension_values,
    newest_first,
    spend_row,
    utc_day,
)

# A write is off the request path: it may take this long (or `timeout`, if longer) before it counts as failed.
MIN_WRITE_S = 0.5
# Stream ids are Redis's clock at write time, never earlier than the record's own time (up to clock
# skew): a logs query from start_ms reads back to this much before it.
SKEW_MS = 300_000
PAGE = 500
HOUR_MS = 3_600_000
Page = list[tuple[bytes, dict[bytes, bytes]]]
_INDEX = {metric: index for index, metric in enumerate(METRICS)}

# KEYS stream; ARGV base maxlen dedupe_s keep_s, then per record (STRIDE values): request_id hour pb day
# model deployment provider team app feature key errors cache_hits failovers prompt completion cost saved
# -> how many records were new
WRITE = """
local stream, base = KEYS[1], ARGV[1]
local maxlen, dedupe, keep = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local DIMS = {'model', 'deployment', 'provider', 'team', 'app', 'feature', 'key'}
local COUNTERS = {'errors', 'cache_hits', 'failovers', 'prompt_tokens', 'completion_tokens'}
local AMOUNTS = {'cost_usd', 'saved_usd'}
local STRIDE = 18
local seen_sets, tallies = {}, {}
local written = 0
for i = 5, #ARGV, STRIDE do
  local fresh = true
  if ARGV[i] ~= '' then
    local seen = base .. ':seen:' .. ARGV[i + 1]
    seen_sets[seen] = true
    fresh = redis.call('SADD', seen, ARGV[i]) == 1
  end
  if fresh then
    redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'pb', ARGV[i + 2])
    for d = 1, #DIMS do
      local key = base .. ':day:' .. ARGV[i + 3] .. ':' .. DIMS[d]
      local value = ARGV[i + 3 + d]
      tallies[key] = true
      redis.call('HINCRBY', key, 'requests:' .. value, 1)
      for c = 1, #COUNTERS do
        local n = ARGV[i + 10 + c]
        if n ~= '0' then redis.call('HINCRBY', key, COUNTERS[c] .. ':' .. value, n) end
      end
      for a = 1, #AMOUNTS do
        local x = ARGV[i + 15 + a]
        if tonumber(x) ~= 0 then redis.call('HINCRBYFLOAT', key, AMOUNTS[a] .. ':' .. value, x) end
      end
    end
    written = written + 1
  end
end
for key in pairs(seen_sets) do redis.call('EXPIRE', key, dedupe) end
for key in pairs(tallies) do redis.call('EXPIRE', key, keep) end
return written
"""


def write_args(record: LedgerRecord) -> list[str | bytes]:
    """Returns the script's STRIDE arguments for one record."""
    return [
        record.request_id,
        str(record.time_ms // HOUR_MS),
        record.SerializeToString(),
        utc_day(record.time_ms),
        *dimension_values(record),
        *(str(n) for n in counters(record)),
        *(repr(x) for x in amounts(record)),
    ]


def stream_key(prefix: str) -> str:
    """Returns the key of the ledger's stream under prefix (the analytics copier reads it too)."""
    return f"{prefix}{{ledger}}"


class RedisLedgerStore:
    """The ledger's records and aggregates in the Redis at url, under prefix."""

    def __init__(self, url: str, prefix: str, timeout: float, options: LedgerOptions) -> None:
        self._client = new_client(url, timeout, read_timeout_s=max(options.query_s, timeout), max_connections=8)
        self._lua = Scripts(self._client, (WRITE,))
        self._base = stream_key(prefix)
        self._write_s = max(timeout, MIN_WRITE_S)
        self._options = options

    async def write(self, records: Sequence[LedgerRecord]) -> int:
        options = self._options
        args: list[Any] = [self._base, options.max_records, options.dedupe_s, options.retention_days * 86_400]
        for record in records:
            args.extend(write_args(record))
        try:
            async with asyncio.timeout(self._write_s):
                return int(await self._lua.one(WRITE, [self._base], args))
        except FAILURES as exc:
            raise LedgerUnavailable(str(exc) or f"no answer within {self._write_s}s") from exc

    async def logs(self, query: LogQuery) -> list[LedgerRecord]:
        try:
            async with asyncio.timeout(self._options.query_s):
                return newest_first(await self._scan(query))
        except FAILURES as exc:
            raise SwitchyardError(R.ERROR_REASON_SERVICE_UNAVAILABLE, "the ledger's Redis did not answer") from exc

    async def _scan(self, query: LogQuery) -> list[LedgerRecord]:
        """Returns matching records, reading the stream newest first, at most scan_limit entries."""
        found: list[LedgerRecord] = []
        upper = "+"
        lower = str(max(query.start_ms - SKEW_MS, 0)) if query.start_ms else "-"
        scanned = 0
        while scanned < self._options.scan_limit:
            count = min(PAGE, self._options.scan_limit - scanned)
            page = cast(Page, await self._client.xrevrange(self._base, max=upper, min=lower, count=count))
            for _, fields in page:
                record = LedgerRecord.FromString(fields[b"pb"])
                if query.matches(record):
                    found.append(record)
                    if len(found) >= query.limit:
                        return found
            scanned += len(page)
            if len(page) < count:
                break
            upper = "(" + page[-1][0].decode()
        return found

    async def report(self, query: ReportQuery) -> list[admin_pb2.SpendRow]:
        pipe = self._client.pipeline(transaction=False)
        for day in query.days:
            pipe.hgetall(f"{self._base}:day:{day}:{query.group_by}")
        try:
            async with asyncio.timeout(self._options.query_s):
                replies = await pipe.execute()
        except FAILURES as exc:
            raise SwitchyardError(R.ERROR_REASON_SERVICE_UNAVAILABLE, "the ledger's Redis did not answer") from exc
        rows: list[admin_pb2.SpendRow] = []
        for day, fields in zip(query.days, replies, strict=True):
            tallies: dict[str, list[float]] = {}
            for field, raw in fields.items():
                metric, _, value = field.decode(errors="replace").partition(":")
                index = _INDEX.get(metric)
                if index is not None:
                    tallies.setdefault(value, [0.0] * len(METRICS))[index] = float(raw)
            rows.extend(spend_row(day, value, tallies[value]) for value in sorted(tallies))
        return rows

    async def close(self) -> None:
        await self._client.aclose()
