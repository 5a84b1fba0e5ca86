"""Refitting each deployment's quality per classifier category from judge grades and user feedback.

The quality the cost-quality strategy reads (strategies/quality.py) is, per deployment and category,
a number in [0, 1]. A refit takes the mean of that deployment's judgements in that category (judge
grades and feedback, both scaled to [0, 1]) and shrinks it towards the current quality (the prior)
in proportion to how few judgements there are:

    q = (n * mean + PRIOR_WEIGHT * prior) / (n + PRIOR_WEIGHT)

so 10 judgements move it half way. A (deployment, category) with fewer than min_samples judgements
keeps its current quality. Category "" stands for a deployment's judgements without a category: it
refits the deployment's overall quality.

How a quality table is judged (`evaluate`): on held-out judgements (the newest HELD_OUT share), for
each pool the router chooses among (a model group, an alias's pool) and category where at least two
deployments were judged, the table's pick (its highest-quality deployment) is compared with the
best-judged one; agreement is the share of held-out judgements in the (pool, category) cells where
the pick was right. The error is the mean squared
gap between the table's quality and the held-out mean, per judgement. A refit is worse than the
current table when its agreement is lower, or equal with a larger error.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

PRIOR_WEIGHT = 10.0
HELD_OUT = 0.2
# Where no quality is configured or known for a deployment, shrinkage starts from the middle.
NEUTRAL_PRIOR = 0.5
_TOLERANCE = 1e-9

Cell = tuple[str, str]  # (deployment, category)
Table = dict[str, dict[str, float]]  # deployment -> category -> quality
Prior = Callable[[str, str], float | None]


class Rating(Protocol):
    """A judgement as the analytics store returns it (analytics.base.Judgement)."""

    @property
    def time_ms(self) -> int: ...
    @property
    def deployment(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def score(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Evaluation:
    """How well a quality table predicts held-out judgements (see the module docstring)."""

    agreement: float
    error: float
    cells: int
    judgements: int

    def worse_than(self, other: Evaluation) -> bool:
        if abs(self.agreement - other.agreement) > _TOLERANCE:
            return self.agreement < other.agreement
        return self.error > other.error + _TOLERANCE

    def __str__(self) -> str:
        return (
            f"agreement {self.agreement:.3f} with the best-judged deployment, error {self.error:.4f} "
            f"({self.cells} pool-category cells, {self.judgements} held-out judgements)"
        )


def judge_score(grade: float) -> float:
    """Returns a judge's grade of 1-10 scaled to [0, 1]."""
    return min(max((grade - 1.0) / 9.0, 0.0), 1.0)


def split(judgements: Sequence[Rating], held_out: float = HELD_OUT) -> tuple[list[Rating], list[Rating]]:
    """Returns (older, newest): the newest `held_out` share of the judgements is held out."""
    ordered = sorted(judgements, key=lambda j: j.time_ms)
    cut = len(ordered) - round(len(ordered) * held_out)
    return ordered[:cut], ordered[cut:]


def _scores(judgements: Iterable[Rating]) -> dict[Cell, list[float]]:
    cells: dict[Cell, list[float]] = defaultdict(list)
    for judgement in judgements:
        cells[(judgement.deployment, judgement.category)].append(judgement.score)
    return cells


def refit(judgements: Iterable[Rating], prior: Prior, min_samples: int) -> Table:
    """Returns the refitted quality of every (deployment, category) with at least min_samples judgements."""
    table: Table = defaultdict(dict)
    for (deployment, category), scores in sorted(_scores(judgements).items()):
        if len(scores) < min_samples:
            continue
        start = prior(deployment, category)
        start = NEUTRAL_PRIOR if start is None else start
        n = len(scores)
        table[deployment][category] = round((sum(scores) + PRIOR_WEIGHT * start) / (n + PRIOR_WEIGHT), 4)
    return dict(table)


def evaluate(quality: Prior, held_out: Iterable[Rating], pools: Mapping[str, Collection[str]]) -> Evaluation:
    """Returns how well quality predicts the held-out judgements; pools names the sets of deployments the
    router chooses among (model groups, alias pools)."""
    scores = _scores(held_out)
    by_cell: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(dict)
    for pool, members in pools.items():
        for (deployment, category), judged in scores.items():
            if deployment in members:
                by_cell[(pool, category)][deployment] = judged
    squared = sum(((quality(d, c) or 0.0) - s) ** 2 for (d, c), judged in scores.items() for s in judged)
    judged_count = sum(len(judged) for judged in scores.values())
    agreed = counted = cells = 0
    for (_, category), deployments in sorted(by_cell.items()):
        if len(deployments) < 2:
            continue
        means = {d: sum(s) / len(s) for d, s in deployments.items()}
        best = max(sorted(means), key=lambda d: means[d])
        pick = max(sorted(means), key=lambda d: quality(d, category) or 0.0)
        weight = sum(len(s) for s in deployments.values())
        cells += 1
        counted += weight
        agreed += weight if means[pick] >= means[best] - _TOLERANCE else 0
    error = squared / judged_count if judged_count else 0.0
    return Evaluation(agreed / counted if counted else 0.0, error, cells, judged_count)
