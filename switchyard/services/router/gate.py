"""What each attempt asks of the shared state before a call, and tells it after.

Before a call: a deployment whose circuit opened since the plan was made is passed over, a
half-open one is called only by the request that claims its one probe, and the deployment's rpm/tpm
window is checked and reserved in one atomic step shared by every router replica. After it: the
reservation is settled with the real token usage (which also drops the in-flight mark) and the
outcome feeds the latency EWMAs and the circuit.

Only what something reads is written, so a deployment nobody counts or times costs no Redis round
trip on success:

    window + in-flight mark   the deployment has an rpm/tpm limit, or a least-busy or usage-based
                              group or pool ranks it ("counted")
    latency EWMAs             a latency-based group or pool ranks it ("timed"), or the call was a
                              half-open circuit's probe (its success closes the circuit)
    provider quota            with any success that is written, and whenever it runs low
    failures                  always (circuits)

Settling and successes are written in the background, off the response path; a failure is written
before the next attempt is planned, so a circuit it opens is seen at once. Every reservation is
settled exactly once whatever happens to the request (success, failure, cancellation).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from switchyard.common.v1 import errors_pb2 as E
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime.errors import SwitchyardError, reason_name
from switchyard.services.router.filters import CIRCUIT_OPEN
from switchyard.services.router.state import (
    Admission,
    CircuitPolicy,
    DeploymentLimits,
    Quota,
    RouterState,
    Ticket,
    counts_toward_circuit,
)
from switchyard.services.router.strategies import DeploymentStats

Spawn = Callable[[Coroutine[Any, Any, None]], None]
PROBE_TAKEN = "circuit half-open: another request holds its one probe"
# A provider quota this close to its limit is written even when nothing else about the call is.
LOW_QUOTA_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a deployment may not be called now: an ErrorReason value, a sentence, and when a rate window frees."""

    reason: E.ErrorReason.ValueType
    detail: str
    retry_after_s: float | None = None

    @property
    def rate(self) -> bool:
        """Returns whether the refusal is a full rate window (the request may get 429 with Retry-After)."""
        return self.reason == E.ERROR_REASON_RATE_LIMITED


@dataclass(frozen=True, slots=True)
class Pass:
    """Leave to call a deployment: its reservation (None when it is not counted), and what its outcome feeds."""

    deployment_id: str
    ticket: Ticket | None
    timed: bool
    # probing: the call is a half-open circuit's one probe.
    probing: bool = False


def quota_of(record: providers_pb2.UpstreamRecord | None) -> Quota | None:
    """Returns what the provider's rate-limit headers said is left, None when it said nothing."""
    if record is None or not record.HasField("quota"):
        return None
    q = record.quota
    requests = q.remaining_requests if q.remaining_requests >= 0 else None
    tokens = q.remaining_tokens if q.remaining_tokens >= 0 else None
    if requests is None and tokens is None:
        return None
    return Quota(
        remaining_requests=requests,
        remaining_tokens=tokens,
        reset_requests_s=q.reset_requests_ms / 1000 if q.reset_requests_ms >= 0 else None,
        reset_tokens_s=q.reset_tokens_ms / 1000 if q.reset_tokens_ms >= 0 else None,
    )


def quota_low(record: providers_pb2.UpstreamRecord | None) -> bool:
    """Returns whether the provider says little is left: at most 5% of its limit (1 request when unknown)."""
    if record is None or not record.HasField("quota"):
        return False
    q = record.quota
    if 0 <= q.remaining_requests <= max(1, int(q.limit_requests * LOW_QUOTA_SHARE)):
        return True
    return q.limit_tokens > 0 and 0 <= q.remaining_tokens <= q.limit_tokens * LOW_QUOTA_SHARE


def why_full(admission: Admission, stats: DeploymentStats, tokens: int) -> str:
    """Returns a refused admission in words, e.g. "rpm 50/50 in the last minute; free again in 12.0s"."""
    if admission.reason == "rpm":
        what = f"rpm {stats.rpm_used}/{stats.rpm_limit} in the last minute"
    elif admission.reason == "tpm":
        what = f"tpm {stats.tpm_used} + ~{tokens} would pass {stats.tpm_limit} in the last minute"
    elif admission.reason == "provider_requests":
        what = "the provider reports no requests left"
    else:
        what = "the provider reports too few tokens left"
    wait = admission.retry_after_s
    return f"{what}; free again in {wait:.1f}s" if wait > 0 and math.isfinite(wait) else what


class Gate:
    """The shared state as the attempt loop sees it; background writes go through `spawn`."""

    def __init__(self, state: RouterState, spawn: Spawn) -> None:
        self._state = state
        self._spawn = spawn

    def snapshot(self, limits: Sequence[DeploymentLimits]) -> Mapping[str, DeploymentStats]:
        """Returns what is known of each deployment now (no I/O)."""
        return self._state.snapshot(limits)

    async def admit(self, limits: DeploymentLimits, tokens: int, *, counted: bool, timed: bool) -> Pass | Refusal:
        """Returns leave for one call of about `tokens` tokens, or why the deployment is passed over."""
        deployment_id = limits.deployment_id
        stats = self._state.snapshot([limits])[deployment_id]
        if stats.circuit == "open":
            return Refusal(E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE, CIRCUIT_OPEN)
        probing = stats.circuit == "half_open"
        if probing and not await self._state.try_probe(deployment_id):
            return Refusal(E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE, PROBE_TAKEN)
        # The provider's own "none left" is honoured whether or not the deployment is counted.
        full = stats.remaining_requests == 0 or (stats.remaining_tokens is not None and stats.remaining_tokens <= 0)
        if not counted and not full:
            return Pass(deployment_id, None, timed, probing)
        admission = await self._state.admit(limits, tokens)
        if admission.ticket is not None:
            return Pass(deployment_id, admission.ticket, timed, probing)
        stats = self._state.snapshot([limits])[deployment_id]
        wait = admission.retry_after_s if math.isfinite(admission.retry_after_s) else None
        return Refusal(E.ERROR_REASON_RATE_LIMITED, why_full(admission, stats, tokens), wait)

    def succeeded(
        self,
        admitted: Pass,
        tokens: int,
        latency_ms: float,
        ttft_ms: float | None = None,
        record: providers_pb2.UpstreamRecord | None = None,
    ) -> None:
        """Settles a successful call with its real usage and writes what is read of its outcome, in the background."""
        ticket = admitted.ticket
        if admitted.timed or admitted.probing or quota_low(record):
            quota = quota_of(record)
            if ticket is not None:
                self._spawn(self._state.finish(ticket, tokens, latency_ms, ttft_ms, quota))
            else:
                self._spawn(self._state.record_success(admitted.deployment_id, latency_ms, ttft_ms, quota))
        elif ticket is not None:
            self._spawn(self._state.settle(ticket, tokens))

    async def failed(self, admitted: Pass, error: SwitchyardError, policy: CircuitPolicy) -> None:
        """Settles a failed call (no tokens) and, for a failure of the deployment, counts it toward its circuit."""
        if admitted.ticket is not None:
            self._spawn(self._state.settle(admitted.ticket, 0))
        if counts_toward_circuit(reason_name(error.reason)):
            await self._state.record_failure(admitted.deployment_id, policy)

    def failed_later(self, admitted: Pass, error: SwitchyardError, policy: CircuitPolicy) -> None:
        """Does what `failed` does, in the background (when nothing waits on the circuit)."""
        self._spawn(self.failed(admitted, error, policy))

    def release(self, admitted: Pass) -> None:
        """Settles a call that was cancelled or abandoned: its reservation stays at the estimate."""
        if admitted.ticket is not None:
            self._spawn(self._state.settle(admitted.ticket, None))
