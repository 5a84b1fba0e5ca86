"""The router's shared state: rate windows, in-flight counts, latency EWMAs, circuits, quotas, health, leadership.

`open_state("")` keeps it in this process (the embedded default); a Redis URL shares it between
router replicas, falling back to local state within `timeout_s` whenever Redis does not answer.
How the router is meant to use it, per request:

    state = await open_state(url, "switchyard:router:", StateOptions(timeout_s=0.1))
    limits = [DeploymentLimits.of(entry) for entry in candidates_entries]   # once per config load
    stats = state.snapshot(limits)                    # sync, no I/O: DeploymentStats for the strategy
    for candidate in plan.order:
        if stats[id].circuit == "open":
            continue
        if stats[id].circuit == "half_open" and not await state.try_probe(id):
            continue                                  # another replica holds the one probe
        admission = await state.admit(limits_by_id[id], prompt_tokens + (max_tokens or default))
        if not admission.ok:
            continue                                  # full: admission.reason, admission.retry_after_s
        try:
            reply = await providers.Generate(...)
        except SwitchyardError as error:
            await state.settle(admission.ticket, 0)
            if counts_toward_circuit(reason_name(error.reason)):
                await state.record_failure(id, CircuitPolicy(allowed_fails, cooldown_time), quota)
            continue
        await state.settle(admission.ticket, reply.usage.total_tokens)
        await state.record_success(id, reply.upstream.latency_ms, reply.upstream.ttft_ms or None, quota)

`quota` is Quota(...) from the reply's QuotaSnapshot (-1 → None, reset_*_ms / 1000). The health
checker runs only while `await state.leader("health", ttl_s)` is true (call it every ttl_s / 3) and
shares results with put_health; `state.degraded` feeds readiness and metrics; `await state.close()`
on shutdown.
"""

from __future__ import annotations

from switchyard.services.router.state.base import (
    Admission,
    CircuitPolicy,
    DeploymentLimits,
    HealthRecord,
    Quota,
    RouterState,
    StateOptions,
    Ticket,
    counts_toward_circuit,
)
from switchyard.services.router.state.memory import MemoryState
from switchyard.services.router.state.redis_store import RedisState


async def open_state(url: str, prefix: str = "switchyard:router:", options: StateOptions | None = None) -> RouterState:
    """Returns in-memory state when url is empty, else state shared through the Redis at url (started)."""
    if not url:
        return MemoryState(options)
    return await RedisState.connect(url, prefix, options)


__all__ = [
    "Admission",
    "CircuitPolicy",
    "DeploymentLimits",
    "HealthRecord",
    "MemoryState",
    "Quota",
    "RedisState",
    "RouterState",
    "StateOptions",
    "Ticket",
    "counts_toward_circuit",
    "open_state",
]
