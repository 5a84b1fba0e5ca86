"""Router-state latency: `python -m bench.state`.

Times, one call at a time, what the router does per request on its shared state: the snapshot of 50
deployments a strategy is given (served from memory, no I/O), the atomic check-and-reserve (admit),
its settlement, and recording a success; plus the background refresh that re-reads all 50
deployments in one round trip. Each runs in memory and against Redis (REDIS_URL, else the local
default); the keys written go under a prefix of their own and are deleted at the end. Prints p50 and
p99 in microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

import redis

from switchyard.services.router.state import DeploymentLimits, MemoryState, RedisState, StateOptions
from switchyard.services.router.state.base import RouterState

DEPLOYMENTS = 50


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(call: Callable[[], Awaitable[object]], count: int) -> list[float]:
    """Returns the duration of count sequential calls, in microseconds."""
    durations = []
    for _ in range(count):
        started = time.perf_counter_ns()
        await call()
        durations.append((time.perf_counter_ns() - started) / 1000)
    return durations


def timed_sync(call: Callable[[], object], count: int) -> list[float]:
    durations = []
    for _ in range(count):
        started = time.perf_counter_ns()
        call()
        durations.append((time.perf_counter_ns() - started) / 1000)
    return durations


async def measure(state: RouterState, count: int) -> dict[str, list[float]]:
    """Returns the durations of each operation on state."""
    limits = [DeploymentLimits(f"bench-{n:02d}", rpm_limit=10**9, tpm_limit=10**12) for n in range(DEPLOYMENTS)]
    for index, entry in enumerate(limits):
        await state.record_success(entry.deployment_id, latency_ms=100.0 + index, ttft_ms=20.0)
    target = limits[0]
    tickets = []

    async def admit() -> None:
        admission = await state.admit(target, 500)
        tickets.append(admission.ticket)

    results = {"admit": await timed(admit, count)}
    pending = iter(tickets)

    async def settle() -> None:
        ticket = next(pending)
        assert ticket is not None
        await state.settle(ticket, 420)

    results["settle"] = await timed(settle, count)
    results["record_success"] = await timed(lambda: state.record_success(target.deployment_id, 123.0, 45.0), count)
    if isinstance(state, RedisState):
        results["refresh (50, background)"] = await timed(state.refresh, max(count // 10, 50))
    state.snapshot(limits)
    results["snapshot (50)"] = timed_sync(lambda: state.snapshot(limits), count * 5)
    return results


def delete_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


async def run(url: str, count: int) -> list[tuple[str, str, list[float]]]:
    rows: list[tuple[str, str, list[float]]] = []
    memory = MemoryState()
    rows.extend(("memory", name, values) for name, values in (await measure(memory, count)).items())
    prefix = f"bench:state:{uuid.uuid4().hex[:8]}:"
    # A refresh period longer than the run keeps the background task from competing with the timed calls.
    shared = await RedisState.connect(url, prefix, StateOptions(timeout_s=1.0, refresh_s=3600.0))
    try:
        if shared.degraded:
            raise SystemExit(f"no Redis answers at {url}")
        rows.extend(("redis", name, values) for name, values in (await measure(shared, count)).items())
    finally:
        await shared.close()
        delete_prefix(url, prefix)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--count", type=int, default=2000, help="calls per operation (snapshots: 5x)")
    args = parser.parse_args(argv)
    print_table(asyncio.run(run(args.redis_url, args.count)), "operation", "calls")


def print_table(rows: Sequence[tuple[str, str, list[float]]], step: str, unit: str) -> None:
    """Prints (store, step, µs timings) rows as a Markdown table of p50 and p99."""
    print(f"| store | {step} | p50 µs | p99 µs | {unit} |")
    print("|---|---|---:|---:|---:|")
    for store, name, values in rows:
        print(f"| {store} | {name} | {percentile(values, 0.5):.1f} | {percentile(values, 0.99):.1f} | {len(values)} |")


if __name__ == "__main__":
    main()
