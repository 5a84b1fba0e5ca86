"""The in-memory router state: one process's twin of the Redis store, with the same rules and an injectable clock.

It is the embedded default (no Redis configured), the local fallback of RedisState while Redis is
unreachable, and what unit tests drive with a fake clock. Only the event loop's thread may use it.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from switchyard.services.router.state.base import (
    Admission,
    CircuitPolicy,
    DeploymentLimits,
    HealthRecord,
    Quota,
    Row,
    StateOptions,
    Ticket,
    quota_horizon,
    stats_of,
)
from switchyard.services.router.state.window import RateWindow
from switchyard.services.router.strategies.base import CircuitState, DeploymentStats

# How many of the oldest reservations a TPM refusal looks at to say when enough tokens free up.
RETRY_SCAN = 200


@dataclass(slots=True)
class _Deployment:
    """Everything known locally about one deployment."""

    rate: RateWindow = field(default_factory=RateWindow)
    failures: deque[float] = field(default_factory=deque)
    in_flight: set[str] = field(default_factory=set)
    latency_ms: float | None = None
    ttft_ms: float | None = None
    samples: int = 0
    open_until: float | None = None
    probe_until: float | None = None
    remaining_requests: int | None = None
    requests_known_until: float = 0.0
    remaining_tokens: int | None = None
    tokens_known_until: float = 0.0
    recovered_at: float | None = None
    # cached: (limits, snapshot, valid until); dropped on every write.
    cached: tuple[DeploymentLimits, DeploymentStats, float] | None = None


def ewma(old: float | None, sample: float, alpha: float) -> float:
    """Returns the exponentially weighted mean after sample; the first sample is the mean."""
    return sample if old is None else old + alpha * (sample - old)


class MemoryState:
    """Router state kept in this process (see RouterState for what each method means)."""

    def __init__(self, options: StateOptions | None = None) -> None:
        self._options = options or StateOptions()
        self._clock = self._options.clock or time.monotonic
        self._window_s = self._options.window_s
        self._deployments: dict[str, _Deployment] = {}
        self._ids = itertools.count(1)
        self._locks: dict[str, float] = {}
        self._health: dict[str, HealthRecord] = {}

    @property
    def degraded(self) -> bool:
        return False

    def now(self) -> float:
        """Returns the current time on this state's clock."""
        return self._clock()

    def _deployment(self, deployment_id: str) -> _Deployment:
        found = self._deployments.get(deployment_id)
        if found is None:
            found = self._deployments[deployment_id] = _Deployment()
        return found

    def _trim(self, d: _Deployment, now: float) -> None:
        d.rate.trim(now - self._window_s)

    def snapshot(self, deployments: Sequence[DeploymentLimits]) -> dict[str, DeploymentStats]:
        now = self._clock()
        out: dict[str, DeploymentStats] = {}
        for limits in deployments:
            d = self._deployment(limits.deployment_id)
            cached = d.cached
            if cached is not None and now < cached[2] and (cached[0] is limits or cached[0] == limits):
                out[limits.deployment_id] = cached[1]
                continue
            out[limits.deployment_id] = self._build(d, limits, now)
        return out

    def _build(self, d: _Deployment, limits: DeploymentLimits, now: float) -> DeploymentStats:
        self._trim(d, now)
        stats, valid_until = stats_of(self.row(d), limits, now)
        oldest = d.rate.oldest()
        if oldest is not None:
            valid_until = min(valid_until, oldest + self._window_s)
        d.cached = (limits, stats, valid_until)
        return stats

    @staticmethod
    def row(d: _Deployment) -> Row:
        """Returns a deployment's state as plain values (its window already trimmed)."""
        return Row(
            rpm_used=len(d.rate),
            tpm_used=d.rate.total,
            in_flight=len(d.in_flight),
            latency_ms=d.latency_ms,
            ttft_ms=d.ttft_ms,
            samples=d.samples,
            open_until=d.open_until,
            remaining_requests=d.remaining_requests,
            requests_known_until=d.requests_known_until,
            remaining_tokens=d.remaining_tokens,
            tokens_known_until=d.tokens_known_until,
            recovered_at=d.recovered_at,
        )

    async def admit(self, limits: DeploymentLimits, tokens: int) -> Admission:
        now = self._clock()
        d = self._deployment(limits.deployment_id)
        self._trim(d, now)
        refused = self._refusal(d, limits, max(tokens, 0), now)
        if refused is not None:
            return refused
        ticket = Ticket(limits.deployment_id, f"m{next(self._ids)}", local=True)
        d.rate.add(ticket.id, now, tokens)
        d.in_flight.add(ticket.id)
        d.cached = None
        return Admission(True, ticket=ticket)

    def _refusal(self, d: _Deployment, limits: DeploymentLimits, tokens: int, now: float) -> Admission | None:
        """Returns why one more request of `tokens` does not fit now, or None when it does."""
        if d.remaining_requests is not None and d.remaining_requests <= 0 and now < d.requests_known_until:
            return Admission(False, "provider_requests", d.requests_known_until - now)
        if d.remaining_tokens is not None and d.remaining_tokens <= 0 and now < d.tokens_known_until:
            return Admission(False, "provider_tokens", d.tokens_known_until - now)
        over = d.rate.over(limits.rpm_limit, limits.tpm_limit, tokens, now, window_s=self._window_s, scan=RETRY_SCAN)
        return None if over is None else Admission(False, *over)

    async def settle(self, ticket: Ticket, actual_tokens: int | None = None) -> None:
        d = self._deployment(ticket.deployment_id)
        d.in_flight.discard(ticket.id)
        if actual_tokens is not None:
            d.rate.resize(ticket.id, actual_tokens)
        d.cached = None

    async def record_success(
        self, deployment_id: str, latency_ms: float, ttft_ms: float | None = None, quota: Quota | None = None
    ) -> None:
        now = self._clock()
        d = self._deployment(deployment_id)
        alpha = self._options.ewma_alpha
        d.latency_ms = ewma(d.latency_ms, latency_ms, alpha)
        if ttft_ms is not None:
            d.ttft_ms = ewma(d.ttft_ms, ttft_ms, alpha)
        d.samples += 1
        if d.open_until is not None and now >= d.open_until:
            d.open_until = d.probe_until = None
            d.recovered_at = now
            d.failures.clear()
        if quota is not None:
            self._store_quota(d, quota, now)
        d.cached = None

    async def finish(
        self, ticket: Ticket, tokens: int, latency_ms: float, ttft_ms: float | None = None, quota: Quota | None = None
    ) -> None:
        await self.settle(ticket, tokens)
        await self.record_success(ticket.deployment_id, latency_ms, ttft_ms, quota)

    async def record_failure(
        self, deployment_id: str, policy: CircuitPolicy, quota: Quota | None = None
    ) -> CircuitState:
        now = self._clock()
        d = self._deployment(deployment_id)
        d.cached = None
        if quota is not None:
            self._store_quota(d, quota, now)
        if d.open_until is not None:
            if now < d.open_until:
                return "open"
            # The half-open probe failed: another cooldown.
            self._open(d, now + policy.cooldown_s)
            return "open"
        d.failures.append(now)
        while d.failures and d.failures[0] <= now - policy.window_s:
            d.failures.popleft()
        if len(d.failures) > policy.allowed_fails:
            self._open(d, now + policy.cooldown_s)
            return "open"
        return "closed"

    @staticmethod
    def _open(d: _Deployment, until: float) -> None:
        d.open_until = until
        d.probe_until = d.recovered_at = None
        d.failures.clear()

    async def record_quota(self, deployment_id: str, quota: Quota) -> None:
        d = self._deployment(deployment_id)
        self._store_quota(d, quota, self._clock())
        d.cached = None

    @staticmethod
    def _store_quota(d: _Deployment, quota: Quota, now: float) -> None:
        if quota.remaining_requests is not None:
            d.remaining_requests = quota.remaining_requests
            d.requests_known_until = now + quota_horizon(quota.reset_requests_s)
        if quota.remaining_tokens is not None:
            d.remaining_tokens = quota.remaining_tokens
            d.tokens_known_until = now + quota_horizon(quota.reset_tokens_s)

    async def try_probe(self, deployment_id: str, lease_s: float = 30.0) -> bool:
        now = self._clock()
        d = self._deployment(deployment_id)
        if d.open_until is None:
            return True
        if now < d.open_until or (d.probe_until is not None and now < d.probe_until):
            return False
        d.probe_until = now + lease_s
        d.cached = None
        return True

    def adopt(self, deployment_id: str, row: Row, shift: float) -> None:
        """Takes over the latency, circuit and quota of a shared row (times moved by shift onto this clock)."""
        d = self._deployment(deployment_id)
        d.latency_ms, d.ttft_ms, d.samples = row.latency_ms, row.ttft_ms, row.samples
        d.open_until = None if row.open_until is None else row.open_until + shift
        d.recovered_at = None if row.recovered_at is None else row.recovered_at + shift
        d.remaining_requests, d.requests_known_until = row.remaining_requests, row.requests_known_until + shift
        d.remaining_tokens, d.tokens_known_until = row.remaining_tokens, row.tokens_known_until + shift
        d.cached = None

    async def leader(self, name: str, ttl_s: float) -> bool:
        # One process holds every lock of its own state: leadership only means something across replicas.
        self._locks[name] = self._clock() + ttl_s
        return True

    async def release_leader(self, name: str) -> None:
        self._locks.pop(name, None)

    async def put_health(self, deployment_id: str, record: HealthRecord) -> None:
        self._health[deployment_id] = record

    async def health(self, deployment_ids: Sequence[str]) -> dict[str, HealthRecord]:
        return {i: self._health[i] for i in deployment_ids if i in self._health}

    async def close(self) -> None:
        self._locks.clear()
