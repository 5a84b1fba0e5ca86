"""A quality segment's scores over time: judge and feedback means per hour, and when alerts were raised.

Bounded: the newest HOURS buckets and ALERTS alert times are kept (the dashboard draws them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HOUR_MS = 3_600_000
HOURS = 24 * 30
ALERTS = 100


@dataclass(frozen=True, slots=True)
class Bucket:
    """One hour: the mean and count of the judge scores and of the feedback that arrived in it."""

    start_ms: int
    judge_mean: float
    judge_count: int
    feedback_mean: float
    feedback_count: int


@dataclass
class Timeline:
    # hour start (ms) -> [judge sum, judge count, feedback sum, feedback count]
    hours: dict[int, list[float]] = field(default_factory=dict)
    alerts_ms: list[int] = field(default_factory=list)

    def judged(self, score: float, now_ms: int) -> None:
        self._add(now_ms, 0, score)

    def rated(self, score: float, now_ms: int) -> None:
        self._add(now_ms, 2, score)

    def alerted(self, now_ms: int) -> None:
        self.alerts_ms.append(now_ms)
        del self.alerts_ms[:-ALERTS]

    def _add(self, now_ms: int, offset: int, score: float) -> None:
        bucket = self.hours.setdefault(now_ms - now_ms % HOUR_MS, [0.0, 0, 0.0, 0])
        bucket[offset] += score
        bucket[offset + 1] += 1
        if len(self.hours) > HOURS:
            del self.hours[min(self.hours)]

    def buckets(self) -> list[Bucket]:
        """Returns the hours, oldest first."""
        return [
            Bucket(start, _mean(b[0], b[1]), int(b[1]), _mean(b[2], b[3]), int(b[3]))
            for start, b in sorted(self.hours.items())
        ]

    def state(self) -> dict[str, Any]:
        return {"hours": [[start, *b] for start, b in sorted(self.hours.items())], "alerts_ms": self.alerts_ms}

    @classmethod
    def restored(cls, state: dict[str, Any]) -> Timeline:
        hours = {int(row[0]): [float(x) for x in row[1:5]] for row in state["hours"]}
        return cls(hours, [int(t) for t in state["alerts_ms"]])


def _mean(total: float, count: float) -> float:
    return total / count if count else 0.0
