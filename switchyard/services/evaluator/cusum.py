"""A one-sided CUSUM change-point detector for a drop in judge scores.

Page's CUSUM on standardised scores: the baseline mean and spread are learnt from the first `warmup`
scores of a segment; then S = max(0, S + (mean - x)/sigma - k) and an alarm is raised when S > h.
After an alarm the detector learns a new baseline (the new level), so one drop is one alarm.

With k = 0.5 and h = 10 (the defaults), a drop of 3 standard deviations is caught in about 4-5
scores, and the in-control run length is about 10^5 scores (Siegmund's approximation); the unit test
simulates both (tests/unit/evaluator/test_cusum.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# The spread never counts as less than this: judge scores are integers, and a run of identical ones
# would otherwise make any other score an alarm.
MIN_SIGMA = 0.5


@dataclass
class Cusum:
    """Watches one stream of scores for a sustained drop (see the module docstring)."""

    k: float = 0.5
    h: float = 10.0
    warmup: int = 30
    statistic: float = 0.0
    alarms: int = 0
    _baseline: list[float] = field(default_factory=list)
    _mean: float | None = None
    _sigma: float = 1.0

    def update(self, score: float) -> bool:
        """Adds a score; returns True when it completes an alarm."""
        if self._mean is None:
            self._baseline.append(score)
            if len(self._baseline) >= self.warmup:
                self._learn()
            return False
        self.statistic = max(0.0, self.statistic + (self._mean - score) / self._sigma - self.k)
        if self.statistic <= self.h:
            return False
        self.alarms += 1
        self.statistic = 0.0
        self._mean = None
        self._baseline.clear()
        return True

    @property
    def baseline(self) -> float | None:
        """Returns the learnt baseline mean (None while still learning)."""
        return self._mean

    def _learn(self) -> None:
        n = len(self._baseline)
        mean = sum(self._baseline) / n
        variance = sum((x - mean) ** 2 for x in self._baseline) / max(n - 1, 1)
        self._mean, self._sigma = mean, max(math.sqrt(variance), MIN_SIGMA)
