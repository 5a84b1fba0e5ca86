"""The cost ledger against a real Redis: one record per request, aggregates that agree, nothing lost in outages."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Iterable
from typing import cast

import pytest
import redis

from switchyard.router.v1 import admin_pb2
from switchyard.runtime.errors import R, SwitchyardError
from switchyard.services.router.governance.ledger import Ledger, LedgerOptions, open_ledger
from switchyard.services.router.governance.ledger_base import LedgerRecord
from tests.redis_support import throwaway_redis, unique_prefix
from tests.support import wait_until

pytestmark = pytest.mark.mesh

# Retries come quickly, so an outage's end is noticed within a fraction of a second.
FAST = LedgerOptions(retry_min_s=0.02, retry_max_s=0.2, close_s=10)


def make(name: str, n: int) -> LedgerRecord:
    return LedgerRecord(
        time_ms=int(time.time() * 1000),
        request_id=f"{name}-{n}",
        key_prefix=f"sk-sy-k{n % 3}",
        team=f"team-{n % 4}",
        app="app",
        feature="f" if n % 2 else "",
        alias="auto",
        deployment_id=f"dep-{n % 5}",
        provider="openai",
        model=f"model-{n % 5}",
        prompt_tokens=10 + n % 50,
        completion_tokens=5 + n % 20,
        cost_usd=0.000013 * (1 + n % 11),
        cache="hit" if n % 10 == 0 else "miss",
        status="ok" if n % 9 else "upstream_unavailable",
        failovers=n % 2,
    )


def stream_ids(url: str, prefix: str) -> list[str]:
    """Returns the request_id of every record in the ledger's stream, read straight from Redis."""
    client = redis.Redis.from_url(url)
    try:
        entries = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(f"{prefix}{{ledger}}"))
    finally:
        client.close()
    return [LedgerRecord.FromString(fields[b"pb"]).request_id for _, fields in entries]


async def totals(ledger: Ledger, group_by: str = "model") -> tuple[int, int, float]:
    """Returns (requests, errors, cost) summed over the report's rows of the last 30 days."""
    rows = await ledger.report(admin_pb2.GetSpendReportRequest(group_by=group_by))
    return sum(r.requests for r in rows), sum(r.errors for r in rows), sum(r.cost_usd for r in rows)


def expected(records: Iterable[LedgerRecord]) -> tuple[int, int, float]:
    kept = list(records)
    return len(kept), sum(r.status != "ok" for r in kept), sum(r.cost_usd for r in kept)


@pytest.fixture
async def ledger(redis_url: str, redis_prefix: str) -> AsyncIterator[Ledger]:
    opened = open_ledger(redis_url, redis_prefix, options=FAST)
    await opened.start()
    yield opened
    await opened.close()


async def test_queries_read_what_was_written(ledger: Ledger, redis_url: str, redis_prefix: str) -> None:
    records = [make("q", n) for n in range(40)]
    for record in records:
        ledger.append(record)
    await wait_until(lambda: ledger.pending == 0, timeout=10, what="the batch to be written")

    logs = await ledger.logs(admin_pb2.GetSpendLogsRequest(team="team-1", limit=5))
    assert [r.request_id for r in logs] == [f"q-{n}" for n in (37, 33, 29, 25, 21)]
    assert (await ledger.logs(admin_pb2.GetSpendLogsRequest(request_id="q-7"))) == [records[7]]
    requests, errors, cost = await totals(ledger, "team")
    assert (requests, errors) == expected(records)[:2]
    assert cost == pytest.approx(expected(records)[2], rel=1e-9)
    day = dt.datetime.now(dt.UTC).date().isoformat()
    rows = await ledger.report(admin_pb2.GetSpendReportRequest(group_by="feature", start_day=day, end_day=day))
    assert [(row.value, row.requests) for row in rows] == [("", 20), ("f", 20)]
    assert sorted(stream_ids(redis_url, redis_prefix)) == sorted(r.request_id for r in records)


async def test_a_rewritten_batch_counts_nothing_twice(ledger: Ledger, redis_url: str, redis_prefix: str) -> None:
    records = [make("dup", n) for n in range(25)]
    for record in records:
        ledger.append(record)
    await wait_until(lambda: ledger.pending == 0, timeout=10, what="the batch to be written")
    # A second replica (or a retry after an unanswered write) sends the same requests again.
    again = open_ledger(redis_url, redis_prefix, options=FAST)
    for record in records[10:]:
        again.append(record)
    again.append(make("dup", 99))
    await again.close()

    assert again.pending == 0
    assert sorted(stream_ids(redis_url, redis_prefix)) == sorted([r.request_id for r in records] + ["dup-99"])
    assert (await totals(ledger))[:2] == expected([*records, make("dup", 99)])[:2]


async def test_records_survive_a_redis_restart_in_the_middle_of_a_load() -> None:
    prefix, clients, per_client = unique_prefix("ledger-restart"), 40, 50
    with throwaway_redis(persist=True) as server:
        assert redis.Redis.from_url(server.url).config_get("appendonly") == {"appendonly": "yes"}
        ledger = open_ledger(server.url, prefix, options=FAST)
        await ledger.start()
        down = asyncio.Event()
        appended: list[LedgerRecord] = []

        async def client(c: int) -> None:
            for n in range(per_client):
                if n == per_client // 2:
                    await down.wait()  # the second half arrives while Redis is down
                record = make(f"c{c}", n)
                ledger.append(record)
                appended.append(record)
                await asyncio.sleep(0)

        load = [asyncio.create_task(client(c)) for c in range(clients)]
        await wait_until(lambda: len(stream_ids(server.url, prefix)) > 0, timeout=10, what="the first writes")
        await asyncio.to_thread(server.stop)  # SIGKILL, whatever the writer is doing
        down.set()
        await asyncio.gather(*load)
        await wait_until(lambda: ledger.degraded, timeout=10, what="the writer to notice the outage")
        assert ledger.pending > 0
        await asyncio.to_thread(server.start)
        await ledger.close()

        assert (len(appended), ledger.pending, ledger.dropped) == (clients * per_client, 0, 0)
        ids = stream_ids(server.url, prefix)
        assert len(ids) == len(set(ids)) == len(appended)
        reader = open_ledger(server.url, prefix)
        try:
            for dimension in ("model", "team", "key"):
                requests, errors, cost = await totals(reader, dimension)
                assert (requests, errors) == expected(appended)[:2]
                assert cost == pytest.approx(expected(appended)[2], rel=1e-9)
        finally:
            await reader.close()


async def test_an_outage_of_many_batch_intervals_loses_nothing() -> None:
    prefix = unique_prefix("ledger-outage")
    with throwaway_redis() as server:
        ledger = open_ledger(server.url, prefix, options=FAST)
        await ledger.start()
        ledger.append(make("o", 0))
        await wait_until(lambda: ledger.pending == 0, timeout=10, what="the first write")
        await asyncio.to_thread(server.stop)
        records = [make("o", n) for n in range(1, 501)]
        for record in records:
            ledger.append(record)
        await wait_until(lambda: ledger.failures >= 6, timeout=20, what="several failed write attempts")
        assert (ledger.degraded, ledger.pending) == (True, 500)

        started = time.monotonic()
        with pytest.raises(SwitchyardError) as caught:
            await ledger.logs(admin_pb2.GetSpendLogsRequest())
        assert caught.value.reason == R.ERROR_REASON_SERVICE_UNAVAILABLE
        assert time.monotonic() - started < FAST.query_s + 1

        await asyncio.to_thread(server.start)  # empty: it kept nothing
        await wait_until(lambda: ledger.pending == 0, timeout=15, what="the buffer to be written after the outage")
        assert not ledger.degraded
        assert sorted(stream_ids(server.url, prefix)) == sorted(r.request_id for r in records)
        assert (await totals(ledger))[:2] == expected(records)[:2]
        await ledger.close()


# Keeps Redis busy for ARGV[1] seconds: every client waits, as behind a slow command.
BUSY = (
    "local t = redis.call('TIME') local stop = t[1] * 1000000 + t[2] + tonumber(ARGV[1]) * 1000000 "
    "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= stop return 1"
)


def unanswered(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=0.05, socket_connect_timeout=0.05)
    try:
        client.ping()
        return False
    except (redis.RedisError, OSError):
        return True
    finally:
        client.close()


async def test_a_write_that_timed_out_but_happened_is_not_counted_twice() -> None:
    prefix = unique_prefix("ledger-late")
    with throwaway_redis() as server:
        ledger = open_ledger(server.url, prefix, options=FAST)
        await ledger.start()
        records = [make("late", n) for n in range(30)]
        ledger.append(records[0])  # connected: the next write reaches Redis, then waits for it
        await wait_until(lambda: ledger.pending == 0, timeout=10, what="the first write")
        blocker = redis.Redis.from_url(server.url)
        busy = asyncio.create_task(asyncio.to_thread(blocker.eval, BUSY, 0, "1.5"))
        await wait_until(lambda: asyncio.to_thread(unanswered, server.url), timeout=10, what="Redis to be busy")
        for record in records[1:]:
            ledger.append(record)
        # The writes sent meanwhile time out; Redis runs each of them once it is free again.
        await wait_until(lambda: ledger.failures >= 1, timeout=10, what="a write to time out")
        await busy
        blocker.close()
        await wait_until(lambda: ledger.pending == 0, timeout=15, what="the retried write")
        await ledger.close()

        ids = stream_ids(server.url, prefix)
        assert sorted(ids) == sorted(r.request_id for r in records)
        assert (await totals_of(server.url, prefix))[:2] == expected(records)[:2]


async def totals_of(url: str, prefix: str) -> tuple[int, int, float]:
    reader = open_ledger(url, prefix)
    try:
        return await totals(reader)
    finally:
        await reader.close()
