"""Router state: the behaviour every store must have (run here on the in-memory store, with a fake clock).

StateContract is the shared suite; tests/integration/test_router_state_redis.py runs it on Redis too.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest

from switchyard.config import ModelEntry
from switchyard.services.router.state import (
    CircuitPolicy,
    DeploymentLimits,
    HealthRecord,
    MemoryState,
    Quota,
    RouterState,
    StateOptions,
    counts_toward_circuit,
    open_state,
)
from switchyard.services.router.state.base import Row, stats_of
from switchyard.services.router.strategies.base import DeploymentStats

POLICY = CircuitPolicy(allowed_fails=3, cooldown_s=30.0)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def stats(
    state: RouterState, deployment_id: str = "d", rpm: int | None = None, tpm: int | None = None
) -> DeploymentStats:
    """Returns the snapshot of one deployment with the given limits."""
    return state.snapshot([DeploymentLimits(deployment_id, rpm, tpm)])[deployment_id]


async def open_circuit(state: RouterState, deployment_id: str = "d") -> None:
    for _ in range(POLICY.allowed_fails + 1):
        await state.record_failure(deployment_id, POLICY)
    assert stats(state, deployment_id).circuit == "open"


class StateContract:
    """What every RouterState does, driven by a fake clock. Subclasses provide the `state` fixture."""

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    async def test_circuit_opens_only_when_failures_exceed_allowed_fails(
        self, state: RouterState, clock: FakeClock
    ) -> None:
        for _ in range(POLICY.allowed_fails):
            assert await state.record_failure("d", POLICY) == "closed"
            clock.advance(1)
        assert stats(state).circuit == "closed"
        assert await state.record_failure("d", POLICY) == "open"
        assert stats(state).circuit == "open"

    async def test_failures_older_than_the_window_do_not_count(self, state: RouterState, clock: FakeClock) -> None:
        for _ in range(POLICY.allowed_fails):
            await state.record_failure("d", POLICY)
        clock.advance(POLICY.window_s)
        for _ in range(POLICY.allowed_fails):
            assert await state.record_failure("d", POLICY) == "closed"
        assert await state.record_failure("d", POLICY) == "open"

    async def test_cooldown_then_exactly_one_probe_among_concurrent_callers(
        self, state: RouterState, clock: FakeClock
    ) -> None:
        await open_circuit(state)
        assert not await state.try_probe("d")
        clock.advance(POLICY.cooldown_s - 1)
        assert stats(state).circuit == "open"
        clock.advance(1)
        assert stats(state).circuit == "half_open"
        claims = await asyncio.gather(*(state.try_probe("d") for _ in range(20)))
        assert sum(claims) == 1
        assert stats(state).circuit == "half_open"

    async def test_a_successful_probe_closes_the_circuit(self, state: RouterState, clock: FakeClock) -> None:
        await open_circuit(state)
        clock.advance(POLICY.cooldown_s)
        assert await state.try_probe("d")
        await state.record_success("d", latency_ms=50.0)
        assert stats(state).circuit == "closed"
        assert await state.try_probe("d")
        # The count starts afresh: allowed_fails more failures are tolerated again.
        for _ in range(POLICY.allowed_fails):
            assert await state.record_failure("d", POLICY) == "closed"

    async def test_a_failed_probe_reopens_for_another_cooldown(self, state: RouterState, clock: FakeClock) -> None:
        await open_circuit(state)
        clock.advance(POLICY.cooldown_s)
        assert await state.try_probe("d")
        assert await state.record_failure("d", POLICY) == "open"
        clock.advance(POLICY.cooldown_s - 1)
        assert stats(state).circuit == "open"
        assert not await state.try_probe("d")
        clock.advance(1)
        assert await state.try_probe("d")

    async def test_an_unreported_probe_lets_another_through_after_its_lease(
        self, state: RouterState, clock: FakeClock
    ) -> None:
        await open_circuit(state)
        clock.advance(POLICY.cooldown_s)
        assert await state.try_probe("d", lease_s=10.0)
        assert not await state.try_probe("d", lease_s=10.0)
        clock.advance(10.0)
        assert await state.try_probe("d", lease_s=10.0)

    async def test_a_straggling_success_does_not_close_a_cooling_circuit(
        self, state: RouterState, clock: FakeClock
    ) -> None:
        await open_circuit(state)
        await state.record_success("d", latency_ms=80.0)
        assert stats(state).circuit == "open"

    async def test_rpm_window_refuses_the_request_past_the_limit_until_the_window_slides(
        self, state: RouterState, clock: FakeClock
    ) -> None:
        limits = DeploymentLimits("d", rpm_limit=5)
        for second in range(5):
            clock.advance(1 if second else 0)
            assert (await state.admit(limits, 10)).ok
        refused = await state.admit(limits, 10)
        assert (refused.ok, refused.reason, refused.ticket) == (False, "rpm", None)
        assert refused.retry_after_s == pytest.approx(56.0)
        clock.advance(refused.retry_after_s)
        assert (await state.admit(limits, 10)).ok
        again = await state.admit(limits, 10)
        assert (again.ok, again.reason) == (False, "rpm")
        assert again.retry_after_s == pytest.approx(1.0)
        clock.advance(60)
        for _ in range(5):
            assert (await state.admit(limits, 10)).ok

    async def test_tpm_counts_estimates_and_settle_corrects_them(self, state: RouterState, clock: FakeClock) -> None:
        limits = DeploymentLimits("d", tpm_limit=1000)
        first = await state.admit(limits, 600)
        assert first.ok and first.ticket is not None
        clock.advance(5)
        refused = await state.admit(limits, 500)
        assert (refused.ok, refused.reason) == (False, "tpm")
        assert refused.retry_after_s == pytest.approx(55.0)
        await state.settle(first.ticket, actual_tokens=300)
        assert stats(state, tpm=1000).tpm_used == 300
        assert (await state.admit(limits, 500)).ok
        assert stats(state, tpm=1000).tpm_used == 800
        assert not (await state.admit(limits, 300)).ok

    async def test_a_request_larger_than_the_tpm_limit_is_refused(self, state: RouterState) -> None:
        refused = await state.admit(DeploymentLimits("d", tpm_limit=100), 101)
        assert (refused.ok, refused.reason) == (False, "tpm")
        assert stats(state).tpm_used == 0

    async def test_a_refused_admission_reserves_nothing(self, state: RouterState) -> None:
        limits = DeploymentLimits("d", rpm_limit=1)
        assert (await state.admit(limits, 5)).ok
        for _ in range(3):
            assert not (await state.admit(limits, 5)).ok
        snapshot = stats(state, rpm=1)
        assert (snapshot.rpm_used, snapshot.tpm_used, snapshot.in_flight, snapshot.rpm_limit) == (1, 5, 1, 1)

    async def test_in_flight_counts_admitted_requests_until_settled(self, state: RouterState) -> None:
        limits = DeploymentLimits("d")
        tickets = [(await state.admit(limits, 1)).ticket for _ in range(3)]
        assert stats(state).in_flight == 3
        assert tickets[0] is not None
        await state.settle(tickets[0])
        assert stats(state).in_flight == 2
        # The window still counts the settled request: it was sent.
        assert stats(state).rpm_used == 3

    async def test_provider_saying_zero_left_makes_the_deployment_full_until_reset(
        self, state: RouterState, clock: FakeClock
    ) -> None:
        limits = DeploymentLimits("d")
        await state.record_quota("d", Quota(remaining_requests=0, remaining_tokens=5000, reset_requests_s=5.0))
        refused = await state.admit(limits, 10)
        assert (refused.ok, refused.reason) == (False, "provider_requests")
        assert refused.retry_after_s == pytest.approx(5.0)
        snapshot = stats(state)
        assert (snapshot.remaining_requests, snapshot.remaining_tokens) == (0, 5000)
        clock.advance(5.0)
        assert stats(state).remaining_requests is None
        assert (await state.admit(limits, 10)).ok

    async def test_a_rate_limited_failure_carries_the_token_quota(self, state: RouterState, clock: FakeClock) -> None:
        quota = Quota(remaining_tokens=0, reset_tokens_s=2.0)
        assert await state.record_failure("d", POLICY, quota) == "closed"
        refused = await state.admit(DeploymentLimits("d"), 10)
        assert (refused.ok, refused.reason) == (False, "provider_tokens")
        clock.advance(2.0)
        assert (await state.admit(DeploymentLimits("d"), 10)).ok

    async def test_latency_ewmas_and_sample_count(self, state: RouterState) -> None:
        assert stats(state).latency_ms is None
        await state.record_success("d", latency_ms=100.0, ttft_ms=10.0)
        await state.record_success("d", latency_ms=200.0)
        snapshot = stats(state)
        assert snapshot.latency_ms == pytest.approx(120.0)
        assert (snapshot.ttft_ms, snapshot.samples) == (10.0, 2)
        await state.record_success("d", latency_ms=200.0, ttft_ms=20.0, quota=Quota(remaining_requests=7))
        snapshot = stats(state)
        assert snapshot.latency_ms == pytest.approx(136.0)
        assert snapshot.ttft_ms == pytest.approx(12.0)
        assert snapshot.samples == 3
        assert snapshot.remaining_requests == 7

    async def test_health_results_are_kept_per_deployment(self, state: RouterState) -> None:
        await state.put_health("d", HealthRecord(False, 1_700_000_000.5, "connect refused"))
        await state.put_health("e", HealthRecord(True, 1_700_000_001.0))
        found = await state.health(["d", "e", "unknown"])
        assert found == {
            "d": HealthRecord(False, 1_700_000_000.5, "connect refused"),
            "e": HealthRecord(True, 1_700_000_001.0, ""),
        }

    async def test_a_closed_circuit_reports_how_long_ago_it_recovered(
        self, state: RouterState, clock: FakeClock
    ) -> None:
        """The slow-start ramp reads recovered_s: it starts when a probe closes the circuit, grows with
        the clock without a write, and ends when the circuit opens again."""
        await state.record_success("d", latency_ms=50.0)
        assert stats(state).recovered_s is None, "a deployment that never failed is not recovering"
        await open_circuit(state)
        assert stats(state).recovered_s is None
        clock.advance(POLICY.cooldown_s)
        assert await state.try_probe("d")
        await state.record_success("d", latency_ms=50.0)
        assert stats(state).recovered_s == pytest.approx(0.0, abs=1e-3)
        clock.advance(12.0)
        assert stats(state).recovered_s == pytest.approx(12.0, abs=1e-3)
        await state.record_success("d", latency_ms=50.0)
        assert stats(state).recovered_s == pytest.approx(12.0, abs=1e-3), "later successes keep the start"
        await open_circuit(state)
        assert stats(state).recovered_s is None

    async def test_a_replica_holds_its_own_leader_lock(self, state: RouterState) -> None:
        assert await state.leader("health", ttl_s=5.0)
        assert await state.leader("health", ttl_s=5.0)
        await state.release_leader("health")
        assert not state.degraded


class TestMemoryState(StateContract):
    @pytest.fixture
    async def state(self, clock: FakeClock) -> AsyncIterator[MemoryState]:
        state = MemoryState(StateOptions(clock=clock))
        yield state
        await state.close()


async def test_no_url_means_in_memory_state() -> None:
    state = await open_state("")
    assert isinstance(state, MemoryState)
    assert not state.degraded


def test_snapshot_turns_half_open_on_time_without_a_write() -> None:
    clock = FakeClock()
    state = MemoryState(StateOptions(clock=clock))
    limits = [DeploymentLimits("d")]
    asyncio.run(open_circuit(state))
    first = state.snapshot(limits)["d"]
    assert state.snapshot(limits)["d"] is first
    clock.advance(POLICY.cooldown_s)
    assert state.snapshot(limits)["d"].circuit == "half_open"


def test_snapshot_usage_falls_as_the_window_slides() -> None:
    clock = FakeClock()
    state = MemoryState(StateOptions(clock=clock, window_s=10.0))
    limits = DeploymentLimits("d", rpm_limit=10)
    asyncio.run(state.admit(limits, 100))
    clock.advance(5)
    asyncio.run(state.admit(limits, 50))
    assert (stats(state, rpm=10).rpm_used, stats(state, rpm=10).tpm_used) == (2, 150)
    clock.advance(5)
    assert (stats(state, rpm=10).rpm_used, stats(state, rpm=10).tpm_used) == (1, 50)
    clock.advance(5)
    assert (stats(state, rpm=10).rpm_used, stats(state, rpm=10).tpm_used) == (0, 0)


def test_snapshot_carries_the_limits_it_is_asked_with() -> None:
    state = MemoryState()
    assert stats(state, rpm=10, tpm=1000).rpm_limit == 10
    assert stats(state, rpm=20).rpm_limit == 20
    assert stats(state).tpm_limit is None


def test_adopted_row_keeps_circuits_and_latency_on_the_local_clock() -> None:
    clock = FakeClock(start=10.0)
    state = MemoryState(StateOptions(clock=clock))
    shared = Row(latency_ms=250.0, samples=4, open_until=1_000_030.0)
    state.adopt("d", shared, shift=10.0 - 1_000_000.0)
    snapshot = stats(state)
    assert (snapshot.latency_ms, snapshot.samples, snapshot.circuit) == (250.0, 4, "open")
    clock.advance(30)
    assert stats(state).circuit == "half_open"


def test_stats_of_says_until_when_it_holds() -> None:
    row = Row(open_until=50.0, remaining_requests=3, requests_known_until=20.0)
    snapshot, valid_until = stats_of(row, DeploymentLimits("d"), now=10.0)
    assert (snapshot.circuit, snapshot.remaining_requests, valid_until) == ("open", 3, 20.0)
    snapshot, valid_until = stats_of(row, DeploymentLimits("d"), now=60.0)
    assert (snapshot.circuit, snapshot.remaining_requests, valid_until) == ("half_open", None, math.inf)


def test_only_deployment_failures_count_toward_the_circuit() -> None:
    for reason in ("upstream_unavailable", "upstream_timeout", "upstream_connect", "upstream_malformed"):
        assert counts_toward_circuit(reason)
    assert counts_toward_circuit("upstream_rate_limited")
    for reason in ("upstream_bad_request", "invalid_request", "context_window_exceeded", "upstream_content_filtered"):
        assert not counts_toward_circuit(reason)


def test_limits_come_from_the_model_list_entry() -> None:
    entry = ModelEntry.model_validate(
        {"model_name": "gpt", "litellm_params": {"model": "openai/gpt-4o", "rpm": 60, "tpm": 90000}}
    )
    assert DeploymentLimits.of(entry) == DeploymentLimits(entry.deployment_id, 60, 90000)
