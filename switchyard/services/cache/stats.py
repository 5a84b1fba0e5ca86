"""The cache's counters, in one place so they can be read by the Stats RPC and exported as metrics.

Counts are this replica's since it started: lookups and hits by tier, guard rejections, stores and
refusals by reason, the best similarity of every semantic search (a histogram, to tune thresholds),
and the tokens and cost that hits saved.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Similarity histogram bin edges: below 0.5 is one bin, then steps of 0.05 up to 1.0.
HISTOGRAM_EDGES: tuple[float, ...] = (0.0, *(0.5 + 0.05 * i for i in range(10)), 1.0 + 1e-9)


@dataclass
class Stats:
    """Counters of one cache replica."""

    lookups: int = 0
    exact_hits: int = 0
    semantic_hits: int = 0
    guard_rejections: int = 0
    # semantic_skipped counts comparable lookups the semantic tier did not search (tier off, store down).
    semantic_skipped: int = 0
    stores: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    histogram: list[int] = field(default_factory=lambda: [0] * (len(HISTOGRAM_EDGES) - 1))
    tokens_saved: int = 0
    cost_saved_usd: float = 0.0

    @property
    def misses(self) -> int:
        return self.lookups - self.exact_hits - self.semantic_hits

    def hit(self, semantic: bool, tokens: int, cost_usd: float) -> None:
        """Counts a hit of a tier and what it saved."""
        if semantic:
            self.semantic_hits += 1
        else:
            self.exact_hits += 1
        self.tokens_saved += tokens
        self.cost_saved_usd += cost_usd

    def similarity(self, best: float) -> None:
        """Counts the best candidate similarity of one semantic search."""
        for index in range(len(self.histogram)):
            if best < HISTOGRAM_EDGES[index + 1]:
                self.histogram[index] += 1
                return
        self.histogram[-1] += 1

    def refused(self, kind: str) -> None:
        self.refusals[kind] += 1

    def buckets(self) -> list[tuple[float, float, int]]:
        """Returns the histogram as (lower, upper, count) bins."""
        upper = [min(edge, 1.0) for edge in HISTOGRAM_EDGES[1:]]
        return [(HISTOGRAM_EDGES[i], upper[i], count) for i, count in enumerate(self.histogram)]
