"""Router state shared by every replica through Redis, with the in-memory twin as its bounded-time fallback.

Exact operations (check-and-reserve, the half-open probe claim, leader locks) are one Lua script
each, one round trip on the hot path. Snapshots come from a local mirror that a background task
re-reads every refresh_s (one pipelined round trip for all deployments) and that this replica's own
writes update at once. Every Redis call is bounded by timeout_s; the first failure switches the
store to its twin (degraded, logged once), which serves every call without trying Redis until the
background task's ping gets an answer again.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from switchyard.services.router.state import lua
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
from switchyard.services.router.state.memory import RETRY_SCAN, MemoryState
from switchyard.services.router.state.mirror import Mirror, optional_float, row_from_read
from switchyard.services.router.strategies.base import CircuitState, DeploymentStats

log = logging.getLogger(__name__)
T = TypeVar("T")
_FAILURES = (RedisError, OSError, TimeoutError)
# The background refresh reads every deployment at once: it may take longer than one hot-path call.
REFRESH_TIMEOUT_S = 0.5
# Probe results of deployments nobody probes any more go away after a day.
HEALTH_TTL_S = 86_400
_SCRIPTS = (lua.ADMIT, lua.SETTLE, lua.SUCCESS, lua.FAILURE, lua.PROBE, lua.QUOTA, lua.READ, lua.LOCK, lua.UNLOCK)
Call = tuple[str, Sequence[str], Sequence[str | int | float]]


class Scripts:
    """Lua scripts run by their SHA, several in one round trip, loaded into Redis when it does not know them."""

    def __init__(self, client: aioredis.Redis, scripts: Sequence[str]) -> None:
        self._client, self._scripts = client, tuple(scripts)
        self._shas = {script: hashlib.sha1(script.encode()).hexdigest() for script in self._scripts}

    async def run(self, calls: Sequence[Call]) -> list[Any]:
        """Returns each call's reply, in order (loading every script once when Redis had none of them)."""
        try:
            return await self._run_once(calls)
        except NoScriptError:
            for script in self._scripts:
                await cast(Awaitable[Any], self._client.script_load(script))
            return await self._run_once(calls)

    async def _run_once(self, calls: Sequence[Call]) -> list[Any]:
        if len(calls) == 1:
            script, keys, args = calls[0]
            return [await self._client.evalsha(self._shas[script], len(keys), *keys, *args)]
        pipe = self._client.pipeline(transaction=False)
        for script, keys, args in calls:
            pipe.evalsha(self._shas[script], len(keys), *keys, *args)
        return list(await pipe.execute())


class _Unreachable(Exception):
    """Redis did not answer in time (or is known to be down): serve this call locally."""


def new_client(url: str, options: StateOptions) -> aioredis.Redis:
    """Returns a Redis client whose every connect and command gives up after timeout_s, with no retries."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=options.max_connections,
        timeout=None,  # waiting for a pooled connection is bounded by each call's own timeout
        socket_timeout=options.timeout_s,
        socket_connect_timeout=options.timeout_s,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )
    return aioredis.Redis.from_pool(pool)


class RedisState:
    """Router state in Redis under a key prefix (see RouterState for what each method means)."""

    def __init__(self, client: aioredis.Redis, prefix: str, options: StateOptions | None = None) -> None:
        self._client = client
        self._prefix = prefix
        self._options = options or StateOptions()
        self._timeout = self._options.timeout_s
        self._clock = self._options.clock
        self._offset = time.time() - time.monotonic()
        self._mirror = Mirror(self._now)
        self._twin = MemoryState(self._options)
        self._replica = uuid.uuid4().hex[:12]
        self._ids = itertools.count(1)
        self._lua = Scripts(client, _SCRIPTS)
        self._keys: dict[str, tuple[str, str, str, str, str]] = {}
        # This replica's in-flight marks in Redis, renewed by the refresh so they outlive long requests.
        self._mine: dict[str, set[str]] = {}
        self._renewed_at = 0.0
        self._locks: set[str] = set()
        self._degraded = False
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, url: str, prefix: str, options: StateOptions | None = None) -> RedisState:
        """Returns a started store; when Redis does not answer it starts degraded and keeps trying."""
        options = options or StateOptions()
        state = cls(new_client(url, options), prefix, options)
        await state.start()
        return state

    async def start(self) -> None:
        """Checks Redis (within the timeout) and starts the background refresh."""
        try:
            async with asyncio.timeout(self._timeout):
                await cast(Awaitable[Any], self._client.ping())
        except _FAILURES as exc:
            self._degrade(exc)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="router-state-refresh")

    @property
    def degraded(self) -> bool:
        return self._degraded

    # -- time --------------------------------------------------------------------------------------

    def _now(self) -> float:
        """Returns the shared clock's time: the injected clock, or Redis's TIME as last observed."""
        if self._clock is not None:
            return self._clock()
        return time.monotonic() + self._offset

    def _arg_now(self) -> str:
        return "" if self._clock is None else repr(self._clock())

    def _observe(self, redis_now: Any) -> None:
        if self._clock is None:
            self._offset = float(redis_now) - time.monotonic()

    # -- Redis calls -------------------------------------------------------------------------------

    def _keys_of(self, deployment_id: str) -> tuple[str, str, str, str, str]:
        """Returns the deployment's keys (w t i s f), all in one cluster slot."""
        found = self._keys.get(deployment_id)
        if found is None:
            base = f"{self._prefix}{{{deployment_id}}}:"
            found = self._keys[deployment_id] = (base + "w", base + "t", base + "i", base + "s", base + "f")
        return found

    async def _eval(self, calls: Sequence[Call]) -> list[Any]:
        return await self._lua.run(calls)

    async def _remote(self, call: Callable[[], Awaitable[T]], timeout: float | None = None) -> T:
        """Returns call()'s result from Redis within the timeout; raises _Unreachable (degrading) otherwise."""
        if self._degraded:
            raise _Unreachable
        try:
            async with asyncio.timeout(timeout or self._timeout):
                return await call()
        except _FAILURES as exc:
            self._degrade(exc)
            raise _Unreachable from exc

    async def _scripts(self, *calls: Call) -> list[Any]:
        return await self._remote(lambda: self._eval(calls))

    def _degrade(self, exc: BaseException) -> None:
        if self._degraded:
            return
        self._degraded = True
        why = str(exc) or f"no answer within {self._timeout}s"
        log.warning("shared state: Redis unreachable (%s: %s); serving from local state", type(exc).__name__, why)
        # The twin starts from what was last known: open circuits stay open, latencies stay measured.
        shift = self._twin.now() - self._now()
        for deployment_id, row in self._mirror.rows.items():
            self._twin.adopt(deployment_id, row, shift)

    # -- the RouterState operations -----------------------------------------------------------------

    def snapshot(self, deployments: Sequence[DeploymentLimits]) -> dict[str, DeploymentStats]:
        if self._degraded:
            return self._twin.snapshot(deployments)
        return self._mirror.snapshot(deployments)

    async def admit(self, limits: DeploymentLimits, tokens: int) -> Admission:
        tokens = max(int(tokens), 0)
        deployment_id = limits.deployment_id
        ticket_id = f"{self._replica}:{next(self._ids)}"
        w, t, i, s, _ = self._keys_of(deployment_id)
        rpm = -1 if limits.rpm_limit is None else limits.rpm_limit
        tpm = -1 if limits.tpm_limit is None else limits.tpm_limit
        args = (self._arg_now(), self._options.window_s, rpm, tpm, tokens, ticket_id)
        try:
            (reply,) = await self._scripts(
                (lua.ADMIT, (w, t, i, s), (*args, self._options.in_flight_ttl_s, RETRY_SCAN))
            )
        except _Unreachable:
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
        except _Unreachable:
            return
        self._settled(ticket.deployment_id, reply)

    def _settle_call(self, ticket: Ticket, actual_tokens: int | None) -> Call:
        # Forgotten here first: if Redis cannot be told, the mark lapses after its TTL unrenewed.
        self._mine.get(ticket.deployment_id, set()).discard(ticket.id)
        w, t, i, _, _ = self._keys_of(ticket.deployment_id)
        actual = -1 if actual_tokens is None else max(int(actual_tokens), 0)
        return lua.SETTLE, (w, t, i), (self._arg_now(), self._options.window_s, ticket.id, actual)

    def _settled(self, deployment_id: str, reply: str) -> None:
        used, total, in_flight, now = reply.split("|")
        self._observe(now)
        row = self._mirror.row(deployment_id)
        row.rpm_used, row.tpm_used, row.in_flight = int(used), int(total), int(in_flight)

    def _quota_call(self, deployment_id: str, quota: Quota) -> Call:
        rq = -1 if quota.remaining_requests is None else quota.remaining_requests
        rt = -1 if quota.remaining_tokens is None else quota.remaining_tokens
        for_requests, for_tokens = quota_horizon(quota.reset_requests_s), quota_horizon(quota.reset_tokens_s)
        s = self._keys_of(deployment_id)[3]
        return lua.QUOTA, (s,), (self._arg_now(), rq, for_requests, rt, for_tokens)

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
            replies = await self._scripts(*self._success_calls(deployment_id, latency_ms, ttft_ms, quota))
        except _Unreachable:
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
        calls = [self._settle_call(ticket, tokens), *self._success_calls(deployment_id, latency_ms, ttft_ms, quota)]
        try:
            replies = await self._scripts(*calls)
        except _Unreachable:
            await self._twin.record_success(deployment_id, latency_ms, ttft_ms, quota)
            return
        self._settled(deployment_id, replies[0])
        self._succeeded(deployment_id, replies[1:], quota)

    def _success_calls(
        self, deployment_id: str, latency_ms: float, ttft_ms: float | None, quota: Quota | None
    ) -> list[Call]:
        _, _, _, s, f = self._keys_of(deployment_id)
        ttft = -1.0 if ttft_ms is None else ttft_ms
        calls: list[Call] = [(lua.SUCCESS, (s, f), (self._arg_now(), latency_ms, ttft, self._options.ewma_alpha))]
        if quota is not None:
            calls.append(self._quota_call(deployment_id, quota))
        return calls

    def _succeeded(self, deployment_id: str, replies: Sequence[Any], quota: Quota | None) -> None:
        latency, ttft_ewma, samples, open_until, now = replies[0].split("|")
        self._observe(now)
        row = self._mirror.row(deployment_id)
        row.latency_ms, row.ttft_ms = optional_float(latency), optional_float(ttft_ewma)
        row.samples, row.open_until = int(samples), optional_float(open_until)
        if quota is not None:
            self._mirror_quota(deployment_id, quota, float(now))

    async def record_failure(
        self, deployment_id: str, policy: CircuitPolicy, quota: Quota | None = None
    ) -> CircuitState:
        _, _, _, s, f = self._keys_of(deployment_id)
        args = (self._arg_now(), policy.window_s, policy.allowed_fails, policy.cooldown_s)
        calls: list[Call] = [(lua.FAILURE, (s, f), (*args, f"{self._replica}:{next(self._ids)}"))]
        if quota is not None:
            calls.append(self._quota_call(deployment_id, quota))
        try:
            replies = await self._scripts(*calls)
        except _Unreachable:
            return await self._twin.record_failure(deployment_id, policy, quota)
        state, open_until, now = replies[0].split("|")
        self._observe(now)
        self._mirror.row(deployment_id).open_until = optional_float(open_until)
        if quota is not None:
            self._mirror_quota(deployment_id, quota, float(now))
        return cast(CircuitState, state)

    async def record_quota(self, deployment_id: str, quota: Quota) -> None:
        try:
            (now,) = await self._scripts(self._quota_call(deployment_id, quota))
        except _Unreachable:
            await self._twin.record_quota(deployment_id, quota)
            return
        self._observe(now)
        self._mirror_quota(deployment_id, quota, float(now))

    async def try_probe(self, deployment_id: str, lease_s: float = 30.0) -> bool:
        s = self._keys_of(deployment_id)[3]
        try:
            (reply,) = await self._scripts((lua.PROBE, (s,), (self._arg_now(), lease_s)))
        except _Unreachable:
            return await self._twin.try_probe(deployment_id, lease_s)
        granted, open_until, now = reply.split("|")
        self._observe(now)
        self._mirror.row(deployment_id).open_until = optional_float(open_until)
        return granted == "1"

    async def leader(self, name: str, ttl_s: float) -> bool:
        key = f"{self._prefix}lock:{name}"
        try:
            (held,) = await self._scripts((lua.LOCK, (key,), (self._replica, max(1, round(ttl_s * 1000)))))
        except _Unreachable:
            return await self._twin.leader(name, ttl_s)
        if held:
            self._locks.add(name)
        else:
            self._locks.discard(name)
        return bool(held)

    async def release_leader(self, name: str) -> None:
        self._locks.discard(name)
        await self._twin.release_leader(name)
        key = f"{self._prefix}lock:{name}"
        try:
            await self._scripts((lua.UNLOCK, (key,), (self._replica,)))
        except _Unreachable:
            return

    async def put_health(self, deployment_id: str, record: HealthRecord) -> None:
        value = json.dumps([record.healthy, record.checked_at, record.message])
        key = f"{self._prefix}health"
        pipe = self._client.pipeline(transaction=False)
        pipe.hset(key, deployment_id, value)
        pipe.expire(key, HEALTH_TTL_S)
        try:
            await self._remote(pipe.execute)
        except _Unreachable:
            await self._twin.put_health(deployment_id, record)

    async def health(self, deployment_ids: Sequence[str]) -> dict[str, HealthRecord]:
        if not deployment_ids:
            return {}
        key = f"{self._prefix}health"
        try:
            values = await self._remote(lambda: cast(Awaitable[Any], self._client.hmget(key, list(deployment_ids))))
        except _Unreachable:
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
        ttl = self._options.in_flight_ttl_s
        renew = time.monotonic() - self._renewed_at >= ttl / 3
        if renew:
            self._renewed_at = time.monotonic()
        seen: list[tuple[str, int]] = []
        calls: list[Call] = []
        for deployment_id in list(self._mirror.rows):
            mine = sorted(self._mine.get(deployment_id, ())) if renew else []
            w, t, i, s, _ = self._keys_of(deployment_id)
            calls.append((lua.READ, (w, t, i, s), (self._arg_now(), self._options.window_s, ttl, *mine)))
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
            replies = await self._remote(lambda: self._eval(calls), max(self._timeout, REFRESH_TIMEOUT_S))
        except _Unreachable:
            return
        self._apply(seen, replies)

    async def _recover(self) -> None:
        """Switches back to Redis once it answers, with the mirror re-read first."""
        try:
            async with asyncio.timeout(max(self._timeout, REFRESH_TIMEOUT_S)):
                await cast(Awaitable[Any], self._client.ping())
                seen, calls = self._read_calls()
                replies = await self._eval(calls) if calls else []
        except _FAILURES:
            return
        self._apply(seen, replies)
        self._degraded = False
        log.warning("shared state: Redis answers again; back on shared state")

    async def _run(self) -> None:
        while not self._closed:
            degraded = self._degraded
            await asyncio.sleep(self._options.retry_s if degraded else self._options.refresh_s)
            try:
                await (self._recover() if degraded else self.refresh())
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
        for name in sorted(self._locks):
            await self.release_leader(name)
        await self._client.aclose()
