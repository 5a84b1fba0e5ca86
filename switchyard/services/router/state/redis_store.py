"""Router state shared by every replica through Redis, with the in-memory twin as its bounded-time fallback.

Exact operations (check-and-reserve, the half-open probe claim, leader locks) are one Lua script
each, one round trip on the hot path (redis_calls builds them). Snapshots come from a local mirror
that a background task re-reads every refresh_s (one pipelined round trip for all deployments) and
that this replica's own writes update at once. Redis failures follow switchyard.redisutil's policy:
every call is bounded by timeout_s; the first failure switches the store to its twin (degraded,
logged once), seeded with the mirror, which serves every call until the policy's probe gets an
answer every retry_s and the mirror has been re-read.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Sequence
from typing import Any, cast

import redis.asyncio as aioredis

from switchyard.redisutil import Call, RedisPolicy, Scripts, Unreachable, new_client
from switchyard.services.router.state.base import (
    Admission,
    CircuitPolicy,
    DeploymentLimits,
    HealthRecord,
    Quota,
    RefusalReason,
    StateOptions,
    Ticket,
    quota_horizon,
)
from switchyard.services.router.state.memory import MemoryState
from switchyard.services.router.state.mirror import Mirror, optional_float, row_from_read
from switchyard.services.router.state.redis_calls import SCRIPTS, StateCalls
from switchyard.services.router.strategies.base import CircuitState, DeploymentStats

log = logging.getLogger(__name__)
# The background refresh reads every deployment at once: it may take longer than one hot-path call.
REFRESH_TIMEOUT_S = 0.5
# Probe results of deployments nobody probes any more go away after a day.
HEALTH_TTL_S = 86_400


class RedisState:
    """Router state in Redis under a key prefix (see RouterState for what each method means)."""

    def __init__(self, client: aioredis.Redis, prefix: str, options: StateOptions | None = None) -> None:
        self._client = client
        self._options = options or StateOptions()
        self._timeout = self._options.timeout_s
        self._clock = self._options.clock
        self._offset = time.time() - time.monotonic()
        self._mirror = Mirror(self._now)
        self._twin = MemoryState(self._options)
        self._replica = uuid.uuid4().hex[:12]
        self._ids = itertools.count(1)
        self._lua = Scripts(client, SCRIPTS)
        self._calls = StateCalls(prefix, self._options)
        self._policy = RedisPolicy(
            client,
            "shared state",
            timeout_s=self._timeout,
            retry_s=self._options.retry_s,
            local="serving from local state",
            shared="back on shared state",
            on_degrade=self._seed_twin,
            resync=self._resync,
        )
        # This replica's in-flight marks in Redis, renewed by the refresh so they outlive long requests.
        self._mine: dict[str, set[str]] = {}
        self._renewed_at = 0.0
        self._locks: set[str] = set()
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, url: str, prefix: str, options: StateOptions | None = None) -> RedisState:
        """Returns a started store; when Redis does not answer it starts degraded and keeps trying."""
        options = options or StateOptions()
        client = new_client(url, options.timeout_s, max_connections=options.max_connections, decode=True)
        state = cls(client, prefix, options)
        await state.start()
        return state

    async def start(self) -> None:
        """Checks Redis (within the timeout) and starts the background refresh."""
        # No answer leaves the store degraded, serving locally, and the policy's probe trying again.
        with contextlib.suppress(Unreachable):
            await self._policy.call(lambda: cast(Awaitable[Any], self._client.ping()))
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="router-state-refresh")

    @property
    def degraded(self) -> bool:
        return self._policy.degraded

    # -- time --------------------------------------------------------------------------------------

    def _now(self) -> float:
        """Returns the shared clock's time: the injected clock, or Redis's TIME as last observed."""
        if self._clock is not None:
            return self._clock()
        return time.monotonic() + self._offset

    def _observe(self, redis_now: Any) -> None:
        if self._clock is None:
            self._offset = float(redis_now) - time.monotonic()

    # -- Redis calls -------------------------------------------------------------------------------

    async def _scripts(self, *calls: Call) -> list[Any]:
        """Returns the replies of calls run in one round trip; raises Unreachable as the policy decides."""
        return await self._policy.call(lambda: self._lua.run(calls))

    def _seed_twin(self) -> None:
        # The twin starts from what was last known: open circuits stay open, latencies stay measured.
        shift = self._twin.now() - self._now()
        for deployment_id, row in self._mirror.rows.items():
            self._twin.adopt(deployment_id, row, shift)

    # -- the RouterState operations -----------------------------------------------------------------

    def snapshot(self, deployments: Sequence[DeploymentLimits]) -> dict[str, DeploymentStats]:
        if self._policy.degraded:
            return self._twin.snapshot(deployments)
        return self._mirror.snapshot(deployments)

    async def admit(self, limits: DeploymentLimits, tokens: int) -> Admission:
        tokens = max(int(tokens), 0)
        deployment_id = limits.deployment_id
        ticket_id = f"{self._replica}:{next(self._ids)}"
        try:
            (reply,) = await self._scripts(self._calls.admit(limits, tokens, ticket_id))
        except Unreachable:
            return await self._twin.admit(limits, tokens)
        admitted, reason, wait, used, total, now, in_flight = reply.split("|")
        self._observe(now)
        row = self._mirror.row(deployment_id)
        row.rpm_used, row.tpm_used = int(used), int(total)
        if admitted != "1":
            return Admission(False, cast(RefusalReason, reason), float(wait))
        row.in_flight = int(in_flight)
        self._mine.setdefault(deployment_id, set()).add(ticket_id)
        return Admission(True, ticket=Ticket(deployment_id, ticket_id, local=False))

    async def settle(self, ticket: Ticket, actual_tokens: int | None = None) -> None:
        if ticket.local:
            await self._twin.settle(ticket, actual_tokens)
            return
        try:
            (reply,) = await self._scripts(self._settle_call(ticket, actual_tokens))
        except Unreachable:
            return
        self._settled(ticket.deployment_id, reply)

    def _settle_call(self, ticket: Ticket, actual_tokens: int | None) -> Call:
        # Forgotten here first: if Redis cannot be told, the mark lapses after its TTL unrenewed.
        self._mine.get(ticket.deployment_id, set()).discard(ticket.id)
        return self._calls.settle(ticket.deployment_id, ticket.id, actual_tokens)

    def _settled(self, deployment_id: str, reply: str) -> None:
        used, total, in_flight, now = reply.split("|")
        self._observe(now)
        row = self._mirror.row(deployment_id)
        row.rpm_used, row.tpm_used, row.in_flight = int(used), int(total), int(in_flight)

    def _mirror_quota(self, deployment_id: str, quota: Quota, now: float) -> None:
        row = self._mirror.row(deployment_id)
        if quota.remaining_requests is not None:
            row.remaining_requests = quota.remaining_requests
            row.requests_known_until = now + quota_horizon(quota.reset_requests_s)
        if quota.remaining_tokens is not None:
            row.remaining_tokens = quota.remaining_tokens
            row.tokens_known_until = now + quota_horizon(quota.reset_tokens_s)

    async def record_success(
        self, deployment_id: str, latency_ms: float, ttft_ms: float | None = None, quota: Quota | None = None
    ) -> None:
        try:
            replies = await self._scripts(*self._calls.success(deployment_id, latency_ms, ttft_ms, quota))
        except Unreachable:
            await self._twin.record_success(deployment_id, latency_ms, ttft_ms, quota)
            return
        self._succeeded(deployment_id, replies, quota)

    async def finish(
        self, ticket: Ticket, tokens: int, latency_ms: float, ttft_ms: float | None = None, quota: Quota | None = None
    ) -> None:
        deployment_id = ticket.deployment_id
        if ticket.local:
            # Issued while Redis was unreachable: the twin holds the reservation, the success goes where it can.
            await self._twin.settle(ticket, tokens)
            await self.record_success(deployment_id, latency_ms, ttft_ms, quota)
            return
        calls = [self._settle_call(ticket, tokens), *self._calls.success(deployment_id, latency_ms, ttft_ms, quota)]
        try:
            replies = await self._scripts(*calls)
        except Unreachable:
            await self._twin.record_success(deployment_id, latency_ms, ttft_ms, quota)
            return
        self._settled(deployment_id, replies[0])
        self._succeeded(deployment_id, replies[1:], quota)

    def _succeeded(self, deployment_id: str, replies: Sequence[Any], quota: Quota | None) -> None:
        latency, ttft_ewma, samples, open_until, now, recovered_at = replies[0].split("|")
        self._observe(now)
        row = self._mirror.row(deployment_id)
        row.latency_ms, row.ttft_ms = optional_float(latency), optional_float(ttft_ewma)
        row.samples, row.open_until = int(samples), optional_float(open_until)
        row.recovered_at = optional_float(recovered_at)
        if quota is not None:
            self._mirror_quota(deployment_id, quota, float(now))

    async def record_failure(
        self, deployment_id: str, policy: CircuitPolicy, quota: Quota | None = None
    ) -> CircuitState:
        failure_id = f"{self._replica}:{next(self._ids)}"
        try:
            replies = await self._scripts(*self._calls.failure(deployment_id, policy, failure_id, quota))
        except Unreachable:
            return await self._twin.record_failure(deployment_id, policy, quota)
        state, open_until, now = replies[0].split("|")
        self._observe(now)
        row = self._mirror.row(deployment_id)
        row.open_until = optional_float(open_until)
        if row.open_until is not None:
            row.recovered_at = None
        if quota is not None:
            self._mirror_quota(deployment_id, quota, float(now))
        return cast(CircuitState, state)

    async def record_quota(self, deployment_id: str, quota: Quota) -> None:
        try:
            (now,) = await self._scripts(self._calls.quota(deployment_id, quota))
        except Unreachable:
            await self._twin.record_quota(deployment_id, quota)
            return
        self._observe(now)
        self._mirror_quota(deployment_id, quota, float(now))

    async def try_probe(self, deployment_id: str, lease_s: float = 30.0) -> bool:
        try:
            (reply,) = await self._scripts(self._calls.probe(deployment_id, lease_s))
        except Unreachable:
            return await self._twin.try_probe(deployment_id, lease_s)
        granted, open_until, now = reply.split("|")
        self._observe(now)
        self._mirror.row(deployment_id).open_until = optional_float(open_until)
        return granted == "1"

    async def leader(self, name: str, ttl_s: float) -> bool:
        try:
            (held,) = await self._scripts(self._calls.lock(name, self._replica, ttl_s))
        except Unreachable:
            return await self._twin.leader(name, ttl_s)
        if held:
            self._locks.add(name)
        else:
            self._locks.discard(name)
        return bool(held)

    async def release_leader(self, name: str) -> None:
        self._locks.discard(name)
        await self._twin.release_leader(name)
        try:
            await self._scripts(self._calls.unlock(name, self._replica))
        except Unreachable:
            return

    async def put_health(self, deployment_id: str, record: HealthRecord) -> None:
        value = json.dumps([record.healthy, record.checked_at, record.message])
        key = self._calls.health_key
        pipe = self._client.pipeline(transaction=False)
        pipe.hset(key, deployment_id, value)
        pipe.expire(key, HEALTH_TTL_S)
        try:
            await self._policy.call(pipe.execute)
        except Unreachable:
            await self._twin.put_health(deployment_id, record)

    async def health(self, deployment_ids: Sequence[str]) -> dict[str, HealthRecord]:
        if not deployment_ids:
            return {}
        key = self._calls.health_key
        try:
            values = await self._policy.call(
                lambda: cast(Awaitable[Any], self._client.hmget(key, list(deployment_ids)))
            )
        except Unreachable:
            return await self._twin.health(deployment_ids)
        out: dict[str, HealthRecord] = {}
        for deployment_id, value in zip(deployment_ids, values, strict=True):
            if value is not None:
                healthy, checked_at, message = json.loads(value)
                out[deployment_id] = HealthRecord(bool(healthy), float(checked_at), str(message))
        return out

    # -- background ---------------------------------------------------------------------------------

    def _read_calls(self) -> tuple[list[tuple[str, int]], list[Call]]:
        """Returns (deployment, own writes so far) to re-read and their READ calls (renewing own marks when due)."""
        renew = time.monotonic() - self._renewed_at >= self._options.in_flight_ttl_s / 3
        if renew:
            self._renewed_at = time.monotonic()
        seen: list[tuple[str, int]] = []
        calls: list[Call] = []
        for deployment_id in list(self._mirror.rows):
            mine = sorted(self._mine.get(deployment_id, ())) if renew else []
            calls.append(self._calls.read(deployment_id, mine))
            seen.append((deployment_id, self._mirror.writes(deployment_id)))
        return seen, calls

    def _apply(self, seen: Sequence[tuple[str, int]], replies: Sequence[Any]) -> None:
        for (deployment_id, writes), reply in zip(seen, replies, strict=True):
            now, row = row_from_read(reply)
            self._observe(now)
            self._mirror.replace(deployment_id, row, writes)

    async def refresh(self) -> None:
        """Re-reads every known deployment into the mirror in one round trip."""
        seen, calls = self._read_calls()
        if not calls:
            return
        try:
            replies = await self._policy.call(lambda: self._lua.run(calls), max(self._timeout, REFRESH_TIMEOUT_S))
        except Unreachable:
            return
        self._apply(seen, replies)

    async def _resync(self) -> None:
        """Re-reads the mirror before the store trusts Redis again (the policy's probe runs it, bounded)."""
        seen, calls = self._read_calls()
        if calls:
            self._apply(seen, await self._lua.run(calls))

    async def _run(self) -> None:
        while not self._closed:
            await asyncio.sleep(self._options.refresh_s)
            try:
                await self.refresh()
            except Exception:
                # A reply this code cannot read is a bug to see in the log, not a reason to stop refreshing.
                log.exception("shared state: background refresh failed")

    async def close(self) -> None:
        # The flag ends the loop even when a cancellation is lost (asyncio.wait_for in redis-py on
        # Python 3.11 can swallow one that races a reply).
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=max(self._timeout, REFRESH_TIMEOUT_S) + self._options.refresh_s)
            self._task = None
        await self._policy.close()
        for name in sorted(self._locks):
            await self.release_leader(name)
        await self._client.aclose()
