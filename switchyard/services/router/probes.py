"""Active health checks: one router replica at a time probes every deployment through the providers service.

Passive health is the circuit fed by real traffic (walk.py); active probes feed the same circuit, so
a deployment that stops answering is skipped before a request has to find out:

- an unhealthy probe counts as one failure (after `allowed_fails` + 1 of them the circuit opens) when
  its cause would count for a real call (connect error, timeout, 5xx): a key that may not list
  models (401/403) says nothing about whether completions work;
- a healthy probe of a half-open circuit claims its one probe and closes it, at the deployment's
  current latency EWMA (a model listing says nothing about how fast a completion is).

Only the replica holding the `health` leader lock probes (the lock lasts three intervals, so
another replica takes over when the holder stops); every result is shared with `put_health`. A
failed Probe RPC (the providers service itself unreachable) says nothing about the deployment and
is not counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from switchyard.config import ModelEntry
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime.errors import SwitchyardError, reason_name
from switchyard.services.router.peers import Providers
from switchyard.services.router.state import HealthRecord, RouterState, counts_toward_circuit
from switchyard.services.router.walk import Policies

log = logging.getLogger(__name__)
LEADER = "health"


class HealthChecker:
    """Probes the deployments of the current config every `interval` seconds while this replica leads."""

    def __init__(
        self,
        state: RouterState,
        providers: Providers,
        *,
        policies: Callable[[], Policies],
        unavailable: Callable[[], Mapping[str, str]],
        interval: float,
        timeout: float,
    ) -> None:
        self._state, self._providers = state, providers
        self._policies, self._unavailable = policies, unavailable
        self._interval, self._timeout = interval, timeout
        self._leading = False

    async def run(self) -> None:
        """Probes until cancelled; gives the leader lock up when it stops."""
        try:
            while True:
                try:
                    await self.tick()
                except Exception:
                    # A bug shows in the log; the checks go on.
                    log.exception("active health checks: a round failed")
                await asyncio.sleep(self._interval)
        finally:
            if self._leading:
                await self._state.release_leader(LEADER)

    async def tick(self) -> None:
        """Probes every deployment once if this replica holds (or takes) the leader lock."""
        leading = await self._state.leader(LEADER, max(3 * self._interval, 1.0))
        if leading != self._leading:
            log.info("active health checks: %s", "this replica probes" if leading else "another replica probes")
            self._leading = leading
        if not leading:
            return
        policies = self._policies()
        unavailable = self._unavailable()
        entries = [e for e in policies.config.model_list if e.deployment_id not in unavailable]
        await asyncio.gather(*(self._check(policies, entry) for entry in entries))

    async def _check(self, policies: Policies, entry: ModelEntry) -> None:
        deployment_id = entry.deployment_id
        try:
            reply = await self._providers.probe(providers_pb2.ProbeRequest(deployment_id=deployment_id), self._timeout)
        except SwitchyardError as err:
            log.debug("probe of %s not made: %s", deployment_id, err.message)
            return
        await self._state.put_health(deployment_id, HealthRecord(reply.healthy, time.time(), reply.message))
        if not reply.healthy:
            if not counts_toward_circuit(reason_name(reply.reason)):
                log.info("probe: %s did not answer the probe (%s); not counted", deployment_id, reply.message)
                return
            circuit = await self._state.record_failure(deployment_id, policies.circuit)
            log.warning("probe: %s is unhealthy (%s); circuit %s", deployment_id, reply.message, circuit)
            return
        limits = policies.limits_of(entry)
        stats = self._state.snapshot([limits])[deployment_id]
        if stats.circuit == "half_open" and await self._state.try_probe(deployment_id):
            await self._state.record_success(deployment_id, stats.latency_ms or reply.latency_ms, stats.ttft_ms)
            log.info("probe: %s answers again; circuit closed", deployment_id)
