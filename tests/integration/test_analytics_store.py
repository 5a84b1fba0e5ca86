"""The analytics store on both engines (SQLite, real PostgreSQL): schema from empty, idempotent writes, reports equal
to the ledger's, and a database outage ridden out by the copier's buffer."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from switchyard.router.v1 import admin_pb2
from switchyard.services.router.analytics import open_store
from switchyard.services.router.analytics.base import Cursor, HistoryStore, Judgement, StreamId
from switchyard.services.router.analytics.sqlite_store import SqliteHistory
from switchyard.services.router.analytics.writer import BufferSource, Copier
from switchyard.services.router.governance.ledger_base import (
    DIMENSIONS,
    LedgerOptions,
    LedgerRecord,
    LogQuery,
    ReportQuery,
)
from switchyard.services.router.governance.ledger_memory import MemoryLedgerStore
from tests.support import wait_until

ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
DAY_MS = 86_400_000
T0 = 1_780_000_000_000  # 2026-05-28, UTC


def record(n: int, **fields: object) -> LedgerRecord:
    """Returns the nth test record: two days, three models, two teams, errors, hits and fractional costs."""
    values: dict[str, object] = {
        "request_id": f"req-{n:05d}",
        "time_ms": T0 + (n % 2) * DAY_MS + n,
        "model": ("gpt-4o", "gpt-4o-mini", "llama-3.1-8b")[n % 3],
        "deployment_id": f"dep-{n % 4}",
        "provider": ("openai", "hosted_vllm")[n % 2],
        "team": ("red", "blue")[n % 2],
        "app": "chat",
        "feature": ("", "search")[n % 2],
        "key_prefix": f"sk-{n % 3}abc",
        "status": "ok" if n % 5 else "upstream_error",
        "cache": "hit" if n % 7 == 0 else "miss",
        "failovers": n % 3,
        "prompt_tokens": 10 + n,
        "completion_tokens": 2 * n,
        "cost_usd": 0.000137 * n,
        "saved_usd": 0.00001 * (n % 7 == 0),
    }
    values.update(fields)
    return LedgerRecord(**values)  # type: ignore[arg-type]


def days_query(group_by: str) -> ReportQuery:
    return ReportQuery.of(
        admin_pb2.GetSpendReportRequest(group_by=group_by, start_day="2026-05-27", end_day="2026-05-30")
    )


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'history.sqlite3'}"
        return
    from tests.postgres_support import fresh_database

    with fresh_database(request.getfixturevalue("postgres_url")) as url:
        yield url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[HistoryStore]:
    opened = open_store(store_url)
    await opened.migrate()
    yield opened
    await opened.close()


def tables(url: str) -> set[str]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {row[0] for row in rows}


@pytest.mark.parametrize("store_url", ENGINES, indirect=True)
async def test_migration_from_empty_creates_the_schema_once(store_url: str) -> None:
    from switchyard.services.router.analytics.migrate import migrate

    assert "ledger_records" not in tables(store_url)
    assert await asyncio.to_thread(migrate, store_url) == ["v0001_ledger_records", "v0002_judgements"]
    assert {"ledger_records", "ledger_stream_cursor", "judgements"} <= tables(store_url)
    assert await asyncio.to_thread(migrate, store_url) == []  # every start migrates: nothing left to do


@pytest.mark.parametrize("store_url", ENGINES, indirect=True)
async def test_batch_writes_are_idempotent_by_request_id(store: HistoryStore) -> None:
    batch = [record(n) for n in range(1, 41)]
    assert await store.write(batch) == 40
    assert await store.write([*batch[10:30], record(41)]) == 1  # a retried batch adds only what is new
    logs = await store.logs(LogQuery(limit=1000))
    assert sorted(r.request_id for r in logs) == sorted({r.request_id for r in [*batch, record(41)]})
    assert [r.time_ms for r in logs] == sorted((r.time_ms for r in logs), reverse=True)
    assert logs[0] == max([*batch, record(41)], key=lambda r: r.time_ms)  # the record itself, field for field
    team = await store.logs(LogQuery(team="red", key_prefix="sk-1", limit=1000))
    assert team and all(r.team == "red" and r.key_prefix.startswith("sk-1") for r in team)
    assert len(await store.logs(LogQuery(limit=5))) == 5


@pytest.mark.parametrize("store_url", ENGINES, indirect=True)
async def test_judgements_are_kept_once_per_request_and_kind(store: HistoryStore) -> None:
    graded = [Judgement(f"req-{n}", "judge", T0 + n, f"dep-{n % 2}", ("code", "")[n % 2], n / 10) for n in range(10)]
    assert await store.judge(graded) == 10
    rated = Judgement("req-3", "feedback", T0 + 50, "dep-1", "", 1.0)  # the same request, rated by its user
    assert await store.judge([*graded[:4], rated]) == 1  # a resent batch adds only what is new
    kept = await store.judgements()
    assert kept == sorted([*graded, rated], key=lambda j: (j.time_ms, j.request_id))
    assert await store.judgements(since_ms=T0 + 9) == [graded[9], rated]


@pytest.mark.parametrize("store_url", ENGINES, indirect=True)
async def test_the_cursor_moves_only_forward_with_its_batch(store: HistoryStore) -> None:
    assert await store.cursor("ledger") is None
    await store.write([record(1)], Cursor("ledger", StreamId(100, 2)))
    await store.write([record(2)], Cursor("ledger", StreamId(100, 1)))  # a slower replica's older position
    assert await store.cursor("ledger") == StreamId(100, 2)
    await store.write([], Cursor("ledger", StreamId(101, 0)))
    assert await store.cursor("ledger") == StreamId(101, 0)


@pytest.mark.parametrize("store_url", ENGINES, indirect=True)
async def test_spend_report_equals_the_ledgers(store: HistoryStore) -> None:
    batch = [record(n) for n in range(1, 301)]
    ledger = MemoryLedgerStore(LedgerOptions().memory_records)
    await ledger.write(batch)
    await store.write(batch[:150])
    await store.write(batch[100:])
    for dimension in DIMENSIONS:
        query = days_query(dimension)
        expected, got = await ledger.report(query), await store.report(query)
        assert [(r.day, r.value) for r in got] == [(r.day, r.value) for r in expected], dimension
        for mine, theirs in zip(got, expected, strict=True):
            assert (mine.requests, mine.errors, mine.cache_hits, mine.failovers) == (
                theirs.requests,
                theirs.errors,
                theirs.cache_hits,
                theirs.failovers,
            )
            assert (mine.prompt_tokens, mine.completion_tokens) == (theirs.prompt_tokens, theirs.completion_tokens)
            assert mine.cost_usd == pytest.approx(theirs.cost_usd, rel=1e-9)
            assert mine.saved_usd == pytest.approx(theirs.saved_usd, rel=1e-9, abs=1e-12)


@contextmanager
def outage(engine: str, tmp_path: Path) -> Iterator[tuple[str, object, object]]:
    """Yields (url, stop, start): a database of this test's own that the test may take down and bring back."""
    if engine == "sqlite":
        path = tmp_path / "outage.sqlite3"
        holder: list[sqlite3.Connection] = []

        def lock() -> None:  # another writer holding the file: every write fails until it lets go
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("BEGIN EXCLUSIVE")
            holder.append(conn)

        def unlock() -> None:
            holder.pop().rollback()

        yield f"sqlite:///{path}", lock, unlock
        return
    from tests.postgres_support import throwaway_postgres

    with throwaway_postgres() as server:
        yield server.url, server.stop, server.start


@pytest.mark.parametrize("engine", ENGINES)
async def test_an_outage_is_buffered_then_caught_up(engine: str, tmp_path: Path) -> None:
    with outage(engine, tmp_path) as (url, stop, start):
        store = open_store(url)
        if isinstance(store, SqliteHistory):
            store = SqliteHistory(store.path, busy_s=0.05)
        copier = Copier(store, BufferSource(1000), batch=16, retry_min_s=0.02, retry_max_s=0.2)
        await copier.start()
        copier.offer([record(n) for n in range(1, 21)])
        await wait_until(lambda: copier.written == 20, timeout=30, what="the first records written")
        await asyncio.to_thread(stop)  # type: ignore[operator]
        copier.offer([record(n) for n in range(21, 121)])
        await wait_until(lambda: copier.degraded, timeout=30, what="the copier to notice the outage")
        assert copier.source.pending == 100  # nothing is lost while the database is down
        await asyncio.to_thread(start)  # type: ignore[operator]
        await wait_until(lambda: copier.written == 120 and not copier.degraded, timeout=60, what="the catch-up")
        assert copier.source.pending == 0
        assert len(await store.logs(LogQuery(limit=1000))) == 120
        await copier.close()


def test_the_embedded_default_keeps_history_in_sqlite_in_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from switchyard.config import load_config

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    url = load_config(None).switchyard.analytics.url
    store = open_store(url)
    assert isinstance(store, SqliteHistory)
    assert store.path == tmp_path / "switchyard" / "analytics.sqlite3"
