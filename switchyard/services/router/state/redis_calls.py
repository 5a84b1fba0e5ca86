"""The router state's Lua calls: each deployment's keys in Redis and every script's arguments (see lua.py).

Building a call does no I/O, so RedisState can batch several into one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence

from switchyard.redisutil import Call
from switchyard.services.router.state import lua
from switchyard.services.router.state.base import CircuitPolicy, DeploymentLimits, Quota, StateOptions, quota_horizon
from switchyard.services.router.state.memory import RETRY_SCAN

SCRIPTS = (lua.ADMIT, lua.SETTLE, lua.SUCCESS, lua.FAILURE, lua.PROBE, lua.QUOTA, lua.READ, lua.LOCK, lua.UNLOCK)
DeploymentKeys = tuple[str, str, str, str, str]


class StateCalls:
    """The calls of one key prefix; times are the injected clock's, or Redis's TIME when there is none."""

    def __init__(self, prefix: str, options: StateOptions) -> None:
        self._prefix = prefix
        self._options = options
        self._keys: dict[str, DeploymentKeys] = {}
        self.health_key = f"{prefix}health"

    def keys(self, deployment_id: str) -> DeploymentKeys:
        """Returns the deployment's keys (w t i s f), all in one cluster slot."""
        found = self._keys.get(deployment_id)
        if found is None:
            base = f"{self._prefix}{{{deployment_id}}}:"
            found = self._keys[deployment_id] = (base + "w", base + "t", base + "i", base + "s", base + "f")
        return found

    def now(self) -> str:
        """Returns the `now` argument of every script: the injected clock's reading, or "" for Redis's TIME."""
        clock = self._options.clock
        return "" if clock is None else repr(clock())

    def admit(self, limits: DeploymentLimits, tokens: int, ticket_id: str) -> Call:
        w, t, i, s, _ = self.keys(limits.deployment_id)
        rpm = -1 if limits.rpm_limit is None else limits.rpm_limit
        tpm = -1 if limits.tpm_limit is None else limits.tpm_limit
        options = self._options
        args = (self.now(), options.window_s, rpm, tpm, tokens, ticket_id, options.in_flight_ttl_s, RETRY_SCAN)
        return lua.ADMIT, (w, t, i, s), args

    def settle(self, deployment_id: str, ticket_id: str, actual_tokens: int | None) -> Call:
        w, t, i, _, _ = self.keys(deployment_id)
        actual = -1 if actual_tokens is None else max(int(actual_tokens), 0)
        return lua.SETTLE, (w, t, i), (self.now(), self._options.window_s, ticket_id, actual)

    def quota(self, deployment_id: str, quota: Quota) -> Call:
        rq = -1 if quota.remaining_requests is None else quota.remaining_requests
        rt = -1 if quota.remaining_tokens is None else quota.remaining_tokens
        for_requests, for_tokens = quota_horizon(quota.reset_requests_s), quota_horizon(quota.reset_tokens_s)
        s = self.keys(deployment_id)[3]
        return lua.QUOTA, (s,), (self.now(), rq, for_requests, rt, for_tokens)

    def success(self, deployment_id: str, latency_ms: float, ttft_ms: float | None, quota: Quota | None) -> list[Call]:
        """Returns the SUCCESS call, and the QUOTA call after it when the provider reported one."""
        _, _, _, s, f = self.keys(deployment_id)
        ttft = -1.0 if ttft_ms is None else ttft_ms
        calls: list[Call] = [(lua.SUCCESS, (s, f), (self.now(), latency_ms, ttft, self._options.ewma_alpha))]
        if quota is not None:
            calls.append(self.quota(deployment_id, quota))
        return calls

    def failure(self, deployment_id: str, policy: CircuitPolicy, failure_id: str, quota: Quota | None) -> list[Call]:
        """Returns the FAILURE call, and the QUOTA call after it when the provider reported one."""
        _, _, _, s, f = self.keys(deployment_id)
        args = (self.now(), policy.window_s, policy.allowed_fails, policy.cooldown_s, failure_id)
        calls: list[Call] = [(lua.FAILURE, (s, f), args)]
        if quota is not None:
            calls.append(self.quota(deployment_id, quota))
        return calls

    def probe(self, deployment_id: str, lease_s: float) -> Call:
        return lua.PROBE, (self.keys(deployment_id)[3],), (self.now(), lease_s)

    def lock(self, name: str, holder: str, ttl_s: float) -> Call:
        return lua.LOCK, (f"{self._prefix}lock:{name}",), (holder, max(1, round(ttl_s * 1000)))

    def unlock(self, name: str, holder: str) -> Call:
        return lua.UNLOCK, (f"{self._prefix}lock:{name}",), (holder,)

    def read(self, deployment_id: str, renew: Sequence[str]) -> Call:
        """Returns the READ call of a deployment, renewing the in-flight marks in renew."""
        w, t, i, s, _ = self.keys(deployment_id)
        options = self._options
        return lua.READ, (w, t, i, s), (self.now(), options.window_s, options.in_flight_ttl_s, *renew)
