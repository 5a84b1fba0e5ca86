"""least-busy: the deployment with the fewest requests in flight (across replicas) first."""

from __future__ import annotations

from collections.abc import Sequence

from switchyard.services.router.strategies.base import Candidate, Plan, RequestFacts, StrategyOptions, register


@register("least-busy")
class LeastBusy:
    """Fewest in-flight requests first; ties are broken at random so idle deployments share the load."""

    name = "least-busy"

    def __init__(self, options: StrategyOptions | None = None) -> None:
        self._rng = (options or StrategyOptions()).rng

    def plan(self, candidates: Sequence[Candidate], facts: RequestFacts) -> Plan:
        if not candidates:
            return Plan(self.name, (), "no candidates")
        keyed = sorted(((c.stats.in_flight, self._rng.random(), c) for c in candidates), key=lambda k: k[:2])
        ranked = tuple(c for _, _, c in keyed)
        busy = keyed[0][0]
        return Plan(self.name, ranked, f"least busy: {ranked[0].deployment_id} ({busy} in flight)", float(busy))
