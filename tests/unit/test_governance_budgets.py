"""Budgets: windows, atomic reservations across budgets, settling, lapsing holds and once-per-window alerts.

The same checks run against the in-memory store and the Redis one (real Redis), so the twin and the
Lua scripts cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from services.common.config import ModelEntry
from services.router.governance.budgets import estimate_usd, lines_of, window_bounds
from services.router.governance.memory import MemoryGovernance
from services.router.governance.model import NANO, BudgetLine, Cap, KeyRecord, Limits, RateLine, TeamRecord
from services.router.governance.redis_store import RedisGovernance
from services.router.governance.store import GovernanceStore
from services.router.state import StateOptions
from tests.support import wait_until

KEY = KeyRecord(token="t" * 64, key_prefix="sk-sy-abcdef", limits=Limits(budgets=(Cap("daily", 1.0, 0.5),)))
TEAM = TeamRecord("research", limits=Limits(budgets=(Cap("monthly", 10.0, 0.0),)))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC).timestamp()


def test_windows_are_utc_days_months_fixed_lengths_and_forever() -> None:
    now = utc(2026, 2, 14, 15, 30)
    assert window_bounds("daily", now) == (int(utc(2026, 2, 14)), int(utc(2026, 2, 15)))
    assert window_bounds("monthly", now) == (int(utc(2026, 2, 1)), int(utc(2026, 3, 1)))
    start, end = window_bounds("3600s", now)
    assert (start, end) == (int(utc(2026, 2, 14, 15)), int(utc(2026, 2, 14, 16)))
    assert window_bounds("", now) == (0, 0)


def test_a_request_is_held_against_its_key_app_and_team_budgets() -> None:
    key = KeyRecord(token="k" * 64, key_prefix="sk-sy-000000", app="support", team_id="research")
    lines = lines_of(key, TEAM, {"support": (Cap("daily", 5.0),)}, utc(2026, 2, 14))
    assert [(line.scope, line.ident, line.cap.window) for line in lines] == [
        ("key", key.token, ""),  # a key without budgets still counts its lifetime spend
        ("app", "support", "daily"),
        ("team", "research", "monthly"),
    ]


def test_the_estimate_prices_the_priciest_deployment() -> None:
    cheap = ModelEntry.model_validate(
        {"model_name": "g", "litellm_params": {"model": "openai/a"}, "model_info": {"input_cost_per_token": 1e-6}}
    )
    dear = ModelEntry.model_validate(
        {
            "model_name": "g",
            "litellm_params": {"model": "openai/b"},
            "model_info": {"input_cost_per_token": 2e-6, "output_cost_per_token": 1e-5},
        }
    )
    assert estimate_usd([cheap, dear], 100, 50) == pytest.approx(100 * 2e-6 + 50 * 1e-5)


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_url: str, redis_prefix: str) -> AsyncIterator[GovernanceStore]:
    if request.param == "memory":
        yield MemoryGovernance()
        return
    store = RedisGovernance.connect(redis_url, redis_prefix, StateOptions(timeout_s=1.0))
    yield store
    client = aioredis.Redis.from_url(redis_url)
    keys = [k async for k in client.scan_iter(match=f"{redis_prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
    await store.close()


def daily(now: float, hard: float = 1.0, soft: float = 0.0) -> list[BudgetLine]:
    key = KeyRecord(token="t" * 64, key_prefix="sk-sy-abcdef", limits=Limits(budgets=(Cap("daily", hard, soft),)))
    return lines_of(key, None, {}, now)


async def test_reservations_refuse_what_would_pass_the_hard_cap(store: GovernanceStore) -> None:
    lines = daily(time.time())
    await store.put_key(KEY)
    held = []
    for _ in range(4):
        verdict = await store.admit(KEY.token, [], lines, estimate_nano=NANO // 4, tokens=10, hold_ttl_s=60)
        assert verdict.hold is not None
        held.append(verdict.hold)
    refused = await store.admit(KEY.token, [], lines, estimate_nano=1, tokens=10, hold_ttl_s=60)
    assert refused.hold is None and refused.refusal == "budget"
    assert refused.reserved_nano == NANO
    # Settling at a tenth of the estimate frees the rest of the reservation.
    await store.settle(held[0], NANO // 40, 10)
    assert (await store.usage(lines)) == [(NANO // 40, 3 * NANO // 4)]
    again = await store.admit(KEY.token, [], lines, estimate_nano=NANO // 5, tokens=10, hold_ttl_s=60)
    assert again.hold is not None


async def test_a_failed_request_releases_its_reservation(store: GovernanceStore) -> None:
    lines = daily(time.time())
    await store.put_key(KEY)
    verdict = await store.admit(KEY.token, [], lines, estimate_nano=NANO, tokens=1, hold_ttl_s=60)
    assert verdict.hold is not None
    assert (await store.admit(KEY.token, [], lines, estimate_nano=1, tokens=1, hold_ttl_s=60)).refusal == "budget"
    await store.settle(verdict.hold, 0, 0)
    assert (await store.usage(lines)) == [(0, 0)]


async def test_a_hold_never_settled_lapses(store: GovernanceStore) -> None:
    lines = daily(time.time())
    await store.put_key(KEY)
    verdict = await store.admit(KEY.token, [], lines, estimate_nano=NANO, tokens=1, hold_ttl_s=0.2)
    assert verdict.hold is not None

    async def lapsed() -> bool:
        return (await store.usage(lines))[0][1] == 0

    await wait_until(lapsed, timeout=5, what="the unsettled hold to lapse")
    assert (await store.admit(KEY.token, [], lines, estimate_nano=NANO, tokens=1, hold_ttl_s=60)).hold is not None


async def test_one_full_budget_refuses_and_holds_nothing_in_the_others(store: GovernanceStore) -> None:
    now = time.time()
    limits = Limits(budgets=(Cap("daily", 100.0),))
    key = KeyRecord(token="u" * 64, key_prefix="sk-sy-u", team_id="research", limits=limits)
    team = TeamRecord("research", limits=Limits(budgets=(Cap("monthly", 1.0),)))
    lines = lines_of(key, team, {}, now)
    await store.put_key(key)
    verdict = await store.admit(key.token, [], lines, estimate_nano=2 * NANO, tokens=1, hold_ttl_s=60)
    assert verdict.refusal == "budget" and verdict.index == 1
    assert (await store.usage(lines)) == [(0, 0), (0, 0)]


async def test_alerts_fire_once_per_window_and_cap(store: GovernanceStore) -> None:
    lines = daily(time.time(), hard=1.0, soft=0.5)
    await store.put_key(KEY)
    raised: list[tuple[str, str]] = []
    for cost in (0.3, 0.15, 0.1, 0.1, 0.3, 0.1):
        verdict = await store.admit(KEY.token, [], lines, estimate_nano=1, tokens=1, hold_ttl_s=60)
        assert verdict.hold is not None
        raised += [(a.cap, a.level) for a in await store.settle(verdict.hold, int(cost * NANO), 1)]
    # spent: 0.3, 0.45 (soft 80 %), 0.55 (soft 100 %), 0.65, 0.95 (hard 80 %), 1.05 (hard 100 %)
    assert raised == [("soft", "80"), ("soft", "100"), ("hard", "80"), ("hard", "100")]
    # The next day is a new window: the same budget alerts again.
    tomorrow = daily(time.time() + 86_400, hard=1.0, soft=0.5)
    verdict = await store.admit(KEY.token, [], tomorrow, estimate_nano=1, tokens=1, hold_ttl_s=60)
    assert verdict.hold is not None
    again = await store.settle(verdict.hold, int(0.45 * NANO), 1)
    assert [(a.cap, a.level) for a in again] == [("soft", "80")]


async def test_rpm_and_tpm_limits_refuse_with_a_wait(store: GovernanceStore) -> None:
    await store.put_key(KEY)
    rpm = [RateLine("key", KEY.token, 2, None)]
    for _ in range(2):
        assert (await store.admit(KEY.token, rpm, [], estimate_nano=0, tokens=5, hold_ttl_s=60)).hold is not None
    refused = await store.admit(KEY.token, rpm, [], estimate_nano=0, tokens=5, hold_ttl_s=60)
    assert refused.refusal == "rpm" and refused.retry_after_s is not None and 50 < refused.retry_after_s <= 60
    tpm = [RateLine("team", "research", None, 100)]
    assert (await store.admit(KEY.token, tpm, [], estimate_nano=0, tokens=80, hold_ttl_s=60)).hold is not None
    assert (await store.admit(KEY.token, tpm, [], estimate_nano=0, tokens=30, hold_ttl_s=60)).refusal == "tpm"


async def test_a_revoked_or_unknown_key_is_refused_in_the_admission(store: GovernanceStore) -> None:
    assert (await store.admit(KEY.token, [], [], estimate_nano=0, tokens=0, hold_ttl_s=60)).refusal == "unknown"
    await store.put_key(KEY)
    assert (await store.admit(KEY.token, [], [], estimate_nano=0, tokens=0, hold_ttl_s=60)).hold is not None
    assert await store.revoke(KEY.token)
    assert (await store.admit(KEY.token, [], [], estimate_nano=0, tokens=0, hold_ttl_s=60)).refusal == "revoked"
    # Storing the key again (a restart loading the config) keeps it revoked.
    await store.put_key(KEY)
    assert (await store.admit(KEY.token, [], [], estimate_nano=0, tokens=0, hold_ttl_s=60)).refusal == "revoked"
