"""Budgets: windows, atomic reservations across budgets, holding what remains near a cap, settling, lapsing
holds and once-per-window alerts.

The same checks run against the in-memory store and the Redis one (real Redis), so the twin and the
Lua scripts cannot drift apart.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from switchyard.common.v1 import chat_pb2
from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import ModelEntry
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.governance.alerts import AlertSink
from switchyard.services.router.governance.budgets import estimate_usd, lines_of, output_within, window_bounds
from switchyard.services.router.governance.governor import Governor
from switchyard.services.router.governance.keys import Keys
from switchyard.services.router.governance.memory import MemoryGovernance
from switchyard.services.router.governance.model import (
    NANO,
    Allowance,
    BudgetLine,
    Cap,
    Clearance,
    KeyRecord,
    RateLine,
    TeamRecord,
    from_nano,
    to_nano,
)
from switchyard.services.router.governance.redis_store import RedisGovernance
from switchyard.services.router.governance.store import GovernanceStore
from switchyard.services.router.governance.tally import capped
from switchyard.services.router.state import StateOptions
from tests.support import wait_until

KEY = KeyRecord(token="t" * 64, key_prefix="sk-sy-abcdef", limits=Allowance(budgets=(Cap("daily", 1.0, 0.5),)))
TEAM = TeamRecord("research", limits=Allowance(budgets=(Cap("monthly", 10.0, 0.0),)))


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
    # A generous timeout: these tests are about atomicity, and a loaded machine can take a second to answer
    # thirty concurrent scripts (a timeout would fall back to local counting and refuse for another reason).
    store = RedisGovernance.connect(redis_url, redis_prefix, StateOptions(timeout_s=5.0))
    yield store
    client = aioredis.Redis.from_url(redis_url)
    keys = [k async for k in client.scan_iter(match=f"{redis_prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
    await store.close()


def daily(now: float, hard: float = 1.0, soft: float = 0.0) -> list[BudgetLine]:
    key = KeyRecord(token="t" * 64, key_prefix="sk-sy-abcdef", limits=Allowance(budgets=(Cap("daily", hard, soft),)))
    return lines_of(key, None, {}, now)


async def test_reservations_refuse_what_would_pass_the_hard_cap(store: GovernanceStore) -> None:
    lines = daily(time.time())
    await store.put_key(KEY)
    held = []
    for _ in range(4):
        clearance = await store.admit(KEY.token, [], lines, estimate_nano=NANO // 4, tokens=10, hold_ttl_s=60)
        assert clearance.hold is not None
        held.append(clearance.hold)
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
    clearance = await store.admit(KEY.token, [], lines, estimate_nano=NANO, tokens=1, hold_ttl_s=60)
    assert clearance.hold is not None
    assert (await store.admit(KEY.token, [], lines, estimate_nano=1, tokens=1, hold_ttl_s=60)).refusal == "budget"
    await store.settle(clearance.hold, 0, 0)
    assert (await store.usage(lines)) == [(0, 0)]


async def test_a_hold_never_settled_lapses(store: GovernanceStore) -> None:
    lines = daily(time.time())
    await store.put_key(KEY)
    clearance = await store.admit(KEY.token, [], lines, estimate_nano=NANO, tokens=1, hold_ttl_s=0.2)
    assert clearance.hold is not None

    async def lapsed() -> bool:
        return (await store.usage(lines))[0][1] == 0

    await wait_until(lapsed, timeout=5, what="the unsettled hold to lapse")
    assert (await store.admit(KEY.token, [], lines, estimate_nano=NANO, tokens=1, hold_ttl_s=60)).hold is not None


async def test_one_full_budget_refuses_and_holds_nothing_in_the_others(store: GovernanceStore) -> None:
    now = time.time()
    limits = Allowance(budgets=(Cap("daily", 100.0),))
    key = KeyRecord(token="u" * 64, key_prefix="sk-sy-u", team_id="research", limits=limits)
    team = TeamRecord("research", limits=Allowance(budgets=(Cap("monthly", 1.0),)))
    lines = lines_of(key, team, {}, now)
    await store.put_key(key)
    clearance = await store.admit(key.token, [], lines, estimate_nano=2 * NANO, tokens=1, hold_ttl_s=60)
    assert clearance.refusal == "budget" and clearance.index == 1
    assert (await store.usage(lines)) == [(0, 0), (0, 0)]


async def test_alerts_fire_once_per_window_and_cap(store: GovernanceStore) -> None:
    lines = daily(time.time(), hard=1.0, soft=0.5)
    await store.put_key(KEY)
    raised: list[tuple[str, str]] = []
    for cost in (0.3, 0.15, 0.1, 0.1, 0.3, 0.1):
        clearance = await store.admit(KEY.token, [], lines, estimate_nano=1, tokens=1, hold_ttl_s=60)
        assert clearance.hold is not None
        raised += [(a.cap, a.level) for a in await store.settle(clearance.hold, int(cost * NANO), 1)]
    # spent: 0.3, 0.45 (soft 80 %), 0.55 (soft 100 %), 0.65, 0.95 (hard 80 %), 1.05 (hard 100 %)
    assert raised == [("soft", "80"), ("soft", "100"), ("hard", "80"), ("hard", "100")]
    # The next day is a new window: the same budget alerts again.
    tomorrow = daily(time.time() + 86_400, hard=1.0, soft=0.5)
    clearance = await store.admit(KEY.token, [], tomorrow, estimate_nano=1, tokens=1, hold_ttl_s=60)
    assert clearance.hold is not None
    again = await store.settle(clearance.hold, int(0.45 * NANO), 1)
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


async def test_near_the_cap_a_request_holds_what_remains_and_settling_frees_the_rest(store: GovernanceStore) -> None:
    lines = daily(time.time())
    await store.put_key(KEY)

    async def admit() -> Clearance:
        return await store.admit(
            KEY.token, [], lines, estimate_nano=3 * NANO // 4, tokens=10, hold_ttl_s=60, minimum_nano=NANO // 10
        )

    full = await admit()
    assert full.hold is not None and not full.hold.partial and full.hold.reserved_nano == 3 * NANO // 4
    rest = await admit()
    # The estimate no longer fits: the request holds the quarter that remains.
    assert rest.hold is not None and rest.hold.partial and rest.hold.reserved_nano == NANO // 4
    refused = await admit()
    assert refused.hold is None and refused.refusal == "budget" and refused.index == 0
    assert (refused.spent_nano, refused.reserved_nano) == (0, NANO)
    # The partial hold settles like any other: its real cost replaces it, the unused part is free again.
    await store.settle(rest.hold, NANO // 10, 10)
    assert (await store.usage(lines)) == [(NANO // 10, 3 * NANO // 4)]
    again = await admit()
    assert again.hold is not None and again.hold.partial and again.hold.reserved_nano == 3 * NANO // 20
    await store.settle(full.hold, 3 * NANO // 4, 10)
    await store.settle(again.hold, 3 * NANO // 20, 10)
    assert (await store.usage(lines)) == [(NANO, 0)]
    assert (await admit()).refusal == "budget"


async def test_what_remains_is_never_held_below_the_minimum(store: GovernanceStore) -> None:
    lines = daily(time.time())
    await store.put_key(KEY)
    first = await store.admit(KEY.token, [], lines, estimate_nano=NANO - 99, tokens=1, hold_ttl_s=60)
    assert first.hold is not None
    # 99 nano-dollars remain: enough for a minimum of 99, not for one of 100.
    short = await store.admit(KEY.token, [], lines, estimate_nano=NANO, tokens=1, hold_ttl_s=60, minimum_nano=100)
    assert short.refusal == "budget"
    fits = await store.admit(KEY.token, [], lines, estimate_nano=NANO, tokens=1, hold_ttl_s=60, minimum_nano=99)
    assert fits.hold is not None and fits.hold.reserved_nano == 99
    # Without a minimum the estimate is all or nothing, as before.
    await store.settle(fits.hold, 0, 0)
    assert (await store.admit(KEY.token, [], lines, estimate_nano=NANO, tokens=1, hold_ttl_s=60)).refusal == "budget"


async def test_the_tightest_of_key_app_and_team_budgets_sets_the_hold(store: GovernanceStore) -> None:
    key = KeyRecord(
        token="v" * 64,
        key_prefix="sk-sy-v",
        team_id="research",
        app="notes",
        limits=Allowance(budgets=(Cap("daily", 1.0),)),
    )
    team = TeamRecord("research", limits=Allowance(budgets=(Cap("monthly", 0.3),)))
    lines = lines_of(key, team, {"notes": (Cap("daily", 0.6),)}, time.time())
    assert [line.scope for line in lines] == ["key", "app", "team"]
    await store.put_key(key)

    async def admit() -> Clearance:
        return await store.admit(
            key.token, [], lines, estimate_nano=NANO // 2, tokens=1, hold_ttl_s=60, minimum_nano=NANO // 10
        )

    clearance = await admit()
    assert clearance.hold is not None and clearance.hold.reserved_nano == 3 * NANO // 10
    # The same amount is held in every budget, so none of them can be overspent by this request.
    assert (await store.usage(lines)) == [(0, 3 * NANO // 10)] * 3
    refused = await admit()
    assert refused.refusal == "budget" and refused.index == 2
    await store.settle(clearance.hold, NANO // 4, 1)
    # The team has $0.05 left, less than the $0.10 minimum: still refused, naming the team.
    refused = await admit()
    assert refused.refusal == "budget" and refused.index == 2 and refused.spent_nano == NANO // 4


async def test_concurrent_requests_near_the_cap_are_admitted_one_at_a_time(store: GovernanceStore) -> None:
    lines = daily(time.time(), hard=0.2)
    await store.put_key(KEY)

    async def admit() -> Clearance:
        return await store.admit(KEY.token, [], lines, estimate_nano=NANO, tokens=1, hold_ttl_s=60, minimum_nano=1000)

    clearances = await asyncio.gather(*(admit() for _ in range(30)))
    holds = [v.hold for v in clearances if v.hold is not None]
    assert len(holds) == 1 and holds[0].reserved_nano == NANO // 5
    assert all(v.refusal == "budget" for v in clearances if v.hold is None)
    await store.settle(holds[0], NANO // 50, 1)
    clearances = await asyncio.gather(*(admit() for _ in range(30)))
    holds = [v.hold for v in clearances if v.hold is not None]
    assert len(holds) == 1 and holds[0].reserved_nano == NANO // 5 - NANO // 50


async def test_a_governor_near_the_cap_holds_what_remains_and_the_output_it_pays_for(store: GovernanceStore) -> None:
    keys = Keys(store)
    governor = Governor(store, keys, AlertSink(""), master_token=None, auth=True, output_tokens=1024)
    secret, _ = await keys.create(limits=Allowance(budgets=(Cap("", 0.2),)))
    identity = await governor.authenticate(f"Bearer {secret}")
    entries = [PER_MILLI]
    # 20 prompt tokens + 1024 output tokens at $0.001 each: $1.044, far past the $0.20 budget.
    hold = await governor.admit(identity, entries, 20, None, 60)
    assert hold is not None and hold.partial and hold.reserved_nano == NANO // 5
    assert output_within(entries, 20, from_nano(hold.reserved_nano)) == 180
    with pytest.raises(SwitchyardError) as caught:
        await governor.admit(identity, entries, 20, None, 60)
    assert caught.value.reason == E.ERROR_REASON_BUDGET_EXCEEDED and caught.value.retry_after_s is None
    await store.settle(hold, to_nano(0.03), 37)
    hold = await governor.admit(identity, entries, 20, None, 60)
    assert hold is not None and hold.reserved_nano == to_nano(0.17)
    # A request asking for little enough holds its own estimate and keeps its own limit.
    await store.settle(hold, to_nano(0.16), 37)
    small = await governor.admit(identity, entries, 2, 3, 60)
    assert small is not None and not small.partial and small.reserved_nano == to_nano(0.005)
    # What remains ($0.005) pays for 4 prompt tokens and one output token, not for 5 prompt tokens.
    assert await governor.admit(identity, entries, 4, 100, 60) is not None
    with pytest.raises(SwitchyardError):
        await governor.admit(identity, entries, 5, 100, 60)


PER_MILLI = ModelEntry.model_validate(
    {
        "model_name": "g",
        "litellm_params": {"model": "openai/a"},
        "model_info": {"input_cost_per_token": 0.001, "output_cost_per_token": 0.001},
    }
)
DEAR_OUTPUT = ModelEntry.model_validate(
    {
        "model_name": "g",
        "litellm_params": {"model": "openai/b"},
        "model_info": {"input_cost_per_token": 0.0001, "output_cost_per_token": 0.004},
    }
)
FREE = ModelEntry.model_validate({"model_name": "g", "litellm_params": {"model": "openai/c"}})


def test_the_output_a_hold_pays_for_is_priced_at_every_deployment_it_may_reach() -> None:
    assert output_within([PER_MILLI], 20, 0.2) == 180
    # (0.2 - 20 x 0.0001) / 0.004 = 49.5: the dearer output price sets the limit.
    assert output_within([PER_MILLI, DEAR_OUTPUT], 20, 0.2) == 49
    assert output_within([PER_MILLI], 20, 0.2, choices=4) == 45
    assert output_within([FREE], 20, 0.2) is None
    # A hold that pays exactly for its tokens is not cut short by float error.
    for tokens in range(1, 400):
        assert output_within([PER_MILLI], 7, from_nano(to_nano(0.007 + tokens * 0.001))) == tokens


def test_a_capped_request_keeps_a_lower_limit_of_its_own() -> None:
    message = chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text="hi")
    bare = chat_pb2.ChatRequest(model="g", messages=[message])
    out = capped(bare, 50)
    assert out.max_completion_tokens == 50 and not out.HasField("max_tokens") and not bare.HasField("max_tokens")
    legacy = capped(chat_pb2.ChatRequest(model="g", max_tokens=500), 50)
    assert legacy.max_tokens == 50 and not legacy.HasField("max_completion_tokens")
    both = capped(chat_pb2.ChatRequest(model="g", max_tokens=30, max_completion_tokens=80), 50)
    assert (both.max_tokens, both.max_completion_tokens) == (30, 50)
    assert capped(chat_pb2.ChatRequest(model="g", max_completion_tokens=20), 50).max_completion_tokens == 20
