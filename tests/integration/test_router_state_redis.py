"""Router state on a real Redis: the shared contract, one limit across replicas and processes, and outages.

Run as a module (`python -m tests.integration.test_router_state_redis ...`) it is a router replica of
its own in another OS process: see worker() at the bottom.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any, TypeVar

import pytest
import redis

from switchyard.services.router.state import (
    DeploymentLimits,
    HealthRecord,
    MemoryState,
    Quota,
    RedisState,
    RouterState,
    StateOptions,
)
from tests.redis_support import throwaway_redis
from tests.support import Process, python_module, wait_until
from tests.unit.router.test_router_state import POLICY, FakeClock, StateContract, open_circuit, stats

pytestmark = pytest.mark.mesh
T = TypeVar("T")
# Generous: these tests are about atomicity and sharing, not speed, on a machine that may be busy.
PATIENT = StateOptions(timeout_s=2.0, refresh_s=0.05)
MODULE = "tests.integration.test_router_state_redis"


def options(**changes: Any) -> StateOptions:
    fields = {name: getattr(PATIENT, name) for name in StateOptions.__dataclass_fields__}
    return StateOptions(**{**fields, **changes})


@pytest.fixture(autouse=True)
def forget_keys(redis_url: str, redis_prefix: str) -> Iterator[None]:
    """Deletes what the test wrote under its prefix, so the shared Redis does not keep it until expiry."""
    yield
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{redis_prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
async def replicas(redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[RedisState, RedisState]]:
    """Two router replicas sharing one Redis and key prefix."""
    first = await RedisState.connect(redis_url, redis_prefix, PATIENT)
    second = await RedisState.connect(redis_url, redis_prefix, PATIENT)
    yield first, second
    await first.close()
    await second.close()


class TestSharedContract(StateContract):
    """The behaviour suite of tests/unit, on the in-memory store and on Redis alike."""

    @pytest.fixture(params=["memory", "redis"])
    async def state(
        self, request: pytest.FixtureRequest, clock: FakeClock, redis_url: str, redis_prefix: str
    ) -> AsyncIterator[RouterState]:
        store: RouterState
        if request.param == "memory":
            store = MemoryState(options(clock=clock))
        else:
            store = await RedisState.connect(redis_url, redis_prefix, options(clock=clock))
        yield store
        assert not store.degraded
        await store.close()


async def test_two_replicas_admit_exactly_the_limit(replicas: tuple[RedisState, RedisState]) -> None:
    limits = DeploymentLimits("busy", rpm_limit=50)
    calls = [replicas[n % 2].admit(limits, 10) for n in range(200)]
    admissions = await asyncio.gather(*calls)
    assert sum(a.ok for a in admissions) == 50
    refused = [a for a in admissions if not a.ok]
    assert {a.reason for a in refused} == {"rpm"}
    assert all(0 < a.retry_after_s <= 60 for a in refused)
    assert not any(r.degraded for r in replicas)


async def test_two_processes_admit_exactly_the_limit(redis_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    workers = [
        python_module(MODULE, "admit", redis_url, redis_prefix, "--count", "100", "--rpm", "50", name=f"admit{n}")
        for n in range(2)
    ]
    try:
        await wait_until(lambda: client.scard(f"{redis_prefix}ready") == 2, timeout=60, what="both workers ready")
        client.set(f"{redis_prefix}go", "1")
        results = [await finished(worker) for worker in workers]
    finally:
        for worker in workers:
            worker.stop()
        client.close()
    assert sum(r["accepted"] for r in results) == 50
    assert all(r["count"] == 100 and not r["degraded"] for r in results)


async def finished(process: Process, timeout: float = 60.0) -> dict[str, Any]:
    """Returns the JSON line a worker printed last, once it has exited with 0."""
    await wait_until(lambda: not process.alive(), timeout=timeout, what=f"{process.name} to finish")
    assert process.proc.returncode == 0, process.output()
    return dict(json.loads(process.output().strip().splitlines()[-1]))


async def test_in_flight_counts_are_seen_by_the_other_replica(replicas: tuple[RedisState, RedisState]) -> None:
    first, second = replicas
    limits = DeploymentLimits("d")
    tickets = [(await first.admit(limits, 1)).ticket for _ in range(3)]
    await wait_until(lambda: stats(second).in_flight == 3, what="the other replica to see 3 in flight")
    for ticket in tickets:
        assert ticket is not None
        await first.settle(ticket)
    await wait_until(lambda: stats(second).in_flight == 0, what="the other replica to see none in flight")


async def test_a_live_replica_keeps_its_long_requests_counted(redis_url: str, redis_prefix: str) -> None:
    state = await RedisState.connect(redis_url, redis_prefix, options(in_flight_ttl_s=0.6))
    client = redis.Redis.from_url(redis_url)
    try:
        ticket = (await state.admit(DeploymentLimits("d"), 1)).ticket
        assert ticket is not None
        key = f"{redis_prefix}{{d}}:i"
        first_expiry = client.zscore(key, ticket.id)
        assert first_expiry is not None
        # Renewed twice means the mark outlived its first TTL while the request went on.
        await wait_until(lambda: (client.zscore(key, ticket.id) or 0) > first_expiry + 0.6, what="renewal")
        assert stats(state).in_flight == 1
    finally:
        client.close()
        await state.close()


async def test_a_crashed_replica_stops_counting_and_loses_leadership(redis_url: str, redis_prefix: str) -> None:
    survivor = await RedisState.connect(redis_url, redis_prefix, PATIENT)
    holder = python_module(MODULE, "hold", redis_url, redis_prefix, "--ttl", "1.0", name="holder")
    try:
        await wait_until(lambda: stats(survivor).in_flight == 2, timeout=60, what="the holder's 2 requests")
        assert not await survivor.leader("health", ttl_s=5.0)
        holder.stop(signal.SIGKILL)
        await wait_until(lambda: stats(survivor).in_flight == 0, what="the crashed replica's requests to lapse")
        await wait_until(lambda: survivor.leader("health", ttl_s=5.0), what="leadership to pass to the survivor")
    finally:
        holder.stop(signal.SIGKILL)
        await survivor.close()


async def test_latency_ewmas_are_shared(replicas: tuple[RedisState, RedisState]) -> None:
    first, second = replicas
    await first.record_success("d", latency_ms=100.0, ttft_ms=40.0)
    await wait_until(lambda: stats(second).latency_ms == 100.0, what="the other replica to see the latency")
    await second.record_success("d", latency_ms=200.0, ttft_ms=60.0)
    await wait_until(lambda: stats(first).samples == 2, what="the first replica to see both samples")
    seen = stats(first)
    assert seen.latency_ms == pytest.approx(120.0)
    assert seen.ttft_ms == pytest.approx(44.0)


async def test_one_probe_across_replicas(redis_url: str, redis_prefix: str) -> None:
    clock = FakeClock()
    first = await RedisState.connect(redis_url, redis_prefix, options(clock=clock))
    second = await RedisState.connect(redis_url, redis_prefix, options(clock=clock))
    try:
        await open_circuit(first)
        await wait_until(lambda: stats(second).circuit == "open", what="the other replica to see the open circuit")
        clock.advance(POLICY.cooldown_s)
        claims = await asyncio.gather(*(replica.try_probe("d") for replica in (first, second) for _ in range(10)))
        assert sum(claims) == 1
        await (first if claims.index(True) < 10 else second).record_success("d", latency_ms=10.0)
        await wait_until(lambda: stats(first).circuit == stats(second).circuit == "closed", what="closed everywhere")
    finally:
        await first.close()
        await second.close()


async def test_window_on_redis_time_slides(redis_url: str, redis_prefix: str) -> None:
    state = await RedisState.connect(redis_url, redis_prefix, options(window_s=0.5))
    try:
        limits = DeploymentLimits("d", rpm_limit=3)
        for _ in range(3):
            assert (await state.admit(limits, 1)).ok
        refused = await state.admit(limits, 1)
        assert (refused.ok, refused.reason) == (False, "rpm")
        assert 0 < refused.retry_after_s <= 0.5

        async def admitted() -> bool:
            return (await state.admit(limits, 1)).ok

        await wait_until(admitted, what="the window to slide")
    finally:
        await state.close()


async def test_quota_and_health_are_shared(replicas: tuple[RedisState, RedisState]) -> None:
    first, second = replicas
    await first.record_quota("d", Quota(remaining_requests=0, reset_requests_s=30.0))
    refused = await second.admit(DeploymentLimits("d"), 1)
    assert (refused.ok, refused.reason) == (False, "provider_requests")
    await first.put_health("d", HealthRecord(False, 1_700_000_000.0, "503 from upstream"))
    assert await second.health(["d"]) == {"d": HealthRecord(False, 1_700_000_000.0, "503 from upstream")}


async def test_one_leader_at_a_time(replicas: tuple[RedisState, RedisState]) -> None:
    first, second = replicas
    assert await first.leader("health", ttl_s=5.0)
    assert not await second.leader("health", ttl_s=5.0)
    assert await first.leader("health", ttl_s=5.0)
    await first.release_leader("health")
    assert await second.leader("health", ttl_s=0.3)
    assert not await first.leader("health", ttl_s=5.0)
    # The second replica stops renewing, as a hung one would: the lock lapses after its TTL.
    await wait_until(lambda: first.leader("health", ttl_s=5.0), what="the lapsed lock to be taken")
    assert not await second.leader("health", ttl_s=5.0)


async def within(seconds: float, call: Awaitable[T]) -> T:
    """Returns call's result, failing when it took longer than seconds (a generous bound, not a benchmark)."""
    started = time.monotonic()
    result = await call
    assert time.monotonic() - started < seconds
    return result


async def exercise_every_call(state: RedisState) -> None:
    """Calls every operation, each of which must come back well within a second."""
    await within(1.0, state.record_success("d", latency_ms=50.0, ttft_ms=5.0))
    await within(1.0, state.record_failure("d", POLICY, Quota(remaining_requests=10)))
    await within(1.0, state.try_probe("d"))
    ticket = (await within(1.0, state.admit(DeploymentLimits("d"), 1))).ticket
    assert ticket is not None
    await within(1.0, state.settle(ticket, 2))
    await within(1.0, state.record_quota("d", Quota(remaining_tokens=100)))
    await within(1.0, state.leader("health", ttl_s=5.0))
    await within(1.0, state.put_health("d", HealthRecord(True, 1.0)))
    await within(1.0, state.health(["d"]))
    await within(1.0, state.release_leader("health"))


async def test_redis_outage_serves_locally_and_recovers() -> None:
    with throwaway_redis() as server:
        state = await RedisState.connect(server.url, "outage:", StateOptions(timeout_s=0.1, retry_s=0.1))
        try:
            await state.record_success("d", latency_ms=80.0)
            await open_circuit(state, "broken")
            assert not state.degraded
            server.stop()
            await exercise_every_call(state)
            assert state.degraded
            # Local limits: the next admissions are counted on this replica alone.
            limits = DeploymentLimits("limited", rpm_limit=3)
            results = [await within(1.0, state.admit(limits, 1)) for _ in range(4)]
            assert [a.ok for a in results] == [True, True, True, False]
            # What was shared before the outage still holds locally.
            assert stats(state, "broken").circuit == "open"
            assert stats(state).latency_ms is not None
            server.start()
            await wait_until(lambda: not state.degraded, what="the store to use Redis again")
            assert (await state.admit(limits, 1)).ok
            assert stats(state, "limited", rpm=3).rpm_used == 1
        finally:
            await state.close()


async def test_a_hung_redis_never_holds_a_request() -> None:
    """A server that accepts connections and never answers: calls come back after the timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        state = await within(1.0, RedisState.connect(url, "hung:", StateOptions(timeout_s=0.1)))
        try:
            assert state.degraded
            await exercise_every_call(state)
            limits = DeploymentLimits("limited", rpm_limit=1)
            assert [(await within(1.0, state.admit(limits, 1))).ok for _ in range(2)] == [True, False]
        finally:
            await within(2.0, state.close())


async def test_no_redis_at_start_starts_degraded() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = await RedisState.connect(f"redis://127.0.0.1:{port}/0", "none:", StateOptions(timeout_s=0.1))
    try:
        assert state.degraded
        await exercise_every_call(state)
    finally:
        await state.close()


# -- the worker: a router replica in another OS process ------------------------------------------


async def admit_worker(url: str, prefix: str, count: int, rpm: int) -> dict[str, Any]:
    """Waits for the go signal, then sends count concurrent admissions; returns how many were accepted."""
    state = await RedisState.connect(url, prefix, PATIENT)
    client = redis.Redis.from_url(url)
    try:
        client.sadd(f"{prefix}ready", uuid.uuid4().hex)
        await wait_until(lambda: bool(client.exists(f"{prefix}go")), 60, "the go signal")
        limits = DeploymentLimits("busy", rpm_limit=rpm)
        admissions = await asyncio.gather(*(state.admit(limits, 10) for _ in range(count)))
        return {"accepted": sum(a.ok for a in admissions), "count": count, "degraded": state.degraded}
    finally:
        client.close()
        await state.close()


async def hold_worker(url: str, prefix: str, ttl_s: float) -> None:
    """Admits two requests, takes the health lock, and keeps them until killed."""
    state = await RedisState.connect(url, prefix, options(in_flight_ttl_s=ttl_s))
    for _ in range(2):
        assert (await state.admit(DeploymentLimits("d"), 1)).ok
    assert await state.leader("health", ttl_s=ttl_s)
    while True:
        await asyncio.sleep(ttl_s / 3)
        await state.leader("health", ttl_s=ttl_s)


def worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["admit", "hold"])
    parser.add_argument("url")
    parser.add_argument("prefix")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--rpm", type=int, default=50)
    parser.add_argument("--ttl", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.mode == "admit":
        print(json.dumps(asyncio.run(admit_worker(args.url, args.prefix, args.count, args.rpm))), flush=True)
    else:
        asyncio.run(hold_worker(args.url, args.prefix, args.ttl))


if __name__ == "__main__":
    worker(sys.argv[1:])
