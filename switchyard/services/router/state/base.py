"""The router's shared-state contract: what it records, what it admits, and the snapshot strategies see."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from switchyard.config import SLOW_START_MAX_S, ModelEntry
from switchyard.services.router.strategies.base import CircuitState, DeploymentStats

# LiteLLM counts failures per minute and rate limits per minute.
WINDOW_S = 60.0
# How long a provider's remaining-quota figures count when it sent no reset time.
QUOTA_DEFAULT_S = 60.0
# While a deployment ramps up after recovery its snapshot is rebuilt this often (seconds), so its weight grows.
RAMP_STEP_S = 0.25

RefusalReason = Literal["", "rpm", "tpm", "provider_requests", "provider_tokens"]

# The error reasons (switchyard.runtime.errors.reason_name) that count toward opening a circuit:
# the deployment failed (5xx, timeout, connect error, malformed reply, rate limited, a stream that went
# idle or was cut at the request's deadline), not the request.
CIRCUIT_FAILURES = frozenset(
    {
        "upstream_rate_limited",
        "upstream_quota_exhausted",
        "upstream_unavailable",
        "upstream_timeout",
        "upstream_connect",
        "upstream_malformed",
        "stream_interrupted",
        "deadline_exceeded",
    }
)


def counts_toward_circuit(reason: str) -> bool:
    """Returns whether an error reason name counts as a deployment failure; client (400-class) errors do not."""
    return reason in CIRCUIT_FAILURES


@dataclass(frozen=True, slots=True)
class StateOptions:
    """How the state behaves; the defaults suit production, tests shorten windows or inject a clock."""

    # timeout_s bounds every Redis call, connecting included; past it the call is served locally.
    timeout_s: float = 0.1
    # refresh_s: how often the local mirror of shared state is re-read; retry_s: how often Redis is
    # pinged while unreachable.
    refresh_s: float = 0.25
    retry_s: float = 1.0
    # window_s is the rate-limit window (RPM/TPM).
    window_s: float = WINDOW_S
    # in_flight_ttl_s: a replica that stops renewing its in-flight marks (it crashed) stops counting after it.
    in_flight_ttl_s: float = 10.0
    # ewma_alpha is the weight of a new latency sample.
    ewma_alpha: float = 0.2
    max_connections: int = 64
    # clock returns seconds; None means Redis's own TIME (one clock for every replica) or time.monotonic in memory.
    clock: Callable[[], float] | None = None

    def __post_init__(self) -> None:
        for name in ("timeout_s", "refresh_s", "retry_s", "window_s", "in_flight_ttl_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"StateOptions.{name} must be positive, not {getattr(self, name)!r}")
        if not 0 < self.ewma_alpha <= 1:
            raise ValueError(f"StateOptions.ewma_alpha must be in (0, 1], not {self.ewma_alpha!r}")
        if self.max_connections < 1:
            raise ValueError("StateOptions.max_connections must be at least 1")


@dataclass(frozen=True, slots=True)
class DeploymentLimits:
    """A deployment's configured per-minute limits (None: no limit)."""

    deployment_id: str
    rpm_limit: int | None = None
    tpm_limit: int | None = None

    @classmethod
    def of(cls, entry: ModelEntry) -> DeploymentLimits:
        """Returns the limits a model_list entry configures (litellm_params.rpm / tpm)."""
        params = entry.litellm_params
        return cls(entry.deployment_id, params.rpm, params.tpm)


@dataclass(frozen=True, slots=True)
class CircuitPolicy:
    """When a deployment's circuit opens: more than allowed_fails failures within window_s (LiteLLM's rule)."""

    allowed_fails: int = 3
    cooldown_s: float = 60.0
    window_s: float = WINDOW_S


@dataclass(frozen=True, slots=True)
class Quota:
    """What a provider's rate-limit headers said is left, and in how many seconds each count resets.

    From a providers QuotaSnapshot: -1 fields become None, reset_*_ms become seconds.
    """

    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_requests_s: float | None = None
    reset_tokens_s: float | None = None


def quota_horizon(reset_s: float | None) -> float:
    """Returns for how many seconds a provider's remaining count holds: until its reset, else a default."""
    return QUOTA_DEFAULT_S if reset_s is None or math.isnan(reset_s) or reset_s < 0 else reset_s


@dataclass(frozen=True, slots=True)
class Ticket:
    """One admitted request: its window reservation and its in-flight mark. local: issued by local state."""

    deployment_id: str
    id: str
    local: bool = True


@dataclass(frozen=True, slots=True)
class Admission:
    """The answer to a check-and-reserve: ok with a ticket, or refused with why and when to retry."""

    ok: bool
    reason: RefusalReason = ""
    retry_after_s: float = 0.0
    ticket: Ticket | None = None


@dataclass(frozen=True, slots=True)
class HealthRecord:
    """The last active health probe of a deployment; checked_at is wall-clock (Unix) time."""

    healthy: bool
    checked_at: float
    message: str = ""


@dataclass(slots=True)
class Row:
    """One deployment's shared state as plain values, times on the state's own clock."""

    rpm_used: int = 0
    tpm_used: int = 0
    in_flight: int = 0
    latency_ms: float | None = None
    ttft_ms: float | None = None
    samples: int = 0
    # open_until: the circuit is open (cooling down) until then, half-open after; None: closed.
    open_until: float | None = None
    remaining_requests: int | None = None
    requests_known_until: float = 0.0
    remaining_tokens: int | None = None
    tokens_known_until: float = 0.0
    # recovered_at: when the circuit last closed after being open (its half-open probe succeeded).
    recovered_at: float | None = None


def circuit_at(open_until: float | None, now: float) -> CircuitState:
    """Returns the circuit state an open-until time means at now."""
    if open_until is None:
        return "closed"
    return "open" if now < open_until else "half_open"


def stats_of(row: Row, limits: DeploymentLimits, now: float) -> tuple[DeploymentStats, float]:
    """Returns the snapshot a row means at now, and until when it stays true without new writes."""
    valid_until = math.inf
    if row.open_until is not None and now < row.open_until:
        valid_until = row.open_until
    remaining_requests = None
    if row.remaining_requests is not None and now < row.requests_known_until:
        remaining_requests = row.remaining_requests
        valid_until = min(valid_until, row.requests_known_until)
    remaining_tokens = None
    if row.remaining_tokens is not None and now < row.tokens_known_until:
        remaining_tokens = row.remaining_tokens
        valid_until = min(valid_until, row.tokens_known_until)
    recovered_s = None
    if row.open_until is None and row.recovered_at is not None and now - row.recovered_at < SLOW_START_MAX_S:
        recovered_s = max(0.0, now - row.recovered_at)
        valid_until = min(valid_until, now + RAMP_STEP_S)
    stats = DeploymentStats(
        latency_ms=row.latency_ms,
        ttft_ms=row.ttft_ms,
        samples=row.samples,
        in_flight=row.in_flight,
        rpm_used=row.rpm_used,
        tpm_used=row.tpm_used,
        rpm_limit=limits.rpm_limit,
        tpm_limit=limits.tpm_limit,
        remaining_requests=remaining_requests,
        remaining_tokens=remaining_tokens,
        circuit=circuit_at(row.open_until, now),
        recovered_s=recovered_s,
    )
    return stats, valid_until


class RouterState(Protocol):
    """Shared routing state: rate windows, in-flight counts, latency EWMAs, circuits, quotas, health, leadership.

    Every async method returns within the configured timeout; snapshot never does I/O.
    """

    @property
    def degraded(self) -> bool:
        """True while shared state is unreachable and this replica serves from local state."""
        ...

    def snapshot(self, deployments: Sequence[DeploymentLimits]) -> dict[str, DeploymentStats]:
        """Returns what is known of each deployment now, keyed by deployment id."""
        ...

    async def admit(self, limits: DeploymentLimits, tokens: int) -> Admission:
        """Atomically checks that one more request of `tokens` estimated tokens fits, and reserves it."""
        ...

    async def settle(self, ticket: Ticket, actual_tokens: int | None = None) -> None:
        """Ends the request's in-flight mark and replaces its token estimate with the real usage."""
        ...

    async def record_success(
        self, deployment_id: str, latency_ms: float, ttft_ms: float | None = None, quota: Quota | None = None
    ) -> None:
        """Folds a successful call into the latency EWMAs and closes a half-open circuit (its recovery starts)."""
        ...

    async def finish(
        self, ticket: Ticket, tokens: int, latency_ms: float, ttft_ms: float | None = None, quota: Quota | None = None
    ) -> None:
        """Settles a successful call and records its success together (one round trip to Redis)."""
        ...

    async def record_failure(
        self, deployment_id: str, policy: CircuitPolicy, quota: Quota | None = None
    ) -> CircuitState:
        """Counts a deployment failure; returns the circuit state after it."""
        ...

    async def record_quota(self, deployment_id: str, quota: Quota) -> None:
        """Stores what the provider says is left; 0 left makes the deployment full until the reset."""
        ...

    async def try_probe(self, deployment_id: str, lease_s: float = 30.0) -> bool:
        """Returns whether the caller may send: the circuit is closed, or this call claimed the one half-open probe."""
        ...

    async def leader(self, name: str, ttl_s: float) -> bool:
        """Takes or renews the named leader lock for ttl_s; returns whether this replica holds it."""
        ...

    async def release_leader(self, name: str) -> None:
        """Gives the named lock up if this replica holds it."""
        ...

    async def put_health(self, deployment_id: str, record: HealthRecord) -> None:
        """Shares the result of an active health probe."""
        ...

    async def health(self, deployment_ids: Sequence[str]) -> dict[str, HealthRecord]:
        """Returns the last shared probe result of each deployment that has one."""
        ...

    async def close(self) -> None:
        """Stops background work and gives up held locks."""
        ...
