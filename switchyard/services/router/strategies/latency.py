"""latency-based-routing: the lowest expected latency first, exploring now and then to re-measure."""

from __future__ import annotations

from collections.abc import Sequence

from switchyard.services.router.strategies.base import (
    Candidate,
    DeploymentStats,
    Plan,
    RequestFacts,
    StrategyOptions,
    register,
)


def expected_latency_ms(stats: DeploymentStats, stream: bool) -> float | None:
    """Returns the EWMA that matters to the request: time to first token when streaming, else total."""
    if stream and stats.ttft_ms is not None:
        return stats.ttft_ms
    return stats.latency_ms


@register("latency-based-routing")
class LatencyBased:
    """Unmeasured deployments first (so they get measured), then measured ones by EWMA.

    With probability `exploration_rate` a random other deployment is moved to the front, so a
    deployment whose EWMA was spoilt by an outage gets measured again once it has recovered.
    """

    name = "latency-based-routing"

    def __init__(self, options: StrategyOptions | None = None) -> None:
        options = options or StrategyOptions()
        self._rng, self._rate = options.rng, options.exploration_rate

    def plan(self, candidates: Sequence[Candidate], facts: RequestFacts) -> Plan:
        fresh: list[Candidate] = []
        measured: list[tuple[float, int, Candidate]] = []
        for index, candidate in enumerate(candidates):
            value = expected_latency_ms(candidate.stats, facts.stream)
            if value is None:
                fresh.append(candidate)
            else:
                measured.append((value, index, candidate))
        measured.sort()  # the unique index settles ties, so candidates are never compared
        ranked = fresh + [c for _, _, c in measured]
        if not ranked:
            return Plan(self.name, (), "no candidates")
        if fresh:
            return Plan(self.name, tuple(ranked), f"{fresh[0].deployment_id} is not measured yet: measuring it")
        kind = "time to first token" if facts.stream else "latency"
        if len(ranked) > 1 and self._rng.random() < self._rate:
            chosen = ranked.pop(self._rng.randrange(1, len(ranked)))
            ranked.insert(0, chosen)
            score = expected_latency_ms(chosen.stats, facts.stream) or 0.0
            return Plan(self.name, tuple(ranked), f"exploring {chosen.deployment_id} ({kind} {score:.0f} ms)", score)
        best = measured[0][0]
        return Plan(self.name, tuple(ranked), f"lowest {kind}: {ranked[0].deployment_id} ({best:.0f} ms)", best)
