"""Estimates with bootstrap confidence intervals, and the plain-language verdict of an A/B comparison."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ROUNDS = 2000
LEVEL = 0.95
# Below this many judged samples per arm, a verdict says it needs more.
MIN_SAMPLES = 10


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean with its confidence interval [low, high] over count observations."""

    mean: float
    low: float
    high: float
    count: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def excludes_zero(self) -> bool:
        return self.count > 0 and (self.low > 0 or self.high < 0)


EMPTY = Estimate(0.0, 0.0, 0.0, 0)


def _rng(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(seed)


def bootstrap_mean(values: Sequence[float], rounds: int = ROUNDS, seed: int | None = 0) -> Estimate:
    """Returns the mean of values with its percentile-bootstrap interval."""
    if not values:
        return EMPTY
    data = np.asarray(values, dtype=float)
    if len(data) == 1:
        return Estimate(float(data[0]), float(data[0]), float(data[0]), 1)
    picks = _rng(seed).integers(0, len(data), size=(rounds, len(data)))
    means = data[picks].mean(axis=1)
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Estimate(float(data.mean()), float(low), float(high), len(data))


def bootstrap_difference(
    baseline: Sequence[float], candidate: Sequence[float], rounds: int = ROUNDS, seed: int | None = 0
) -> Estimate:
    """Returns mean(candidate) - mean(baseline) with its percentile-bootstrap interval (each arm resampled alone)."""
    if not baseline or not candidate:
        return EMPTY
    a, b = np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float)
    rng = _rng(seed)
    diffs = b[rng.integers(0, len(b), size=(rounds, len(b)))].mean(axis=1)
    diffs -= a[rng.integers(0, len(a), size=(rounds, len(a)))].mean(axis=1)
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return Estimate(float(b.mean() - a.mean()), float(low), float(high), len(a) + len(b))


@dataclass(frozen=True, slots=True)
class ArmNumbers:
    """What a verdict needs of one arm: its name, judge scores and mean cost per request."""

    name: str
    scores: Sequence[float]
    cost: float


def verdict(baseline: ArmNumbers, candidate: ArmNumbers, difference: Estimate) -> str:
    """Returns a plain-language verdict, e.g. "arm B is 0.6 ± 0.3 points better at 40 % lower cost; 1,200 samples"."""
    total = len(baseline.scores) + len(candidate.scores)
    if min(len(baseline.scores), len(candidate.scores)) < MIN_SAMPLES:
        return (
            f"not enough judged samples yet to compare arm {candidate.name} with arm {baseline.name} "
            f"({len(candidate.scores)} and {len(baseline.scores)}; at least {MIN_SAMPLES} each); {total:,} samples"
        )
    cost = _cost_phrase(baseline.cost, candidate.cost)
    size = f"{abs(difference.mean):.1f} ± {difference.half_width:.1f} points"
    if not difference.excludes_zero():
        return (
            f"no clear difference in judge score between arm {candidate.name} and arm {baseline.name} "
            f"({difference.mean:+.1f} ± {difference.half_width:.1f} points){cost}; {total:,} samples"
        )
    direction = "better" if difference.mean > 0 else "worse"
    return f"arm {candidate.name} is {size} {direction} than arm {baseline.name}{cost}; {total:,} samples"


def _cost_phrase(baseline: float, candidate: float) -> str:
    if baseline <= 0:
        return ""
    change = (candidate - baseline) / baseline
    if abs(change) < 0.005:
        return " at the same cost"
    return f" at {abs(change) * 100:.0f} % {'lower' if change < 0 else 'higher'} cost"
