"""The cost ledger in memory: buffering, queries, aggregates, idempotency and the CSV export."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from switchyard.router.v1 import admin_pb2
from switchyard.runtime.errors import R, SwitchyardError
from switchyard.services.router.governance.ledger import Ledger, LedgerOptions, open_ledger
from switchyard.services.router.governance.ledger_base import DIMENSIONS, LedgerRecord, dimension_values
from tests.support import wait_until

DAY_MS = 86_400_000
NOW_MS = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
TODAY = dt.datetime.now(dt.UTC).date()


def make(n: int, **fields: object) -> LedgerRecord:
    """Returns a varied record: five models over three teams, every seventh an error, every fifth a cache hit."""
    hit = n % 5 == 0
    record = LedgerRecord(
        time_ms=NOW_MS - 1000 + n,
        request_id=f"req-{n}",
        key_prefix=f"sk-sy-key{n % 4}",
        team=f"team-{n % 3}",
        app="billing" if n % 2 else "search",
        feature="summarize" if n % 3 else "",
        alias="auto",
        deployment_id=f"dep-{n % 5}",
        provider="openai" if n % 5 < 3 else "anthropic",
        model=f"model-{n % 5}",
        prompt_tokens=100 + n,
        completion_tokens=0 if hit else 20 + n,
        cost_usd=0.0 if hit else 0.0001 * (n + 1),
        saved_usd=0.0003 if hit else 0.0,
        cache="hit" if hit else "miss",
        status="upstream_timeout" if n % 7 == 3 else "ok",
        failovers=n % 3,
        attempts=1 + n % 3,
    )
    for name, value in fields.items():
        setattr(record, name, value)
    return record


async def flushed(ledger: Ledger) -> None:
    await wait_until(lambda: ledger.pending == 0, timeout=10, what="the ledger to write its buffer")


@pytest.fixture
async def ledger() -> AsyncIterator[Ledger]:
    started = open_ledger(None, "")
    await started.start()
    yield started
    await started.close()


async def test_logs_are_newest_first_and_filtered(ledger: Ledger) -> None:
    records = [make(n) for n in range(30)]
    for record in records:
        ledger.append(record)
    await flushed(ledger)

    everything = await ledger.logs(admin_pb2.GetSpendLogsRequest())
    assert [r.request_id for r in everything] == [f"req-{n}" for n in reversed(range(30))]
    team = await ledger.logs(admin_pb2.GetSpendLogsRequest(team="team-1"))
    assert [r.request_id for r in team] == [f"req-{n}" for n in reversed(range(30)) if n % 3 == 1]
    one = await ledger.logs(admin_pb2.GetSpendLogsRequest(request_id="req-17"))
    assert one == [records[17]]
    keyed = await ledger.logs(admin_pb2.GetSpendLogsRequest(key_prefix="sk-sy-key2", limit=3))
    assert [r.request_id for r in keyed] == ["req-26", "req-22", "req-18"]
    window = await ledger.logs(admin_pb2.GetSpendLogsRequest(start_ms=NOW_MS - 1000 + 10, end_ms=NOW_MS - 1000 + 12))
    assert [r.request_id for r in window] == ["req-12", "req-11", "req-10"]


async def test_logs_return_a_thousand_records_unless_asked_otherwise(ledger: Ledger) -> None:
    for n in range(1200):
        ledger.append(make(n))
    await flushed(ledger)
    assert len(await ledger.logs(admin_pb2.GetSpendLogsRequest())) == 1000
    assert len(await ledger.logs(admin_pb2.GetSpendLogsRequest(limit=1100))) == 1100


async def test_report_rows_are_the_sums_of_the_records(ledger: Ledger) -> None:
    records = [make(n) for n in range(60)]
    # Ten of them happened yesterday (UTC): they belong to yesterday's rows.
    for record in records[:10]:
        record.time_ms -= DAY_MS
    for record in records:
        ledger.append(record)
    await flushed(ledger)

    for index, dimension in enumerate(DIMENSIONS):
        rows = await ledger.report(admin_pb2.GetSpendReportRequest(group_by=dimension))
        expected: dict[tuple[str, str], list[float]] = {}
        for record in records:
            day = dt.datetime.fromtimestamp(record.time_ms / 1000, dt.UTC).date().isoformat()
            sums = expected.setdefault((day, dimension_values(record)[index]), [0.0] * 8)
            figures = (
                1,
                record.status != "ok",
                record.cache == "hit",
                record.failovers,
                record.prompt_tokens,
                record.completion_tokens,
                record.cost_usd,
                record.saved_usd,
            )
            for position, figure in enumerate(figures):
                sums[position] += figure
        assert [(row.day, row.value) for row in rows] == sorted(expected), dimension
        for row in rows:
            sums = expected[(row.day, row.value)]
            assert (row.requests, row.errors, row.cache_hits, row.failovers) == tuple(int(s) for s in sums[:4])
            assert (row.prompt_tokens, row.completion_tokens) == (int(sums[4]), int(sums[5]))
            assert row.cost_usd == pytest.approx(sums[6], abs=1e-12)
            assert row.saved_usd == pytest.approx(sums[7], abs=1e-12)
    totals = await ledger.report(admin_pb2.GetSpendReportRequest(group_by="team"))
    assert sum(row.requests for row in totals) == 60
    assert sum(row.errors for row in totals) == sum(1 for r in records if r.status != "ok") > 0


async def test_a_request_is_recorded_once_however_often_it_is_appended(ledger: Ledger) -> None:
    first = make(1, cost_usd=0.5)
    ledger.append(first)
    await flushed(ledger)
    ledger.append(make(1, cost_usd=0.5))
    ledger.append(make(2))
    ledger.append(make(2))
    await flushed(ledger)

    assert [r.request_id for r in await ledger.logs(admin_pb2.GetSpendLogsRequest())] == ["req-2", "req-1"]
    rows = await ledger.report(admin_pb2.GetSpendReportRequest(group_by="model"))
    assert sum(row.requests for row in rows) == 2
    assert sum(row.cost_usd for row in rows) == pytest.approx(0.5 + make(2).cost_usd)


async def test_a_full_buffer_refuses_new_records_and_counts_them() -> None:
    ledger = open_ledger(None, "", buffer=3)
    for n in range(5):
        ledger.append(make(n))
    assert (ledger.pending, ledger.dropped) == (3, 2)

    await ledger.start()
    await flushed(ledger)
    written = await ledger.logs(admin_pb2.GetSpendLogsRequest())
    assert [r.request_id for r in written] == ["req-2", "req-1", "req-0"]
    ledger.append(make(9))
    await flushed(ledger)
    assert ledger.dropped == 2
    await ledger.close()


async def test_close_writes_the_buffer_and_later_records_are_dropped() -> None:
    ledger = open_ledger(None, "", options=LedgerOptions(close_s=5))
    for n in range(10):
        ledger.append(make(n))
    await ledger.close()
    assert ledger.pending == 0
    assert len(await ledger.logs(admin_pb2.GetSpendLogsRequest())) == 10
    ledger.append(make(11))
    assert (ledger.pending, ledger.dropped) == (0, 1)


async def test_a_record_without_a_time_is_stamped_when_appended(ledger: Ledger) -> None:
    before = dt.datetime.now(dt.UTC).timestamp() * 1000
    ledger.append(make(1, time_ms=0))
    await flushed(ledger)
    (record,) = await ledger.logs(admin_pb2.GetSpendLogsRequest())
    assert before - 1 <= record.time_ms <= dt.datetime.now(dt.UTC).timestamp() * 1000 + 1


async def test_reports_cover_the_last_thirty_days_by_default(ledger: Ledger) -> None:
    ledger.append(make(1, time_ms=NOW_MS - 29 * DAY_MS, request_id="old-but-in"))
    ledger.append(make(2, time_ms=NOW_MS - 31 * DAY_MS, request_id="too-old"))
    ledger.append(make(3))
    await flushed(ledger)

    rows = await ledger.report(admin_pb2.GetSpendReportRequest(group_by="app"))
    assert sum(row.requests for row in rows) == 2
    old_day = (TODAY - dt.timedelta(days=31)).isoformat()
    rows = await ledger.report(admin_pb2.GetSpendReportRequest(group_by="app", start_day=old_day, end_day=old_day))
    assert [(row.day, row.value, row.requests) for row in rows] == [(old_day, "search", 1)]


@pytest.mark.parametrize(
    ("request_", "param"),
    [
        (admin_pb2.GetSpendReportRequest(group_by="colour"), "group_by"),
        (admin_pb2.GetSpendReportRequest(start_day="2025-13-01"), "start_day"),
        (admin_pb2.GetSpendReportRequest(start_day="2025-02-01", end_day="2025-01-01"), "end_day"),
        (admin_pb2.GetSpendReportRequest(start_day="2020-01-01", end_day="2025-01-01"), "start_day"),
    ],
)
async def test_a_malformed_report_request_is_refused(
    ledger: Ledger, request_: admin_pb2.GetSpendReportRequest, param: str
) -> None:
    with pytest.raises(SwitchyardError) as caught:
        await ledger.report(request_)
    assert (caught.value.reason, caught.value.param) == (R.ERROR_REASON_INVALID_REQUEST, param)
