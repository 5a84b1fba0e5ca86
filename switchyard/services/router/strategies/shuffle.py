"""simple-shuffle: a weighted random order inside the best `order` tier, then the next tiers."""

from __future__ import annotations

import random
from collections.abc import Sequence

from switchyard.services.router.strategies.base import Candidate, Plan, RequestFacts, StrategyOptions, register


def weighted_order(candidates: Sequence[Candidate], rng: random.Random) -> list[Candidate]:
    """Returns candidates in a random order where each is drawn first with probability ∝ its weight."""
    # Efraimidis-Spirakis: sort by u^(1/w); weight 0 sorts last but stays as a last resort.
    keyed = []
    for candidate in candidates:
        weight = candidate.entry.litellm_params.weight
        key = rng.random() ** (1.0 / weight) if weight > 0 else -1.0
        keyed.append((key, candidate))
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    return [candidate for _, candidate in keyed]


@register("simple-shuffle", "shuffle", "weighted")
class SimpleShuffle:
    """Weighted shuffle inside priority tiers (`order`, lowest first; unset sorts after set)."""

    name = "simple-shuffle"

    def __init__(self, options: StrategyOptions | None = None) -> None:
        self._rng = (options or StrategyOptions()).rng

    def plan(self, candidates: Sequence[Candidate], facts: RequestFacts) -> Plan:
        tiers: dict[float, list[Candidate]] = {}
        for candidate in candidates:
            order = candidate.entry.litellm_params.order
            tiers.setdefault(float("inf") if order is None else float(order), []).append(candidate)
        ranked: list[Candidate] = []
        for tier in sorted(tiers):
            ranked.extend(weighted_order(tiers[tier], self._rng))
        if not ranked:
            return Plan(self.name, (), "no candidates")
        total = sum(c.entry.litellm_params.weight for c in tiers[min(tiers)])
        share = ranked[0].entry.litellm_params.weight / total if total else 0.0
        reason = "weighted shuffle" + (" within order tiers" if len(tiers) > 1 else "")
        return Plan(self.name, tuple(ranked), reason, score=share)
